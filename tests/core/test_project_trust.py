"""Trust in project files: what an untrusted file may set, the hash store, the search's bounds."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from codegen_lsp.core import config, layers, options
from codegen_lsp.core.settings import (
    ActionSettings,
    ContextSettings,
    InlineSettings,
    ProviderSettings,
    Settings,
    Table,
    Timeouts,
)
from codegen_lsp.core.trust import TrustStore, fingerprint
from codegen_lsp.errors import ConfigError


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "HOME": str(tmp_path),
    }


@pytest.fixture(autouse=True)
def _no_local_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_local_available", lambda: False)


def project(root: Path, text: str) -> Path:
    (root / ".git").mkdir(parents=True, exist_ok=True)
    path = root / layers.PROJECT_FILE
    path.write_text(text, encoding="utf-8")
    return path


# --- the declarations decide ------------------------------------------------------------------------

#: every option, by class, and whether it waits for trust in a project file; a new option must be
#: classified here on purpose (the test below fails until it is)
ROUTES: dict[type, set[str]] = {
    Settings: {"providers", "provider", "fallback"},
    ProviderSettings: {"type", "base_url", "model", "api_key_env", "api_key", "headers", "user", "model_path", "preset"},
    ActionSettings: {"provider", "model"},
    ContextSettings: set(),
    InlineSettings: {"provider", "model"},
    Timeouts: set(),
}  # fmt: skip


@pytest.mark.parametrize("cls", list(ROUTES), ids=lambda c: c.__name__)
def test_each_option_declares_whether_it_routes(cls: type) -> None:
    declared = {f.name for f in dataclasses.fields(cls) if f.metadata.get("routes")}
    assert declared == ROUTES[cls]
    for f in dataclasses.fields(cls):
        if "check" in f.metadata:
            assert {"routes", "sane_max"} <= set(f.metadata), f.name


# (file, what applies untrusted, what is ignored)
CASES = [
    pytest.param(
        'provider = "evil"\n[providers.evil]\nbase_url = "http://attacker/v1"\n',
        {},
        ("provider", "providers"),
        id="own-provider",
    ),
    pytest.param(
        'base_url = "http://attacker/v1"\napi_key_env = "GITHUB_TOKEN"\nmodel = "x"\n',
        {},
        ("base_url", "api_key_env", "model"),
        id="shortcuts",
    ),
    pytest.param('fallback = ["openai"]\n', {}, ("fallback",), id="fallback"),
    pytest.param(
        '[actions.rewrite]\nprovider = "groq"\nmodel = "m"\ntitle = "Rewrite!"\n',
        {"actions": {"rewrite": {"title": "Rewrite!"}}},
        ("actions.rewrite.provider", "actions.rewrite.model"),
        id="action-provider",
    ),
    pytest.param(
        '[actions.shout]\nprompt = "{selection}"\napply = "show"\n',
        {"actions": {"shout": {"prompt": "{selection}", "apply": "show"}}},
        (),
        id="user-action-prompt",
    ),
    pytest.param(
        "stream_edits = true\napply_timeout = 5\n[context]\nlines_before = 100\ntoken_budget = 8000\n",
        {"stream_edits": True, "apply_timeout": 5.0, "context": {"lines_before": 100, "token_budget": 8000}},
        (),
        id="harmless",
    ),
    pytest.param(
        "[context]\nlines_before = 1000000\ntoken_budget = 16000\n",
        {"context": {"token_budget": 16000}},
        ("context.lines_before = 1e+06 (more than 1000)",),
        id="context-beyond-bounds",
    ),
    pytest.param(
        '[actions.rewrite]\nmax_tokens = 100000\n',
        {},
        ("actions.rewrite.max_tokens = 100000 (more than 8192)",),
        id="tokens-beyond-bounds",
    ),
    pytest.param("timeouts = { first_token = 600 }\n", {"timeouts": {"first_token": 600.0}}, (), id="timeouts"),
    pytest.param(
        '[inline]\nprovider = "groq"\nprefix_chars = 1000000\ndebounce = 0.2\n',
        {"inline": {"debounce": 0.2}},
        ("inline.provider", "inline.prefix_chars = 1e+06 (more than 64000)"),
        id="inline-provider-and-window",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("toml", "kept", "ignored"), CASES)
def test_what_an_untrusted_file_may_set(
    tmp_path: Path, env: dict[str, str], toml: str, kept: dict[str, Any], ignored: tuple[str, ...]
) -> None:
    path = project(tmp_path, toml)
    layer = layers.project_layer(path, env)
    assert dict(layer.data) == kept
    if ignored:
        assert layer.untrusted is not None
        assert layer.untrusted.ignored == ignored
        assert layer.untrusted.digest == fingerprint(path.read_bytes())
        assert layer.source.endswith("(not trusted)")
    else:
        assert layer.untrusted is None


def test_trusted_content_applies_whole_and_a_change_needs_trust_again(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = project(tmp_path, 'provider = "box"\n[providers.box]\nbase_url = "http://127.0.0.1:9/v1"\n')
    untrusted = config.resolve(tmp_path, environ=env)
    assert untrusted.provider is None and untrusted.untrusted is not None
    assert not untrusted.untrusted.changed

    TrustStore.of(env).trust(path, fingerprint(path.read_bytes()))
    trusted = config.resolve(tmp_path, environ=env)
    assert trusted.provider == "box" and trusted.untrusted is None

    path.write_text(path.read_text() + 'model = "other"\n', encoding="utf-8")
    changed = config.resolve(tmp_path, environ=env)
    assert changed.provider is None
    assert changed.untrusted is not None and changed.untrusted.changed
    assert "changed since you trusted it" in changed.untrusted.message("run X")

    assert TrustStore.of(env).revoke(path)
    assert not TrustStore.of(env).revoke(path)
    assert config.resolve(tmp_path, environ=env).untrusted is not None


def test_the_store_is_keyed_by_real_path_and_private(tmp_path: Path, env: dict[str, str]) -> None:
    path = project(tmp_path / "repo", "model = 'm'\n")
    link = tmp_path / "alias"
    link.symlink_to(tmp_path / "repo")
    store = TrustStore.of(env)
    store.trust(link / layers.PROJECT_FILE, fingerprint(path.read_bytes()))
    assert store.state(path, fingerprint(path.read_bytes())) == "trusted"
    assert store.path == tmp_path / "state" / "codegen-lsp" / "trusted.json"
    assert store.path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "content",
    [pytest.param("", id="empty"), pytest.param("{not json", id="damaged"), pytest.param("[1]", id="a-list")],
)
def test_a_damaged_store_trusts_nothing(tmp_path: Path, env: dict[str, str], content: str) -> None:
    path = project(tmp_path, 'model = "m"\n')
    store = TrustStore.of(env)
    store.path.parent.mkdir(parents=True)
    store.path.write_text(content, encoding="utf-8")
    assert store.state(path, fingerprint(path.read_bytes())) == "unknown"
    store.trust(path, fingerprint(path.read_bytes()))  # and trusting repairs it
    assert store.state(path, fingerprint(path.read_bytes())) == "trusted"


def test_an_unwritable_store_is_a_config_error(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "state").write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot record trust"):
        TrustStore.of(env).trust(tmp_path / layers.PROJECT_FILE, "0" * 64)


# --- where the project file is searched ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "start", "workspace", "found"),
    [
        pytest.param({"repo/.git": None, "repo/F": "x"}, "repo/src/pkg", None, "repo/F", id="up-to-the-repo-root"),
        pytest.param({"repo/.git": None, "F": "x"}, "repo/src", None, None, id="never-above-the-repo"),
        pytest.param({"repo/.git": "gitdir: ../x", "F": "x"}, "repo", None, None, id="worktree-git-file"),
        pytest.param({"F": "x"}, "a/b", None, None, id="no-repo-only-the-folder-itself"),
        pytest.param({"a/b/F": "x"}, "a/b", None, "a/b/F", id="no-repo-the-folder-itself"),
        pytest.param({"ws/F": "x", "F": "x"}, "ws/src", "ws", "ws/F", id="up-to-the-workspace"),
        pytest.param({"F": "x", "ws/.keep": ""}, "ws", "ws", None, id="never-above-the-workspace"),
        pytest.param({"repo/.git": None, "repo/ws/.keep": "", "repo/F": "x"}, "repo/ws", "repo/ws", None,
                     id="workspace-inside-a-repo"),
    ],
)  # fmt: skip
def test_the_search_stops_at_the_workspace_or_repository_root(
    tmp_path: Path, layout: dict[str, str | None], start: str, workspace: str | None, found: str | None
) -> None:
    base = tmp_path / "t"
    for name, content in layout.items():
        target = base / name.replace("F", layers.PROJECT_FILE)
        if content is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
    (base / start).mkdir(parents=True, exist_ok=True)
    result = layers.find_project_file(base / start, base / workspace if workspace else None)
    expected = base / found.replace("F", layers.PROJECT_FILE) if found else None
    assert result == expected


def test_the_search_never_reaches_the_filesystem_root(tmp_path: Path) -> None:
    bounds = layers.project_bounds(tmp_path / "x" / "y")
    assert Path(os.path.abspath(os.sep)) not in bounds


# --- secrets in a project file --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param('{ "api-key" = "0123456789abcdef" }', id="azure-api-key"),
        pytest.param('{ Authorization = "Bearer xyz" }', id="authorization"),
        pytest.param('{ "X-Custom" = "sk-proj-abcdefghijklmnop1234" }', id="key-shaped-value"),
        pytest.param('{ "X-Session-Token" = "t" }', id="token-header"),
    ],
)
def test_a_credential_in_project_headers_is_refused(
    tmp_path: Path, env: dict[str, str], headers: str
) -> None:
    path = project(tmp_path, f'[providers.box]\nbase_url = "http://127.0.0.1:9/v1"\nheaders = {headers}\n')
    with pytest.raises(ConfigError) as caught:
        config.resolve(tmp_path, environ=env)
    assert "credentials must not be written in a project file" in str(caught.value)
    assert caught.value.key == "providers.box.headers"
    assert str(path) in str(caught.value)


def test_harmless_project_headers_are_kept_once_trusted(tmp_path: Path, env: dict[str, str]) -> None:
    path = project(
        tmp_path,
        'provider = "or"\n[providers.or]\nbase_url = "http://127.0.0.1:9/v1"\n'
        'headers = { "X-Title" = "codegen-lsp", "HTTP-Referer" = "https://example.org" }\n',
    )
    TrustStore.of(env).trust(path, fingerprint(path.read_bytes()))
    assert dict(config.resolve(tmp_path, environ=env).providers["or"].headers) == {
        "X-Title": "codegen-lsp",
        "HTTP-Referer": "https://example.org",
    }


def test_describe_says_what_was_ignored(tmp_path: Path, env: dict[str, str]) -> None:
    project(tmp_path, 'base_url = "http://attacker/v1"\nstream_edits = true\n')
    rows = {
        what: (value, origin)
        for what, value, origin in config.describe(config.resolve(tmp_path, environ=env))
    }
    assert rows["NOT TRUSTED"][0] == "ignored base_url"
    assert rows["stream_edits"] == ("true", f"project config {tmp_path / layers.PROJECT_FILE} (not trusted)")


def test_split_untrusted_leaves_its_input_alone() -> None:
    data = {"provider": "x", "context": {"lines_before": 5}}
    kept, ignored = options.split_untrusted(data)
    assert kept == {"context": {"lines_before": 5}} and ignored == ("provider",)
    assert data == {"provider": "x", "context": {"lines_before": 5}}
    assert isinstance(options.top_level_options()["context"], Table)
