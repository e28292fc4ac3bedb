"""Export the course as an nbgrader course directory that grades with the same checks as everything else.

``export(out)`` writes ``out/nbgrader_config.py`` and ``out/source/<assignment>/<topic>.ipynb``, one
notebook per topic, made from ``solutions/`` like the exercise notebooks
(:func:`autograder.notebooks.exercise_notebook`):

1. the lesson (the module's docstring), in Markdown;
2. the module's imports and given code, in locked cells;
3. for every function with a solution region, a solution cell (nbgrader's ``### BEGIN SOLUTION`` /
   ``### END SOLUTION`` markers, the TODO hint above them);
4. one locked, autograded cell that calls :func:`autograder.nbgrader_bridge.grade_cell`: the
   notebook's imports and definitions are graded in the sandbox with the course's checks, public and
   hidden, exactly as ``autograder grade`` grades ``<topic>.ipynb``; the cell prints the table of
   checks and gives the points earned as its value (nbgrader's partial credit). Its ``points`` are
   the sum of the topic's check markers.

No test code is written into the notebooks, so neither the release nor the feedback can show any.
The kernel that nbgrader runs is the student's (their top-level code runs there, unsandboxed, as
in any nbgrader course); only the grade comes from the sandbox. See docs/instructors.md for the
limits of this route.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from autograder import course as course_mod
from autograder.course import Course, Topic
from autograder.errors import AutograderError
from autograder.notebooks import KERNELSPEC, notebook_to_module, split_module
from autograder.stubs import BEGIN

DEFAULT_ASSIGNMENT = "course"
#: Time limit of an ordinary cell (seconds).
CELL_TIMEOUT = 120
TIME_LIMIT = "# time limit: {seconds} s"
GRADE_CALL = "from autograder.nbgrader_bridge import grade_cell\n\ngrade_cell({topic!r})"


class ExportError(AutograderError, ValueError):
    """The course can't be exported; the message names the topic."""


def check_points(course: Course, topic: str) -> float:
    """The topic's points as its checks' ``@pytest.mark.points(n)`` markers give them (default 1 a check)."""
    total, found = 0.0, 0
    for folder in ("public", "hidden"):
        path = course.check_file(topic, folder)
        if not path.is_file():
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")):
                continue
            found += 1
            points = 1.0
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and ast.unparse(deco.func).endswith("mark.points") and deco.args:
                    points = float(ast.literal_eval(deco.args[0]))
            total += points
    if not found:
        raise ExportError(f"{topic}: no checks to grade it with")
    return total


def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _nbgrader_markers(code: str) -> str:
    """Move each region's hint to a ``# TODO:`` comment above nbgrader's bare ``### BEGIN SOLUTION``."""
    out = []
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            indent = line[: len(line) - len(stripped)]
            hint = stripped[len(BEGIN):].strip(" :-")
            if hint:
                out.append(f"{indent}# TODO: {hint}")
            out.append(f"{indent}{BEGIN}")
        else:
            out.append(line)
    return "\n".join(out)


def grade_timeout(topic: Topic) -> int:
    """Seconds the grade cell may take: the sandbox start, the checks, and training where there is some."""
    budget = topic.train_budget or topic.call_budget or 0
    return int(CELL_TIMEOUT + (6 * budget if not topic.numpy_only else 0))


def topic_notebook(topic: Topic, course: Course):
    """The nbgrader source notebook of one topic (an ``nbformat`` v4 notebook)."""
    import nbformat.v4 as nbf

    path = course.solutions_dir / f"{topic.name}.py"
    text = path.read_text(encoding="utf-8")
    lesson, chunks = split_module(text, str(path))
    if not any(c.kind == "solution" for c in chunks):
        raise ExportError(f"{path}: no function with a solution region to grade")
    points = check_points(course, topic.name)
    intro = (f"# {topic.title}\n\n{lesson}\n\n---\n\nFill in every cell that says `YOUR CODE HERE`, then run the "
             f"last cell: it grades this notebook's functions with the course's checks ({points:g} points), "
             "in a sandbox. On your own machine it runs the public checks; hidden checks decide the grade.")
    cells = [nbf.new_markdown_cell(intro, metadata=_meta(f"{topic.name}_lesson", locked=True))]
    setup = [c.code for c in chunks if c.kind == "setup"]
    if setup:
        cells.append(nbf.new_code_cell("\n\n".join(setup), metadata=_meta(f"{topic.name}_setup", locked=True)))
    given = 0
    for chunk in chunks:
        if chunk.kind == "given":
            given += 1
            cells.append(nbf.new_code_cell(chunk.code, metadata=_meta(f"{topic.name}_given_{given}", locked=True)))
        elif chunk.kind == "solution":
            cells.append(nbf.new_code_cell(_nbgrader_markers(chunk.code), metadata=_meta(f"{topic.name}_{chunk.function}", solution=True)))
    source = TIME_LIMIT.format(seconds=grade_timeout(topic)) + "\n" + GRADE_CALL.format(topic=topic.name)
    cells.append(nbf.new_code_cell(source, metadata=_meta(f"grade_{topic.name}", grade=True, locked=True, points=points)))
    return nbf.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})


NBGRADER_CONFIG = '''"""nbgrader configuration of "{title}", written by `autograder nbgrader` (re-export rather than edit)."""

import os
import re

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

c = get_config()  # noqa: F821 - nbgrader provides get_config when it reads this file

c.CourseDirectory.course_id = {course_id!r}

# The course whose checks the grade cells run (autograder.nbgrader_bridge, in the kernels nbgrader
# starts: they inherit this process's environment).
os.environ["AUTOGRADER_COURSE"] = {course_root!r}

# Time limits. nbgrader's default of 30 s per cell silently fails training cells. Every cell gets
# Execute.timeout; a cell whose first line says "# time limit: N s" gets N seconds (the grade
# cell: CELL_TIMEOUT, plus 6 x train_budget of course.toml for a Keras topic).
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
_LIMIT = re.compile(r"^# time limit: (\\d+) s$", re.MULTILINE)


def _cell_timeout(cell):
    found = _LIMIT.search(cell.source)
    return int(found.group(1)) if found else {timeout}


c.Execute.timeout_func = _cell_timeout

# The notebooks hold no test code; feedback shows the grade cell's table of checks.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor]
'''


def export(out: str | Path, *, course: Course | None = None, assignment: str = DEFAULT_ASSIGNMENT,
           topics: list[str] | None = None, force: bool = False) -> Path:
    """Write the nbgrader course directory ``out`` (config and source notebooks); return it."""
    import nbformat

    from autograder.release import check_output

    course = course or course_mod.load()
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", assignment):
        raise ExportError(f"assignment name {assignment!r}: use letters, digits, '-' and '_' (nbgrader's rule)")
    chosen = [course.topic(t) for t in topics] if topics else list(course.topics)
    out = Path(out).resolve()
    check_output(out, course)
    folder = out / "source" / assignment
    if folder.exists() and any(folder.iterdir()) and not force:
        raise ExportError(f"{folder} already holds notebooks; pass --force to overwrite them")
    folder.mkdir(parents=True, exist_ok=True)
    for topic in chosen:
        nb = topic_notebook(topic, course)
        nbformat.validate(nb)
        nbformat.write(nb, str(folder / f"{topic.name}.ipynb"))
    slug = re.sub(r"[^a-z0-9]+", "-", course.title.lower()).strip("-") or "course"
    (out / "nbgrader_config.py").write_text(
        NBGRADER_CONFIG.format(title=course.title, course_id=slug, timeout=CELL_TIMEOUT, course_root=str(course.root)), encoding="utf-8")
    return out


def notebook_module(notebook: str | Path) -> str:
    """The graded code of a (student's) notebook as one module: what ``autograder grade`` grades of it."""
    path = Path(notebook)
    return notebook_to_module(path.read_text(encoding="utf-8"), path.name).source


__all__ = ["ExportError", "check_points", "export", "notebook_module", "topic_notebook"]
