"""What codegen-lsp imports on its way to ``initialize`` that a bare pygls server does not.

    .venv/bin/python -m bench.tools.startup_imports [--rounds 5]

Runs ``python -X importtime`` for the bare server's imports (``pygls.lsp.server``) and for ours
(the console script's ``codegen_lsp.cli``, then ``codegen_lsp.lsp.server`` and what the
``initialize`` handler imports), and prints the modules only ours loads, by self time (median
over rounds), with their sum: the import part of the startup gap to the pygls floor.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections import defaultdict

BARE = "import pygls.lsp.server"
OURS = "import codegen_lsp.cli, codegen_lsp.lsp.server, codegen_lsp.core.config"


def _import_times(code: str) -> dict[str, int]:
    """module -> self microseconds."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    out: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, self_us, _cumulative, name = (
            part.strip() for part in line.replace("import time:", "|").split("|")
        )
        out[name] = int(self_us)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    bare_modules: set[str] = set()
    ours: dict[str, list[int]] = defaultdict(list)
    totals: dict[str, list[int]] = defaultdict(list)
    for _ in range(args.rounds):
        bare = _import_times(BARE)
        bare_modules |= set(bare)
        totals["bare pygls"].append(sum(bare.values()))
        mine = _import_times(OURS)
        totals["codegen-lsp"].append(sum(mine.values()))
        for name, us in mine.items():
            ours[name].append(us)
    extra = {name: statistics.median(v) for name, v in ours.items() if name not in bare_modules}
    for name, values in totals.items():
        print(f"all imports, {name}: {statistics.median(values) / 1000:.1f} ms (median of {args.rounds})")
    print(
        f"imported only by codegen-lsp: {sum(extra.values()) / 1000:.1f} ms in {len(extra)} modules; the largest:"
    )
    for name, median_us in sorted(extra.items(), key=lambda item: -item[1])[: args.top]:
        print(f"  {median_us / 1000:7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
