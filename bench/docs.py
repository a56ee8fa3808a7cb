"""Synthetic Python documents of a given size, with comments to generate from and jobs to tag.

The text is ASCII, so LSP utf-16 positions equal code points and the client can apply edits
without an encoding table.
"""

from __future__ import annotations

_BLOCK = [
    "",
    "",
    "class Widget{n}:",
    '    """A widget that counts things ({n})."""',
    "",
    "    def __init__(self, size: int) -> None:",
    "        self.size = size",
    "        self.items: list[int] = []",
    "",
    "    # return the sum of the items times the size",
    "    def total(self) -> int:",
    "        return sum(self.items) * self.size",
]


def python_document(lines: int) -> str:
    """About ``lines`` lines (exactly, unless fewer than a block) of plausible Python."""
    out = ['"""A synthetic module for benchmarks."""', "", "import math"]
    n = 0
    while len(out) < lines:
        out.extend(line.format(n=n) for line in _BLOCK)
        n += 1
    return "\n".join(out[:lines]) + "\n"


def comment_lines(text: str) -> list[int]:
    """0-based numbers of the lines that are a ``#`` comment (each offers generate_from_comment)."""
    return [i for i, line in enumerate(text.split("\n")) if line.lstrip().startswith("#")]


def job_document(tag: str) -> tuple[str, int]:
    """A small file with one comment naming ``tag``; returns the text and the comment's line."""
    text = f"import math\n\n\n# {tag}: return the sum of a and b\n\n\ndef unrelated() -> None:\n    pass\n"
    return text, 3


#: the answer the reference provider streams for a job: a fenced function, a few tokens a line
ANSWER_TOKENS = [
    "```python\n",
    "def ",
    "add",
    "(a",
    ", b",
    "):\n",
    "    ",
    '"""',
    "Return",
    " a",
    " +",
    " b",
    '."""\n',
    "    ",
    "return",
    " a",
    " +",
    " b",
    "\n",
    "```",
]


def long_answer(tokens: int) -> list[str]:
    """``tokens`` tokens of plausible code inside a fence (for throughput and CPU per token)."""
    body: list[str] = ["```python\n"]
    i = 0
    while len(body) < tokens - 1:
        body.extend([f"def f{i}", "(x", "):\n", "    ", "return", " x", " +", f" {i}", "\n", "\n"])
        i += 1
    return [*body[: max(tokens - 2, 1)], "\n", "```"]
