"""Spec for core/languages: one record per language, looked up by id, file name or fence tag."""

from __future__ import annotations

from collections import Counter

import pytest

from codegen_lsp.core import context
from codegen_lsp.core.languages import (
    ANY_COMMENT,
    HASH,
    LANGUAGES,
    language,
    language_from_path,
    suggest_test_path,
)


def test_the_table_names_each_language_suffix_and_file_name_once() -> None:
    suffixes = Counter(s for lang in LANGUAGES.values() for s in lang.suffixes)
    names = Counter(n for lang in LANGUAGES.values() for n in lang.filenames)
    assert [s for s, n in suffixes.items() if n > 1] == []
    assert [f for f, n in names.items() if n > 1] == []
    assert all(
        lang.id == lang.id.lower() and s == s.lower() for lang in LANGUAGES.values() for s in lang.suffixes
    )


def test_every_grammar_the_table_names_has_scopes() -> None:
    grammars = {lang.grammar for lang in LANGUAGES.values() if lang.grammar}
    assert grammars == set(context._SCOPE_TYPES)


@pytest.mark.parametrize(
    ("language_id", "tag"),
    [
        pytest.param("python", "python", id="the id"),
        pytest.param("typescriptreact", "tsx", id="react"),
        pytest.param("shellscript", "bash", id="shell"),
        pytest.param("plaintext", "", id="plain text: a bare fence"),
        pytest.param("Go", "go", id="any case"),
        pytest.param("cobol", "cobol", id="unknown: the id"),
    ],
)
def test_fence_tag(language_id: str, tag: str) -> None:
    assert language(language_id).fence_tag == tag


@pytest.mark.parametrize(
    ("language_id", "tag", "names"),
    [
        pytest.param("python", "py", True, id="alias"),
        pytest.param("python", "Python3", True, id="alias any case"),
        pytest.param("python", "", True, id="untagged fence"),
        pytest.param("python", "bash", False, id="another language"),
        pytest.param("shellscript", "sh", True, id="shell alias"),
        pytest.param("javascriptreact", "jsx", True, id="the fence tag itself"),
        pytest.param("objective-c", "objc", True, id="fence tag without aliases"),
        pytest.param("cpp", "c++", True, id="c++"),
        pytest.param("csharp", "c#", True, id="c#"),
        pytest.param("cobol", "cobol", True, id="unknown language: its id"),
        pytest.param("cobol", "python", False, id="unknown language: not another"),
    ],
)
def test_names_fence(language_id: str, tag: str, names: bool) -> None:
    assert language(language_id).names_fence(tag) is names


@pytest.mark.parametrize(
    ("path", "language_id"),
    [
        pytest.param("a/b.py", "python", id="python"),
        pytest.param("A.PY", "python", id="suffix any case"),
        pytest.param("x.tsx", "typescriptreact", id="tsx"),
        pytest.param("x.h", "c", id="header"),
        pytest.param("build/Makefile", "makefile", id="a file name"),
        pytest.param("notes.unknown", "plaintext", id="unknown"),
        pytest.param("README", "plaintext", id="no suffix"),
    ],
)
def test_language_from_path(path: str, language_id: str) -> None:
    assert language_from_path(path) == language_id


def test_records_know_comments_docs_and_tests() -> None:
    python = language("python")
    assert (python.comments, python.test_framework, python.grammar) == (HASH, "pytest", "python")
    assert "PEP 257" in python.doc_style
    unknown = language("cobol")
    assert unknown.comments == ANY_COMMENT
    assert unknown.doc_style == "the usual documentation comments for cobol"
    assert unknown.test_framework == "the usual unit-test framework for cobol"
    assert language("sql").doc_style == "the usual documentation comments for sql"


@pytest.mark.parametrize(
    ("path", "language_id", "expected"),
    [
        pytest.param("/p/src/pkg/mod.py", "python", "/p/tests/test_mod.py", id="python src layout"),
        pytest.param("pkg/mod.py", "python", "tests/test_mod.py", id="python relative"),
        pytest.param(None, "python", "tests/test_untitled.py", id="unsaved python"),
        pytest.param("/p/main.go", "go", "/p/main_test.go", id="go"),
        pytest.param("/p/src/lib.rs", "rust", "/p/tests/lib.rs", id="rust integration tests"),
        pytest.param(
            "/p/src/main/java/a/Cart.java", "java", "/p/src/test/java/a/CartTest.java", id="java maven"
        ),
        pytest.param("/p/Cart.kt", "kotlin", "/p/CartTest.kt", id="kotlin without maven layout"),
        pytest.param("/p/lib/cart.rb", "ruby", "/p/lib/spec/cart_spec.rb", id="ruby"),
        pytest.param("/p/lib/app/cart.ex", "elixir", "/p/test/cart_test.exs", id="elixir mix"),
        pytest.param("/p/src/cart.php", "php", "/p/tests/CartTest.php", id="php"),
        pytest.param("/p/Cart.cs", "csharp", "/p/CartTests.cs", id="csharp"),
        pytest.param("/p/src/app.ts", "typescript", "/p/src/app.test.ts", id="typescript"),
        pytest.param(None, "javascriptreact", "untitled.test.jsx", id="unsaved jsx"),
        pytest.param("/p/x.lua", "lua", "/p/test_x.lua", id="other languages"),
        pytest.param(None, "cobol", "test_untitled.txt", id="unsaved, unknown language"),
    ],
)
def test_suggest_test_path(path: str | None, language_id: str, expected: str) -> None:
    assert suggest_test_path(path, language_id) == expected
