"""The benchmark harness still runs: every item once with tiny sizes (``python -m bench --quick``).

Benchmarks are not tests and no number is checked against a target here; this only keeps the
harness from rotting as the server changes (a renamed command, a new required argument, a
changed answer shape all break it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run
from bench.stats import percentile, summary


@pytest.mark.e2e
def test_quick_run_measures_every_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "quick.json"
    assert run.main(["--quick", "--output", str(output)]) == 0

    report = json.loads(output.read_text())
    results = report["results"]
    assert set(run.ITEMS) <= set(results)
    assert results["startup"]["codegen-lsp"]["startup_s"]["p50"] > 0
    assert results["documents"]["codegen-lsp"]["2000"]["code_action_ms"]["n"] > 0
    assert results["jobs"]["last_byte_to_apply_edit_ms"]["n"] == 3
    assert results["live"]["first_line_to_first_edit_ms"]["n"] == 1
    assert results["memory"]["concurrent"]["jobs"] == 2
    assert results["decode"]["decoder_chunks_per_s"] > 0
    assert results["cli"]["overhead_ms"]["n"] == 1
    items = {row[0] for row in report["table"]}
    assert {"1", "2", "3", "4", "5", "6", "7", "8"} <= items
    assert output.with_suffix(".md").read_text().startswith("| # | measure")
    assert "| 4 | provider's last byte" in capsys.readouterr().out


def test_percentiles_are_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 50) == 50
    assert percentile(samples, 99) == 99
    assert percentile(samples[:10], 99) == 10  # fewer than 100 samples: p99 is the maximum
    assert summary([0.001, 0.003], 1000)["p50"] == pytest.approx(1.0)
