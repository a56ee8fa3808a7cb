"""The actions codegen-lsp offers: seven built-ins, per-action overrides and user-defined actions.

An :class:`ActionSpec` is everything the rest of the system needs to know about one action: the
menu title (always starting with :data:`TITLE_PREFIX`), the LSP code-action kind, where the answer
goes (:class:`~codegen_lsp.core.types.ApplyMode`), whether it needs a selection, and the system and
user prompt templates :mod:`codegen_lsp.core.prompts` renders. Settings may override any field of a
built-in or define new actions with their own template. This module also knows each language's
comment syntax, so the server can find "the comment block at or above the cursor" cheaply on every
code-action request: :func:`comment_block_at` only looks at a bounded window around the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from codegen_lsp.core.settings import ActionSettings, Settings
from codegen_lsp.core.types import ApplyMode
from codegen_lsp.errors import ActionError, ConfigError

TITLE_PREFIX = "Codegen: "

#: placeholders every prompt template may use (user templates included)
PLACEHOLDERS = ("selection", "before", "after", "language", "path", "diagnostics", "instruction")


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One resolved action. ``system``/``prompt`` are templates (see :mod:`codegen_lsp.core.prompts`)."""

    name: str
    title: str
    mode: ApplyMode
    kind: str  # LSP CodeActionKind, e.g. "refactor.rewrite", "quickfix", "source"
    needs_selection: bool
    system: str
    prompt: str
    #: what {instruction} says when the request brings none
    default_instruction: str = ""
    builtin: bool = True
    provider: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


# --- prompt templates -------------------------------------------------------------------------
# Short and direct on purpose: small local models (SmolLM2-135M) follow a two-line task far better
# than a page of rules. The *_block placeholders render to "" when empty, so no empty sections.

_SYSTEM_CODE = (
    "You are an expert {language} programmer inside a code editor. "
    "Answer with code only, in one fenced code block. No explanations."
)
_SYSTEM_PROSE = "You are an expert {language} programmer. Answer briefly and clearly in Markdown."

_HEADER = "File: {path} ({language})\n\n"

_GENERATE = (
    _HEADER + "{before_block}{after_block}"
    "Task: write the {language} code that this comment asks for:\n{instruction}\n\n"
    "The code goes right below the comment. Reply with only the new code in one {fence} block. "
    "Do not repeat the comment or the code above it."
)

_REPLACE_TASK = (
    "Task: {instruction}\n\n"
    "Reply with the complete replacement for the selected code in one {fence} block, nothing else."
)
_REPLACE = _HEADER + "{before_block}{after_block}{selection_block}" + _REPLACE_TASK
_FIX = _HEADER + "{before_block}{after_block}{diagnostics_block}{selection_block}" + _REPLACE_TASK

_TESTS = (
    _HEADER + "{before_block}{selection_block}"
    "Task: {instruction}\n\n"
    "Reply with a complete test file in one {fence} block, imports included."
)

_EXPLAIN = _HEADER + "{before_block}{selection_block}{after_block}Task: {instruction}"

_USER_ACTION_SYSTEM = _SYSTEM_CODE


def _builtin(
    name: str,
    title: str,
    mode: ApplyMode,
    kind: str,
    prompt: str,
    default_instruction: str = "",
    *,
    needs_selection: bool = False,
    system: str = _SYSTEM_CODE,
) -> ActionSpec:
    return ActionSpec(
        name=name,
        title=TITLE_PREFIX + title,
        mode=mode,
        kind=kind,
        needs_selection=needs_selection,
        system=system,
        prompt=prompt,
        default_instruction=default_instruction,
    )


BUILTIN_ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        _builtin(
            "generate_from_comment",
            "Generate code from comment",
            ApplyMode.INSERT_BELOW,
            "refactor.rewrite",
            _GENERATE,
        ),
        _builtin(
            "implement",
            "Implement",
            ApplyMode.REPLACE,
            "refactor.rewrite",
            _REPLACE,
            "Implement the selected code: complete the stub, the TODO or the missing parts. "
            "Keep names and signatures.",
        ),
        _builtin(
            "rewrite",
            "Rewrite selection",
            ApplyMode.REPLACE,
            "refactor.rewrite",
            _REPLACE,
            "Rewrite the selected code for clarity and readability without changing its behaviour.",
            needs_selection=True,
        ),
        _builtin(
            "document",
            "Add documentation",
            ApplyMode.REPLACE,
            "refactor.rewrite",
            _REPLACE,
            "Return the selected code unchanged except for added documentation: {doc_style}.",
        ),
        _builtin(
            "fix",
            "Fix problems",
            ApplyMode.REPLACE,
            "quickfix",
            _FIX,
            "Fix the problems in the selected code{diagnostics_hint}. Change nothing else.",
        ),
        _builtin(
            "tests",
            "Write tests",
            ApplyMode.NEW_FILE,
            "source",
            _TESTS,
            "Write unit tests for the selected code with {test_framework}.",
        ),
        _builtin(
            "explain",
            "Explain",
            ApplyMode.SHOW,
            "refactor",
            _EXPLAIN,
            "Explain what the selected code does and anything surprising in it, in a few sentences.",
            system=_SYSTEM_PROSE,
        ),
    )
}

_KIND_BY_MODE = {
    ApplyMode.REPLACE: "refactor.rewrite",
    ApplyMode.INSERT_BELOW: "refactor.rewrite",
    ApplyMode.INSERT_ABOVE: "refactor.rewrite",
    ApplyMode.NEW_FILE: "source",
    ApplyMode.SHOW: "refactor",
}


def _titled(title: str) -> str:
    return title if title.startswith(TITLE_PREFIX) else TITLE_PREFIX + title


def _override(spec: ActionSpec, cfg: ActionSettings) -> ActionSpec:
    mode = cfg.apply or spec.mode
    return replace(
        spec,
        title=_titled(cfg.title) if cfg.title else spec.title,
        mode=mode,
        kind=spec.kind if mode == spec.mode else _KIND_BY_MODE[mode],
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
    return ActionSpec(
        name=cfg.name,
        title=_titled(cfg.title or cfg.name.replace("_", " ").replace("-", " ").capitalize()),
        mode=mode,
        kind=_KIND_BY_MODE[mode],
        needs_selection="{selection}" in cfg.prompt,
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


# --- comment syntax ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommentSyntax:
    line: tuple[str, ...] = ()
    block: tuple[tuple[str, str], ...] = ()


_HASH = CommentSyntax(("#",))
_SLASH = CommentSyntax(("//",), (("/*", "*/"),))
_SEMI = CommentSyntax((";",))
_PERCENT = CommentSyntax(("%",))
_HTML = CommentSyntax((), (("<!--", "-->"),))

# fmt: off
_HASH_LANGUAGES = (
    "python", "ruby", "shellscript", "sh", "bash", "zsh", "fish", "toml", "yaml", "r", "perl",
    "elixir", "dockerfile", "makefile", "cmake", "nim", "julia", "coffeescript", "graphql", "nix",
    "tcl", "gdscript", "powershell", "terraform", "hcl",
)
_SLASH_LANGUAGES = (
    "c", "cpp", "objective-c", "objective-cpp", "java", "javascript", "javascriptreact",
    "typescript", "typescriptreact", "go", "rust", "swift", "kotlin", "csharp", "scala", "dart",
    "groovy", "proto", "jsonc", "scss", "less", "solidity", "d", "glsl", "hlsl",
)
# fmt: on

_COMMENT_SYNTAX: dict[str, CommentSyntax] = {
    **dict.fromkeys(_HASH_LANGUAGES, _HASH),
    **dict.fromkeys(_SLASH_LANGUAGES, _SLASH),
    "php": CommentSyntax(("//", "#"), (("/*", "*/"),)),
    "zig": CommentSyntax(("//",)),
    "css": CommentSyntax((), (("/*", "*/"),)),
    "lua": CommentSyntax(("--",), (("--[[", "]]"),)),
    "sql": CommentSyntax(("--",), (("/*", "*/"),)),
    "haskell": CommentSyntax(("--",), (("{-", "-}"),)),
    "elm": CommentSyntax(("--",), (("{-", "-}"),)),
    "ada": CommentSyntax(("--",)),
    **dict.fromkeys(
        ("lisp", "commonlisp", "clojure", "scheme", "racket", "emacs-lisp", "fennel", "ini"), _SEMI
    ),
    **dict.fromkeys(("latex", "tex", "bibtex", "erlang", "matlab", "octave"), _PERCENT),
    **dict.fromkeys(("html", "xml", "markdown", "svg", "xsl"), _HTML),
}
# Unknown languages: the two most common line markers; a false "comment" only offers an action.
_FALLBACK_SYNTAX = CommentSyntax(("#", "//"), (("/*", "*/"),))


def comment_syntax(language_id: str) -> CommentSyntax:
    return _COMMENT_SYNTAX.get(language_id.lower(), _FALLBACK_SYNTAX)


# Bounds of the look-around: comment_block_at runs on every code-action request, so its cost must
# not depend on the document's size.
_MAX_BLOCK_LINES = 200
_MAX_BLOCK_COMMENT_SCAN = 100


def _line_comment(stripped: str, syntax: CommentSyntax) -> bool:
    return any(stripped.startswith(marker) for marker in syntax.line)


def _block_span(lines: Sequence[str], i: int, syntax: CommentSyntax) -> tuple[int, int] | None:
    """The block comment (/* … */ style) line ``i`` lies in, if it starts a line or is inside one."""
    for opener, closer in syntax.block:
        low = max(-1, i - _MAX_BLOCK_COMMENT_SCAN)
        for j in range(i, low, -1):
            stripped = lines[j].strip()
            if j != i and closer in stripped:
                break  # a block closed above line i: i is outside it
            if stripped.startswith(opener):
                high = min(len(lines), i + _MAX_BLOCK_COMMENT_SCAN)
                for k in range(j, high):
                    text = lines[k].strip()
                    if closer in (text[len(opener) :] if k == j else text):
                        return (j, k) if k >= i else None
                return (j, max(i, j))  # still being typed: no closer yet
    return None


def _comment_span(lines: Sequence[str], i: int, syntax: CommentSyntax) -> tuple[int, int] | None:
    stripped = lines[i].strip()
    if not stripped:
        return None
    if _line_comment(stripped, syntax):
        return (i, i)
    return _block_span(lines, i, syntax)


def comment_block_at(text_lines: Sequence[str], line: int, language_id: str) -> tuple[int, int] | None:
    """First and last line of the whole-line comment block at ``line``, or right above a blank ``line``.

    Consecutive comment lines (line comments and block comments alike) form one block; a blank
    line or a line of code ends it. Trailing comments after code do not count. Only a bounded
    window around ``line`` is read, so this is cheap on any document size.
    """
    if not 0 <= line < len(text_lines):
        return None
    syntax = comment_syntax(language_id)
    span = _comment_span(text_lines, line, syntax)
    if span is None and not text_lines[line].strip() and line > 0:
        # the cursor sits on the empty line the user opened under the comment
        span = _comment_span(text_lines, line - 1, syntax)
    if span is None:
        return None
    first, last = span
    while first > 0 and last - first < _MAX_BLOCK_LINES:
        above = _comment_span(text_lines, first - 1, syntax)
        if above is None:
            break
        first = above[0]
    while last + 1 < len(text_lines) and last - first < _MAX_BLOCK_LINES:
        below = _comment_span(text_lines, last + 1, syntax)
        if below is None:
            break
        last = below[1]
    return first, last


def comment_text(lines: Sequence[str], language_id: str) -> str:
    """The words of a comment block: markers, doc-comment stars and common indentation removed."""
    syntax = comment_syntax(language_id)
    openers = sorted({o for o, _ in syntax.block}, key=len, reverse=True)
    closers = sorted({c for _, c in syntax.block}, key=len, reverse=True)
    markers = sorted(syntax.line, key=len, reverse=True)
    out: list[str] = []
    for raw in lines:
        text = raw.strip()
        for opener in openers:
            if text.startswith(opener):
                text = text[len(opener) :].lstrip("*!")  # /** and /*! doc openers
                break
        for closer in closers:
            if text.endswith(closer):
                text = text[: -len(closer)].rstrip("*")
                break
        for marker in markers:
            if text.startswith(marker):
                # repeated markers: ;;; in Lisp, /// and //! doc comments, #' roxygen
                text = text.lstrip(marker[0]).lstrip("/!'|")
                break
        else:
            if openers and text.startswith("*"):
                text = text[1:]  # " * " continuation lines of a /** … */ block
        out.append(text.strip())
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


# --- per-language conventions used by prompts and the tests action ------------------------------

_DOC_STYLE = {
    "python": "PEP 257 docstrings (triple double quotes, first statement of each function/class)",
    "javascript": "JSDoc /** … */ comments above each function/class",
    "javascriptreact": "JSDoc /** … */ comments above each function/component",
    "typescript": "TSDoc /** … */ comments above each function/class",
    "typescriptreact": "TSDoc /** … */ comments above each function/component",
    "java": "Javadoc /** … */ comments with @param and @return",
    "kotlin": "KDoc /** … */ comments",
    "scala": "Scaladoc /** … */ comments",
    "c": "Doxygen /** … */ comments",
    "cpp": "Doxygen /** … */ comments",
    "csharp": "/// XML documentation comments (<summary>, <param>, <returns>)",
    "rust": "/// doc comments",
    "go": "Go doc comments (// lines starting with the name)",
    "swift": "/// documentation comments",
    "dart": "/// doc comments",
    "php": "PHPDoc /** … */ comments",
    "ruby": "YARD # comments above each method",
    "elixir": '@doc """…""" attributes',
    "lua": "--- LuaDoc comments",
    "haskell": "-- | Haddock comments",
    "r": "roxygen2 #' comments",
    "shellscript": "# comments above each function",
}

_TEST_FRAMEWORK = {
    "python": "pytest",
    "javascript": "the project's test runner (Jest/Vitest style: describe/it/expect)",
    "javascriptreact": "Jest and Testing Library",
    "typescript": "the project's test runner (Jest/Vitest style: describe/it/expect)",
    "typescriptreact": "Jest and Testing Library",
    "go": "the testing package (table-driven tests)",
    "rust": "#[test] functions in a #[cfg(test)] module",
    "java": "JUnit 5",
    "kotlin": "JUnit 5",
    "csharp": "xUnit",
    "ruby": "RSpec",
    "php": "PHPUnit",
    "elixir": "ExUnit",
    "swift": "XCTest",
    "dart": "package:test",
    "scala": "ScalaTest",
    "c": "a minimal assert-based test program",
    "cpp": "GoogleTest",
}


def doc_style(language_id: str) -> str:
    return _DOC_STYLE.get(language_id.lower(), f"the usual documentation comments for {language_id}")


def test_framework(language_id: str) -> str:
    return _TEST_FRAMEWORK.get(language_id.lower(), f"the usual unit-test framework for {language_id}")
