"""The inline completion benchmark's pieces: the typing replay's regions and oracle, and the
overhead item end to end with tiny sizes (no number is checked against a target here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import inline_bench
from bench.inline_bench import Oracle, _regions, _Replay, oracle_choose

TRUTH = "def add(a, b):\n    total = a + b\n    return total\n"


def test_regions_start_at_a_line_and_end_at_a_line_end(tmp_path: Path) -> None:
    files = []
    for name in ("a.py", "b.py"):
        source = tmp_path / name
        source.write_text(
            "import os\n\n" + "\n".join(f"def f{i}(x):\n    y = x + {i}\n    return y" for i in range(40))
        )
        files.append(source)
    regions = _regions(files, count=2, lines=20, seed=1)
    assert len(regions) == 2
    for path, start, end in regions:
        text = path.read_text()
        assert start == 0 or text[start - 1] == "\n"
        assert text[end] == "\n"  # the cursor starts on an empty line of its own
        assert end - start > 200


@pytest.mark.parametrize(
    ("right", "partly", "expected"),
    [
        pytest.param(1.0, 0.0, "a + b", id="right"),
        pytest.param(0.0, 0.0, "wrong_guess()", id="wrong"),
    ],
)
def test_the_oracle_answers_from_the_true_text(right: float, partly: float, expected: str) -> None:
    at = TRUTH.index("a + b")
    choose = oracle_choose(_Replay(TRUTH, at, seed=3), Oracle(right=right, partly=partly))
    script = choose({"prompt": TRUTH[:at], "suffix": "\n"})
    assert "".join(script.tokens) == expected + "\n"
    assert script.tokens[-1] == "\n"  # the line ends: the server's cutter completes the suggestion


def test_a_partly_right_answer_starts_right_then_goes_wrong() -> None:
    at = TRUTH.index("a + b")
    script = oracle_choose(_Replay(TRUTH, at, seed=3), Oracle(right=0.0, partly=1.0))({"prompt": TRUTH[:at]})
    answer = "".join(script.tokens)
    assert answer.endswith("_wrong()\n")
    assert "a + b".startswith(answer[: answer.index("_wrong")])


@pytest.mark.e2e
def test_quick_overhead_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "inline.json"
    assert inline_bench.main(["--quick", "--only", "overhead", "--out", str(output)]) == 0
    report = json.loads(output.read_text())
    overhead = report["overhead"]
    assert overhead["inline_ms"]["n"] == 20
    assert overhead["typed_through_ms"]["n"] == 20
    assert overhead["code_action_ms"]["n"] == 5
    assert "keystroke → inlineCompletion" in capsys.readouterr().out
