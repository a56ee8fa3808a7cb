"""Messages per action: render an action's system and user templates over a :class:`Context`.

Templates use ``{name}`` placeholders. Every template (user-defined ones too) may use the plain
values ``{selection} {before} {after} {language} {path} {diagnostics} {instruction}``; built-in
templates also use ready-made sections (``{before_block}``, ``{selection_block}``,
``{after_block}``, ``{diagnostics_block}``) that render to nothing when empty, and ``{fence}`` (the
opening code fence for the language). Only known placeholders are replaced, so braces in code or
in a user's template stay as they are. :func:`completion_request` adds the action's ``max_tokens``
(its registry default, grown for actions that must repeat a long selection) and temperature.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from codegen_lsp.core.actions import ActionSpec
from codegen_lsp.core.context import Context, estimate_tokens
from codegen_lsp.core.languages import language
from codegen_lsp.core.types import ApplyMode, CompletionRequest, Message

#: no answer limit grows past this, however long the selection
_MAX_TOKENS_CEILING = 8192

# No stop sequences: a fence-based stop ("```") also matches the *opening* fence and would end the
# answer before the code; cleanup cuts whatever follows the code block instead.
DEFAULT_STOP: tuple[str, ...] = ()

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with known ``{name}`` placeholders replaced; anything else is left alone."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _section(label: str, code: str, fence: str) -> str:
    if not code.strip():
        return ""
    code = code.strip("\n")
    return f"{label}:\n{fence}\n{code}\n```\n\n"


def template_values(spec: ActionSpec, context: Context, instruction: str | None) -> dict[str, str]:
    """Every placeholder's value for ``spec`` over ``context``."""
    language_id = context.language_id or "plaintext"
    lang = language(language_id)
    fence = "```" + lang.fence_tag
    diagnostics = context.diagnostics_text
    values = {
        "language": language_id,
        "path": context.path or "untitled",
        "selection": context.selection,
        "before": context.before,
        "after": context.after,
        "diagnostics": diagnostics,
        "fence": fence,
        "doc_style": lang.doc_style,
        "test_framework": lang.test_framework,
        "diagnostics_hint": " listed in the diagnostics" if diagnostics else "",
    }
    values["before_block"] = _section(spec.before_label, context.before, fence)
    values["after_block"] = _section("Code after", context.after, fence)
    values["selection_block"] = _section("Selected code", context.selection, fence)
    values["diagnostics_block"] = f"Diagnostics:\n{diagnostics}\n\n" if diagnostics else ""
    values["instruction"] = render(instruction or spec.default_instruction, values).strip()
    return values


def build_messages(spec: ActionSpec, context: Context, instruction: str | None = None) -> tuple[Message, ...]:
    """The system and user messages for ``spec``; ``instruction`` falls back to the action's default."""
    values = template_values(spec, context, instruction)
    system = render(spec.system, values).strip()
    user = render(spec.prompt, values).strip()
    if system:
        return (Message("system", system), Message("user", user))
    return (Message("user", user),)


def max_tokens_for(spec: ActionSpec, context: Context) -> int:
    """The answer limit: the action's setting, else its default grown to fit a repeated selection."""
    if spec.max_tokens is not None:
        return spec.max_tokens
    base = spec.default_max_tokens
    if spec.mode == ApplyMode.REPLACE:
        # the answer repeats the selection (plus docs/changes): never cap it below that
        base = max(base, estimate_tokens(context.selection) * 3 // 2 + 256)
    return min(base, _MAX_TOKENS_CEILING)


def completion_request(
    spec: ActionSpec, messages: tuple[Message, ...], context: Context
) -> CompletionRequest:
    return CompletionRequest(
        messages=messages,
        model=spec.model,
        temperature=spec.temperature,
        max_tokens=max_tokens_for(spec, context),
        stop=DEFAULT_STOP,
    )


def reserved_chars(spec: ActionSpec, instruction: str | None) -> int:
    """What the templates and instruction take, for the context budget (section labels included)."""
    return len(spec.system) + len(spec.prompt) + len(instruction or spec.default_instruction) + 200
