"""The seed API, ``create_completion`` and ``acreate_completion``, against loopback servers.

Both twins, streamed and whole; the README's factorial example; arguments reaching the wire; the
configuration path (no provider named) and the explicit one; early exits closing the stream; and
failures raised as ``CodegenError`` subclasses.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from codegen_lsp import CodegenError, acreate_completion, create_completion
from codegen_lsp.core.trust import TrustStore, fingerprint
from codegen_lsp.errors import AuthError, ConfigError, FirstTokenTimeout, ProviderUnavailable
from loopback import LoopbackServer, chat_reply, error_reply

MESSAGES = [{"role": "user", "content": "Write a Python function factorial(n)."}]

FACTORIAL_ANSWER = (
    "Here is the function:\n\n",
    "```python\n",
    "def factorial(n: int) -> int:\n",
    "    if n < 2:\n",
    "        return 1\n",
    "    return n * factorial(n - 1)\n",
    "```\n",
)


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or project config file and no CODEGEN_LSP_* variables from the machine."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    for name in ("PROVIDER", "BASE_URL", "API_KEY", "MODEL"):
        monkeypatch.delenv(f"CODEGEN_LSP_{name}", raising=False)


def test_factorial_example_streams_chunks(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply(*FACTORIAL_ANSWER, token_delay=0.01))
    chunks = list(create_completion("coder", MESSAGES, stream=True, base_url=loopback.base_url))
    assert chunks == list(FACTORIAL_ANSWER)
    code = re.search(r"```python\n(.*?)```", "".join(chunks), re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(code.group(1), namespace)
    assert namespace["factorial"](5) == 120  # type: ignore[operator]


def test_stream_false_yields_the_whole_text_once(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply(*FACTORIAL_ANSWER))
    assert list(create_completion("coder", MESSAGES, stream=False, base_url=loopback.base_url)) == [
        "".join(FACTORIAL_ANSWER)
    ]


@pytest.mark.parametrize("stream", [pytest.param(True, id="stream"), pytest.param(False, id="whole")])
async def test_async_twin(loopback: LoopbackServer, stream: bool) -> None:
    loopback.script(chat_reply("def f():\n", "    return 1\n"))
    chunks = [
        c async for c in acreate_completion("coder", MESSAGES, stream=stream, base_url=loopback.base_url)
    ]
    assert "".join(chunks) == "def f():\n    return 1\n"
    assert len(chunks) == (2 if stream else 1)


async def test_sync_api_works_inside_a_running_event_loop(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("ok"))
    assert list(create_completion(None, MESSAGES, base_url=loopback.base_url)) == ["ok"]


def test_arguments_reach_the_wire(loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    loopback.script(chat_reply("x"), chat_reply("y"))
    list(
        create_completion(
            "coder-7b",
            MESSAGES,
            base_url=loopback.base_url,
            api_key="sk-explicit",
            temperature=0.0,
            max_tokens=32,
            stop=["\n\n"],
        )
    )
    sent = loopback.requests[0]
    assert sent.headers["authorization"] == "Bearer sk-explicit"
    assert (sent.json["model"], sent.json["temperature"], sent.json["max_tokens"]) == ("coder-7b", 0.0, 32)
    assert sent.json["stop"] == ["\n\n"]
    assert sent.json["messages"] == MESSAGES
    # a preset fills the model and the key variable; base_url points it at the loopback server
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    list(create_completion(None, MESSAGES, provider="openai", base_url=loopback.base_url, stop="END"))
    sent = loopback.requests[1]
    assert sent.json["model"] == "gpt-4o-mini"
    assert sent.json["stop"] == ["END"]
    assert sent.headers["authorization"] == "Bearer sk-from-env"


def test_explicit_provider_ignores_the_programs_own_settings(
    make_loopback: Callable[[], LoopbackServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    configured, explicit = make_loopback(), make_loopback()
    monkeypatch.setenv("CODEGEN_LSP_BASE_URL", configured.base_url)
    monkeypatch.setenv("CODEGEN_LSP_MODEL", "configured-model")
    explicit.script(chat_reply("explicit"))
    assert list(create_completion("m", MESSAGES, base_url=explicit.base_url)) == ["explicit"]
    assert configured.requests == []
    assert explicit.requests[0].json["model"] == "m"


def test_no_provider_named_uses_the_configuration(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEGEN_LSP_BASE_URL", loopback.base_url)
    monkeypatch.setenv("CODEGEN_LSP_MODEL", "from-env")
    loopback.script(chat_reply("configured"))
    assert list(create_completion(None, MESSAGES)) == ["configured"]
    assert loopback.requests[0].json["model"] == "from-env"


def test_project_file_providers_and_fallback(
    make_loopback: Callable[[], LoopbackServer], tmp_path: Path
) -> None:
    down, up = make_loopback(), make_loopback()
    down.script(error_reply(503, "down"))
    up.script(chat_reply("from backup"))
    project_file = tmp_path / ".codegen-lsp.toml"
    project_file.write_text(
        f'provider = "main"\n'
        f'[providers.main]\nbase_url = "{down.base_url}"\nmodel = "a"\nmax_retries = 0\n'
        f'[providers.backup]\nbase_url = "{up.base_url}"\nmodel = "b"\n',
        encoding="utf-8",
    )
    TrustStore.of(os.environ).trust(project_file, fingerprint(project_file.read_bytes()))
    assert list(create_completion(None, MESSAGES, fallback=["backup"], max_retries=0)) == ["from backup"]
    assert up.requests[0].json["model"] == "b"


def test_breaking_out_early_closes_the_stream(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("first", "second", "third", token_delay=0.2))
    chunks = create_completion("m", MESSAGES, base_url=loopback.base_url)
    assert next(chunks) == "first"
    chunks.close()
    assert loopback.wait_disconnected(1)


async def test_async_early_exit_closes_the_stream(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("first", "second", token_delay=0.2))
    chunks = acreate_completion("m", MESSAGES, base_url=loopback.base_url)
    async for _ in chunks:
        break
    await chunks.aclose()
    assert await loopback.async_wait_disconnected(1)


def test_failures_raise_the_error_tree(loopback: LoopbackServer) -> None:
    loopback.script(error_reply(401, "invalid key"))
    with pytest.raises(AuthError) as caught:
        list(create_completion("m", MESSAGES, base_url=loopback.base_url, max_retries=0))
    assert isinstance(caught.value, CodegenError)
    assert "invalid key" in str(caught.value)


def test_timeouts_are_arguments(loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("late", delay=2))
    with pytest.raises(FirstTokenTimeout, match=r"0\.3 s"):
        list(
            create_completion(
                "m", MESSAGES, base_url=loopback.base_url, first_token_timeout=0.3, max_retries=0
            )
        )


def test_nothing_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from codegen_lsp.core import config

    # the embedded model may be installed on this machine; the point here is "nothing configured"
    monkeypatch.setattr(config, "_local_available", lambda: False)
    with pytest.raises(ProviderUnavailable, match="CODEGEN_LSP_PROVIDER"):
        list(create_completion(None, MESSAGES))


@pytest.mark.parametrize(
    ("messages", "kwargs", "says"),
    [
        pytest.param(MESSAGES, {"temprature": 0.1}, "unknown argument", id="typo-in-kwarg"),
        pytest.param("hello", {}, "must be a list", id="messages-string"),
        pytest.param([{"role": "robot", "content": "x"}], {}, "messages\\[0\\]", id="bad-role"),
        pytest.param([], {}, "empty", id="no-messages"),
        pytest.param(MESSAGES, {"stop": 3}, "stop must be", id="bad-stop"),
        pytest.param(MESSAGES, {"max_retries": -1}, "max_retries", id="bad-retries"),
        pytest.param(MESSAGES, {"provider": "nonesuch"}, "nonesuch", id="unknown-provider"),
        pytest.param(
            MESSAGES, {"base_url": "http://127.0.0.1:9/v1", "timeout": -1}, "timeouts", id="bad-timeout"
        ),
    ],
)
def test_bad_calls_fail_at_the_call(messages: object, kwargs: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        create_completion("m", messages, **kwargs)  # type: ignore[arg-type]


def test_runs_in_parallel_threads(loopback: LoopbackServer) -> None:
    loopback.script(*(chat_reply(f"n{i}") for i in range(4)))

    async def main() -> list[str]:
        return await asyncio.gather(
            *(
                asyncio.to_thread(
                    lambda: "".join(create_completion("m", MESSAGES, base_url=loopback.base_url))
                )
                for _ in range(4)
            )
        )

    assert sorted(asyncio.run(main())) == ["n0", "n1", "n2", "n3"]
