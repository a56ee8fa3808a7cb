"""Spec for core/actions: the registry of built-ins, their overrides and user actions."""

from __future__ import annotations

import pytest

from codegen_lsp.core.actions import (
    BUILTIN_ACTIONS,
    TITLE_PREFIX,
    Action,
    Trigger,
    list_actions,
    resolve_action,
)
from codegen_lsp.core.settings import ActionSettings, Settings
from codegen_lsp.core.types import ApplyMode
from codegen_lsp.errors import ActionError, ConfigError

_COMMENT, _SELECTION, _DIAGNOSTIC = Trigger.COMMENT, Trigger.SELECTION, Trigger.DIAGNOSTIC


@pytest.mark.parametrize(
    ("name", "mode", "kind", "trigger", "needs_selection", "max_tokens"),
    [
        pytest.param(
            "generate_from_comment", ApplyMode.INSERT_BELOW, "refactor.rewrite", _COMMENT, False, 1024,
            id="generate",
        ),
        pytest.param("rewrite", ApplyMode.REPLACE, "refactor.rewrite", _SELECTION, True, 1024, id="rewrite"),
        pytest.param(
            "implement", ApplyMode.REPLACE, "refactor.rewrite", _SELECTION, False, 1024, id="implement"
        ),
        pytest.param("document", ApplyMode.REPLACE, "refactor.rewrite", _SELECTION, False, 1024, id="document"),
        pytest.param("explain", ApplyMode.SHOW, "refactor", _SELECTION, False, 768, id="explain"),
        pytest.param("tests", ApplyMode.NEW_FILE, "source", _SELECTION, False, 2048, id="tests"),
        pytest.param("fix", ApplyMode.REPLACE, "quickfix", _DIAGNOSTIC, False, 1024, id="fix"),
    ],
)  # fmt: skip
def test_builtin_actions(
    name: str, mode: ApplyMode, kind: str, trigger: Trigger, needs_selection: bool, max_tokens: int
) -> None:
    spec = resolve_action(name, Settings())
    assert (spec.mode, spec.kind, spec.trigger, spec.needs_selection, spec.builtin) == (
        mode,
        kind,
        trigger,
        needs_selection,
        True,
    )
    assert (spec.default_max_tokens, spec.max_tokens) == (max_tokens, None)
    assert spec.title.startswith(TITLE_PREFIX)


def test_the_registry_is_the_enum_in_menu_order() -> None:
    assert list(BUILTIN_ACTIONS) == list(Action)
    assert [spec.name for spec in list_actions(Settings())] == [a.value for a in Action]


def test_unknown_action_names_the_known_ones() -> None:
    with pytest.raises(ActionError, match=r'Unknown action "nope".*generate_from_comment.*explain'):
        resolve_action("nope", Settings())


def test_override_of_a_builtin_keeps_the_rest() -> None:
    settings = Settings(
        actions={"rewrite": ActionSettings(name="rewrite", title="Tidy up", model="small", max_tokens=99)}
    )
    spec = resolve_action("rewrite", settings)
    assert spec.title == "Codegen: Tidy up"
    assert (spec.model, spec.max_tokens, spec.mode) == ("small", 99, ApplyMode.REPLACE)
    assert spec.prompt == BUILTIN_ACTIONS["rewrite"].prompt


def test_override_of_apply_mode_changes_the_kind() -> None:
    settings = Settings(actions={"explain": ActionSettings(name="explain", apply=ApplyMode.INSERT_ABOVE)})
    spec = resolve_action("explain", settings)
    assert (spec.mode, spec.kind, spec.trigger) == (ApplyMode.INSERT_ABOVE, "refactor.rewrite", _SELECTION)


def test_a_fix_stays_a_quick_fix_whatever_its_apply_mode() -> None:
    settings = Settings(actions={"fix": ActionSettings(name="fix", apply=ApplyMode.INSERT_ABOVE)})
    assert resolve_action("fix", settings).kind == "quickfix"


@pytest.mark.parametrize(
    ("cfg", "title", "mode", "kind", "needs_selection"),
    [
        pytest.param(
            ActionSettings(name="add_types", prompt="Add type hints to {selection}"),
            "Codegen: Add types",
            ApplyMode.REPLACE,
            "refactor.rewrite",
            True,
            id="defaults: replace, titled from the name, needs the selection it uses",
        ),
        pytest.param(
            ActionSettings(
                name="todo", title="Codegen: TODO list", prompt="List TODOs in {path}", apply=ApplyMode.SHOW
            ),
            "Codegen: TODO list",
            ApplyMode.SHOW,
            "refactor",
            False,
            id="prefix is not doubled; SHOW without selection",
        ),
    ],
)
def test_user_actions(
    cfg: ActionSettings, title: str, mode: ApplyMode, kind: str, needs_selection: bool
) -> None:
    spec = resolve_action(cfg.name, Settings(actions={cfg.name: cfg}))
    assert (spec.title, spec.mode, spec.kind, spec.needs_selection, spec.builtin) == (
        title,
        mode,
        kind,
        needs_selection,
        False,
    )
    # offered only with a selection when the template uses one, otherwise everywhere
    assert spec.trigger == (Trigger.SELECTION if needs_selection else Trigger.ALWAYS)
    assert (spec.default_max_tokens, spec.max_tokens) == (1024, None)


def test_user_action_without_prompt() -> None:
    settings = Settings(actions={"bad": ActionSettings(name="bad")})
    with pytest.raises(ConfigError, match='"bad" has no prompt'):
        resolve_action("bad", settings)
    assert "bad" not in [spec.name for spec in list_actions(settings)]


def test_list_actions_builtins_first_then_user_actions() -> None:
    settings = Settings(actions={"z": ActionSettings(name="z", prompt="{selection}")})
    names = [spec.name for spec in list_actions(settings)]
    assert names == [*BUILTIN_ACTIONS, "z"]
    assert all(spec.title.startswith(TITLE_PREFIX) for spec in list_actions(settings))
