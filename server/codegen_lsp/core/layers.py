"""Where the configuration layers come from: the user file, the project file, the environment.

The user file is ``$XDG_CONFIG_HOME/codegen-lsp/config.toml``; the project file is the nearest
``.codegen-lsp.toml`` from the project folder up to the workspace or repository root, never above
(:func:`project_bounds`); the environment gives ``CODEGEN_LSP_PROVIDER``, ``CODEGEN_LSP_BASE_URL``,
``CODEGEN_LSP_API_KEY`` and ``CODEGEN_LSP_MODEL``. Each file is parsed and checked by
:mod:`codegen_lsp.core.options` into a :class:`~codegen_lsp.core.options.Layer`. A project file comes
from whoever wrote the repository: a credential header in it is refused like a literal key, and
until the user trusted its exact content (:mod:`codegen_lsp.core.trust`) the options in it that
route code, keys or requests are left out and the layer says so. :mod:`codegen_lsp.core.config`
merges the layers into settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codegen_lsp import redaction
from codegen_lsp.core.options import Layer, split_untrusted, validate_options
from codegen_lsp.core.trust import TrustStore, Untrusted, fingerprint
from codegen_lsp.errors import ConfigError

PROJECT_FILE = ".codegen-lsp.toml"
ENV_PROVIDER = "CODEGEN_LSP_PROVIDER"
ENV_BASE_URL = "CODEGEN_LSP_BASE_URL"
ENV_API_KEY = "CODEGEN_LSP_API_KEY"
ENV_MODEL = "CODEGEN_LSP_MODEL"


def user_config_path(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "codegen-lsp" / "config.toml"


def project_bounds(start: Path, workspace: Path | None = None) -> tuple[Path, ...]:
    """The folders searched for a project file from ``start``: upward to the first that is the
    workspace root or a repository root (holds ``.git``), that one included; only ``start``'s own
    folder when there is neither. A file above the repository, up to ``/``, is never read."""
    here = Path(os.path.abspath(start if start.is_dir() else start.parent))
    top = Path(os.path.abspath(workspace)) if workspace is not None else None
    folders: list[Path] = []
    for folder in (here, *here.parents):
        folders.append(folder)
        if folder == top or (folder / ".git").exists():
            return tuple(folders)
    return (here,)


def find_project_file(start: Path, workspace: Path | None = None) -> Path | None:
    """The nearest ``.codegen-lsp.toml`` in :func:`project_bounds`."""
    for folder in project_bounds(start, workspace):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def read_project_file(path: Path) -> bytes:
    """The bytes of a project file: what is hashed for trust and then parsed, read once."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"project config {path}: cannot be read: {exc.strerror or exc}") from None


def _parse_toml(content: bytes, source: str) -> Any:
    # Imported here: tomllib pulls in datetime (~25 ms), which the server's start-up should only
    # pay when a config file exists.
    import tomllib

    try:
        return tomllib.loads(content.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: cannot be read: {exc}") from None


def _checked(path: Path, content: bytes, source: str) -> dict[str, Any]:
    data = validate_options(_parse_toml(content, source), source, from_file=True)
    # A model file named in a config file is relative to that file, not to wherever the editor
    # or the shell happened to start the server.
    for provider in data.get("providers", {}).values():
        if "model_path" in provider:
            provider["model_path"] = str(path.parent / Path(provider["model_path"]).expanduser())
    return data


def _read_toml(path: Path, label: str) -> Layer:
    source = f"{label} {path}"
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot be read: {exc}") from None
    return Layer(source, _checked(path, content, source))


def _refuse_secret_headers(data: Mapping[str, Any], source: str) -> None:
    """A credential written into a project file's headers is refused like ``api_key``: the file
    is committed and shared, and secrets are referenced, never stored."""
    for name, provider in data.get("providers", {}).items():
        for header, value in provider.get("headers", {}).items():
            if redaction.is_credential_header(header) or redaction.looks_like_key(value):
                redaction.remember(value)
                key = f"providers.{name}.headers"
                raise ConfigError(
                    f"{source}: {key}.{header}: credentials must not be written in a project file. "
                    'Put the key in an environment variable and reference it: api_key_env = "MY_API_KEY" '
                    "(sent as a Bearer token), or set the header in your own "
                    "~/.config/codegen-lsp/config.toml or your editor's settings.",
                    source=source,
                    key=key,
                )


def project_layer(path: Path, environ: Mapping[str, str], content: bytes | None = None) -> Layer:
    """The layer of a project file: all of it once the user trusted this exact content, else only
    what does not route (see :func:`~codegen_lsp.core.options.split_untrusted`)."""
    if content is None:
        content = read_project_file(path)
    source = f"project config {path}"
    data = _checked(path, content, source)
    _refuse_secret_headers(data, source)
    digest = fingerprint(content)
    state = TrustStore.of(environ).state(path, digest)
    if state == "trusted":
        return Layer(source, data)
    kept, ignored = split_untrusted(data)
    if not ignored:
        return Layer(source, kept)
    untrusted = Untrusted(path, digest, ignored, changed=state == "changed")
    return Layer(f"{source} (not trusted)", kept, untrusted)


def _env_layer(environ: Mapping[str, str]) -> Layer | None:
    data: dict[str, Any] = {}
    for var, key in (
        (ENV_PROVIDER, "provider"),
        (ENV_BASE_URL, "base_url"),
        (ENV_MODEL, "model"),
        (ENV_API_KEY, "api_key"),
    ):
        value = environ.get(var, "").strip()
        if value:
            data[key] = value
    if not data:
        return None
    return Layer("environment", data)


def read_layers(
    root: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    use_files: bool = True,
    workspace: Path | None = None,
) -> list[Layer]:
    """The layers under the overrides: user file, project file, environment (each when present).

    The project file is searched from ``root`` (default: the current folder) up to ``workspace``
    or the repository root (:func:`project_bounds`).
    """
    env = os.environ if environ is None else environ
    layers: list[Layer] = []
    if use_files:
        user_file = user_config_path(env)
        if user_file.is_file():
            layers.append(_read_toml(user_file, "user config"))
        project_file = find_project_file(root or Path.cwd(), workspace)
        if project_file is not None:
            layers.append(project_layer(project_file, env))
    env_layer = _env_layer(env)
    if env_layer is not None:
        layers.append(env_layer)
    return layers
