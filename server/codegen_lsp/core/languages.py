"""One record per language: everything codegen-lsp knows about a language, in one table.

A :class:`Language` holds a language's LSP ``languageId``, the file names that mean it, its
comment syntax (for finding "the comment block at the cursor"), the Markdown fence tag prompts
use and the tags an answer's fences may carry for it, its documentation style and test framework
(named in prompts), the tree-sitter grammar that finds its functions and classes, and where its
tests go. :func:`language` looks a record up by id (case-insensitive); an id the table does not
know gets a generic record, so every lookup answers. Adding a language is adding one entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class CommentSyntax:
    line: tuple[str, ...] = ()
    block: tuple[tuple[str, str], ...] = ()


HASH = CommentSyntax(("#",))
SLASH = CommentSyntax(("//",), (("/*", "*/"),))
SEMI = CommentSyntax((";",))
PERCENT = CommentSyntax(("%",))
HTML = CommentSyntax((), (("<!--", "-->"),))
DASHES = CommentSyntax(("--",))
# Unknown languages: the two most common line markers; a false "comment" only offers an action.
ANY_COMMENT = CommentSyntax(("#", "//"), (("/*", "*/"),))

#: tests next to the file, ``test_`` in front: the convention of languages without their own
DEFAULT_TEST_PATH = "{parent}/test_{stem}{suffix}"


@dataclass(frozen=True, slots=True)
class Language:
    """What codegen-lsp knows about one language; every field but ``id`` has a generic default."""

    id: str
    comments: CommentSyntax = ANY_COMMENT
    #: file suffixes (lower case, first = the usual one) and whole file names that mean this language
    suffixes: tuple[str, ...] = ()
    filenames: tuple[str, ...] = ()
    #: the tag prompts open code fences with; None: the id itself
    fence: str | None = None
    #: other fence tags an answer may use for this language (```py for python)
    aliases: frozenset[str] = frozenset()
    #: how to document code, for the ``document`` action ("" → "the usual documentation comments")
    doc_style: str = ""
    #: what to write tests with, for the ``tests`` action ("" → "the usual unit-test framework")
    test_framework: str = ""
    #: where tests go, see :func:`suggest_test_path`
    test_path: str = DEFAULT_TEST_PATH
    #: the tree-sitter grammar (``tree_sitter_<grammar>``) that finds functions and classes
    grammar: str | None = None
    _fence_tags: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # frozen: the generic texts and the tag set are filled in once, here
        if not self.doc_style:
            object.__setattr__(self, "doc_style", f"the usual documentation comments for {self.id}")
        if not self.test_framework:
            object.__setattr__(self, "test_framework", f"the usual unit-test framework for {self.id}")
        object.__setattr__(self, "_fence_tags", frozenset({self.id, self.fence_tag, *self.aliases}))

    @property
    def fence_tag(self) -> str:
        return self.id if self.fence is None else self.fence

    def names_fence(self, tag: str) -> bool:
        """Whether a fence tagged ``tag`` holds this language (an untagged fence may hold any)."""
        return not tag or tag.lower() in self._fence_tags


def _plain(comments: CommentSyntax, *ids: str) -> tuple[Language, ...]:
    """Languages of which only the comment syntax is known."""
    return tuple(Language(i, comments) for i in ids)


_JS_TESTS = "the project's test runner (Jest/Vitest style: describe/it/expect)"
_JSDOC = "JSDoc /** … */ comments above each function"
_TSDOC = "TSDoc /** … */ comments above each function"
_JS_TEST_PATH = "{parent}/{stem}.test{suffix}"
_JVM_TEST_PATH = "{maven_test}/{stem}Test{suffix}"

_TABLE: tuple[Language, ...] = (
    Language(
        "python", HASH, (".py", ".pyi"),
        aliases=frozenset({"py", "python3", "py3"}),
        doc_style="PEP 257 docstrings (triple double quotes, first statement of each function/class)",
        test_framework="pytest",
        test_path="{root}/tests/test_{stem}.py",
        grammar="python",
    ),
    Language(
        "javascript", SLASH, (".js", ".mjs", ".cjs"),
        aliases=frozenset({"js", "jsx", "mjs", "cjs", "node"}),
        doc_style=_JSDOC + "/class", test_framework=_JS_TESTS, test_path=_JS_TEST_PATH, grammar="javascript",
    ),
    Language(
        "javascriptreact", SLASH, (".jsx",), fence="jsx",
        aliases=frozenset({"javascript", "js"}),
        doc_style=_JSDOC + "/component", test_framework="Jest and Testing Library",
        test_path=_JS_TEST_PATH, grammar="javascript",
    ),
    # The JavaScript grammar recovers around type annotations well enough to find functions and
    # classes; a TypeScript grammar would be better but is not installed.
    Language(
        "typescript", SLASH, (".ts",),
        aliases=frozenset({"ts", "tsx"}),
        doc_style=_TSDOC + "/class", test_framework=_JS_TESTS, test_path=_JS_TEST_PATH, grammar="javascript",
    ),
    Language(
        "typescriptreact", SLASH, (".tsx",), fence="tsx",
        aliases=frozenset({"typescript", "ts"}),
        doc_style=_TSDOC + "/component", test_framework="Jest and Testing Library",
        test_path=_JS_TEST_PATH, grammar="javascript",
    ),
    Language(
        "go", SLASH, (".go",), aliases=frozenset({"golang"}),
        doc_style="Go doc comments (// lines starting with the name)",
        test_framework="the testing package (table-driven tests)", test_path="{parent}/{stem}_test.go",
    ),
    Language(
        "rust", SLASH, (".rs",), aliases=frozenset({"rs"}), doc_style="/// doc comments",
        test_framework="#[test] functions in a #[cfg(test)] module", test_path="{root}/tests/{stem}.rs",
    ),
    Language(
        "c", SLASH, (".c", ".h"), doc_style="Doxygen /** … */ comments",
        test_framework="a minimal assert-based test program",
    ),
    Language(
        "cpp", SLASH, (".cpp", ".cc", ".cxx", ".hpp"), aliases=frozenset({"c++", "cxx", "cc"}),
        doc_style="Doxygen /** … */ comments", test_framework="GoogleTest",
    ),
    Language("objective-c", SLASH, fence="objc"),
    Language("objective-cpp", SLASH, fence="objcpp"),
    Language(
        "java", SLASH, (".java",), doc_style="Javadoc /** … */ comments with @param and @return",
        test_framework="JUnit 5", test_path=_JVM_TEST_PATH,
    ),
    Language(
        "kotlin", SLASH, (".kt",), aliases=frozenset({"kt"}), doc_style="KDoc /** … */ comments",
        test_framework="JUnit 5", test_path=_JVM_TEST_PATH,
    ),
    Language(
        "scala", SLASH, (".scala",), doc_style="Scaladoc /** … */ comments", test_framework="ScalaTest",
        test_path=_JVM_TEST_PATH,
    ),
    Language(
        "csharp", SLASH, (".cs",), aliases=frozenset({"cs", "c#"}),
        doc_style="/// XML documentation comments (<summary>, <param>, <returns>)",
        test_framework="xUnit", test_path="{parent}/{stem}Tests.cs",
    ),
    Language(
        "swift", SLASH, (".swift",), doc_style="/// documentation comments", test_framework="XCTest"
    ),
    Language("dart", SLASH, (".dart",), doc_style="/// doc comments", test_framework="package:test"),
    Language(
        "php", CommentSyntax(("//", "#"), (("/*", "*/"),)), (".php",), doc_style="PHPDoc /** … */ comments",
        test_framework="PHPUnit", test_path="{root}/tests/{Stem}Test.php",
    ),
    Language(
        "ruby", HASH, (".rb",), aliases=frozenset({"rb"}), doc_style="YARD # comments above each method",
        test_framework="RSpec", test_path="{root}/spec/{stem}_spec.rb",
    ),
    Language(
        "elixir", HASH, (".ex", ".exs"), aliases=frozenset({"ex", "exs"}),
        doc_style='@doc """…""" attributes', test_framework="ExUnit", test_path="{mix_root}/test/{stem}_test.exs",
    ),
    Language(
        "shellscript", HASH, (".sh", ".bash", ".zsh"), fence="bash",
        aliases=frozenset({"sh", "shell", "zsh"}), doc_style="# comments above each function",
    ),
    Language("r", HASH, (".r",), doc_style="roxygen2 #' comments"),
    Language("perl", HASH, (".pl",), aliases=frozenset({"pl"})),
    Language("yaml", HASH, (".yaml", ".yml"), aliases=frozenset({"yml"})),
    Language("toml", HASH, (".toml",)),
    Language("makefile", HASH, filenames=("Makefile", "makefile", "GNUmakefile")),
    *_plain(
        HASH, "sh", "bash", "zsh", "fish", "dockerfile", "cmake", "nim", "julia", "coffeescript",
        "graphql", "nix", "tcl", "gdscript", "powershell", "terraform", "hcl",
    ),
    *_plain(
        SLASH, "groovy", "proto", "jsonc", "scss", "less", "solidity", "d", "glsl", "hlsl",
    ),
    Language("zig", CommentSyntax(("//",)), (".zig",)),
    Language("css", CommentSyntax((), (("/*", "*/"),)), (".css",)),
    Language("lua", CommentSyntax(("--",), (("--[[", "]]"),)), (".lua",), doc_style="--- LuaDoc comments"),
    Language("sql", CommentSyntax(("--",), (("/*", "*/"),)), (".sql",)),
    Language(
        "haskell", CommentSyntax(("--",), (("{-", "-}"),)), (".hs",), aliases=frozenset({"hs"}),
        doc_style="-- | Haddock comments",
    ),
    Language("elm", CommentSyntax(("--",), (("{-", "-}"),))),
    Language("ada", DASHES),
    Language("clojure", SEMI, (".clj",)),
    Language("lisp", SEMI, (".lisp", ".el")),
    Language("scheme", SEMI, (".scm",)),
    *_plain(SEMI, "commonlisp", "racket", "emacs-lisp", "fennel", "ini"),
    Language("erlang", PERCENT, (".erl",)),
    Language("latex", PERCENT, (".tex",)),
    *_plain(PERCENT, "tex", "bibtex", "matlab", "octave"),
    Language("html", HTML, (".html",)),
    Language("xml", HTML, (".xml",)),
    Language("markdown", HTML, (".md",), aliases=frozenset({"md"})),
    *_plain(HTML, "svg", "xsl"),
    Language("json", suffixes=(".json",)),
    Language("plaintext", fence=""),
)  # fmt: skip

#: every known language by id
LANGUAGES = MappingProxyType({lang.id: lang for lang in _TABLE})
_BY_SUFFIX = MappingProxyType({suffix: lang.id for lang in _TABLE for suffix in lang.suffixes})
_BY_FILENAME = MappingProxyType({name: lang.id for lang in _TABLE for name in lang.filenames})


@lru_cache(maxsize=64)
def _unknown(language_id: str) -> Language:
    return Language(language_id)


def language(language_id: str) -> Language:
    """The record for ``language_id`` (any case); a generic record for an id not in the table."""
    key = language_id.lower()
    return LANGUAGES.get(key) or _unknown(key)


def language_from_path(path: str | PurePath) -> str:
    """The LSP language id for ``path``, ``plaintext`` when unknown."""
    pure = PurePath(path)
    return _BY_FILENAME.get(pure.name) or _BY_SUFFIX.get(pure.suffix.lower(), "plaintext")


# --- where tests go ---------------------------------------------------------------------------


def _root_of(parent: PurePath, marker: str) -> tuple[PurePath, tuple[str, ...]] | None:
    """The folder holding ``marker`` (src, lib) and the parts below it, if the path has one."""
    parts = parent.parts
    if marker not in parts:
        return None
    at = len(parts) - 1 - parts[::-1].index(marker)
    return PurePath(*parts[:at]) if at else PurePath(), parts[at + 1 :]


def suggest_test_path(path: str | None, language_id: str) -> str:
    """Where tests for ``path`` go by the language's convention (a suggestion, never checked on disk).

    :attr:`Language.test_path` is a template: a folder, then a file name. Folders: ``{parent}``
    (the file's own), ``{root}`` (the project: the folder holding ``src``, else the file's folder),
    ``{maven_test}`` (``src/main/X`` mirrored under ``src/test/X``, else the file's folder) and
    ``{mix_root}`` (the folder holding ``lib``, else the root). Names use ``{stem}``, ``{Stem}``
    (capitalised) and ``{suffix}``.
    """
    lang = language(language_id)
    file = PurePath(path) if path else PurePath("untitled" + (lang.suffixes[0] if lang.suffixes else ".txt"))
    stem, suffix, parent = file.stem, file.suffix, file.parent
    src = _root_of(parent, "src")
    root = src[0] if src else (parent if parent.is_absolute() else PurePath())
    lib = _root_of(parent, "lib")
    folders = {
        "{parent}": parent,
        "{root}": root,
        "{maven_test}": (
            root / "src" / "test" / PurePath(*src[1][1:]) if src and src[1][:1] == ("main",) else parent
        ),
        "{mix_root}": lib[0] if lib else root,
    }
    folder, _, name = lang.test_path.partition("/")
    return str(folders[folder] / name.format(stem=stem, Stem=stem[:1].upper() + stem[1:], suffix=suffix))
