"""``codegen-lsp generate`` end to end with a real model: embedded in-process, and via llama_cpp.server.

The CLI runs as a subprocess (``python -m codegen_lsp``) in a temporary project whose
``.codegen-lsp.toml`` picks the provider, sets temperature 0 and caps the answer, so the run is
deterministic and short (trusted first with ``codegen-lsp trust``, as a user would: a project
file's provider applies only then). What we check is what a user sees: code lands right below the comment,
the rest of the file is untouched, and no markdown fence or prose gets into the file
(see ``model_checks``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from model_checks import SERVER_MODEL_ALIAS, assert_clean_code, inserted_between, model_env

from bench.cases import code_shape

pytestmark = pytest.mark.model

BEFORE = "import math\n\n# Return the area of a circle of radius r.\n"
AFTER = "\nprint(area(2.0))\n"

LOCAL_CONFIG = """\
provider = "local"

[providers.local]
type = "local"
temperature = 0.0

[actions.generate_from_comment]
max_tokens = 200
"""

SERVER_CONFIG = """\
provider = "llamacpp"

[providers.llamacpp]
base_url = "{base_url}"
model = "{model}"
temperature = 0.0

[actions.generate_from_comment]
max_tokens = 200
"""


def generate(project: Path, config: str) -> tuple[subprocess.CompletedProcess[str], str]:
    (project / ".codegen-lsp.toml").write_text(config, encoding="utf-8")
    source = project / "shapes.py"
    source.write_text(BEFORE + AFTER, encoding="utf-8")
    env = model_env(project)
    env["NO_PROXY"] = "127.0.0.1"
    trusted = subprocess.run(
        [sys.executable, "-m", "codegen_lsp", "trust"], cwd=project, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert trusted.returncode == 0, trusted.stderr
    done = subprocess.run(
        [sys.executable, "-m", "codegen_lsp", "generate", str(source), "--line", "3", "--write", "--quiet"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    return done, source.read_text(encoding="utf-8")


def assert_clean_insertion(text: str) -> None:
    assert_clean_code(inserted_between(text, BEFORE, AFTER))


def test_cli_generates_with_the_embedded_model(tmp_path: Path, gguf_path: Path) -> None:
    done, text = generate(tmp_path, LOCAL_CONFIG)
    assert done.returncode == 0, done.stderr
    assert_clean_insertion(text)


def test_cli_generates_through_llama_cpp_server(tmp_path: Path, llama_server: str) -> None:
    done, text = generate(tmp_path, SERVER_CONFIG.format(base_url=llama_server, model=SERVER_MODEL_ALIAS))
    assert done.returncode == 0, done.stderr
    assert_clean_insertion(text)


INVENTORY = """import json


class Inventory:
    def __init__(self):
        self.items = {}

    def add(self, name, qty):
        if name in self.items:
            self.items[name] = self.items[name] + qty
        else:
            self.items[name] = qty

    def total(self):
        t = 0
        for k in self.items:
            t = t + self.items[k]
        return t

    def to_json(self):
        return json.dumps(self.items)
"""


def _methods(text: str) -> dict[str, ast.FunctionDef]:
    cls = next(n for n in ast.parse(text).body if isinstance(n, ast.ClassDef))
    return {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}


def test_document_adds_a_docstring_to_a_method_and_keeps_the_file(tmp_path: Path, gguf_path: Path) -> None:
    """The default embedded model, default settings, a method amid others: it used to answer with the
    code unchanged or with the methods around it ("no code"), so "Add documentation" did nothing."""
    source = tmp_path / "inventory.py"
    source.write_text(INVENTORY, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "codegen_lsp", "generate", str(source), "--line", "14", "--end-line", "18",
         "--action", "document", "--write", "--quiet"],
        cwd=tmp_path, env=model_env(tmp_path), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = source.read_text(encoding="utf-8")
    before, after = _methods(INVENTORY), _methods(text)
    assert list(after) == list(before), text  # no method lost, added or moved
    assert ast.get_docstring(after["total"]), text
    assert code_shape(after["total"]) == code_shape(before["total"]), text
    for name in ("__init__", "add", "to_json"):
        assert ast.unparse(after[name]) == ast.unparse(before[name]), text
    assert text.startswith(INVENTORY.split("    def total")[0]) and text.endswith(
        INVENTORY.split("return t\n")[1]
    )
