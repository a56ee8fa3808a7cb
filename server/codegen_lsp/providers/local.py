"""The ``local`` provider: any GGUF model run in-process by llama.cpp (llama-cpp-python).

This is the zero-configuration default: with no provider configured and the ``[local]`` extra
installed, codegen-lsp runs an embedded coder model (Qwen2.5-Coder-0.5B-Instruct by default; see
:mod:`codegen_lsp.core.localmodels`), offline. ``model`` picks an embedded model by name;
``model_path`` runs any GGUF instead.

How it behaves:

* The chat template comes from the GGUF metadata (``Llama.create_chat_completion``).
* Inline completion (``stream_infill``) writes Qwen2.5-Coder's FIM tokens, prefix first, so the
  next keystroke's prompt shares its head with this one and llama.cpp evaluates only what
  changed after it; a GGUF without those tokens is asked through its chat template instead.
* The model itself (which file, one load per process, prompt-prefix reuse, release after
  ``unload_after`` idle seconds) is :mod:`codegen_lsp.providers.llama_models`. The last delta's
  ``usage`` says how many prompt tokens llama.cpp reused from the previous request
  (``cached_tokens``): a second request about the same file skips most of its prompt.
* Inference runs on a worker thread and streams each token into the event loop through
  ``call_soon_threadsafe``. A llama context is not thread-safe, so each cached model also has a
  generation lock: concurrent requests on one model run one after the other.
* Cancelling the consuming task (or closing the stream) sets a flag the worker checks between
  tokens; it then closes llama-cpp-python's iterator and releases the model. The stream's cleanup
  waits for that, so when a cancelled stream has finished closing the model is free again.
  Prompt evaluation (prefill) itself cannot be interrupted: a cancel lands after it.

Failures: llama-cpp-python or the embedded model missing →
:class:`~codegen_lsp.errors.ProviderUnavailable` (with the install command); a missing, unreadable
or non-GGUF ``model_path``, an unknown embedded model name, a model that fails verification, a load
failure or a prompt larger than ``n_ctx`` → :class:`~codegen_lsp.errors.ProviderError` with a
message saying what to fix.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from pathlib import Path
from typing import Any

from codegen_lsp.core import localmodels
from codegen_lsp.core.infill import (
    QWEN_FIM_MIDDLE,
    QWEN_FIM_STOP,
    InfillRequest,
    chat_infill_messages,
    qwen_fim_prompt,
)
from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.think import ThinkFilter
from codegen_lsp.core.types import CompletionRequest, Delta
from codegen_lsp.errors import FirstTokenTimeout, IdleTimeout, ProviderError
from codegen_lsp.providers.llama_models import (
    LoadedModel,
    default_threads,
    load,
    loaded_models,
    resolve_model_path,
    schedule_unload,
    unload_models,
)

__all__ = ["LocalProvider", "default_threads", "loaded_models", "resolve_model_path", "unload_models"]

#: how often a worker waiting for a busy model looks at its cancel flag
_LOCK_POLL_S = 0.05
#: llama-cpp-python's own default when a request sets no temperature
_DEFAULT_TEMPERATURE = 0.2


class _End:
    """Sentinel: the worker thread has finished."""


_END = _End()
_Item = Delta | BaseException | _End


class LocalProvider:
    """llama.cpp in-process behind :class:`~codegen_lsp.core.provider.Provider`."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self.name = settings.name
        if settings.model_path:
            # model is only a label here
            self.model = settings.model or Path(settings.model_path).stem
        else:
            embedded, _why = localmodels.choose(settings.model)
            self.model = embedded.name if embedded else str(settings.model)

    async def load(self) -> None:
        """Load the model now instead of on the first request (e.g. to warm a server up).

        Counts as a use: the idle countdown starts again."""
        loaded = await asyncio.to_thread(load, self.settings)
        schedule_unload(loaded, self.settings.unload_after)

    async def aclose(self) -> None:
        """Nothing to release per provider: models stay cached until idle for ``unload_after`` seconds."""

    def _sampling(self, max_tokens: int | None, temperature: float | None) -> dict[str, Any]:
        if temperature is None:
            temperature = self.settings.temperature
        return {
            "temperature": _DEFAULT_TEMPERATURE if temperature is None else temperature,
            "max_tokens": max_tokens or self.settings.max_tokens,
            "stream": True,
        }

    def _chat_chunks(self, loaded: LoadedModel, request: CompletionRequest) -> Iterator[dict[str, Any]]:
        chunks: Iterator[dict[str, Any]] = loaded.llama.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in request.messages],
            stop=list(request.stop),
            **self._sampling(request.max_tokens, request.temperature),
        )
        return chunks

    def _infill_chunks(self, loaded: LoadedModel, request: InfillRequest) -> Iterator[dict[str, Any]]:
        """Qwen2.5-Coder's FIM tokens, prefix first: the prompt of the next keystroke shares its
        head, which llama.cpp does not evaluate again. A model without those tokens (any other
        GGUF) is asked through its chat template with the fill-in prompt instead."""
        if not _has_fim_tokens(loaded.llama):
            chat = CompletionRequest(
                chat_infill_messages(request), temperature=request.temperature, max_tokens=request.max_tokens
            )
            return self._chat_chunks(loaded, chat)
        chunks: Iterator[dict[str, Any]] = loaded.llama.create_completion(
            prompt=qwen_fim_prompt(request),
            stop=[*QWEN_FIM_STOP, *request.stop],
            **self._sampling(request.max_tokens, request.temperature),
        )
        return chunks

    def _work(
        self,
        open_chunks: Callable[[LoadedModel], Iterator[dict[str, Any]]],
        emit: Callable[[_Item], None],
        cancelled: threading.Event,
    ) -> None:
        """Runs on the worker thread: load, wait for the model, stream tokens until done or cancelled."""
        loaded = self._acquire(cancelled)
        if loaded is None:
            return
        try:
            if cancelled.is_set():
                return
            loaded.prompt.start()
            try:
                chunks = open_chunks(loaded)
            except ValueError as exc:
                raise self._generation_error(exc) from exc
            try:
                for chunk in chunks:
                    if cancelled.is_set():
                        break
                    choices = chunk.get("choices") or ()
                    if not choices:
                        continue
                    # a chat chunk has delta.content, a plain completion's chunk has text
                    text = choices[0].get("text") or choices[0].get("delta", {}).get("content")
                    if text:
                        emit(Delta(text=text))
                    finish = choices[0].get("finish_reason")
                    if finish:
                        emit(Delta(finish_reason=finish, usage=loaded.prompt.usage()))
            except ValueError as exc:
                raise self._generation_error(exc) from exc
            finally:
                # Closing the generator stops llama-cpp-python before it samples another token.
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        finally:
            loaded.lock.release()
            schedule_unload(loaded, self.settings.unload_after)

    def _acquire(self, cancelled: threading.Event) -> LoadedModel | None:
        """The cached model, locked for this generation; None when cancelled while waiting for it."""
        while True:
            loaded = load(self.settings)
            while not loaded.lock.acquire(timeout=_LOCK_POLL_S):
                if cancelled.is_set():
                    return None
            if not loaded.closed:
                return loaded
            loaded.lock.release()

    def _generation_error(self, exc: ValueError) -> ProviderError:
        message = str(exc)
        if "exceed context window" in message:
            message += (
                f". Raise n_ctx for provider '{self.name}' (now {self.settings.n_ctx}) "
                "or lower the context token budget."
            )
        return ProviderError(f"Provider '{self.name}': {message}", provider=self.name)

    def stream(self, request: CompletionRequest) -> AsyncGenerator[Delta, None]:
        return self._stream(lambda loaded: self._chat_chunks(loaded, request))

    def stream_infill(self, request: InfillRequest) -> AsyncGenerator[Delta, None]:
        """Fill in the middle (inline completion); see :meth:`_infill_chunks`."""
        return self._stream(lambda loaded: self._infill_chunks(loaded, request))

    async def _stream(
        self, open_chunks: Callable[[LoadedModel], Iterator[dict[str, Any]]]
    ) -> AsyncGenerator[Delta, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(item: _Item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:
                # The loop is closed: nobody will read further tokens, so stop making them.
                cancelled.set()

        def work() -> None:
            try:
                self._work(open_chunks, emit, cancelled)
            except ProviderError as exc:
                emit(exc)
            except Exception as exc:
                emit(ProviderError(f"Provider '{self.name}': llama.cpp failed: {exc}", provider=self.name))
            finally:
                emit(_END)

        threading.Thread(target=work, name=f"codegen-lsp local ({self.name})", daemon=True).start()
        timeouts = self.settings.timeouts
        think = ThinkFilter()
        got_text = False
        ended = False
        try:
            while True:
                limit = timeouts.idle if got_text else timeouts.first_token
                try:
                    item = await asyncio.wait_for(queue.get(), limit)
                except TimeoutError:
                    raise (IdleTimeout if got_text else FirstTokenTimeout)(
                        f"Provider '{self.name}': the local model produced "
                        f"{'no further token' if got_text else 'no token'} within {limit:g} s.",
                        provider=self.name,
                    ) from None
                if isinstance(item, _End):
                    ended = True
                    return
                if isinstance(item, BaseException):
                    raise item
                got_text = got_text or bool(item.text)
                visible = think.visible(item)
                if visible is not None:
                    yield visible
        finally:
            cancelled.set()
            if not ended:
                # Let the worker reach its next token check and release the model, so a cancelled
                # stream is really over when its cleanup returns; shielded so a second cancel
                # cannot cut that wait short and leave a hidden generation behind.
                await asyncio.shield(_drain(queue))


def _has_fim_tokens(llama: Any) -> bool:
    """Whether the model's vocabulary has Qwen2.5-Coder's FIM tokens (each one special token)."""
    return len(llama.tokenize(QWEN_FIM_MIDDLE.encode(), add_bos=False, special=True)) == 1


async def _drain(queue: asyncio.Queue[_Item]) -> None:
    while not isinstance(await queue.get(), _End):
        pass
