"""Neovim 0.11 headless, loading clients/nvim: generate from comment, rewrite with an instruction
typed into the prompt, cancel mid-generation, ghost text shown while typing and accepted with Tab
or dismissed. Each asserts the buffer text Neovim ends with."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from editorlib import CLIENTS, INSTALL_HINT, editor_env, find_program, request_text, server_command, suggest

from loopback import LoopbackServer, Pause, chat_chunks, chat_reply, sse_reply

pytestmark = pytest.mark.editor

NVIM = find_program("nvim")
DRIVER = Path(__file__).parent / "nvim" / "driver.lua"
# types into a child Neovim (see its header): ghost text needs the editor's own main loop
INLINE_DRIVER = Path(__file__).parent / "nvim" / "inline.lua"


def nvim_version() -> tuple[int, ...] | None:
    if NVIM is None:
        return None
    first = subprocess.run([NVIM, "--version"], capture_output=True, text=True, timeout=30).stdout.split()
    return tuple(int(p) for p in first[1].lstrip("v").split(".")[:2]) if len(first) > 1 else None


if nvim_version() is None or nvim_version() < (0, 10):  # type: ignore[operator]
    pytest.skip(f"Neovim 0.10+ is not installed ({INSTALL_HINT})", allow_module_level=True)


def run_nvim(
    scenario: str, source: Path, home: Path, loopback: LoopbackServer, driver: Path = DRIVER, **env: str
) -> dict:
    result_path = home / "result.json"
    extra = {
        "CODEGEN_PLUGIN_DIR": str(CLIENTS / "nvim"),
        "CODEGEN_SERVER_CMD": json.dumps(server_command()),
        **env,
    }
    proc = subprocess.run(
        [NVIM, "--headless", "--clean", "-l", str(driver), scenario, str(source), str(result_path)],
        env=editor_env(home, loopback, extra),
        cwd=source.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    log = home / "state" / "nvim" / "lsp.log"
    detail = f"nvim exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}\n"
    if log.exists():
        detail += "lsp.log (tail):\n" + log.read_text(errors="replace")[-4000:]
    assert result_path.exists(), detail
    result = json.loads(result_path.read_text())
    assert result["ok"], f"{result.get('error')}\nnotifications: {result['notifications']}\n{detail}"
    # vim.log.levels.WARN == 3: the plugin and the server (showMessage) had nothing to complain about
    complaints = [n["message"] for n in result["notifications"] if (n.get("level") or 0) >= 3]
    assert not complaints, complaints
    return result


def test_generate_from_comment(workspace: Path, editor_home: Path, loopback: LoopbackServer) -> None:
    source = workspace / "calc.py"
    source.write_text("# add(a, b): return the sum of a and b\n\nprint(add(1, 2))\n")
    loopback.script(chat_reply("```python\n", "def add(a, b):\n", "    return a + b\n", "```\n"))

    result = run_nvim("generate", source, editor_home, loopback)

    assert result["lines"] == [
        "# add(a, b): return the sum of a and b",
        "def add(a, b):",
        "    return a + b",
        "",
        "print(add(1, 2))",
    ]
    assert result["saw_job"], "no work-done progress reached the plugin"
    assert "add(a, b)" in request_text(loopback)


def test_rewrite_with_instruction(workspace: Path, editor_home: Path, loopback: LoopbackServer) -> None:
    source = workspace / "total.py"
    source.write_text("def total(xs):\n    return sum(x for x in xs)\n\n\nprint(total([1, 2]))\n")
    loopback.script(
        chat_reply(
            "def total(xs):\n", "    t = 0\n", "    for x in xs:\n", "        t += x\n", "    return t\n"
        )
    )

    result = run_nvim("rewrite", source, editor_home, loopback, CODEGEN_INSTRUCTION="use an explicit loop")

    assert result["prompts"] and "instruction" in result["prompts"][0].lower()
    assert "use an explicit loop" in request_text(loopback)
    assert result["lines"] == [
        "def total(xs):",
        "    t = 0",
        "    for x in xs:",
        "        t += x",
        "    return t",
        "",
        "",
        "print(total([1, 2]))",
    ]


def test_fix_a_diagnostic_from_another_tool(
    workspace: Path, editor_home: Path, loopback: LoopbackServer
) -> None:
    source = workspace / "area.py"
    source.write_text("def area(r):\n    return 3.14 * r * r\nprint(are(2))\n")
    loopback.script(chat_reply("print(area(2))\n"))

    result = run_nvim("fix", source, editor_home, loopback)

    assert 'Name "are" is not defined' in request_text(loopback)
    assert result["lines"] == ["def area(r):", "    return 3.14 * r * r", "print(area(2))"]


def test_cancel_mid_generation(workspace: Path, editor_home: Path, loopback: LoopbackServer) -> None:
    original = "# fib(n): the n-th Fibonacci number\n\nprint(fib(10))\n"
    source = workspace / "fib.py"
    source.write_text(original)
    # Two lines arrive, then the provider stalls: the cancel must stop the job and leave the buffer alone.
    events = chat_chunks("def fib(n):\n", "    if n < 2:\n", finish_reason=None, usage=False, done=False)
    loopback.script(sse_reply([*events, Pause(30)], end="hang"))

    result = run_nvim("cancel", source, editor_home, loopback)

    assert result["lines"] == original.splitlines()
    assert not result["edited"]
    assert loopback.wait_disconnected(timeout=5), "the provider request was not closed after cancel"


def test_ghost_text_accepted_with_tab(workspace: Path, editor_home: Path, loopback: LoopbackServer) -> None:
    source = workspace / "add.py"
    source.write_text("def add(a, b):\n    \n\nprint(add(1, 2))\n")
    loopback.responder = suggest("turn a + b")

    # the user types "re" at the end of the empty body line
    result = run_nvim(
        "accept", source, editor_home, loopback, driver=INLINE_DRIVER, CODEGEN_CURSOR="2,3", CODEGEN_TYPE="re"
    )

    # drawn after the cursor, in the plugin's highlight group
    assert result["ghost"] == {
        "row": 1,
        "col": 6,
        "inline": "turn a + b",
        "lines": [],
        "hl": "CodegenGhostText",
    }
    assert result["before_accept"][1] == "    re"
    assert result["lines"] == ["def add(a, b):", "    return a + b", "", "print(add(1, 2))"]
    assert "def add(a, b):" in request_text(loopback)


def test_typing_through_ghost_text(workspace: Path, editor_home: Path, loopback: LoopbackServer) -> None:
    source = workspace / "neg.py"
    source.write_text("def neg(a):\n    \n")
    loopback.responder = suggest("turn -a")

    result = run_nvim(
        "type-through",
        source,
        editor_home,
        loopback,
        driver=INLINE_DRIVER,
        CODEGEN_CURSOR="2,3",
        CODEGEN_TYPE="re",
        CODEGEN_TYPE_MORE="tu",
    )

    assert result["ghost"]["inline"] == "turn -a"
    assert result["ghost_typed"]["inline"] == "rn -a"
    assert result["before_accept"] == ["def neg(a):", "    retu"]
    assert result["lines"] == ["def neg(a):", "    return -a"]


def test_multi_line_ghost_text(workspace: Path, editor_home: Path, loopback: LoopbackServer) -> None:
    source = workspace / "clamp.py"
    source.write_text("def clamp(x, lo, hi):\n")
    loopback.responder = suggest("    if x < lo:\n        return lo\n    return min(x, hi)\n")

    # a fresh line after the signature (Enter at its end): a whole block is suggested
    result = run_nvim(
        "accept",
        source,
        editor_home,
        loopback,
        driver=INLINE_DRIVER,
        CODEGEN_CURSOR="1,20",
        CODEGEN_TYPE="<CR>",
    )

    ghost = result["ghost"]
    assert [ghost["inline"], *ghost["lines"]] == ["if x < lo:", "        return lo", "    return min(x, hi)"]
    assert result["lines"][:4] == [
        "def clamp(x, lo, hi):",
        "    if x < lo:",
        "        return lo",
        "    return min(x, hi)",
    ]


def test_ghost_text_dismissed(workspace: Path, editor_home: Path, loopback: LoopbackServer) -> None:
    source = workspace / "mul.py"
    source.write_text("def mul(a, b):\n    \n")
    loopback.responder = suggest("turn a * b")

    result = run_nvim(
        "dismiss",
        source,
        editor_home,
        loopback,
        driver=INLINE_DRIVER,
        CODEGEN_CURSOR="2,3",
        CODEGEN_TYPE="re",
    )

    assert result["ghost"]["inline"] == "turn a * b"
    # <C-]> hid it and left the text alone; <Tab> was then an ordinary Tab (the python ftplugin's
    # softtabstop): nothing of the suggestion went in
    assert result["after_dismiss"] == ["def mul(a, b):", "    re"]
    assert result["lines"] == ["def mul(a, b):", "    re  "]
