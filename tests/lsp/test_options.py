"""How the server reads the ``codegen`` section out of whatever an editor sends."""

from __future__ import annotations

from typing import Any

import pytest

from codegen_lsp.lsp.options import section_of


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(None, {}, id="nothing"),
        pytest.param({"model": "m"}, {"model": "m"}, id="the-section-itself"),
        pytest.param({"codegen": {"model": "m"}}, {"model": "m"}, id="wrapped"),
        pytest.param({"codegen": []}, {}, id="neovim-empty-lua-table"),
        pytest.param({"codegen": None}, {}, id="null-section"),
        pytest.param(["model"], {}, id="not-a-table"),
    ],
)
def test_section_of(raw: Any, expected: dict[str, Any]) -> None:
    assert section_of(raw) == expected
