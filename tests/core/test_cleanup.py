"""Spec for core/cleanup: real-looking model answers in, clean code lines out (batch and streaming)."""

from __future__ import annotations

import pytest

from codegen_lsp.core.cleanup import (
    CleanupTarget,
    LineStreamer,
    clean_code,
    clean_prose,
    extract_code,
    strip_think,
)
from codegen_lsp.core.text import Indentation

PY4 = CleanupTarget("python", "", Indentation("    "))
PY_BODY = CleanupTarget("python", "    ", Indentation("    "))
PY_TABS = CleanupTarget("python", "\t", Indentation("\t"))
JS2 = CleanupTarget("javascript", "  ", Indentation("  "))
COMMENT_ECHO = CleanupTarget(
    "python",
    "    ",
    Indentation("    "),
    echo=("def area(r):", "    # return the area of a circle of radius r"),
)
# The lines above a comment inside a loop: far context, then the comment (the anchor).
FAR_ECHO = CleanupTarget(
    "python",
    "        ",
    Indentation("    "),
    echo=("import os", "def walk(root):", "    for name in os.listdir(root):", "        # skip hidden files"),
    echo_anchor=1,
)

# A method body followed by more of the class: what a model continuing the file repeats.
TAIL = CleanupTarget(
    "python",
    "        ",
    Indentation("    "),
    echo=("class Stack:", "    def push(self, item):"),
    after=("    def pop(self):", "        return self.items.pop()", "}"),
)

FENCED_WITH_PROSE = """Sure! Here is the implementation:

```python
def add(a, b):
    return a + b
```

This function adds two numbers and returns the result."""

SEVERAL_BLOCKS = """First install the dependency:

```bash
pip install requests
```

Then use this function:

```python
import requests


def fetch(url):
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return response.json()
```

Example:

```python
print(fetch("https://example.com"))
```
"""

CASES = [
    pytest.param(
        FENCED_WITH_PROSE, PY4, "def add(a, b):\n    return a + b", id="fenced block with prose around"
    ),
    pytest.param(
        "def add(a, b):\n    return a + b\n", PY4, "def add(a, b):\n    return a + b", id="no fence"
    ),
    pytest.param(
        "```\nx = 1\ny = 2\n```", PY_BODY, "    x = 1\n    y = 2", id="fence without a language tag, re-based"
    ),
    pytest.param(
        SEVERAL_BLOCKS,
        PY4,
        "import requests\n\n\ndef fetch(url):\n    response = requests.get(url, timeout=10)\n"
        "    response.raise_for_status()\n    return response.json()",
        id="several blocks: the largest in the document's language",
    ),
    pytest.param(
        "<think>\nThe user wants a sum. I'll use sum().\n</think>\n\n```python\ntotal = sum(values)\n```",
        PY_BODY,
        "    total = sum(values)",
        id="think block dropped",
    ),
    pytest.param(
        "Okay, a sum is needed.\n</think>\n```python\ntotal = sum(values)\n```",
        PY_BODY,
        "    total = sum(values)",
        id="stream starting with only </think>",
    ),
    pytest.param("<think>\nstill thinking when max_tokens hit", PY4, "", id="unfinished think is not code"),
    pytest.param(
        "```python\n    # return the area of a circle of radius r\n    return math.pi * r ** 2\n```",
        COMMENT_ECHO,
        "    return math.pi * r ** 2",
        id="echoed comment dropped",
    ),
    pytest.param(
        "```python\ndef area(r):\n    # return the area of a circle of radius r\n    return math.pi * r ** 2\n```",
        COMMENT_ECHO,
        "    return math.pi * r ** 2",
        id="echoed def line and comment dropped, body re-based",
    ),
    pytest.param(
        "```python\ndef area(r):\n    return 3.14159 * r * r\n```",
        COMMENT_ECHO,
        "    return 3.14159 * r * r",
        id="echoed def line alone dropped",
    ),
    pytest.param(
        "```python\nfor item in items:\n    if item:\n        yield item\n```",
        PY_TABS,
        "\tfor item in items:\n\t\tif item:\n\t\t\tyield item",
        id="tabs document: spaces become tabs",
    ),
    pytest.param(
        "```js\nfunction f(xs) {\n    for (const x of xs) {\n        log(x);\n    }\n}\n```",
        JS2,
        "  function f(xs) {\n    for (const x of xs) {\n      log(x);\n    }\n  }",
        id="4-space answer into a 2-space document",
    ),
    pytest.param(
        "```python\nif ok:\n  run()\n  if more:\n    again()\n```",
        PY4,
        "if ok:\n    run()\n    if more:\n        again()",
        id="2-space answer into a 4-space document",
    ),
    pytest.param(
        "```python\ndef slow(n):\n    total = 0\n    for i in range(n):\n        total += i",
        PY4,
        "def slow(n):\n    total = 0\n    for i in range(n):\n        total += i",
        id="unterminated fence (cut at max_tokens)",
    ),
    pytest.param("~~~python\nx = 1\n~~~\n", PY4, "x = 1", id="tilde fence"),
    pytest.param(
        "```python\nresult = compute()\nprint(result)```",
        PY4,
        "result = compute()\nprint(result)",
        id="closing fence glued",
    ),
    pytest.param(
        "x = compute()\nprint(x)\n```\nThis prints x.",
        PY4,
        "x = compute()\nprint(x)",
        id="forgotten opening fence",
    ),
    pytest.param(
        "1. Add the helper:\n\n   ```python\n   def helper():\n       return 1\n   ```\n",
        PY4,
        "def helper():\n    return 1",
        id="fence indented inside a list item",
    ),
    pytest.param("Sure! ```python\nx = 1\n```", PY4, "x = 1", id="opening fence at the end of a prose line"),
    pytest.param(
        "```python\n\n\ndef f():   \n    a = 1\n\n    return a\n\n\n```",
        PY4,
        "def f():\n    a = 1\n\n    return a",
        id="blank edges trimmed, inner blank kept, trailing spaces gone",
    ),
    pytest.param(
        "```python\ndef f(a,\n      b):\n    return a\n```",
        PY4,
        "def f(a,\n      b):\n    return a",
        id="aligned continuation kept when units agree",
    ),
    pytest.param("```python\r\nx = 1\r\ny = 2\r\n```\r\n", PY4, "x = 1\ny = 2", id="CRLF in the answer"),
    pytest.param(
        "```javascript\n/**\n * Add two numbers.\n * @param {number} a\n */\nfunction add(a, b) {\n"
        "    return a + b;\n}\n```",
        CleanupTarget("javascript", "", Indentation("  ")),
        "/**\n * Add two numbers.\n * @param {number} a\n */\nfunction add(a, b) {\n  return a + b;\n}",
        id="JSDoc stars are not a level",
    ),
    pytest.param(
        '```python\ndef area(r):\n    """Return the area.\n\n    Uses pi.\n    """\n    return pi * r * r\n```',
        PY_BODY,
        '    def area(r):\n        """Return the area.\n\n        Uses pi.\n        """\n        return pi * r * r',
        id="docstring moves with its function",
    ),
    pytest.param(
        "```python\nimport os\n\ndef walk(root):\n    for name in os.listdir(root):\n        # skip hidden files\n"
        "        if name.startswith('.'):\n            continue\n```",
        FAR_ECHO,
        "        if name.startswith('.'):\n            continue",
        id="a model repeating all the context up to the comment",
    ),
    pytest.param(
        "```python\nfor name in os.listdir(root):\n    print(name)\n```",
        FAR_ECHO,
        "        for name in os.listdir(root):\n            print(name)",
        id="code that starts like a line far above is not an echo",
    ),
    pytest.param(
        "```python\nfor name in os.listdir(root):\n```\nDone.",
        FAR_ECHO,
        "        for name in os.listdir(root):",
        id="a held maybe-echo line is code when the block ends",
    ),
    pytest.param(
        "```python\ndef push(self, item):\n    self.items.append(item)\n\ndef pop(self):\n"
        "    return self.items.pop()\n\ndef peek(self):\n    return self.items[-1]\n```",
        TAIL,
        "        self.items.append(item)",
        id="a model going on to repeat the code after the target is cut there",
    ),
    pytest.param(
        "```python\nself.items.append(item)\ndef pop(self):\n```",
        TAIL,
        "        self.items.append(item)",
        id="one repeated line that ends the answer is cut too",
    ),
    pytest.param(
        "```python\nif not self.items:\n    def pop(self):\n        print(1)\n```",
        TAIL,
        "        if not self.items:\n            def pop(self):\n                print(1)",
        id="one line equal to a later one mid-answer is code",
    ),
    pytest.param(
        "```js\nfunction total(xs) {\n  return xs.length;\n}\n```",
        CleanupTarget("javascript", "  ", Indentation("  "), echo=("function total(xs) {",), after=("}",)),
        "  return xs.length;",
        id="a body returned with its function around it: header and closing brace go",
    ),
    pytest.param(
        "```js\nif (ok) {\n  run();\n}\n```",
        CleanupTarget("javascript", "  ", Indentation("  "), echo=("function total(xs) {",), after=("}",)),
        "  if (ok) {\n    run();\n  }",
        id="a closing brace of the answer's own block stays",
    ),
    pytest.param(
        "```python\n# return the area of a circle of radius r\n```",
        COMMENT_ECHO,
        "",
        id="an answer that only echoes is empty",
    ),
    pytest.param(
        "```\ncomputeTotal(items,\n  tax)\n```",
        CleanupTarget("javascript", "    ", Indentation("  "), indent_first_line=False),
        "computeTotal(items,\n      tax)",
        id="inline replacement: first line continues the line",
    ),
    pytest.param(
        "Here is the code:\n```python\n    return x\n```",
        CleanupTarget("python", "        ", None),
        "        return x",
        id="unknown document unit: answer's own unit, new base",
    ),
    pytest.param(
        '```ts\nconst x: number = 1;\n```\n```json\n{"a": 1, "b": 2, "c": 3}\n```',
        CleanupTarget("typescript", "", Indentation("  ")),
        "const x: number = 1;",
        id="block in another language passed over",
    ),
]


@pytest.mark.parametrize(("answer", "target", "expected"), CASES)
def test_clean_code(answer: str, target: CleanupTarget, expected: str) -> None:
    assert "\n".join(clean_code(answer, target)) == expected


# The shapes the live stream must get exactly as the batch does.
AGREEMENT = [
    case
    for case in CASES
    if case.id
    not in {
        "several blocks: the largest in the document's language",
        "block in another language passed over",
        "inline replacement: first line continues the line",
    }
]


def _stream(answer: str, target: CleanupTarget, size: int) -> list[str]:
    streamer = LineStreamer(target)
    lines: list[str] = []
    for start in range(0, len(answer), size):
        lines.extend(streamer.feed(answer[start : start + size]))
    lines.extend(streamer.flush())
    return lines


@pytest.mark.parametrize("size", [1, 3, 17, 10_000], ids=lambda size: f"chunks of {size}")
@pytest.mark.parametrize(("answer", "target", "expected"), AGREEMENT)
def test_line_streamer_agrees_with_batch(
    answer: str, target: CleanupTarget, expected: str, size: int
) -> None:
    assert _stream(answer, target, size) == clean_code(answer, target)


def test_line_streamer_yields_lines_as_they_complete_and_stops_at_the_closing_fence() -> None:
    streamer = LineStreamer(PY_BODY)
    assert streamer.feed("Here you go:\n```py") == []
    assert streamer.feed("thon\nx = 1\ny") == ["    x = 1"]
    assert streamer.feed(" = 2\n``") == ["    y = 2"]
    assert not streamer.done
    assert streamer.feed("`\nMore prose\n```python\nz = 3\n```") == []
    assert streamer.done
    assert streamer.feed("w = 4\n") == []
    assert streamer.flush() == []


def test_line_streamer_holds_prose_then_gives_up_on_a_fence() -> None:
    streamer = LineStreamer(PY4)
    lines = streamer.feed("a = 1\nb = 2\nc = 3\nd = 4\n")
    assert lines == []  # could still be a preamble
    assert streamer.feed("e = 5\n") == ["a = 1", "b = 2", "c = 3", "d = 4", "e = 5"]


def test_line_streamer_holds_blank_lines_until_code_follows() -> None:
    streamer = LineStreamer(PY4)
    assert streamer.feed("```python\nx = 1\n\n") == ["x = 1"]
    assert streamer.feed("\ny = 2\n") == ["", "", "y = 2"]
    assert streamer.feed("\n```") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("<think>a</think>b", "b", id="leading block"),
        pytest.param("  <think>a</think>\n<think>b</think>c", "c", id="two leading blocks"),
        pytest.param("reasoning</think>code", "code", id="closing tag only"),
        pytest.param(
            "code with <think> in a string", "code with <think> in a string", id="not leading: kept"
        ),
        pytest.param("<think>never closed", "", id="unclosed"),
    ],
)
def test_strip_think(text: str, expected: str) -> None:
    assert strip_think(text) == expected


def test_extract_code_without_fences_is_the_text() -> None:
    assert extract_code("x = 1\n", "python") == "x = 1\n"


def test_clean_prose() -> None:
    assert (
        clean_prose("<think>hm</think>\n\nIt adds numbers.  \r\nThat's all.\n")
        == "It adds numbers.\nThat's all."
    )
