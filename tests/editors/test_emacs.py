"""Emacs 28 + eglot in batch mode against the real server: a code action picked from
`eglot-code-actions` with no plugin, clients/emacs codegen.el's rewrite with an instruction, and
the server's suggestion as a completion item (the fallback for editors without ghost text) taken
with `completion-at-point`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from editorlib import CLIENTS, INSTALL_HINT, editor_env, find_program, request_text, server_command, suggest

from loopback import LoopbackServer, chat_reply

pytestmark = pytest.mark.editor

EMACS = find_program("emacs")
DRIVER = Path(__file__).parent / "emacs" / "driver.el"
EGLOT = Path("/usr/share/emacs/site-lisp/elpa")

if EMACS is None:
    pytest.skip(f"Emacs is not installed ({INSTALL_HINT})", allow_module_level=True)
if not any(EGLOT.glob("eglot-*")):
    pytest.skip(f"eglot (Debian elpa-eglot) is not installed ({INSTALL_HINT})", allow_module_level=True)


def run_emacs(scenario: str, source: Path, home: Path, loopback: LoopbackServer, **env: str) -> dict:
    result_path = home / "result.json"
    extra = {
        "CODEGEN_SCENARIO": scenario,
        "CODEGEN_FILE": str(source),
        "CODEGEN_RESULT": str(result_path),
        "CODEGEN_SERVER_CMD": json.dumps(server_command()),
        "CODEGEN_CLIENT_DIR": str(CLIENTS / "emacs"),
        **env,
    }
    proc = subprocess.run(
        [EMACS, "-Q", "--batch", "-l", str(DRIVER)],
        env=editor_env(home, loopback, extra),
        cwd=source.parent,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    detail = f"emacs exit {proc.returncode}\nstdout:{proc.stdout[-3000:]}\nstderr:{proc.stderr[-6000:]}"
    assert result_path.exists(), detail
    result = json.loads(result_path.read_text())
    assert result["ok"] is True, f"{result.get('error')}\n{detail}"
    # eglot shows the server's warnings and errors (showMessage type 1 and 2) as "Server reports (type=N)"
    complaints = [m for m in result["messages"] if "(type=1)" in m or "(type=2)" in m]
    assert not complaints, complaints
    return result


def test_code_action_with_plain_eglot(workspace: Path, editor_home: Path, loopback: LoopbackServer) -> None:
    source = workspace / "square.py"
    source.write_text("# square(x): return x times x\n\nprint(square(3))\n")
    loopback.script(chat_reply("def square(x):\n", "    return x * x\n"))

    result = run_emacs("code-action", source, editor_home, loopback)

    assert (
        result["text"]
        == "# square(x): return x times x\ndef square(x):\n    return x * x\n\nprint(square(3))\n"
    )
    assert "square(x)" in request_text(loopback)


def test_rewrite_with_instruction(workspace: Path, editor_home: Path, loopback: LoopbackServer) -> None:
    source = workspace / "evens.py"
    source.write_text("def evens(xs):\n    return [x for x in xs if x % 2 == 0]\n\nprint(evens([1, 2]))\n")
    loopback.script(chat_reply("def evens(xs):\n", "    return list(filter(lambda x: x % 2 == 0, xs))\n"))

    result = run_emacs("rewrite", source, editor_home, loopback, CODEGEN_INSTRUCTION="use filter")

    assert "Rewrite instruction: " in result["messages"]
    assert "use filter" in request_text(loopback)
    assert result["text"] == (
        "def evens(xs):\n    return list(filter(lambda x: x % 2 == 0, xs))\n\nprint(evens([1, 2]))\n"
    )


def test_fix_a_flymake_diagnostic(workspace: Path, editor_home: Path, loopback: LoopbackServer) -> None:
    source = workspace / "area.py"
    source.write_text("def area(r):\n    return 3.14 * r * r\nprint(are(2))\n")
    loopback.script(chat_reply("print(area(2))\n"))

    result = run_emacs("fix", source, editor_home, loopback)

    assert 'Name "are" is not defined' in request_text(loopback)
    assert result["text"] == "def area(r):\n    return 3.14 * r * r\nprint(area(2))\n"


LSP_MODE = any(EGLOT.glob("lsp-mode-*"))


@pytest.mark.skipif(not LSP_MODE, reason=f"lsp-mode (Debian elpa-lsp-mode) is not installed ({INSTALL_HINT})")
def test_rewrite_with_instruction_in_lsp_mode(
    workspace: Path, editor_home: Path, loopback: LoopbackServer
) -> None:
    source = workspace / "odds.py"
    source.write_text("def odds(xs):\n    return [x for x in xs if x % 2]\n\nprint(odds([1, 2]))\n")
    loopback.script(chat_reply("def odds(xs):\n", "    return list(filter(lambda x: x % 2, xs))\n"))

    result = run_emacs("lsp-mode-rewrite", source, editor_home, loopback, CODEGEN_INSTRUCTION="use filter")

    assert "Rewrite instruction: " in result["messages"]
    assert "use filter" in request_text(loopback)
    assert (
        result["text"]
        == "def odds(xs):\n    return list(filter(lambda x: x % 2, xs))\n\nprint(odds([1, 2]))\n"
    )


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param("fallback", id="plain-eglot"),
        pytest.param("fallback-codegen", id="codegen.el"),
    ],
)
def test_completion_fallback_item(
    scenario: str, workspace: Path, editor_home: Path, loopback: LoopbackServer
) -> None:
    source = workspace / "add.py"
    source.write_text("def add(a, b):\n    \n\nprint(add(1, 2))\n")
    loopback.responder = suggest("turn a + b")

    result = run_emacs(scenario, source, editor_home, loopback, CODEGEN_LINE="2", CODEGEN_TYPE="re")

    # one item: what is typed of the word plus the suggestion
    assert result["candidates"] == ["return a + b"]
    assert result["text"] == "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n"
    assert "def add(a, b):" in request_text(loopback)


@pytest.mark.skipif(not LSP_MODE, reason=f"lsp-mode (Debian elpa-lsp-mode) is not installed ({INSTALL_HINT})")
def test_completion_fallback_item_in_lsp_mode(
    workspace: Path, editor_home: Path, loopback: LoopbackServer
) -> None:
    source = workspace / "add.py"
    source.write_text("def add(a, b):\n    \n\nprint(add(1, 2))\n")
    loopback.responder = suggest("turn a + b")

    result = run_emacs(
        "lsp-mode-fallback", source, editor_home, loopback, CODEGEN_LINE="2", CODEGEN_TYPE="re"
    )

    # lsp-mode 9.0.1+ shows ghost text instead; Debian's 8.0.0 has no lsp-inline-completion.el
    assert result["inline_available"] is any(EGLOT.glob("lsp-mode-*/lsp-inline-completion.el"))
    assert result["candidates"] == ["return a + b"]
    assert result["text"] == "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n"
