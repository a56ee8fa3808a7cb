"""Item 8: ``codegen-lsp generate`` end to end, minus the provider's own time.

The command runs as a user runs it (the console script, a fresh process each time) against the
reference provider. The provider's own time is from the moment it read the request to the moment
it wrote the last byte; what is left of the wall time is the CLI's: interpreter start, imports,
configuration, prompt, connection (before the request) and cleanup, diff, exit (after).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import docs
from bench.refprovider import RefProvider, Script, always
from bench.servers import isolated_env


@dataclass
class CliRun:
    total: float
    provider: float  # request read → last byte written
    before: float  # process start → request read by the provider
    after: float  # last byte written → process exited

    @property
    def overhead(self) -> float:
        return self.total - self.provider


def generate_runs(workdir: Path, runs: int, script: Script) -> list[CliRun]:
    source = workdir / "cli_target.py"
    text, line = docs.job_document("bench-job-cli")
    source.write_text(text)
    exe = Path(sys.executable).with_name("codegen-lsp")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "codegen_lsp"]
    results = []
    with RefProvider(always(script)) as provider:
        env = isolated_env(workdir, CODEGEN_LSP_BASE_URL=provider.base_url, CODEGEN_LSP_MODEL="bench")
        for i in range(runs + 1):
            provider.take()
            t0 = time.perf_counter()
            done = subprocess.run(
                [*command, "generate", str(source), "--line", str(line + 1), "--print", "--quiet"],
                env=env,
                cwd=workdir,
                capture_output=True,
                text=True,
                check=False,
            )
            t_exit = time.perf_counter()
            if done.returncode != 0 or "return a + b" not in done.stdout:
                raise RuntimeError(f"codegen-lsp generate failed ({done.returncode}): {done.stderr[-2000:]}")
            (served,) = provider.take()
            assert served.t_last is not None
            if i:  # the first run warms the disk cache and writes bytecode
                results.append(
                    CliRun(
                        total=t_exit - t0,
                        provider=served.t_last - served.t_request,
                        before=served.t_request - t0,
                        after=t_exit - served.t_last,
                    )
                )
    return results
