"""The actions codegen-lsp offers: one registry of built-ins, their overrides, and user actions.

:class:`Action` names the seven built-ins; :data:`BUILTIN_ACTIONS` holds, for each, everything the
rest of the system needs to know: the menu title (always starting with :data:`TITLE_PREFIX`),
where the answer goes (:class:`~codegen_lsp.core.types.ApplyMode`, which also gives the LSP
code-action kind), when the server offers it (:class:`Trigger`), whether it needs a selection, its
answer length and the system and user prompt templates :mod:`codegen_lsp.core.prompts` renders.
Settings may override any field of a built-in or define new actions with their own template:
:func:`resolve_action` and :func:`list_actions` are what the CLI, the server's code-action listing
and the pipeline read, so a user action is reachable everywhere a built-in is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType

from codegen_lsp.core.settings import ActionSettings, Settings
from codegen_lsp.core.types import ApplyMode
from codegen_lsp.errors import ActionError, ConfigError

TITLE_PREFIX = "Codegen: "

#: placeholders every prompt template may use (user templates included)
PLACEHOLDERS = ("selection", "before", "after", "language", "path", "diagnostics", "instruction")


class Action(StrEnum):
    """The built-in actions, in menu order."""

    GENERATE_FROM_COMMENT = "generate_from_comment"
    REWRITE = "rewrite"
    IMPLEMENT = "implement"
    DOCUMENT = "document"
    EXPLAIN = "explain"
    TESTS = "tests"
    FIX = "fix"


class Trigger(StrEnum):
    """When the server offers an action in the code-action menu."""

    #: the cursor is on (or right under) a comment block
    COMMENT = "comment"
    #: something is selected
    SELECTION = "selection"
    #: once per diagnostic in the request, as a quick fix named after it
    DIAGNOSTIC = "diagnostic"
    #: always (user actions that need no selection)
    ALWAYS = "always"


_KIND_BY_MODE = {
    ApplyMode.REPLACE: "refactor.rewrite",
    ApplyMode.INSERT_BELOW: "refactor.rewrite",
    ApplyMode.INSERT_ABOVE: "refactor.rewrite",
    ApplyMode.NEW_FILE: "source",
    ApplyMode.SHOW: "refactor",
}

#: the answer limit of actions that set none: code for one comment or function rarely needs more
DEFAULT_MAX_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One resolved action. ``system``/``prompt`` are templates (see :mod:`codegen_lsp.core.prompts`)."""

    name: str
    title: str
    mode: ApplyMode
    trigger: Trigger
    needs_selection: bool
    system: str
    prompt: str
    #: what {instruction} says when the request brings none
    default_instruction: str = ""
    #: the label of the code shown before the target in built-in templates
    before_label: str = "Code before the selection"
    #: the answer limit when the settings set none (REPLACE actions grow it to fit the selection)
    default_max_tokens: int = DEFAULT_MAX_TOKENS
    #: the answer must bring new code: one of comments only, or (REPLACE) one that adds no line
    #: of code to the selection, is reported to the user instead of applied
    adds_code: bool = False
    builtin: bool = True
    provider: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None

    @property
    def kind(self) -> str:
        """The LSP CodeActionKind, e.g. "refactor.rewrite", "quickfix", "source"."""
        return "quickfix" if self.trigger is Trigger.DIAGNOSTIC else _KIND_BY_MODE[self.mode]


# --- prompt templates -------------------------------------------------------------------------
# Short and direct on purpose: small local models (SmolLM2-135M) follow a two-line task far better
# than a page of rules. The *_block placeholders render to "" when empty, so no empty sections.

_SYSTEM_CODE = (
    "You are an expert {language} programmer inside a code editor. "
    "Answer with code only, in one fenced code block. No explanations."
)
_SYSTEM_PROSE = "You are an expert {language} programmer. Answer briefly and clearly in Markdown."

_HEADER = "File: {path} ({language})\n\n"

# The comment is shown once, as the task, not also inside the code: small coder models given it
# twice tend to answer with the file and the comment again (measured with bench.quality). Asking
# for a docstring that restates the comment puts the specification right above the body the model
# writes next, where it reads it best: HumanEval through this action, Qwen2.5-Coder-0.5B, all 164
# problems: 49.4 % -> 56.1 %, as many as `implement` passes.
_GENERATE = (
    _HEADER + "{before_block}{after_block}"
    "Task: write the {language} code that goes right below this comment:\n{instruction}\n\n"
    "If the comment names or describes a function, write that whole function: its def line with "
    "that name and those parameters, a docstring that says what the comment says, and a complete "
    "body. Answer with the complete code in one {fence} block. Do not repeat the code around it."
)

_REPLACE_TASK = (
    "Task: {instruction}\n\n"
    "Reply with the complete replacement for the selected code in one {fence} block, nothing else."
)
_REPLACE = _HEADER + "{before_block}{after_block}{selection_block}" + _REPLACE_TASK
# Coder models are tuned on "complete this code": a short task and "answer with the complete code"
# beat a paragraph of rules (bench.quality, Qwen2.5-Coder-0.5B, 40-problem subset at temperature 0:
# 23 -> 27 passed; all 164 now pass as often as with the model prompted alone).
_CODE_TASK_END = "Task: {instruction}\n\nAnswer with the complete code in one {fence} block."
_IMPLEMENT = _HEADER + "{before_block}{after_block}{selection_block}" + _CODE_TASK_END
# Documentation is asked as a task to do, with only the code it documents. "Return the selected code
# unchanged except for ..." had the 0.5B return it unchanged; shown the code around a function, it
# answered with its neighbours, the function left out or undocumented (bench.quality document mode,
# the function amid two others, 0.5B: 8 of 19 before, 17 of 19 now).
_DOCUMENT = _HEADER + "{selection_block}" + _CODE_TASK_END
_FIX = _HEADER + "{before_block}{after_block}{diagnostics_block}{selection_block}" + _REPLACE_TASK

_TESTS = (
    _HEADER + "{before_block}{selection_block}"
    "Task: {instruction}\n\n"
    "Reply with a complete test file in one {fence} block, imports included."
)

_EXPLAIN = _HEADER + "{before_block}{selection_block}{after_block}Task: {instruction}"

_USER_ACTION_SYSTEM = _SYSTEM_CODE


def _builtin(
    name: Action,
    title: str,
    mode: ApplyMode,
    trigger: Trigger,
    prompt: str,
    default_instruction: str = "",
    *,
    needs_selection: bool = False,
    system: str = _SYSTEM_CODE,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    before_label: str = "Code before the selection",
    adds_code: bool = False,
) -> ActionSpec:
    return ActionSpec(
        name=name,
        title=TITLE_PREFIX + title,
        mode=mode,
        trigger=trigger,
        needs_selection=needs_selection,
        system=system,
        prompt=prompt,
        default_instruction=default_instruction,
        before_label=before_label,
        default_max_tokens=max_tokens,
        adds_code=adds_code,
    )


#: every built-in action, in menu order
BUILTIN_ACTIONS: Mapping[str, ActionSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _builtin(
                Action.GENERATE_FROM_COMMENT,
                "Generate code from comment",
                ApplyMode.INSERT_BELOW,
                Trigger.COMMENT,
                _GENERATE,
                before_label="Code before the comment",
                adds_code=True,
            ),
            _builtin(
                Action.REWRITE,
                "Rewrite selection",
                ApplyMode.REPLACE,
                Trigger.SELECTION,
                _REPLACE,
                "Rewrite the selected code for clarity and readability without changing its behaviour.",
                needs_selection=True,
            ),
            _builtin(
                Action.IMPLEMENT,
                "Implement",
                ApplyMode.REPLACE,
                Trigger.SELECTION,
                _IMPLEMENT,
                "Complete the selected code.",
                adds_code=True,
            ),
            _builtin(
                Action.DOCUMENT,
                "Add documentation",
                ApplyMode.REPLACE,
                Trigger.SELECTION,
                _DOCUMENT,
                "Add {doc_style} to the selected code. Keep its code as it is.",
            ),
            _builtin(
                Action.EXPLAIN,
                "Explain",
                ApplyMode.SHOW,
                Trigger.SELECTION,
                _EXPLAIN,
                "Explain what the selected code does and anything surprising in it, in a few sentences.",
                system=_SYSTEM_PROSE,
                max_tokens=768,
            ),
            _builtin(
                Action.TESTS,
                "Write tests",
                ApplyMode.NEW_FILE,
                Trigger.SELECTION,
                _TESTS,
                "Write unit tests for the selected code with {test_framework}.",
                max_tokens=2048,  # a whole test file
            ),
            _builtin(
                Action.FIX,
                "Fix problems",
                ApplyMode.REPLACE,
                Trigger.DIAGNOSTIC,
                _FIX,
                "Fix the problems in the selected code{diagnostics_hint}. Change nothing else.",
            ),
        )
    }
)


def _titled(title: str) -> str:
    return title if title.startswith(TITLE_PREFIX) else TITLE_PREFIX + title


def _override(spec: ActionSpec, cfg: ActionSettings) -> ActionSpec:
    mode = cfg.apply or spec.mode
    return replace(
        spec,
        title=_titled(cfg.title) if cfg.title else spec.title,
        mode=mode,
        prompt=cfg.prompt or spec.prompt,
        system=cfg.system or spec.system,
        provider=cfg.provider,
        model=cfg.model,
        temperature=cfg.temperature,
        max_tokens=cfg.max_tokens,
    )


def _user_action(cfg: ActionSettings) -> ActionSpec:
    if not cfg.prompt:
        raise ConfigError(
            f'Action "{cfg.name}" has no prompt: set `prompt` (a template using {{selection}}).'
        )
    mode = cfg.apply or ApplyMode.REPLACE
    needs_selection = "{selection}" in cfg.prompt
    return ActionSpec(
        name=cfg.name,
        title=_titled(cfg.title or cfg.name.replace("_", " ").replace("-", " ").capitalize()),
        mode=mode,
        trigger=Trigger.SELECTION if needs_selection else Trigger.ALWAYS,
        needs_selection=needs_selection,
        system=cfg.system or (_SYSTEM_PROSE if mode == ApplyMode.SHOW else _USER_ACTION_SYSTEM),
        prompt=cfg.prompt,
        builtin=False,
        provider=cfg.provider,
        model=cfg.model,
        temperature=cfg.temperature,
        max_tokens=cfg.max_tokens,
    )


def resolve_action(name: str, settings: Settings) -> ActionSpec:
    """The action called ``name``, with the settings' overrides applied.

    Raises :class:`ActionError` for an unknown name and :class:`ConfigError` for a user action
    without a prompt.
    """
    cfg = settings.actions.get(name)
    builtin = BUILTIN_ACTIONS.get(name)
    if builtin is not None:
        return _override(builtin, cfg) if cfg is not None else builtin
    if cfg is not None:
        return _user_action(cfg)
    known = ", ".join([*BUILTIN_ACTIONS, *(n for n in settings.actions if n not in BUILTIN_ACTIONS)])
    raise ActionError(f'Unknown action "{name}". Known actions: {known}.')


def list_actions(settings: Settings) -> list[ActionSpec]:
    """Built-ins (in menu order) then user actions; user actions without a prompt are left out."""
    specs = [resolve_action(name, settings) for name in BUILTIN_ACTIONS]
    for name, cfg in settings.actions.items():
        if name not in BUILTIN_ACTIONS and cfg.prompt:
            specs.append(_user_action(cfg))
    return specs
