"""The one ``<think>`` filter: what every provider runs its answer text through before handing it out.

Reasoning models that no server-side parser tamed put their thoughts into the answer: a leading
``<think>…</think>`` block (or several), or a bare ``</think>`` when the server's parser took the
thoughts but left the tag. :class:`ThinkFilter` drops them, incrementally, so that a
:class:`~codegen_lsp.core.types.Delta`'s text is visible answer only and nothing downstream
(cleanup, the CLI, the seed API) knows about thinking. Only the start of an answer counts: a
model that *writes* ``<think>`` later, in code or prose, keeps it. Text is held back only while it
could still be the start of a tag, so ordinary answers stream exactly as they arrive. Thoughts
whose opening tag was in the prompt (DeepSeek-R1 templates) cannot be told from the answer until
the ``</think>`` comes, which is why servers offer a reasoning parser (vLLM
``--reasoning-parser``, llama-server ``--reasoning-format``): with it, they never reach us.
"""

from __future__ import annotations

from dataclasses import replace

from codegen_lsp.core.types import Delta

_OPEN = "<think>"
_CLOSE = "</think>"


class ThinkFilter:
    """Feed the answer's text in any pieces; get back the visible part that can be released now."""

    def __init__(self) -> None:
        self._state = "start"  # start → (think → after)* → text
        self._pending = ""

    def feed(self, text: str) -> str:
        """Return the visible part of ``text`` that can be released now."""
        if self._state == "text":
            return text
        self._pending += text
        while True:
            head = self._pending.lstrip()
            if self._state == "think":
                end = self._pending.find(_CLOSE)
                if end < 0:
                    # keep only what might be the beginning of the closing tag
                    self._pending = self._pending[-(len(_CLOSE) - 1) :]
                    return ""
                self._state, self._pending = "after", self._pending[end + len(_CLOSE) :]
            elif not head or _OPEN.startswith(head) or (self._state == "start" and _CLOSE.startswith(head)):
                return ""  # only whitespace or a possible tag prefix so far: decide later
            elif head.startswith(_OPEN):
                self._state, self._pending = "think", head[len(_OPEN) :]
            elif self._state == "start" and head.startswith(_CLOSE):
                self._state, self._pending = "after", head[len(_CLOSE) :]
            elif self._state == "start":
                released, self._pending, self._state = self._pending, "", "text"
                return released
            else:
                # after the thoughts: the blank lines that separate them from the answer are not
                # the answer, but the first line's own indentation is
                lead = self._pending[: len(self._pending) - len(head)]
                cut = max(lead.rfind("\n"), lead.rfind("\r"))
                self._state, self._pending = "text", ""
                return lead[cut + 1 :] + head

    def flush(self) -> str:
        """End of the answer: release what was held back as a possible tag prefix."""
        released = self._pending if self._state == "start" else ""
        self._pending = ""
        self._state = "text"
        return released

    def visible(self, delta: Delta) -> Delta | None:
        """``delta`` with its text filtered; the last delta (with a finish reason) also carries
        what was held back. None when nothing is left to hand out."""
        text = self.feed(delta.text) if delta.text else ""
        if delta.finish_reason is not None:
            text += self.flush()
        if not text and delta.finish_reason is None and delta.usage is None:
            return None
        return replace(delta, text=text)
