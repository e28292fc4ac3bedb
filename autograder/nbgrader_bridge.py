"""What an nbgrader autograded cell runs: the sandboxed grader on this notebook's code.

The export (:mod:`autograder.nbgrader_export`) ends each topic's notebook with one locked grade
cell::

    from autograder.nbgrader_bridge import grade_cell
    grade_cell("neurons")

:func:`grade_cell` takes the code the kernel has run so far (IPython's input history, the cells as
nbgrader executed them; outside IPython, the saved ``<topic>.ipynb`` in the working folder), keeps
its imports and definitions exactly as ``autograder grade`` keeps those of a submitted notebook
(:func:`autograder.notebooks.cells_to_module`), grades them with the same checks in the sandbox,
prints the table of checks (titles, points, feedback, hints: never a check's code or inputs), and
returns the points earned. nbgrader (>= 0.9) reads a number as a grade cell's last value as
partial credit, so the cell is worth what the checks give, and the total of the checks is the
cell's ``points`` (read from the check markers, never written by hand).

Where the hidden checks are not installed (a student's own machine), the public checks run and the
table says that hidden checks decide the grade.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path


@contextlib.contextmanager
def _quiet_stderr():
    """Nothing on the kernel's stderr while grading: nbgrader gives 0 to a cell that wrote there."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(io.StringIO()):
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def topic_source(topic: str) -> tuple[str, list[str]]:
    """This notebook's graded code for ``topic`` and the notes about it (cells left out)."""
    from autograder.notebooks import NotebookError, cells_to_module, kernel_cells, notebook_to_module

    cells = kernel_cells()
    if cells is not None:
        extracted = cells_to_module(cells, [f"input [{i}]" for i in range(1, len(cells) + 1)])
        return extracted.source, extracted.notes
    path = Path.cwd() / f"{topic}.ipynb"
    try:
        extracted = notebook_to_module(path.read_text(encoding="utf-8"), path.name)
    except (OSError, NotebookError) as exc:
        return f"raise ImportError({str(exc)!r})\n", []
    return extracted.source, extracted.notes


def grade_cell(topic: str, *, width: int = 100) -> float:
    """Grade this notebook's code for ``topic`` in the sandbox; print the table; return the points."""
    from autograder import course as course_mod
    from autograder.grading import grade_submission
    from autograder.results import render_table
    from rich.console import Console

    course = course_mod.load()
    course.topic(topic)
    hidden = course.check_file(topic, "hidden").is_file()
    source, notes = topic_source(topic)
    with tempfile.TemporaryDirectory(prefix="autograder-nb-") as tmp:
        (Path(tmp) / f"{topic}.py").write_text(source, encoding="utf-8")
        with _quiet_stderr():
            result = grade_submission(tmp, course=course, topics=[topic], public_only=not hidden, name=topic)
    result.notes = [*notes, *result.notes]
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    render_table(result, console, public_only=not hidden)
    print(console.file.getvalue(), end="")
    summary = result.by_topic().get(topic)
    return round(float(summary.points if summary else 0.0), 4)


__all__ = ["grade_cell", "topic_source"]
