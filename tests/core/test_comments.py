"""Spec for core/comments: the comment block at a line, per language, and its words."""

from __future__ import annotations

import time

import pytest

from codegen_lsp.core.comments import comment_block_at, comment_text


def _doc(text: str) -> list[str]:
    return text.split("\n")


@pytest.mark.parametrize(
    ("language", "text", "line", "block"),
    [
        pytest.param("python", "x = 1\n# add two numbers\n# and return it\n", 1, (1, 2), id="python block"),
        pytest.param("python", "x = 1\n# add two numbers\n\n", 2, (1, 1), id="blank line under the comment"),
        pytest.param("python", "# a\n\n\ny = 2", 3, None, id="code line under a comment is not it"),
        pytest.param("python", "x = 1  # trailing\n", 0, None, id="trailing comment is not a block"),
        pytest.param("python", "# one\n\n# two\n", 2, (2, 2), id="blank line separates blocks"),
        pytest.param("ruby", "  # sum the list\nend", 0, (0, 0), id="ruby"),
        pytest.param("shellscript", "#!/bin/sh\n# list files", 1, (0, 1), id="shell"),
        pytest.param("yaml", "a: 1\n# note\n", 1, (1, 1), id="yaml"),
        pytest.param("javascript", "// sort users\n// by age\nlet x;", 0, (0, 1), id="js line comments"),
        pytest.param(
            "typescript", "/**\n * parse the date\n */\nfunction f() {}", 1, (0, 2), id="ts doc block"
        ),
        pytest.param("c", "int a;\n/* compute the\n   checksum */\n", 2, (1, 2), id="c block closing line"),
        pytest.param("java", "/* one */\nint a;\n * not a comment */", 2, None, id="closed block above"),
        pytest.param("go", "// Sum adds\n/* and\n more */\n", 0, (0, 2), id="line and block merge"),
        pytest.param("rust", "/// docs\nfn f() {}", 0, (0, 0), id="rust doc comment"),
        pytest.param("zig", "/* x */", 0, None, id="zig has no block comments"),
        pytest.param("cpp", "/* still typing\nmore words", 1, (0, 1), id="unclosed block while typing"),
        pytest.param("lua", "-- build a table\nlocal t = {}", 0, (0, 0), id="lua"),
        pytest.param("lua", "--[[ long\ncomment ]]\n", 1, (0, 1), id="lua long comment"),
        pytest.param("sql", "-- select users\nSELECT 1;", 0, (0, 0), id="sql"),
        pytest.param("haskell", "{- fold\n   it -}\nf = 1", 1, (0, 1), id="haskell block"),
        pytest.param("clojure", ";; reduce it\n(def x 1)", 0, (0, 0), id="clojure"),
        pytest.param("latex", "% a table\n\\begin{tabular}", 0, (0, 0), id="latex"),
        pytest.param("erlang", "% sum\nsum(L) -> 0.", 0, (0, 0), id="erlang"),
        pytest.param("html", "<!-- nav bar\n with links -->\n<div>", 0, (0, 1), id="html"),
        pytest.param("markdown", "text\n<!-- a table -->", 1, (1, 1), id="markdown"),
        pytest.param("plaintext", "# maybe\n", 0, (0, 0), id="unknown language falls back to # and //"),
        pytest.param("python", "# c", 5, None, id="line outside the document"),
        pytest.param("php", "# legacy comment\n<?php", 0, (0, 0), id="php hash"),
    ],
)
def test_comment_block_at(language: str, text: str, line: int, block: tuple[int, int] | None) -> None:
    assert comment_block_at(_doc(text), line, language) == block


class CountingLines(list[str]):
    """A document that counts how many lines were read."""

    reads = 0

    def __getitem__(self, index):  # type: ignore[no-untyped-def,override]
        CountingLines.reads += 1
        return super().__getitem__(index)


@pytest.mark.parametrize("language", ["python", "javascript", "html"])
def test_comment_block_at_reads_only_near_the_line(language: str) -> None:
    marker = {"python": "# x", "javascript": "// x", "html": "<!-- x -->"}[language]
    lines = CountingLines([marker] * 100_000 if language != "html" else ["code"] * 100_000)
    lines[50_000:50_002] = [marker, marker]
    CountingLines.reads = 0
    started = time.perf_counter()
    assert comment_block_at(lines, 50_000, language) is not None
    assert CountingLines.reads < 5_000
    assert time.perf_counter() - started < 0.05


@pytest.mark.parametrize(
    ("language", "lines", "text"),
    [
        pytest.param("python", ["    # add two", "    # numbers"], "add two\nnumbers", id="python"),
        pytest.param("javascript", ["/**", " * Parse a date.", " */"], "Parse a date.", id="jsdoc"),
        pytest.param("rust", ["/// Sum the slice"], "Sum the slice", id="rust doc"),
        pytest.param("clojure", [";;; reduce it"], "reduce it", id="repeated markers"),
        pytest.param("html", ["<!-- nav bar -->"], "nav bar", id="html"),
        pytest.param("c", ["/* compute the", "   checksum */"], "compute the\nchecksum", id="c block"),
    ],
)
def test_comment_text(language: str, lines: list[str], text: str) -> None:
    assert comment_text(lines, language) == text
