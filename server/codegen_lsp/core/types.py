"""Plain data shared by the core, the providers and the edges.

Positions here are **code points** (Python string indices) on lines split by ``\\n``, ``\\r\\n`` or
``\\r``; converting from and to an editor's encoding (utf-8/16/32) happens only at the LSP edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """One chat completion: what a provider's ``stream`` receives."""

    messages: tuple[Message, ...]
    model: str | None = None  # None: the provider's configured model
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    #: prompt tokens the model did not evaluate again (a KV/prompt cache hit)
    cached_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of a streamed answer.

    ``text`` is visible content only (reasoning and ``<think>`` blocks are already removed).
    The last delta of a stream carries ``finish_reason`` ("stop", "length", ...) and, when the
    provider reports it, ``usage``.
    """

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True, slots=True, order=True)
class Position:
    line: int
    character: int  # code points


@dataclass(frozen=True, slots=True)
class Range:
    start: Position
    end: Position

    @property
    def is_empty(self) -> bool:
        return self.start == self.end


@dataclass(frozen=True, slots=True)
class TextEdit:
    range: Range
    new_text: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    range: Range
    message: str
    severity: str | None = None  # "error", "warning", "information", "hint"
    source: str | None = None
    code: str | None = None


class ApplyMode(StrEnum):
    """Where an action's answer goes."""

    REPLACE = "replace"  # replace the target range
    INSERT_BELOW = "insert_below"  # insert after the last line of the target
    INSERT_ABOVE = "insert_above"  # insert before the first line of the target
    NEW_FILE = "new_file"  # the answer is a new file's text
    SHOW = "show"  # prose for the user, no edit


@dataclass(frozen=True, slots=True)
class EditRequest:
    """Everything the pipeline needs for one generation, free of any protocol."""

    text: str
    range: Range
    action: str
    language_id: str = "plaintext"
    path: str | None = None
    instruction: str | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)
