"""Fill-in-the-middle: the request every infilling backend receives, and the prompts built from it.

An :class:`Infiller` turns an :class:`InfillRequest` (the text before and after the cursor, plus
optional neighbouring files) into an async stream of :class:`~codegen_lsp.core.types.Delta`, like
a chat provider's ``stream``: an async generator that owns its closing, so leaving it early (or
cancelling the consuming task) closes the upstream request at once. Remote servers each speak
their own wire format (:data:`FimFormat`; see :mod:`codegen_lsp.providers.fim`); models reached
only through a chat API, and models run in-process, need the prompt built here instead:
:func:`chat_infill_messages` asks a chat model for the missing middle, and
:func:`qwen_fim_prompt` writes Qwen2.5-Coder's FIM tokens (prefix first, so llama.cpp can reuse
the evaluated prefix across keystrokes). Pure data and functions: no I/O happens here.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from codegen_lsp.core.types import Delta, Message

#: how a provider is asked to fill in the middle:
#: ``completions`` — OpenAI-compatible ``POST /completions`` with ``prompt`` + ``suffix``
#: (Ollama's OpenAI API, DeepSeek's beta API, servers that honour ``suffix``);
#: ``llamacpp-infill`` — llama.cpp's native ``POST /infill``; ``mistral`` —
#: ``POST /fim/completions`` (Codestral); ``ollama`` — Ollama's native ``POST /api/generate``
#: with ``suffix``; ``chat`` — any chat model, through a fill-in prompt (:func:`chat_infill_messages`)
FimFormat = Literal["completions", "llamacpp-infill", "mistral", "ollama", "chat"]
FIM_FORMATS: tuple[FimFormat, ...] = ("completions", "llamacpp-infill", "mistral", "ollama", "chat")


@dataclass(frozen=True, slots=True)
class ContextFile:
    """Another file shown to the model for context (llama.cpp's ``input_extra``, repo-level FIM)."""

    path: str
    text: str


@dataclass(frozen=True, slots=True)
class InfillRequest:
    """One fill-in-the-middle request: what an :class:`Infiller` receives.

    ``prefix`` and ``suffix`` are already cut to the budget; they use ``\\n`` line endings.
    """

    prefix: str
    suffix: str
    language_id: str = "plaintext"
    path: str | None = None
    model: str | None = None  # None: the provider's configured model
    max_tokens: int | None = None  # None: the provider's setting
    temperature: float | None = None  # None: the provider's setting
    stop: tuple[str, ...] = ()
    extra: tuple[ContextFile, ...] = ()


@runtime_checkable
class Infiller(Protocol):
    """Anything that fills in the middle. Raises only :class:`~codegen_lsp.errors.ProviderError`."""

    #: the configured provider name
    name: str
    #: the model used when the request names none
    model: str

    def stream_infill(self, request: InfillRequest) -> AsyncGenerator[Delta, None]:
        """Stream the middle. An async generator function in every implementation."""
        ...

    async def aclose(self) -> None:
        """Release connections / models. Safe to call twice."""
        ...


# --- Qwen2.5-Coder FIM tokens (for the in-process model) -------------------------------------

QWEN_FIM_PREFIX = "<|fim_prefix|>"
QWEN_FIM_SUFFIX = "<|fim_suffix|>"
QWEN_FIM_MIDDLE = "<|fim_middle|>"
QWEN_REPO_NAME = "<|repo_name|>"
QWEN_FILE_SEP = "<|file_sep|>"
#: what ends a Qwen2.5-Coder infill besides end-of-text: the model starting another FIM section
QWEN_FIM_STOP: tuple[str, ...] = (
    "<|endoftext|>",
    "<|fim_pad|>",
    QWEN_FILE_SEP,
    QWEN_REPO_NAME,
    QWEN_FIM_PREFIX,
    QWEN_FIM_SUFFIX,
    QWEN_FIM_MIDDLE,
)


def qwen_fim_prompt(request: InfillRequest, *, repo: str | None = None) -> str:
    """The prompt for Qwen2.5-Coder's fill-in-the-middle mode (prefix-suffix-middle order).

    Without other files: ``<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>``. With ``request.extra``,
    the repository-level form Qwen2.5-Coder was trained on: ``<|repo_name|>`` then each file
    after a ``<|file_sep|>`` line naming it, the current file last. Everything up to the end of
    the prefix depends only on text before the cursor, so consecutive keystrokes share that part
    of the prompt and llama.cpp re-evaluates only what changed after it.
    """
    head = ""
    if request.extra:
        head = f"{QWEN_REPO_NAME}{repo or 'project'}\n"
        head += "".join(f"{QWEN_FILE_SEP}{f.path}\n{f.text}\n" for f in request.extra)
        head += f"{QWEN_FILE_SEP}{request.path or 'current'}\n"
    return f"{head}{QWEN_FIM_PREFIX}{request.prefix}{QWEN_FIM_SUFFIX}{request.suffix}{QWEN_FIM_MIDDLE}"


# --- chat models ----------------------------------------------------------------------------

#: where the missing code goes, in the chat prompt
CURSOR_MARK = "<CURSOR>"

_CHAT_SYSTEM = (
    "You are a code completion engine. The user shows a file with the marker "
    f"{CURSOR_MARK} where code is missing. Reply with exactly the text that replaces "
    f"{CURSOR_MARK}: no explanation, no Markdown fences, no repetition of the code before or "
    "after the marker. Keep the file's indentation. Reply with nothing if nothing is missing."
)


def chat_infill_messages(request: InfillRequest) -> tuple[Message, ...]:
    """The chat conversation asking a chat-only model for the middle of ``request``."""
    parts = [f"File {f.path}:\n{f.text}\n" for f in request.extra]
    name = request.path or "the current file"
    parts.append(
        f"Complete {name} ({request.language_id}) at {CURSOR_MARK}:\n"
        f"{request.prefix}{CURSOR_MARK}{request.suffix}"
    )
    return (Message("system", _CHAT_SYSTEM), Message("user", "\n".join(parts)))
