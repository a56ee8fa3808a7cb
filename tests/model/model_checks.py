"""What "clean inserted code" means for answers from a real (small) model.

A 135M model's code may well be wrong, and llama.cpp's output at temperature 0 still varies a
little with batching and prompt-cache reuse, so these checks do not judge the code itself. They
check what cleanup promises: the insertion sits between the untouched text before and after it,
is not empty, and carries no markdown fence and no prose sentence.
"""

from __future__ import annotations

import re

# "This function returns the area." / "Here is the code:" — a capitalised word, then at least
# three lower-case words, ending like a sentence. Code lines (and comments) do not look like this.
_SENTENCE = re.compile(r"^[A-Z][a-z']*(?: [a-z`'(),]+){3,}.*[.:!]$")


def inserted_between(text: str, before: str, after: str) -> str:
    """The inserted text, after checking that ``before`` and ``after`` are untouched."""
    assert text.startswith(before), f"the text before the insertion changed:\n{text}"
    assert text.endswith(after), f"the text after the insertion changed:\n{text}"
    return text[len(before) : len(text) - len(after)]


def assert_clean_code(inserted: str) -> None:
    assert inserted.strip(), "no code was inserted"
    assert "```" not in inserted, f"a markdown fence got into the code:\n{inserted}"
    prose = [line for line in inserted.splitlines() if _SENTENCE.match(line.strip())]
    assert not prose, f"prose got into the code: {prose}\n{inserted}"
