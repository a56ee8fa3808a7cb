"""Configuration layering, validation and secrets: defaults < user < project < env < overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen_lsp.core import config
from codegen_lsp.errors import ConfigError


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment whose user config lives under tmp_path/xdg (and has no local model)."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}


@pytest.fixture(autouse=True)
def _no_local_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_local_available", lambda: False)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def user_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "codegen-lsp" / "config.toml"


def test_nothing_configured_means_no_provider(tmp_path: Path, home: dict[str, str]) -> None:
    settings = config.resolve(tmp_path, environ=home)
    assert settings.provider is None
    assert settings.provider_chain() == ()


def test_local_is_the_default_when_installed(
    tmp_path: Path, home: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "_local_available", lambda: True)
    settings = config.resolve(tmp_path, environ=home)
    assert settings.provider == "local"
    assert settings.providers["local"].type == "local"
    assert "embedded" in settings.origins["provider"]


def test_auto_local_can_be_switched_off(
    tmp_path: Path, home: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "_local_available", lambda: True)
    write(tmp_path / ".codegen-lsp.toml", "auto_local = false\n")
    assert config.resolve(tmp_path, environ=home).provider is None
    assert config.resolve(tmp_path, environ=home, overrides={"autoLocal": True}).provider == "local"


def test_layers_in_order(tmp_path: Path, home: dict[str, str]) -> None:
    write(user_file(home), 'provider = "openai"\nmodel = "from-user"\n')
    project = tmp_path / "proj"
    write(project / ".codegen-lsp.toml", 'model = "from-project"\n')
    nested = project / "src" / "pkg"
    nested.mkdir(parents=True)

    settings = config.resolve(nested, environ=home)
    assert settings.provider == "openai"
    assert settings.providers["openai"].model == "from-project"
    assert settings.origins["provider"].startswith("user config")
    assert settings.origins["model"].startswith("project config")

    env = {**home, "CODEGEN_LSP_MODEL": "from-env"}
    assert config.resolve(nested, environ=env).providers["openai"].model == "from-env"

    flags = config.resolve(nested, environ=env, overrides={"model": "from-flag"})
    assert flags.providers["openai"].model == "from-flag"
    assert flags.origins["model"] == "command line"


def test_base_url_alone_selects_openai_compatible(tmp_path: Path, home: dict[str, str]) -> None:
    env = {**home, "CODEGEN_LSP_BASE_URL": "http://127.0.0.1:9/v1", "CODEGEN_LSP_MODEL": "m"}
    settings = config.resolve(tmp_path, environ=env)
    chosen = settings.providers[settings.provider or ""]
    assert (chosen.type, chosen.base_url, chosen.model) == ("openai", "http://127.0.0.1:9/v1", "m")


def test_env_api_key_is_used_but_never_shown(tmp_path: Path, home: dict[str, str]) -> None:
    env = {**home, "CODEGEN_LSP_PROVIDER": "openai", "CODEGEN_LSP_API_KEY": "sk-secret-123"}
    settings = config.resolve(tmp_path, environ=env)
    chosen = settings.providers["openai"]
    assert chosen.resolve_api_key({}) == "sk-secret-123"
    assert "sk-secret" not in repr(settings)
    assert "sk-secret" not in repr(config.describe(settings))


def test_named_providers_fallback_and_actions(tmp_path: Path, home: dict[str, str]) -> None:
    write(
        tmp_path / ".codegen-lsp.toml",
        """
provider = "work"
fallback = ["ollama"]

[providers.work]
preset = "openrouter"
model = "qwen/qwen3-coder"
api_key_env = "WORK_KEY"
timeouts = { first_token = 300 }

[actions.rewrite]
provider = "groq"

[actions.add_types]
title = "Add type hints"
prompt = "Add type hints:\\n{selection}"
apply = "replace"
""",
    )
    settings = config.resolve(tmp_path, environ=home)
    work = settings.providers["work"]
    assert work.base_url == "https://openrouter.ai/api/v1"
    assert work.api_key_env == "WORK_KEY"
    assert work.timeouts.first_token == 300
    assert [p.name for p in settings.provider_chain()] == ["work", "ollama"]
    assert [p.name for p in settings.provider_chain("rewrite")] == ["groq", "work", "ollama"]
    assert settings.actions["add_types"].apply == "replace"


def test_model_path_is_relative_to_the_file_that_names_it(tmp_path: Path, home: dict[str, str]) -> None:
    write(
        tmp_path / ".codegen-lsp.toml",
        'provider = "mine"\n[providers.mine]\ntype = "local"\nmodel_path = "models/m.gguf"\n',
    )
    nested = tmp_path / "src"
    nested.mkdir()
    settings = config.resolve(nested, environ=home)
    assert settings.providers["mine"].model_path == str(tmp_path / "models" / "m.gguf")


def test_camel_case_from_editor(tmp_path: Path, home: dict[str, str]) -> None:
    settings = config.resolve(
        tmp_path,
        environ=home,
        overrides={"baseUrl": "http://127.0.0.1:9/v1", "streamEdits": True, "context": {"linesBefore": 5}},
        overrides_source="editor settings",
    )
    assert settings.stream_edits is True
    assert settings.context.lines_before == 5
    assert settings.providers["custom"].base_url == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        pytest.param(
            'api_key = "sk-abc"', "must not be written in configuration files", id="literal-key-top"
        ),
        pytest.param(
            '[providers.x]\nbase_url = "http://h/v1"\napi_key = "sk-abc"',
            "providers.x.api_key: API keys must not be written",
            id="literal-key-provider",
        ),
        pytest.param(
            'api_key_env = "sk-abc-123-xyz!"', "NAME of an environment variable", id="key-as-env-name"
        ),
        pytest.param('modle = "x"', "unknown key 'modle' (did you mean 'model'?)", id="typo"),
        pytest.param("stream_edits = 1", "stream_edits: expected true or false", id="bad-bool"),
        pytest.param(
            "[context]\nlines_before = -3", "context.lines_before: must not be negative", id="negative"
        ),
        pytest.param('provider = "nosuch"', "provider 'nosuch' is neither a preset", id="unknown-provider"),
        pytest.param("[providers.x]\nmodel = 'm'", "providers.x: no base_url", id="no-base-url"),
        pytest.param("[actions.a]\napply = 'sideways'", "expected one of replace", id="bad-apply"),
        pytest.param("provider = ", "not valid TOML", id="bad-toml"),
    ],
)
def test_invalid_project_file_names_file_key_problem(
    tmp_path: Path, home: dict[str, str], toml: str, expected: str
) -> None:
    path = write(tmp_path / ".codegen-lsp.toml", toml)
    with pytest.raises(ConfigError) as caught:
        config.resolve(tmp_path, environ=home)
    message = str(caught.value)
    assert expected in message
    if "neither a preset" not in expected and "no base_url" not in expected:
        assert str(path) in message
    assert "sk-abc" not in message or "api_key_env" in toml


@pytest.mark.parametrize(
    ("key", "camel"),
    [("base_url", "baseUrl"), ("api_key_env", "apiKeyEnv"), ("first_token", "firstToken"), ("n_ctx", "nCtx")],
)
def test_snake_case(key: str, camel: str) -> None:
    assert config.snake_case(camel) == key
    assert config.snake_case(key) == key
