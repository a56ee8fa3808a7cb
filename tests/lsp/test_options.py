"""How the server reads the editor's ``codegen`` options, and what a bad one costs (that key alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codegen_lsp.core import config
from codegen_lsp.core.settings import Settings
from codegen_lsp.lsp.options import INIT_SOURCE, SECTION_SOURCE, resolve_settings, section_of


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


# --- a bad editor setting costs that key alone ----------------------------------------------------

GOOD = {"baseUrl": "http://127.0.0.1:9/v1", "model": "m"}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No user file, no local model: only what a test writes or sends counts."""
    monkeypatch.setattr(config, "_local_available", lambda: False)
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}


@pytest.mark.parametrize(
    ("init", "section", "named"),
    [
        pytest.param(
            GOOD, {"context": {"linesBefore": "many", "linesAfter": 3}}, "context.linesBefore",
            id="bad value in the section",
        ),
        pytest.param(
            {**GOOD, "streamEdit": True}, {"context": {"linesAfter": 3}}, "unknown key 'streamEdit' "
            "(did you mean 'streamEdits'?)", id="typo in the initialization options",
        ),
        pytest.param(
            GOOD, {"context": {"linesAfter": 3}, "provider": "nosuch"}, "provider 'nosuch' is neither",
            id="unknown provider: the section's provider goes, the rest stays",
        ),
        pytest.param(
            GOOD, {"context": {"linesAfter": 3}, "fallback": ["nosuch"]}, "fallback provider 'nosuch'",
            id="unknown fallback",
        ),
    ],
)  # fmt: skip
def test_a_bad_key_costs_only_that_key(
    tmp_path: Path, env: dict[str, str], init: dict[str, Any], section: dict[str, Any], named: str
) -> None:
    resolution = resolve_settings(tmp_path, init, section, env)
    settings = resolution.settings
    # everything else from both layers applies
    assert settings.providers[settings.provider or ""].base_url == GOOD["baseUrl"]
    assert settings.providers[settings.provider or ""].model == "m"
    assert (settings.context.lines_before, settings.context.lines_after) == (60, 3)
    (warning,) = resolution.warnings
    assert warning.startswith("ignored an invalid setting: editor settings (")
    assert named in warning
    source = INIT_SOURCE if "streamEdit" in init else SECTION_SOURCE
    assert source in warning


def test_an_action_keeps_its_prompt_when_its_provider_is_unknown(tmp_path: Path, env: dict[str, str]) -> None:
    section = {"actions": {"shout": {"prompt": "Uppercase: {selection}", "provider": "nosuch"}}}
    resolution = resolve_settings(tmp_path, GOOD, section, env)
    shout = resolution.settings.actions["shout"]
    assert (shout.prompt, shout.provider) == ("Uppercase: {selection}", None)
    (warning,) = resolution.warnings
    assert "actions.shout.provider: unknown provider 'nosuch'" in warning


def test_every_bad_key_is_named(tmp_path: Path, env: dict[str, str]) -> None:
    section = {"streamEdits": "yes", "applyTimeout": 0, "context": {"tokenBudget": -5}}
    resolution = resolve_settings(tmp_path, GOOD, section, env)
    assert [w.split(": ")[2] for w in resolution.warnings] == [
        "streamEdits", "applyTimeout", "context.tokenBudget"
    ]  # fmt: skip
    assert resolution.settings.provider == "custom"


def test_an_invalid_file_keeps_defaults_and_names_the_file(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / ".codegen-lsp.toml").write_text('modle = "x"\n', encoding="utf-8")
    resolution = resolve_settings(tmp_path, GOOD, {}, env)
    assert resolution.settings == Settings()
    (warning,) = resolution.warnings
    assert warning.startswith("invalid configuration, defaults kept: project config ")
    assert ".codegen-lsp.toml: unknown key 'modle' (did you mean 'model'?)" in warning


def test_good_settings_warn_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    resolution = resolve_settings(tmp_path, GOOD, {"model": "n"}, env)
    assert resolution.warnings == ()
    assert resolution.settings.providers["custom"].model == "n"
    assert resolution.settings.origins["model"] == SECTION_SOURCE
