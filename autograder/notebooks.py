"""Notebooks as submissions: turn ``<topic>.ipynb`` into the module source that is graded.

What is graded of a notebook is what a module would define: from every code cell, its imports,
its top-level ``def`` and ``class`` statements, and simple assignments (``N = 10``, ``SIZES = [2, 3]``:
values without calls). Exploratory code (training runs, plots, ``print``, ``input()``) never runs at
grading time and never breaks it; IPython magics (``%time``, ``%%capture``) and shell lines (``!pip``)
are dropped before parsing; a cell that still does not parse is dropped and named in a note.

Cells that are the grader's own (nbgrader's autograded test cells, the self-check cells of the
exercise notebooks) are skipped whole. Answer cells are marked by the tag :data:`ANSWER_TAG` (the
exercise notebooks) or nbgrader's ``solution`` metadata; they are what a topic "holds", so a
notebook without any answer cell and without any definition is reported as empty.

When a submission holds both ``<topic>.py`` and ``<topic>.ipynb``, :func:`choose` grades the ``.py``
unless it is the untouched released stub, and says which one was graded.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

from autograder.errors import AutograderError

#: Cell tag of an answer cell (the student's code) in the exercise notebooks.
ANSWER_TAG = "answer"
#: Cell tag of a self-check cell (skipped when grading).
CHECK_TAG = "self-check"
_MAGIC = re.compile(r"^\s*(%|!|\?)|^\s*[\w.]+\s*=\s*[%!]")
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class NotebookError(AutograderError, ValueError):
    """The notebook can't be read (invalid JSON, not a notebook); the message says why, in one line."""


@dataclass
class Extracted:
    """The graded module source of a notebook, and what was left out (for the student)."""

    source: str
    notes: list[str] = field(default_factory=list)
    answer_cells: int = 0
    definitions: int = 0


def _simple_value(node: ast.AST) -> bool:
    """An assignment's value runs nothing: no calls, awaits, yields, comprehensions or walrus."""
    banned = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.ListComp, ast.SetComp,
              ast.DictComp, ast.GeneratorExp)
    return not any(isinstance(n, banned) for n in ast.walk(node))


def _grader_import(node: ast.stmt) -> bool:
    """``from autograder import check``: the grader's own package is not the student's code."""
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in getattr(node, "names", [])]
    return isinstance(node, (ast.Import, ast.ImportFrom)) and any(n == "autograder" or n.startswith("autograder.") for n in names)


def _kept(node: ast.stmt) -> bool:
    if _grader_import(node):
        return False
    if isinstance(node, _KEEP):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return node.value is not None and _simple_value(node.value) and all(isinstance(t, ast.Name) for t in targets)
    return False


def strip_magics(code: str) -> str:
    """The cell without IPython syntax: a ``%%`` cell magic drops the cell; ``%``/``!`` lines go."""
    if code.lstrip().startswith("%%"):
        return ""
    return "\n".join("" if _MAGIC.match(line) else line for line in code.splitlines())


def cells_to_module(cells: list[str], labels: list[str] | None = None) -> Extracted:
    """Module source from code cells: the statements :func:`_kept` allows, cell by cell, in order."""
    labels = labels or [f"cell {i}" for i in range(1, len(cells) + 1)]
    out, future, notes, defs = [], [], [], 0
    for code, label in zip(cells, labels):
        code = strip_magics(code)
        if not code.strip():
            continue
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            notes.append(f"{label} does not parse (line {exc.lineno}: {exc.msg}); it was left out")
            continue
        except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
            notes.append(f"{label} does not parse ({type(exc).__name__}); it was left out")
            continue
        lines = code.splitlines()
        for node in tree.body:
            if not _kept(node):
                continue
            defs += not isinstance(node, (ast.Import, ast.ImportFrom))
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            code_of = "\n".join(lines[first - 1: node.end_lineno])
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                future.append(code_of)  # must open the module, wherever the cell was
            else:
                out.append(code_of)
    parts = ["\n".join(dict.fromkeys(future))] if future else []
    parts += out
    return Extracted("\n\n\n".join(parts) + "\n" if parts else "", notes, definitions=defs)


def _meta(cell: dict) -> tuple[dict, list]:
    """(nbgrader metadata, tags) of a cell, empty where the notebook holds something else."""
    meta = cell.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    nbg, tags = meta.get("nbgrader"), meta.get("tags")
    return (nbg if isinstance(nbg, dict) else {}), (tags if isinstance(tags, list) else [])


def _is_grader_cell(cell: dict) -> bool:
    nbg, tags = _meta(cell)
    return bool(nbg.get("grade") and not nbg.get("solution")) or CHECK_TAG in tags


def _is_answer(cell: dict) -> bool:
    nbg, tags = _meta(cell)
    return ANSWER_TAG in tags or bool(nbg.get("solution"))


def notebook_to_module(text: str | bytes, name: str = "notebook.ipynb") -> Extracted:
    """The graded source of a notebook file's text; :class:`NotebookError` if it is not a notebook."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise NotebookError(f"{name} is not a valid notebook (invalid JSON: {str(exc)[:200]})") from None
    cells = doc.get("cells") if isinstance(doc, dict) else None
    if not isinstance(cells, list):
        raise NotebookError(f"{name} is not a notebook (no list of cells)")
    codes, labels, answers = [], [], 0
    for i, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or _is_grader_cell(cell):
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str):
            continue  # not a cell's text: nothing to grade in it
        answers += _is_answer(cell)
        codes.append(source)
        labels.append(f"{name} cell {i}")
    extracted = cells_to_module(codes, labels)
    extracted.answer_cells = answers
    if not extracted.definitions:
        raise NotebookError(f"{name} holds no function or class to grade"
                            + (" (its answer cells are empty)" if answers else " (no answer cells, no definitions)"))
    return extracted


def _normal(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def choose(topic: str, py: str | None, notebook: str | None, stub: str | None) -> tuple[str, str | None]:
    """Which of ``<topic>.py`` and ``<topic>.ipynb`` is graded when both exist: ``(kind, note)``.

    The ``.py`` is graded, unless it is the untouched released ``stub`` (comments and blank lines
    aside) and so holds no work; the note says which one was graded.
    """
    if notebook is None:
        return "py", None
    if py is None:
        return "ipynb", None
    if stub is not None and _normal(py) == _normal(stub):
        return "ipynb", f"{topic}: graded {topic}.ipynb; {topic}.py next to it is the unchanged exercise stub"
    return "py", f"{topic}: graded {topic}.py; {topic}.ipynb next to it was not graded (submit one of the two)"


def kernel_cells() -> list[str] | None:
    """The code the running IPython kernel has executed, oldest first (``None`` outside IPython).

    This is the live notebook: what the student ran, saved or not. The running cell is left out.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or "In" not in getattr(shell, "user_ns", {}):
        return None
    return [c for c in shell.user_ns["In"][:-1] if c]


class CheckReport:
    """What ``check("topic")`` gives in a notebook: shown as the table of checks, never as a repr dump.

    ``result`` is the :class:`~autograder.results.SubmissionResult` (``None`` when the check could not
    run; ``error`` then says why, in one line). Attributes not found here are the result's
    (``report.total``, ``report.checks``).
    """

    def __init__(self, result=None, error: str | None = None, width: int = 100) -> None:
        self.result, self.error, self.width = result, error, width

    def __getattr__(self, name):
        if name in ("result", "error", "width") or self.result is None:
            raise AttributeError(name)
        return getattr(self.result, name)

    def _console(self, record: bool):
        import io

        from rich.console import Console

        from autograder.results import render_table

        console = Console(file=io.StringIO(), width=self.width, record=record, color_system="standard" if record else None,
                          force_terminal=record, force_jupyter=False)
        render_table(self.result, console, public_only=True)
        return console

    def __repr__(self) -> str:
        if self.result is None:
            return f"check: {self.error}"
        return self._console(record=False).file.getvalue().rstrip("\n")

    def _repr_html_(self) -> str:
        import html

        if self.result is None:
            return f"<p style='color:#b42318'><strong>check:</strong> {html.escape(self.error or '')}</p>"
        return self._console(record=True).export_html(inline_styles=True, code_format="<pre style=\"font-family:monospace;line-height:1.3\">{code}</pre>")

    def _repr_markdown_(self) -> str:
        return "```\n" + repr(self) + "\n```"


def check_in_notebook(topic: str | None, cells: list[str] | None, folder=None) -> CheckReport:
    """The public checks of ``topic`` on these cells' imports and definitions, in the sandbox.

    Without ``cells`` the files of ``folder`` (default ./exercises) are checked, as ``autograder
    check`` does; either way the result is a :class:`CheckReport`, and a mistake is one line.
    """
    import tempfile
    from pathlib import Path

    from autograder import course as course_mod
    from autograder.course import CourseError
    from autograder.grading import GradingError, self_check

    try:
        course = course_mod.load()
        if topic is not None:
            course.topic(topic)
    except CourseError as exc:
        return CheckReport(error=str(exc).splitlines()[0])
    extracted = None
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
        if cells is not None:
            extracted = cells_to_module(cells, [f"input [{i}]" for i in range(1, len(cells) + 1)])
            (Path(tmp) / f"{topic}.py").write_text(extracted.source, encoding="utf-8")
            folder = tmp
        try:
            result = self_check(topic, folder, show=False, course=course)
        except (GradingError, CourseError) as exc:
            return CheckReport(error=f"the checks could not run: {str(exc).splitlines()[0]}")
    if extracted is not None:
        result.notes = [*extracted.notes, *result.notes]
    return CheckReport(result)


# --------------------------------------------------------------------------------------------------
# Exercise notebooks, generated from solutions/
# --------------------------------------------------------------------------------------------------

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


@dataclass
class Chunk:
    kind: str  # setup | given | solution
    code: str
    function: str | None = None


def split_module(text: str, filename: str = "<string>") -> tuple[str, list[Chunk]]:
    """``(lesson, chunks)``: the module docstring and the code cut at top-level statements.

    Imports and anything before the first function are ``setup``; a function holding a solution
    region is ``solution``; every other top-level statement is ``given``. Comments above a
    statement travel with it.
    """
    import inspect

    from autograder.stubs import find_regions

    tree = ast.parse(text, filename)
    lines = text.splitlines()
    regions = find_regions(text, filename)
    body = list(tree.body)
    lesson, start = "", 0
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        lesson = inspect.cleandoc(body[0].value.value)
        start = body.pop(0).end_lineno
    chunks: list[Chunk] = []
    seen_def = False
    for node in body:
        end = node.end_lineno
        while end < len(lines) and (not lines[end].strip() or lines[end][:1].isspace()):
            end += 1  # indented lines after the node (a region's END marker) belong to it
        code = "\n".join(lines[start:end]).strip("\n")
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        is_def = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        if is_def and any(first <= r.begin <= end for r in regions):
            chunks.append(Chunk("solution", code, node.name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)) or not (seen_def or is_def):
            chunks.append(Chunk("setup", code))
        else:
            chunks.append(Chunk("given", code))
        seen_def = seen_def or is_def
        start = end
    return lesson, chunks


def _stub_code(code: str) -> str:
    from autograder.stubs import student_stub

    return student_stub(code + "\n").strip("\n")


def check_code(topic: str) -> str:
    """The self-check cell of ``topic``: grades this notebook's current code with the public checks."""
    return f"from autograder import check\n\ncheck({topic!r})"


def exercise_notebook(text: str, topic: str, title: str, filename: str = "<string>"):
    """The student notebook of one topic from its solution module (an ``nbformat`` v4 notebook).

    The lesson in Markdown; the module's set-up (imports) and given code in plain cells; one answer
    cell (tag :data:`ANSWER_TAG`) per exercise function holding its stub, and a self-check cell (tag
    :data:`CHECK_TAG`) after each.
    """
    import nbformat.v4 as nbf

    lesson, chunks = split_module(text, filename)
    intro = (f"# {title}\n\n{lesson}\n\n---\n\nWrite your code in the cells that say "
             "`raise NotImplementedError`, run them, then run the check cell below each one. The check "
             "grades the code of this notebook (its imports, functions and classes) with the public "
             "checks, in a sandbox; hidden checks decide the grade.")
    cells = [nbf.new_markdown_cell(intro)]
    setup = [c.code for c in chunks if c.kind == "setup"]
    if setup:
        cells.append(nbf.new_code_cell("\n\n".join(setup)))
    for chunk in chunks:
        if chunk.kind == "given":
            cells.append(nbf.new_code_cell(chunk.code))
        elif chunk.kind == "solution":
            cells.append(nbf.new_markdown_cell(f"### `{chunk.function}`"))
            cells.append(nbf.new_code_cell(_stub_code(chunk.code), metadata={"tags": [ANSWER_TAG]}))
            cells.append(nbf.new_code_cell(check_code(topic), metadata={"tags": [CHECK_TAG]}))
    return nbf.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})


def notebook_text(nb) -> str:
    """A notebook as the exact text written to disk (stable, so the drift test can compare it)."""
    import nbformat

    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"  # fixed ids: the generated file does not change from run to run
    return nbformat.writes(nb) + "\n"


__all__ = ["CheckReport", "Chunk", "check_in_notebook", "kernel_cells", "exercise_notebook", "split_module", "ANSWER_TAG", "CHECK_TAG", "Extracted", "NotebookError", "cells_to_module", "choose",
           "notebook_to_module", "strip_magics"]
