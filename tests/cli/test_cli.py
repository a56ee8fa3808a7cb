"""The ``codegen-lsp`` console script, run as a subprocess against the scripted loopback server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopback import LoopbackServer, chat_reply, error_reply

pytestmark = pytest.mark.e2e

FENCED_PY = (
    "Here is the implementation:\n\n```python\n",
    "# Return the factorial of n.\n",
    "def factorial(n):\n    result = 1\n",
    "    for i in range(2, n + 1):\n        result *= i\n    return result\n",
    "```\n\nThis loops from 2 to n.",
)


def run_cli(
    *args: str, cwd: Path, base_url: str | None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEGEN_LSP_")}
    env.update(XDG_CONFIG_HOME=str(cwd / "xdg"), HOME=str(cwd), CODEGEN_LSP_MODEL="loopback-model")
    if base_url:
        env["CODEGEN_LSP_BASE_URL"] = base_url
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "codegen_lsp", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_generate_from_comment_writes_clean_python(tmp_path: Path, loopback: LoopbackServer) -> None:
    source = tmp_path / "fact.py"
    source.write_text("import math\n\n# Return the factorial of n.\n\nprint(math.pi)\n", encoding="utf-8")
    loopback.script(chat_reply(*FENCED_PY, token_delay=0.01))

    done = run_cli(
        "generate", str(source), "--line", "3", "--write", cwd=tmp_path, base_url=loopback.base_url
    )

    assert done.returncode == 0, done.stderr
    assert source.read_text(encoding="utf-8") == (
        "import math\n\n# Return the factorial of n.\n"
        "def factorial(n):\n    result = 1\n    for i in range(2, n + 1):\n        result *= i\n    return result\n"
        "\nprint(math.pi)\n"
    )
    sent = loopback.requests[0].json
    assert sent["stream"] is True
    assert sent["model"] == "loopback-model"
    assert "factorial" in str(sent["messages"])
    assert "def factorial" in done.stderr  # tokens streamed to stderr


def test_generate_in_javascript_keeps_crlf_and_indentation(tmp_path: Path, loopback: LoopbackServer) -> None:
    source = tmp_path / "util.js"
    source.write_bytes(b"function outer() {\r\n  // sum the numbers in xs\r\n}\r\n")
    loopback.script(
        chat_reply("```js\n", "let total = 0;\n", "for (const x of xs) {\n  total += x;\n}\n", "```\n")
    )

    done = run_cli(
        "generate", str(source), "--line", "2", "--write", cwd=tmp_path, base_url=loopback.base_url
    )

    assert done.returncode == 0, done.stderr
    assert source.read_bytes() == (
        b"function outer() {\r\n  // sum the numbers in xs\r\n"
        b"  let total = 0;\r\n  for (const x of xs) {\r\n    total += x;\r\n  }\r\n}\r\n"
    )


def test_default_output_is_a_diff_and_the_file_is_untouched(tmp_path: Path, loopback: LoopbackServer) -> None:
    source = tmp_path / "a.py"
    original = "# add two numbers\n"
    source.write_text(original, encoding="utf-8")
    loopback.script(chat_reply("```python\ndef add(a, b):\n    return a + b\n```"))

    done = run_cli(
        "generate", str(source), "--line", "1", "--quiet", cwd=tmp_path, base_url=loopback.base_url
    )

    assert done.returncode == 0, done.stderr
    assert "+def add(a, b):" in done.stdout
    assert done.stdout.startswith("--- a/")
    assert source.read_text(encoding="utf-8") == original


def test_a_bash_block_before_the_code_stays_out_of_a_python_file(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    # issue 9: as a new user found it
    source = tmp_path / "vec.py"
    source.write_text("# return the norm of the vector v\n", encoding="utf-8")
    loopback.script(
        chat_reply(
            "Install numpy first:\n\n```bash\npip install numpy\n```\n\nThen:\n\n",
            "```python\nimport numpy as np\n\n\ndef norm(v):\n    return np.linalg.norm(v)\n```\n",
        )
    )

    done = run_cli(
        "generate", str(source), "--line", "1", "--print", "--quiet", cwd=tmp_path, base_url=loopback.base_url
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == "import numpy as np\n\n\ndef norm(v):\n    return np.linalg.norm(v)\n"


def test_rewrite_selection_with_instruction_prints_code(tmp_path: Path, loopback: LoopbackServer) -> None:
    source = tmp_path / "b.py"
    source.write_text("def f(x):\n    return x+1\n", encoding="utf-8")
    loopback.script(chat_reply("```python\ndef f(x: int) -> int:\n    return x + 1\n```"))

    done = run_cli(
        "generate", str(source), "--line", "1", "--end-line", "2", "--action", "rewrite",
        "--instruction", "add type hints", "--print", "--quiet",
        cwd=tmp_path, base_url=loopback.base_url,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout == "def f(x: int) -> int:\n    return x + 1\n"
    assert "add type hints" in str(loopback.requests[0].json["messages"])


def test_provider_error_exit_3_names_host_and_status_never_the_key(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    source = tmp_path / "c.py"
    source.write_text("# hello\n", encoding="utf-8")
    loopback.script(error_reply(401, "Incorrect API key provided: sk-live-****1234", type="auth"))

    done = run_cli(
        "generate", str(source), "--line", "1", cwd=tmp_path, base_url=loopback.base_url,
        extra_env={"CODEGEN_LSP_API_KEY": "sk-live-very-secret-1234"},
    )  # fmt: skip

    assert done.returncode == 3
    assert "401" in done.stderr
    assert "127.0.0.1" in done.stderr
    assert "sk-live-very-secret" not in done.stderr + done.stdout
    assert source.read_text(encoding="utf-8") == "# hello\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(("--line", "9"), "outside the file", id="line-out-of-range"),
        pytest.param(("--line", "1", "--provider", "nosuch"), "neither a preset", id="unknown-provider"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    source = tmp_path / "d.py"
    source.write_text("# hello\n", encoding="utf-8")
    done = run_cli("generate", str(source), *args, cwd=tmp_path, base_url="http://127.0.0.1:9/v1")
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr


USER_ACTIONS = """
[actions.add_types]
title = "Add type hints"
prompt = "Add type hints to this {language} code:\\n{selection}"

[actions.todo]
prompt = "List the TODOs in {path}."
apply = "show"
"""


def test_a_user_action_runs_from_the_command_line(tmp_path: Path, loopback: LoopbackServer) -> None:
    (tmp_path / ".codegen-lsp.toml").write_text(USER_ACTIONS, encoding="utf-8")
    source = tmp_path / "h.py"
    source.write_text("def f(x):\n    return x+1\n", encoding="utf-8")
    loopback.script(chat_reply("```python\ndef f(x: int) -> int:\n    return x + 1\n```"))

    done = run_cli(
        "generate", str(source), "--line", "1", "--end-line", "2", "--action", "add_types", "--write",
        "--quiet", cwd=tmp_path, base_url=loopback.base_url,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert source.read_text(encoding="utf-8") == "def f(x: int) -> int:\n    return x + 1\n"
    sent = loopback.requests[0].json["messages"][-1]["content"]
    assert sent == "Add type hints to this python code:\ndef f(x):\n    return x+1"


def test_an_unknown_action_exits_2_naming_built_in_and_user_actions(tmp_path: Path) -> None:
    (tmp_path / ".codegen-lsp.toml").write_text(USER_ACTIONS, encoding="utf-8")
    source = tmp_path / "i.py"
    source.write_text("x = 1\n", encoding="utf-8")
    done = run_cli(
        "generate", str(source), "--line", "1", "--action", "add_typos", cwd=tmp_path,
        base_url="http://127.0.0.1:9/v1",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert 'Unknown action "add_typos"' in done.stderr
    assert "generate_from_comment" in done.stderr and "add_types, todo" in done.stderr


def test_help_lists_the_built_in_actions(tmp_path: Path) -> None:
    done = run_cli("generate", "--help", cwd=tmp_path, base_url=None)
    assert done.returncode == 0
    assert "generate_from_comment, rewrite, implement, document, explain, tests, fix" in " ".join(
        done.stdout.split()
    )


def test_invalid_project_config_exit_2(tmp_path: Path) -> None:
    (tmp_path / ".codegen-lsp.toml").write_text('api_key = "sk-123"\n', encoding="utf-8")
    source = tmp_path / "e.py"
    source.write_text("# hello\n", encoding="utf-8")
    done = run_cli("generate", str(source), "--line", "1", cwd=tmp_path, base_url=None)
    assert done.returncode == 2
    assert ".codegen-lsp.toml" in done.stderr
    assert "api_key_env" in done.stderr
    assert "sk-123" not in done.stderr


def test_explain_prints_prose(tmp_path: Path, loopback: LoopbackServer) -> None:
    source = tmp_path / "f.py"
    source.write_text("x = [i * i for i in range(10)]\n", encoding="utf-8")
    loopback.script(chat_reply("This builds a list of the squares of 0 to 9."))
    done = run_cli(
        "generate", str(source), "--line", "1", "--end-line", "1", "--action", "explain", "--quiet",
        cwd=tmp_path, base_url=loopback.base_url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "squares of 0 to 9" in done.stdout


def test_check_reports_provider_and_first_token(tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.script(chat_reply("```python\n", "def add(a, b):\n", "    return a + b\n```"))
    done = run_cli("check", cwd=tmp_path, base_url=loopback.base_url)
    assert done.returncode == 0, done.stderr
    assert loopback.base_url in done.stdout
    assert "environment" in done.stdout
    assert "first token 180 s" in done.stdout  # the timeouts in effect
    assert "first token after" in done.stdout
    # The probe is a small coding request; its answer's first line of code is shown.
    assert "function add(a, b)" in str(loopback.requests[0].json["messages"])
    assert "answer begins 'def add(a, b):'" in done.stdout


def test_check_diagnoses_a_dead_endpoint(tmp_path: Path, loopback: LoopbackServer) -> None:
    dead = loopback.base_url
    loopback.stop()
    done = run_cli("check", cwd=tmp_path, base_url=dead)
    assert done.returncode == 3
    assert "127.0.0.1" in done.stderr


def test_providers_lists_every_preset(tmp_path: Path) -> None:
    done = run_cli("providers", cwd=tmp_path, base_url=None)
    assert done.returncode == 0
    for name in ("openai", "ollama", "llamacpp", "vllm", "lmstudio", "openrouter", "groq", "deepseek",
                 "mistral", "together", "gemini", "mishalsgpt", "local"):  # fmt: skip
        assert f"\n{name} " in done.stdout
    assert "OPENROUTER_API_KEY" in done.stdout
    assert "Embedded models for the local provider" in done.stdout
    for model in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"):
        assert model in done.stdout


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """`codegen-lsp providers | head -0`: stdout closes before the first write."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEGEN_LSP_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path))
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as closed_pipe:
        done = subprocess.run(
            [sys.executable, "-m", "codegen_lsp", "providers"],
            cwd=tmp_path,
            env=env,
            stdout=closed_pipe,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr


@pytest.mark.parametrize(
    ("config", "marked"),
    [
        pytest.param('model = "qwen2.5-coder-1.5b"\n', "qwen2.5-coder-1.5b", id="model-setting"),
        pytest.param('provider = "ollama"\n', None, id="remote-provider"),
    ],
)
def test_providers_marks_the_embedded_model_in_effect_and_says_why(
    tmp_path: Path, config: str, marked: str | None
) -> None:
    (tmp_path / ".codegen-lsp.toml").write_text(config, encoding="utf-8")
    assert run_cli("trust", cwd=tmp_path, base_url=None).returncode == 0  # model and provider route
    done = run_cli("providers", cwd=tmp_path, base_url=None, extra_env={"CODEGEN_LSP_MODEL": ""})
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("*  ")]
    if marked is None:
        assert rows == []
        assert "none in effect here: the provider in effect is ollama (openai)" in done.stdout
    else:
        assert [row.split()[1] for row in rows] == [marked]
        assert "in effect here: chosen by the model setting (project config" in done.stdout


def test_no_provider_explains_how_to_configure(tmp_path: Path) -> None:
    (tmp_path / ".codegen-lsp.toml").write_text("auto_local = false\n", encoding="utf-8")
    source = tmp_path / "g.py"
    source.write_text("# hello\n", encoding="utf-8")
    done = run_cli("generate", str(source), "--line", "1", cwd=tmp_path, base_url=None)
    assert done.returncode == 3
    assert "No model provider is configured" in done.stderr
    assert "CODEGEN_LSP_BASE_URL" in done.stderr
    assert source.read_text(encoding="utf-8") == "# hello\n"
