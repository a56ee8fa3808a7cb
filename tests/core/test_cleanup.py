"""Spec for core/cleanup: real-looking model answers in, clean code lines out, streamed or at once.

The table is the spec; every row also runs streamed in several chunk sizes. A property test then
generates answers (fences of several languages, untagged fences, prose, echoes of the lines above,
repetitions of the lines below, CRLF, tabs) and checks that every split streams to the batch result.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codegen_lsp.core.cleanup import Cleanup, CleanupTarget, clean_code, clean_prose
from codegen_lsp.core.text import Indentation
from codegen_lsp.core.think import ThinkFilter

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
        "```python\nfrom typing import List\n\n\n# longest(strings)\n# Return the longest one.\n#\n"
        "# >>> longest([])\n#\n```",
        CleanupTarget(
            "python",
            "",
            Indentation("    "),
            echo=(
                "from typing import List",
                "# longest(strings)",
                "# Return the longest one.",
                "#",
                "# >>> longest([])",
                "#",
            ),
            echo_anchor=5,
        ),
        "",
        id="an echo of the file and a comment with bare # lines is still only an echo",
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
    pytest.param(
        "Install it first:\n\n```bash\npip install numpy\n```\n\nThen:\n\n```python\nimport numpy as np\n\n"
        "def norm(v):\n    return np.linalg.norm(v)\n```\n",
        PY4,
        "import numpy as np\n\ndef norm(v):\n    return np.linalg.norm(v)",
        id="a bash block before the python block is passed over (issue 9)",
    ),
    pytest.param(
        "```sh\npip install requests\n```\n```\nx = 1\n```",
        PY4,
        "x = 1",
        id="an untagged block after a block in another language is the code",
    ),
    pytest.param(
        "```python\nx = 1\n```\n\nExample:\n\n```python\nprint(x)\nprint(x + 1)\n```",
        PY4,
        "x = 1",
        id="the first block in the language is the code, not the largest",
    ),
    pytest.param(
        '```json\n{"a": 1}\n```\n```yaml\na: 1\nb: 2\nc: 3\n```',
        CleanupTarget("typescript", "", Indentation("  ")),
        "a: 1\nb: 2\nc: 3",
        id="only other languages: the largest block",
    ),
    pytest.param(
        "```bash\npip install numpy\n```\n```python\nimport numpy",
        PY4,
        "import numpy",
        id="the block in the language cut at max_tokens still wins",
    ),
    pytest.param(
        "```bash\npip install numpy",
        PY4,
        "pip install numpy",
        id="an unclosed block in another language is all there is",
    ),
    pytest.param(
        "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n```python\nf = 6\n```",
        PY4,
        "a = 1\nb = 2\nc = 3\nd = 4\ne = 5",
        id="bare code then a fence: the fence ends the code",
    ),
    pytest.param(
        "Here it is:\n```\nx = 1\n",
        PY4,
        "x = 1",
        id="prose then an unclosed untagged fence",
    ),
    pytest.param("```python\r\nx = 1\r\n\ty = 2\r```", PY4, "x = 1\n    y = 2", id="lone CR and a tab"),
]


@pytest.mark.parametrize(("answer", "target", "expected"), CASES)
def test_clean_code(answer: str, target: CleanupTarget, expected: str) -> None:
    assert "\n".join(clean_code(answer, target)) == expected


# The answer as a provider hands it out has no <think> left (core/think.py); the two compose.
THINKING = [
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
]


@pytest.mark.parametrize(("answer", "target", "expected"), THINKING)
def test_thinking_is_gone_before_cleanup(answer: str, target: CleanupTarget, expected: str) -> None:
    think = ThinkFilter()
    visible = think.feed(answer) + think.flush()
    assert "\n".join(clean_code(visible, target)) == expected


def _stream(answer: str, target: CleanupTarget, size: int) -> list[str]:
    cleanup = Cleanup(target)
    lines: list[str] = []
    for start in range(0, len(answer), size):
        lines.extend(cleanup.feed(answer[start : start + size]))
    lines.extend(cleanup.flush())
    return lines


@pytest.mark.parametrize("size", [1, 3, 17, 10_000], ids=lambda size: f"chunks of {size}")
@pytest.mark.parametrize(("answer", "target", "expected"), CASES)
def test_streamed_in_chunks(answer: str, target: CleanupTarget, expected: str, size: int) -> None:
    assert "\n".join(_stream(answer, target, size)) == expected


def test_lines_come_as_they_complete_and_the_closing_fence_ends_the_code() -> None:
    cleanup = Cleanup(PY_BODY)
    assert cleanup.feed("Here you go:\n```py") == []
    assert cleanup.feed("thon\nx = 1\ny") == ["    x = 1"]
    assert cleanup.feed(" = 2\n``") == ["    y = 2"]
    assert not cleanup.done
    assert cleanup.feed("`\nMore prose\n```python\nz = 3\n```") == []
    assert cleanup.done
    assert cleanup.feed("w = 4\n") == []
    assert cleanup.flush() == []


def test_text_before_any_fence_is_held_until_it_looks_like_code() -> None:
    cleanup = Cleanup(PY4)
    lines = cleanup.feed("a = 1\nb = 2\nc = 3\nd = 4\n")
    assert lines == []  # could still be a preamble
    assert cleanup.feed("e = 5\n") == ["a = 1", "b = 2", "c = 3", "d = 4", "e = 5"]


def test_blank_lines_are_held_until_code_follows() -> None:
    cleanup = Cleanup(PY4)
    assert cleanup.feed("```python\nx = 1\n\n") == ["x = 1"]
    assert cleanup.feed("\ny = 2\n") == ["", "", "y = 2"]
    assert cleanup.feed("\n```") == []


def test_clean_prose() -> None:
    assert clean_prose("\n\nIt adds numbers.  \r\nThat's all.\n") == "It adds numbers.\nThat's all."


def test_a_block_in_another_language_is_held_while_the_code_streams_live() -> None:
    cleanup = Cleanup(PY4)
    assert cleanup.feed("```bash\npip install numpy\n```\n") == []
    assert not cleanup.done  # a block in the language may follow
    assert cleanup.feed("```python\nimport numpy\n") == ["import numpy"]
    assert cleanup.feed("```\n") == []
    assert cleanup.done


def test_a_block_in_another_language_is_released_at_the_end_if_nothing_else_came() -> None:
    cleanup = Cleanup(PY4)
    assert cleanup.feed("```bash\npip install numpy\n```\nThat is all.\n") == []
    assert cleanup.flush() == ["pip install numpy"]


# --- property: streamed == batch, for every answer and every split -------------------------------

TARGETS = [
    PY4,
    PY_BODY,
    PY_TABS,
    JS2,
    COMMENT_ECHO,
    FAR_ECHO,
    TAIL,
    CleanupTarget("javascript", "    ", Indentation("  "), indent_first_line=False),
    CleanupTarget("python", "        ", None, echo=("def f(x):",), after=("}",)),
    CleanupTarget("plaintext"),
]
_LINES = [
    "Here is the code:",
    "This function adds two numbers and returns the result.",
    "Sure! ```python",
    "```",
    "```python",
    "```py",
    "````python",
    "```bash",
    "```json",
    "```js",
    "~~~",
    "~~~python",
    "pip install numpy",
    "def add(a, b):",
    "    return a + b",
    "\treturn a + b",
    "  if (ok) {",
    "    run();",
    "}",
    "x = compute()",
    "print(x)```",
    "for name in os.listdir(root):",
    "    # skip hidden files",
    "# return the area of a circle of radius r",
    "    def pop(self):",
    "        return self.items.pop()",
    "def area(r):",
    "def f(x):",
    "computeTotal(items,",
    "      tax)",
    "<think>",
    "</think>",
    "",
    "   ",
]
answers = st.lists(
    st.tuples(st.sampled_from(_LINES), st.sampled_from(["\n", "\r\n", "\r", "\n\n"])), max_size=14
).map(lambda pairs: "".join(line + end for line, end in pairs))


@settings(max_examples=400, deadline=None)
@given(
    answer=answers,
    trailing=st.sampled_from(["", "x = 1", "```"]),
    target=st.sampled_from(TARGETS),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_streamed_equals_batch_for_every_answer_and_split(
    answer: str, trailing: str, target: CleanupTarget, cuts: list[int]
) -> None:
    answer += trailing
    bounds = sorted({0, len(answer), *(c for c in cuts if c <= len(answer))})
    pieces = [answer[a:b] for a, b in itertools.pairwise(bounds)]
    # as pipeline.run sees it: a provider's think filter, then the cleanup, both in pieces
    think, cleanup = ThinkFilter(), Cleanup(target)
    streamed: list[str] = []
    for piece in pieces:
        streamed += cleanup.feed(think.feed(piece))
    streamed += cleanup.feed(think.flush()) + cleanup.flush()
    whole = ThinkFilter()
    assert streamed == clean_code(whole.feed(answer) + whole.flush(), target)
