"""What "clean inserted code" means for answers from a real (small) model, and the environment
the model tests give the programs they start.

A 135M model's code may well be wrong, and llama.cpp's output at temperature 0 still varies a
little with batching and prompt-cache reuse, so these checks do not judge the code itself. They
check what cleanup promises: the insertion sits between the untouched text before and after it,
is not empty, and carries no markdown fence and no prose sentence.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from codegen_lsp.core.localmodels import DEFAULT_MODEL, cache_dir

#: the model name llama_cpp.server lists under /v1/models (it serves its one model for any name)
SERVER_MODEL_ALIAS = DEFAULT_MODEL.name

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


def model_env(home: Path) -> dict[str, str]:
    """This environment with HOME and the config folder in ``home`` but the real model cache.

    The model is then assembled once per machine, not once per test. ``CODEGEN_LSP_*`` variables
    of the calling shell are left out, so they cannot pick another provider."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEGEN_LSP_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "xdg"),
        XDG_CACHE_HOME=str(cache_dir().parent.parent),
    )
    return env
