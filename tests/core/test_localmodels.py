"""The embedded-model registry: names, the choice without a name, the cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen_lsp.core import localmodels
from codegen_lsp.core.localmodels import DEFAULT_MODEL, EMBEDDED_MODELS, cache_dir, choose


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({"XDG_CACHE_HOME": "/c", "HOME": "/h"}, "/c/codegen-lsp/models", id="xdg"),
        pytest.param({"HOME": "/h"}, "/h/.cache/codegen-lsp/models", id="home"),
        pytest.param(
            {"XDG_CACHE_HOME": "rel", "HOME": "/h"}, "/h/.cache/codegen-lsp/models", id="relative-xdg-ignored"
        ),
    ],
)
def test_cache_dir_follows_xdg(environ: dict[str, str], expected: str) -> None:
    assert cache_dir(environ) == Path(expected)


def test_names_are_case_insensitive_and_unknown_names_choose_nothing() -> None:
    assert choose("Qwen2.5-Coder-1.5B")[0] is EMBEDDED_MODELS["qwen2.5-coder-1.5b"]
    model, why = choose("qwen-7b")
    assert model is None and "model setting" in why


@pytest.mark.parametrize(
    ("installed", "expected", "why"),
    [
        pytest.param(
            {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}, "qwen2.5-coder-0.5b", "the default", id="both"
        ),
        pytest.param({"qwen2.5-coder-1.5b"}, "qwen2.5-coder-1.5b", "is not", id="only-the-larger"),
        pytest.param(set(), "qwen2.5-coder-0.5b", "not installed", id="none"),
    ],
)
def test_without_a_name_the_default_or_the_one_installed(
    monkeypatch: pytest.MonkeyPatch, installed: set[str], expected: str, why: str
) -> None:
    monkeypatch.setattr(localmodels.EmbeddedModel, "installed", lambda self: self.name in installed)
    model, reason = choose(None)
    assert model is not None and model.name == expected
    assert why in reason


def test_pins_are_whole_hashes_and_file_names_carry_them() -> None:
    assert DEFAULT_MODEL.name == "qwen2.5-coder-0.5b" and DEFAULT_MODEL.extra == "local"
    for model in EMBEDDED_MODELS.values():
        assert len(model.sha256) == 64 and int(model.sha256, 16)
        assert model.sha256[:12] in model.file_name and model.file_name.endswith(".gguf")
        assert model.install_hint == f"pip install 'codegen-lsp[{model.extra}]'"


def test_extras_in_pyproject_pin_every_part_exactly() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    for model in EMBEDDED_MODELS.values():
        pinned = [r for r in extras[model.extra] if "==" in r]
        names = [r.split("==")[0].replace("-", "_") for r in pinned]
        assert names == list(model.packages), model.name


@pytest.mark.parametrize(
    ("name", "path", "origin", "model_row", "why"),
    [
        pytest.param(None, "/m/my.gguf", None, "my", "label (model_path is set)", id="model-path"),
        pytest.param(
            "qwen2.5-coder-1.5b", None, "environment", "qwen2.5-coder-1.5b: Qwen2.5-Coder-1.5B",
            "chosen by the model setting (environment)", id="named",
        ),
        pytest.param("qwen-7b", None, None, "qwen-7b (no such embedded model; known: qwen2.5-coder-0.5b",
                     "chosen by the model setting (provider settings)", id="unknown"),
    ],
)  # fmt: skip
def test_describe_says_which_model_and_why(
    name: str | None, path: str | None, origin: str | None, model_row: str, why: str
) -> None:
    rows = localmodels.describe(name, path, origin)
    assert rows[0][0] == "model" and rows[0][1].startswith(model_row) and rows[0][2] == why
    if path:
        assert rows[1] == ("model file", path, "model_path setting")


def test_describe_says_where_the_file_goes_and_whether_it_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(localmodels.EmbeddedModel, "installed", lambda self: True)
    (_, _, _), (what, value, _) = localmodels.describe(None, None, None)
    target = tmp_path / "codegen-lsp" / "models" / DEFAULT_MODEL.file_name
    assert what == "model file" and value == f"{target} (assembled from its packages on first use, 491 MB)"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"GGUF")
    assert localmodels.describe(None, None, None)[1][1] == f"{target} (ready)"
    monkeypatch.setattr(localmodels.EmbeddedModel, "installed", lambda self: False)
    assert localmodels.describe(None, None, None)[1][1].endswith(
        "(NOT INSTALLED: pip install 'codegen-lsp[local]')"
    )
