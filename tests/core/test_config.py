"""Configuration layering, validation and secrets: defaults < user < project < env < overrides."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from codegen_lsp.core import config, options
from codegen_lsp.core.settings import (
    ActionSettings,
    ContextSettings,
    ProviderSettings,
    Settings,
    Table,
    Timeouts,
)
from codegen_lsp.core.trust import TrustStore, fingerprint
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


def trusted(path: Path, env: dict[str, str]) -> Path:
    """Trust the project file as it is now (as `codegen-lsp trust` does)."""
    TrustStore.of(env).trust(path, fingerprint(path.read_bytes()))
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
    (project / ".git").mkdir(parents=True)  # the search climbs to the repository root
    trusted(write(project / ".codegen-lsp.toml", 'model = "from-project"\n'), home)
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


@pytest.mark.parametrize(
    ("user_file", "provider", "temperature"),
    [
        ("", "local", 0.0),  # the embedded model decodes greedily by default
        ("", "ollama", 0.2),  # a preset without one keeps the setting's default
        ("[providers.local]\ntemperature = 0.6\n", "local", 0.6),
        ("[providers.ollama]\ntemperature = 0\n", "ollama", 0.0),  # 0 is a value, not "unset"
        ('[providers.mine]\npreset = "local"\n', "mine", 0.0),
    ],
    ids=["local-default", "other-preset-default", "local-overridden", "zero-kept", "named-from-preset"],
)
def test_a_preset_fills_in_only_what_it_sets(
    tmp_path: Path, home: dict[str, str], user_file: str, provider: str, temperature: float
) -> None:
    write(tmp_path / "xdg" / "codegen-lsp" / "config.toml", user_file)
    settings = config.resolve(tmp_path, environ={**home, "CODEGEN_LSP_PROVIDER": provider})
    assert settings.providers[provider].temperature == temperature


def test_named_providers_fallback_and_actions(tmp_path: Path, home: dict[str, str]) -> None:
    path = write(
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
    trusted(path, home)
    settings = config.resolve(tmp_path, environ=home)
    work = settings.providers["work"]
    assert work.base_url == "https://openrouter.ai/api/v1"
    assert work.api_key_env == "WORK_KEY"
    assert work.timeouts.first_token == 300
    assert [p.name for p in settings.provider_chain()] == ["work", "ollama"]
    assert [p.name for p in settings.provider_chain("rewrite")] == ["groq", "work", "ollama"]
    assert settings.actions["add_types"].apply == "replace"


def test_gateway_user_and_headers(tmp_path: Path, home: dict[str, str]) -> None:
    """Per-request metadata for a gateway (LiteLLM per-user budgets): header values stay out of repr."""
    write(
        user_file(home),
        """
provider = "team"

[providers.team]
base_url = "http://127.0.0.1:4000/v1"
user = "alice@example.com"
headers = { "x-litellm-tags" = "editor,team-a" }
""",
    )
    team = config.resolve(tmp_path, environ=home).providers["team"]
    assert team.user == "alice@example.com"
    assert dict(team.headers) == {"x-litellm-tags": "editor,team-a"}
    assert "team-a" not in repr(team)
    edited = config.resolve(
        tmp_path, environ=home, overrides={"providers": {"team": {"user": "bob"}}}, overrides_source="editor"
    )
    assert edited.providers["team"].user == "bob"


def test_model_path_is_relative_to_the_file_that_names_it(tmp_path: Path, home: dict[str, str]) -> None:
    path = write(
        tmp_path / ".codegen-lsp.toml",
        'provider = "mine"\n[providers.mine]\ntype = "local"\nmodel_path = "models/m.gguf"\n',
    )
    trusted(path, home)
    (tmp_path / ".git").mkdir()
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
        pytest.param("[providers.x]\nuser = 7", "providers.x.user: expected a string", id="bad-user"),
    ],
)
def test_invalid_project_file_names_file_key_problem(
    tmp_path: Path, home: dict[str, str], toml: str, expected: str
) -> None:
    path = trusted(write(tmp_path / ".codegen-lsp.toml", toml), home)
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
    assert options.snake_case(camel) == key
    assert options.snake_case(key) == key


# --- each setting declared once --------------------------------------------------------------------

_NOT_OPTIONS = {"name", "origins", "untrusted"}  # a table's own name; what config records


@pytest.mark.parametrize(
    "cls", [Settings, ProviderSettings, ActionSettings, ContextSettings, Timeouts], ids=lambda c: c.__name__
)
def test_every_setting_declares_its_check(cls: type) -> None:
    for f in dataclasses.fields(cls):
        assert ("check" in f.metadata) is (f.name not in _NOT_OPTIONS), f.name


def test_the_keys_are_derived_from_the_declarations() -> None:
    top = options.top_level_options()
    assert set(top) == {
        *(f.name for f in dataclasses.fields(Settings) if f.name not in ("origins", "untrusted")),
        "base_url", "model", "api_key", "api_key_env", "timeouts", "max_answer_chars",
    }  # fmt: skip
    assert top["timeouts"] == Table(Timeouts)
    # a key handed over at run time is accepted for the active provider only
    assert "api_key" not in options.options_of(ProviderSettings)


def test_wire_names_round_trip() -> None:
    for cls in (Settings, ProviderSettings, ActionSettings, ContextSettings, Timeouts):
        for key in options.options_of(cls):
            assert options.snake_case(options.camel_case(key)) == key


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"baseUrll": "x"}, "unknown key 'baseUrll' (did you mean 'baseUrl'?)", id="camel"),
        pytest.param({"base_urll": "x"}, "unknown key 'base_urll' (did you mean 'base_url'?)", id="snake"),
        pytest.param(
            {"context": {"linesBefor": 3}},
            "unknown key 'context.linesBefor' (did you mean 'linesBefore'?)",
            id="nested, as written",
        ),
        pytest.param(
            {"providers": {"x": {"timeouts": {"firstToken": 0}}}},
            "providers.x.timeouts.firstToken: must be greater than 0 (got 0)",
            id="deep",
        ),
        pytest.param({"providers": {"x": 3}}, "providers.x: expected a table", id="entry not a table"),
    ],
)
def test_messages_name_the_key_as_the_user_wrote_it(
    tmp_path: Path, home: dict[str, str], overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        config.resolve(tmp_path, environ=home, overrides=overrides, overrides_source="editor settings")
    assert str(caught.value) == f"editor settings: {expected}"
    assert caught.value.source == "editor settings"


def test_on_invalid_leaves_out_only_the_bad_keys() -> None:
    problems: list[ConfigError] = []
    raw = {
        "model": "m",
        "streamEdits": "yes",
        "context": {"linesBefore": -1, "linesAfter": 3},
        "providers": {"a": {"model": "x", "nCtx": "big"}, "b": []},
        "nonsense": 1,
    }
    checked = options.validate_options(raw, "editor", from_file=False, on_invalid=problems.append)
    assert checked == {"model": "m", "context": {"lines_after": 3}, "providers": {"a": {"model": "x"}}}
    assert [p.key for p in problems] == [
        "stream_edits", "context.lines_before", "providers.a.n_ctx", "providers.b", "nonsense"
    ]  # fmt: skip
    assert all(p.source == "editor" and str(p).startswith("editor: ") for p in problems)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        pytest.param({"provider": "nosuch"}, "provider", id="unknown provider"),
        pytest.param({"fallback": ["nosuch"]}, "fallback", id="unknown fallback"),
        pytest.param({"providers": {"x": {"model": "m"}}}, "providers.x", id="no base_url"),
        pytest.param(
            {"providers": {"x": {"preset": "nosuch", "base_url": "http://h/v1"}}},
            "providers.x.preset",
            id="unknown preset",
        ),
        pytest.param(
            {"actions": {"a": {"prompt": "{selection}", "provider": "nosuch"}}},
            "actions.a.provider",
            id="action provider",
        ),
    ],
)
def test_errors_of_the_whole_name_their_layer_and_key(
    tmp_path: Path, home: dict[str, str], overrides: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        config.resolve(tmp_path, environ=home, overrides=overrides, overrides_source="flags")
    assert (caught.value.source, caught.value.key) == ("flags", key)
    assert str(caught.value).startswith("flags: ")


def test_merge_is_deep_later_layers_win_and_inputs_stay_unchanged() -> None:
    low = {"providers": {"x": {"model": "a", "timeouts": {"idle": 1}}}, "model": "m"}
    high = {"providers": {"x": {"timeouts": {"connect": 2}}, "y": {"model": "b"}}, "model": "n"}
    merged = options.merge(low, high)
    assert merged == {
        "providers": {"x": {"model": "a", "timeouts": {"idle": 1, "connect": 2}}, "y": {"model": "b"}},
        "model": "n",
    }
    merged["providers"]["x"]["timeouts"]["idle"] = 99
    assert low["providers"]["x"]["timeouts"] == {"idle": 1}


def test_origins_by_dotted_key(tmp_path: Path, home: dict[str, str]) -> None:
    write(tmp_path / ".codegen-lsp.toml", "[context]\nlines_before = 5\n")
    settings = config.resolve(
        tmp_path, environ=home, overrides={"base_url": "http://h/v1", "context": {"linesAfter": 2}}
    )
    assert settings.origins["context.lines_before"].startswith("project config")
    assert settings.origins["context.lines_after"] == "command line"
    assert settings.origins["context"] == "command line"  # the last layer that set any of it
    assert (settings.context.lines_before, settings.context.lines_after) == (5, 2)


def test_describe_shows_what_each_layer_set(tmp_path: Path, home: dict[str, str]) -> None:
    path = write(
        tmp_path / ".codegen-lsp.toml",
        'stream_edits = true\n[context]\nlines_before = 5\n[actions.rewrite]\nmodel = "m"\n'
        '[actions.shout]\nprompt = "{selection}"\n',
    )
    trusted(path, home)
    settings = config.resolve(
        tmp_path, environ=home, overrides={"base_url": "http://h/v1", "timeouts": {"idle": 5}}
    )
    rows = {what: (value, origin) for what, value, origin in config.describe(settings)}
    assert rows["provider"] == ("custom (openai)", "command line")
    assert rows["timeouts"] == ("connect 10 s, first token 180 s, idle 5 s, total 600 s", "command line")
    assert rows["stream_edits"][0] == "true"
    assert rows["context.lines_before"][0] == "5"
    assert rows["actions"][0] == "rewrite (built-in, changed), shout"
    assert all(origin.startswith("project config") for what, (_, origin) in rows.items() if "." in what)
    assert "context.lines_after" not in rows and "apply_timeout" not in rows  # defaults are not listed
