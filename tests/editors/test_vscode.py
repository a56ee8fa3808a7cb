"""VS Code (code-server 4.100) in headless Chromium with the packaged clients/vscode .vsix installed:
a code action from the light bulb menu and a palette command (with its instruction box) each edit a
real document, which the editor saves to disk; ghost text appears while typing, Tab accepts it, and
the status-bar toggle turns it off and on."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from editorlib import CLIENTS, INSTALL_HINT, editor_env, find_program, request_text, server_command, suggest

from loopback import LoopbackServer, chat_reply
from loopback.processes import free_port

pytestmark = pytest.mark.editor

HERE = Path(__file__).parent / "vscode"
EXTENSION = CLIENTS / "vscode"
CODE_SERVER = find_program("code-server")
NODE = shutil.which("node")
NPM = shutil.which("npm")
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

_missing = [
    name
    for name, ok in (
        ("code-server", CODE_SERVER),
        ("chromium", CHROMIUM),
        ("node/npm", NODE and NPM),
        (
            "playwright-core (npm ci in tests/editors/vscode)",
            (HERE / "node_modules" / "playwright-core").exists(),
        ),
        ("the extension's npm packages (npm ci in clients/vscode)", (EXTENSION / "node_modules").exists()),
    )
    if not ok
]
if _missing:
    pytest.skip(f"not installed: {', '.join(_missing)} ({INSTALL_HINT})", allow_module_level=True)


@pytest.fixture(scope="module")
def vsix() -> Path:
    """The extension packaged exactly as a user gets it (tsc + vsce)."""
    proc = subprocess.run(
        [NPM, "run", "package"],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=180,  # type: ignore[list-item]
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return EXTENSION / "codegen-lsp.vsix"


@pytest.fixture
def code_server(
    request: pytest.FixtureRequest, vsix: Path, workspace: Path, editor_home: Path, loopback: LoopbackServer
) -> Iterator[tuple[str, dict[str, str]]]:
    """code-server on loopback with the .vsix installed and a user's settings.json; yields its URL.
    A test's ``@pytest.mark.user_settings({...})`` adds to or overrides the settings."""
    data = editor_home / "code-server"
    extensions = editor_home / "extensions"
    command = server_command()
    settings = {
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "extensions.ignoreRecommendations": True,
        "files.autoSave": "afterDelay",
        "files.autoSaveDelay": 100,
        "codegen.server.path": command[0],
        "codegen.server.args": command[1:],
    }
    marker = request.node.get_closest_marker("user_settings")
    if marker is not None:
        settings.update(marker.args[0])
    (data / "User").mkdir(parents=True)
    (data / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
    env = editor_env(editor_home, loopback)
    base = [CODE_SERVER, "--user-data-dir", str(data), "--extensions-dir", str(extensions)]
    install = subprocess.run(
        [*base, "--install-extension", str(vsix)], env=env, capture_output=True, text=True, timeout=120
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert any(extensions.glob("codegen-lsp.codegen-lsp-*")), install.stdout + install.stderr

    port = free_port()
    log = (editor_home / "code-server.log").open("w")
    proc = subprocess.Popen(
        [
            *base,
            "--auth",
            "none",
            "--bind-addr",
            f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            str(workspace),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/?folder={workspace}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "code-server did not start:\n" + (editor_home / "code-server.log").read_text()
                    )
                time.sleep(0.2)
        yield url, env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def run_browser(
    scenario: str,
    source: Path,
    code_server: tuple[str, dict[str, str]],
    home: Path,
    expect_complaints: bool = False,
    **extra: str,
) -> dict:
    url, env = code_server
    result_path = home / "result.json"
    screenshot = home / f"{scenario}.png"
    proc = subprocess.run(
        [NODE, str(HERE / "driver.mjs"), scenario, url, str(source), str(result_path), str(screenshot)],  # type: ignore[list-item]
        env={**env, "CHROMIUM": str(CHROMIUM), **extra},
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    detail = f"driver exit {proc.returncode}\nstdout:{proc.stdout[-3000:]}\nstderr:{proc.stderr[-3000:]}"
    logs = sorted((home / "code-server" / "logs").glob("**/*Codegen*.log"))
    for log in logs:
        detail += f"\n{log.name}:\n{log.read_text(errors='replace')[-3000:]}"
    assert result_path.exists(), detail
    result = json.loads(result_path.read_text())
    assert result["ok"], f"{result.get('error')}\nnotifications: {result['notifications']}\n{detail}"
    # the server's and the extension's messages all start with "Codegen": no warning or error is expected
    complaints = [n for n in result["notifications"] if n["severity"] != "info" and "Codegen" in n["message"]]
    assert expect_complaints or not complaints, complaints
    return result


def test_code_action_edits_document(
    workspace: Path, editor_home: Path, loopback: LoopbackServer, code_server: tuple[str, dict[str, str]]
) -> None:
    source = workspace / "cube.py"
    source.write_text("# cube(x): return x to the third power\n\nprint(cube(2))\n")
    # slow enough for the status-bar item to be seen while the job runs
    loopback.script(chat_reply("def cube(x):\n", "    return x ** 3\n", token_delay=0.7))

    result = run_browser("code-action", source, code_server, editor_home)

    assert (
        result["text"]
        == "# cube(x): return x to the third power\ndef cube(x):\n    return x ** 3\n\nprint(cube(2))\n"
    )
    assert "cube(x)" in request_text(loopback)
    assert result["statusSeen"], "no Codegen status-bar item while the job ran"


def test_palette_rewrite_edits_document(
    workspace: Path, editor_home: Path, loopback: LoopbackServer, code_server: tuple[str, dict[str, str]]
) -> None:
    source = workspace / "greet.py"
    source.write_text('def greet(name):\n    return "Hello " + name\n')
    loopback.script(chat_reply("def greet(name):\n", '    return f"Hello {name}"\n'))

    result = run_browser("palette", source, code_server, editor_home, CODEGEN_INSTRUCTION="use an f-string")

    assert "use an f-string" in request_text(loopback)
    assert result["text"] == 'def greet(name):\n    return f"Hello {name}"\n'


def test_api_key_from_secret_storage_reaches_the_provider(
    workspace: Path, editor_home: Path, loopback: LoopbackServer, code_server: tuple[str, dict[str, str]]
) -> None:
    (workspace / "key.py").write_text("x = 1\n")
    loopback.script(chat_reply("ok"))
    key = "sk-test-secret-4242"

    result = run_browser("api-key", workspace / "key.py", code_server, editor_home, CODEGEN_API_KEY=key)

    assert loopback.requests, "Check provider sent no request"
    assert loopback.requests[-1].headers.get("authorization") == f"Bearer {key}"
    assert any("works" in n["message"] for n in result["notifications"]), result["notifications"]
    # kept in secret storage, never in the user's settings
    assert key not in (editor_home / "code-server" / "User" / "settings.json").read_text()


@pytest.mark.user_settings({"codegen.server.path": "/nonexistent/codegen-lsp"})
def test_missing_server_says_how_to_install(
    workspace: Path, editor_home: Path, code_server: tuple[str, dict[str, str]]
) -> None:
    (workspace / "empty.py").write_text("x = 1\n")

    result = run_browser(
        "missing-server", workspace / "empty.py", code_server, editor_home, expect_complaints=True
    )

    [message] = [n["message"] for n in result["notifications"] if n["severity"] == "error"]
    assert "was not found" in message
    assert "/nonexistent/codegen-lsp" in message
    assert "pipx install /path/to/codegen-lsp" in message


# ghost text has its own model setting; it must reach the server (as inline.model) and the provider
@pytest.mark.user_settings({"codegen.inline.model": "tiny-fim"})
def test_ghost_text_accepted_with_tab(
    workspace: Path, editor_home: Path, loopback: LoopbackServer, code_server: tuple[str, dict[str, str]]
) -> None:
    source = workspace / "add.py"
    source.write_text("def add(a, b):\n    \n\nprint(add(1, 2))\n")
    loopback.responder = suggest("turn a + b")

    result = run_browser("inline", source, code_server, editor_home, CODEGEN_LINE="2", CODEGEN_TYPE="re")

    assert result["toggle"], "no ghost-text toggle in the status bar"
    assert result["ghost"] == {"inline": "turn a + b", "below": []}
    assert result["text"] == "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n"
    assert "def add(a, b):" in request_text(loopback)
    assert {request.json["model"] for request in loopback.requests} == {"tiny-fim"}


def test_multi_line_ghost_text(
    workspace: Path, editor_home: Path, loopback: LoopbackServer, code_server: tuple[str, dict[str, str]]
) -> None:
    source = workspace / "clamp.py"
    source.write_text("def clamp(x, lo, hi):\n")
    loopback.responder = suggest("    if x < lo:\n        return lo\n    return min(x, hi)\n")

    # Enter at the end of the signature: VS Code indents the fresh line, a block is suggested
    result = run_browser("inline", source, code_server, editor_home, CODEGEN_LINE="1", CODEGEN_TYPE="\n")

    assert result["ghost"] == {
        "inline": "if x < lo:",
        "below": ["        return lo", "    return min(x, hi)"],
    }
    assert result["text"].startswith(
        "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    return min(x, hi)"
    )


def test_status_bar_toggle_turns_ghost_text_off_and_on(
    workspace: Path, editor_home: Path, loopback: LoopbackServer, code_server: tuple[str, dict[str, str]]
) -> None:
    source = workspace / "sub.py"
    source.write_text("def sub(a, b):\n    \n")
    loopback.responder = suggest("turn a - b")

    result = run_browser(
        "inline-toggle",
        source,
        code_server,
        editor_home,
        CODEGEN_LINE="2",
        CODEGEN_TYPE="r",
        CODEGEN_TYPE_MORE="e",
    )

    assert result["ghostWhileOff"] is None
    assert result["ghost"] == {"inline": "turn a - b", "below": []}
    assert result["text"] == "def sub(a, b):\n    return a - b\n"
    # persisted in the user's settings: on again after the second click
    settings = json.loads((editor_home / "code-server" / "User" / "settings.json").read_text())
    assert settings["codegen.inline.enabled"] is True
