"""llama.cpp models loaded in this process: found, loaded once, shared, measured and released when idle.

The ``local`` provider (:mod:`codegen_lsp.providers.local`) asks :func:`load` for a model and runs
generations on it; this module owns everything about the model itself:

* **Which file**: ``model_path``, or an embedded model (``model`` names it, see
  :mod:`codegen_lsp.core.localmodels`) assembled into the user's cache on first use and verified
  (:mod:`codegen_lsp.providers.modelfiles`). :func:`resolve_model_path` checks it is a GGUF.
* **One load per (path, n_ctx, n_threads)**, shared by every provider with that key and guarded by
  a lock, so two first requests load the file once. Each :class:`LoadedModel` has a generation
  lock: a llama context is not thread-safe.
* **Prompt reuse**: llama.cpp keeps the evaluated prompt in its KV cache and, on the next request,
  evaluates only what follows the longest common prefix, so a second request about the same file
  skips most of its prompt. :class:`PromptCount` reports how many prompt tokens were reused.
* **Release when idle**: a model unused for ``unload_after`` seconds is closed and its memory
  returned (:func:`schedule_unload`); the next request loads it again. :func:`unload_models`
  drops them all (tests, benchmarks).
* llama.cpp's log chatter never reaches stdout or stderr (in the language server stdout carries
  the protocol); the last lines are kept to explain a failed load.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_lsp.core import localmodels
from codegen_lsp.core.localmodels import EmbeddedModel
from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.types import Usage
from codegen_lsp.errors import ProviderError, ProviderUnavailable
from codegen_lsp.providers.modelfiles import model_file

_GGUF_MAGIC = b"GGUF"
#: more threads than this stops paying off for token generation, which is memory-bound
_MAX_DEFAULT_THREADS = 8


_ModelKey = tuple[str, int, int]


@dataclass
class LoadedModel:
    key: _ModelKey
    llama: Any
    #: one generation at a time: a llama context is not thread-safe
    lock: threading.Lock
    load_seconds: float
    prompt: PromptCount
    #: set (under ``lock``) when the model is released; a worker that waited for the lock must load again
    closed: bool = False
    #: releases the model after ``unload_after`` idle seconds; replaced after each use
    timer: threading.Timer | None = None


class PromptCount:
    """How much of the last prompt llama.cpp evaluated, and how much it reused from its KV cache.

    llama-cpp-python matches each new prompt against the tokens already in the KV cache, drops the
    rest, then calls ``eval`` once with the remaining prompt tokens: at that first call
    ``n_tokens`` is the reused prefix. Wrapping the instance's ``eval`` is the one place that
    number is visible without its verbose logging (which writes to the process's stderr).
    """

    def __init__(self, llama: Any) -> None:
        self.llama = llama
        self.reused = 0
        self.total = 0
        self._first = True
        self._eval = llama.eval
        llama.eval = self._counting_eval

    def start(self) -> None:
        self.reused = self.total = 0
        self._first = True

    def _counting_eval(self, tokens: Any) -> None:
        if self._first:
            self._first = False
            self.reused = int(self.llama.n_tokens)
            self.total = self.reused + len(tokens)
        self._eval(tokens)

    def usage(self) -> Usage:
        generated = max(int(self.llama.n_tokens) - self.total, 0) + 1
        return Usage(prompt_tokens=self.total, completion_tokens=generated, cached_tokens=self.reused)


_models: dict[_ModelKey, LoadedModel] = {}
_models_lock = threading.Lock()
_log_tail: deque[str] = deque(maxlen=64)
# llama.cpp keeps a raw pointer to the ctypes callback: it must stay referenced for the process.
_log_callback: Any = None


def _embedded(settings: ProviderSettings) -> EmbeddedModel:
    """The embedded model a provider without ``model_path`` runs (``model`` names it)."""
    model, _why = localmodels.choose(settings.model)
    if model is None:
        known = ", ".join(localmodels.EMBEDDED_MODELS)
        raise ProviderError(
            f"Provider '{settings.name}': there is no embedded model called {settings.model!r} "
            f"(known: {known}). Set model to one of those, or model_path to a GGUF file.",
            provider=settings.name,
        )
    return model


def _model_location(settings: ProviderSettings) -> tuple[Path, EmbeddedModel | None]:
    """Where the GGUF is (or will be, for an embedded model not assembled yet), and which embedded model."""
    if not settings.model_path:
        model = _embedded(settings)
        return localmodels.cache_dir() / model.file_name, model
    path = Path(settings.model_path).expanduser()
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise ProviderError(
            f"Provider '{settings.name}': model_path {path} {what}. Set model_path to a .gguf model file.",
            provider=settings.name,
        )
    return path.resolve(), None


def resolve_model_path(settings: ProviderSettings) -> Path:
    """The GGUF file ``settings`` points at (``model_path`` or an embedded model), checked to be one.

    An embedded model is assembled into the cache here if it is not there yet (seconds; once).
    """
    path, embedded = _model_location(settings)
    if embedded is not None:
        path = model_file(embedded, settings.name, path.parent)
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
    return path


def _import_llama_cpp(provider: str) -> Any:
    try:
        import llama_cpp
    except (ImportError, OSError, RuntimeError) as exc:
        # OSError/RuntimeError: the package is there but its shared library failed to load.
        raise ProviderUnavailable(
            f"Provider '{provider}' (type local) needs llama-cpp-python, which is not installed "
            f"or failed to load ({exc}). Install it with: {localmodels.DEFAULT_MODEL.install_hint}",
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


def load(settings: ProviderSettings) -> LoadedModel:
    location, embedded_model = _model_location(settings)
    n_threads = settings.n_threads or default_threads()
    key: _ModelKey = (str(location), settings.n_ctx, n_threads)
    with _models_lock:
        cached = _models.get(key)
        if cached is not None:
            return cached
        # For an embedded model llama.cpp comes first: without it there is no point assembling
        # half a gigabyte of model. A file the user named costs one read to check, and a wrong
        # file is the more useful message, with or without llama.cpp.
        if embedded_model is None:
            path = resolve_model_path(settings)
            llama_cpp = _import_llama_cpp(settings.name)
        else:
            llama_cpp = _import_llama_cpp(settings.name)
            path = resolve_model_path(settings)
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
        loaded = LoadedModel(key, llama, threading.Lock(), time.perf_counter() - started, PromptCount(llama))
        _models[key] = loaded
    schedule_unload(loaded, settings.unload_after)
    return loaded


def schedule_unload(loaded: LoadedModel, after: float) -> None:
    """(Re)start the idle countdown of a model: ``after`` seconds from now it is released."""
    if after <= 0:
        return
    timer = threading.Timer(after, _unload_if_idle, (loaded,))
    timer.daemon = True
    with _models_lock:
        if loaded.timer is not None:
            loaded.timer.cancel()
        loaded.timer = timer
    timer.start()


def _unload_if_idle(loaded: LoadedModel) -> None:
    with _models_lock:
        # A newer countdown replaced this one, or the model is gone already.
        if loaded.timer is not threading.current_thread() or _models.get(loaded.key) is not loaded:
            return
        # In use: the generation's end starts a new countdown.
        if not loaded.lock.acquire(blocking=False):
            return
        del _models[loaded.key]
    try:
        loaded.closed = True
        loaded.llama.close()
    finally:
        loaded.lock.release()


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
        if model.timer is not None:
            model.timer.cancel()
        # Wait for a running generation: freeing a context under it would crash the process.
        with model.lock:
            model.closed = True
            model.llama.close()
