"""Build the student release: everything a student needs to work and self-check, nothing that grades.

The bundle holds ``course.toml``, ``exercises/`` (the notebooks and the ``.py`` stubs, generated here
from ``solutions/``), the course's ``checks/`` without ``checks/hidden/`` (the public checks and
the course's check helpers), its ``datasets/`` if it has one, the ``autograder`` package with the
engine's data sets, ``pyproject.toml`` and a student ``README.md``; each of the course's folders at
the place its ``course.toml`` names (:class:`~autograder.course.Course`). It never holds ``solutions/``,
the hidden checks (and their secret held-out seeds) or anything else the grade depends on;
``autograder check`` works from the bundle alone. ``tests/test_release.py`` scans a built bundle for every solution line and every
hidden-check line.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
from pathlib import Path

from autograder import course as course_mod
from autograder.course import PACKAGE_DIR, Course
from autograder.errors import AutograderError
from autograder.notebooks import exercise_notebook, notebook_text
from autograder.stubs import student_stub

#: Paths inside the package that never leave the instructor's hands: the nbgrader exporter (an
#: instructor's tool; it holds no test code). A course's own secrets (solutions, hidden checks) are
#: in the course folder: :attr:`autograder.course.Course.secret_dirs`.
SECRET_PARTS = ("nbgrader_export.py",)
#: Build and editor debris that is never copied.
_JUNK = ("__pycache__", "*.pyc", "*.pyo", "*.egg-info", ".pytest_cache", ".ipynb_checkpoints", ".*.tmp")


class ReleaseError(AutograderError, RuntimeError):
    """The release can't be built (bad output folder, missing course files)."""


def package_files(*, hidden: bool):
    """``(path, name inside the package)`` of every file of the ``autograder`` package worth shipping.

    Without ``hidden`` the secret parts (:data:`SECRET_PARTS`) are left out; build debris never ships.
    """
    secret = [PACKAGE_DIR / part for part in SECRET_PARTS]
    for path in sorted(PACKAGE_DIR.rglob("*")):
        rel = path.relative_to(PACKAGE_DIR)
        if not _clean(path, rel):
            continue
        if not hidden and any(d == path or d in path.parents for d in secret):
            continue
        yield path, Path("autograder", rel)


def copy_package(dest: Path, *, hidden: bool) -> Path:
    """Copy the ``autograder`` package to ``dest/autograder`` (see :func:`package_files`)."""
    for path, name in package_files(hidden=hidden):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / name)
    return dest / "autograder"


def _clean(path: Path, rel: Path) -> bool:
    return path.is_file() and not any(fnmatch.fnmatch(part, pattern) for part in rel.parts for pattern in _JUNK)


def course_checks(course: Course, *, hidden: bool):
    """``(path, name inside the course folder)`` of every file of the course's checks folder worth
    shipping (``checks/...``, or the folder ``course.toml`` names); without ``hidden`` the hidden checks are left out."""
    base = course.checks_dir
    folder = course.relative(base)
    for path in sorted(base.rglob("*")) if base.is_dir() else ():
        rel = path.relative_to(base)
        if not _clean(path, rel):
            continue
        if not hidden and (course.hidden_checks_dir == path or course.hidden_checks_dir in path.parents):
            continue
        yield path, Path(folder, rel)


def course_data(course: Course):
    """``(path, name)`` of the course's own data sets (``datasets/...``), if it has any."""
    base = course.datasets_dir
    for path in sorted(base.rglob("*")) if base.is_dir() else ():
        if _clean(path, path.relative_to(base)):
            yield path, Path(course.relative(path))


def check_output(out: Path, course: Course) -> None:
    """Refuse an output path that is, holds or sits inside the course's own files."""
    protected = (course.root, PACKAGE_DIR, course.solutions_dir, course.exercises_dir, course.checks_dir)
    for p in protected:
        if out == p or out in p.parents or p in out.parents and p != course.root:
            raise ReleaseError(f"refusing to write into {out}: it is or holds the course's own {p}")


def _earlier_release(out: Path) -> bool:
    """Whether ``out`` is a student release: a course folder without reference solutions."""
    if not out.is_dir() or not (out / course_mod.MANIFEST).is_file():
        return False
    try:
        release = course_mod.parse(out)
    except course_mod.CourseError:
        return False
    return not (out / "solutions").exists() and not release.solutions_dir.exists()


def prepare_folder(out: Path, force: bool) -> None:
    """Make ``out`` a new empty folder; with ``force``, replace an earlier build (never other files)."""
    if out.exists():
        if not force:
            raise ReleaseError(f"{out} already exists; choose a new folder or pass --force to replace it")
        if not _earlier_release(out):
            raise ReleaseError(f"{out} does not look like an earlier build; not replacing it")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def build_release(out: str | Path, *, course: Course | None = None, force: bool = False) -> Path:
    """Write the student bundle to the new folder ``out`` and return it."""
    course = course or course_mod.load()
    out = Path(out).resolve()
    check_output(out, course)
    prepare_folder(out, force)
    for name, src in (("course.toml", course.root / "course.toml"), ("pyproject.toml", course.project_file)):
        if not src.is_file():
            raise ReleaseError(f"the course has no {src}")
        shutil.copy2(src, out / name)
    for path, name in [*course_checks(course, hidden=False), *course_data(course)]:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out / name)
    exercises = out / course.relative(course.exercises_dir)
    exercises.mkdir(parents=True)
    for topic in course.topic_names:
        src = course.solutions_dir / f"{topic}.py"
        if not src.is_file():
            raise ReleaseError(f"no reference solution {src} to make the exercise from")
        text = src.read_text(encoding="utf-8")
        (exercises / src.name).write_text(student_stub(text, str(src)), encoding="utf-8")
        notebook = exercise_notebook(text, topic, course.topic(topic).title, str(src))
        (exercises / f"{topic}.ipynb").write_text(notebook_text(notebook), encoding="utf-8")
    copy_package(out, hidden=False)
    (out / "README.md").write_text(student_readme(course), encoding="utf-8")
    (out / ".gitignore").write_text(".venv/\n__pycache__/\n*.egg-info/\n", encoding="utf-8")
    return out


def student_readme(course: Course) -> str:
    """The student README: install, work, self-check, what the self-check does and doesn't say."""
    rows = "\n".join(f"| {i} | `{t.name}` | {t.title} | {t.points:g} |" for i, t in enumerate(course.topics, start=1))
    first = course.topic_names[0]
    return f"""# {course.title}

Exercises from NumPy neurons to Keras networks, with self-checks you run on your own machine.

## Install (once)

Python 3.10 or newer, on Linux or macOS:

```bash
python3 -m venv .venv
.venv/bin/pip install -e . jupyterlab
```

This installs NumPy, Keras (with TensorFlow), scikit-learn and the `autograder` command.
Optional, Linux: `sudo apt-get install bubblewrap` lets the self-check run your code fully confined.

In Colab, which has its own TensorFlow: upload this folder (or clone it), then in a cell
`%pip install --no-deps -e /content/<this folder>` and
`%pip install "pytest>=8" "rich>=13" "click>=8.1" "nbformat>=5.9" "jsonschema>=4.20" "psutil>=5.9"`; keep Colab's
TensorFlow and Keras.

## Work in the notebooks

Each topic is a notebook in `exercises/` (and the same exercise as a `.py` module, for those who
prefer an editor), in this order:

| # | file | topic | points |
|---|---|---|---|
{rows}

Open `exercises/{first}.ipynb` in Jupyter, JupyterLab, VS Code or Colab (start it from this
folder). Read the lesson, then fill in each code cell that says `raise NotImplementedError("TODO:
...")`; keep the function names and signatures. Run the cell, then the check cell below it:

```python
from autograder import check

check("{first}")
```

It grades the code your notebook has run (its imports, functions and classes, saved or not) with
the public checks, in a separate, limited process, and shows the table of checks with a hint for
each one that fails. Other code of the notebook (plots, training runs, `print`) is not graded and
does not get in the way. A module may import NumPy, Keras and the standard library, never another
exercise.

The data sets of the Keras topics are in the package, offline:

```python
from autograder.datasets import load_topic
split = load_topic("mlp")        # split.X_train, split.y_train, split.X_val, split.y_val, ...
```

## Or work in the `.py` modules

Replace every `raise NotImplementedError("TODO: ...")` in `exercises/<topic>.py`, then:

```bash
.venv/bin/autograder check {first}          # one topic
.venv/bin/autograder check                  # every topic
.venv/bin/python -m autograder check {first} # the same, without the script on PATH
```

Each check ends as passed, failed (with the call, expected and received values and a hint), error
(your exception, with its traceback), timed out, crashed or not attempted (the TODO is still
there). A crash or an endless loop costs one check, not the session.

**The public checks are a subset.** The self-check runs only the public checks and says
"N of M public checks pass; hidden checks decide the grade". Hidden checks, run by your instructor,
test more inputs and edge cases (large values, probabilities of exactly 0 and 1, shapes, not
modifying inputs) and, for the Keras topics, accuracy on held-out data you never see and a time
budget. Passing every public check is a good sign, not a grade.

## Hand in

Hand in your work as your instructor tells you: the notebooks (`{first}.ipynb` ...) or the modules
(`{first}.py` ...), in a folder or zip. For each topic hand in one of the two; if both are there the
`.py` is graded, unless it is still the untouched exercise (then the notebook is), and your result
says which one was graded. Topics you don't hand in score zero; extra files are ignored.
"""


# --------------------------------------------------------------------------------------------------
# Leak scan
# --------------------------------------------------------------------------------------------------

def _lines(text: str) -> set[str]:
    return {s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")}


def _package_files(course: Course, *, secret: bool):
    """The package's and the course checks' source files, either the secret parts only (the hidden
    checks, :data:`SECRET_PARTS`) or everything else."""
    secret_dirs = [PACKAGE_DIR / part for part in SECRET_PARTS] + [course.hidden_checks_dir]
    for path in [*sorted(PACKAGE_DIR.rglob("*")), *(p for p, _ in course_checks(course, hidden=True))]:
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if any(d == path or d in path.parents for d in secret_dirs) == secret:
            yield path


def secret_lines(course: Course | None = None) -> set[str]:
    """The lines that only the grader may hold: solution regions and hidden checks.

    A line the course publishes on purpose is not secret: code outside the solution regions of any
    exercise (given helpers), the public checks and the rest of the package. What is left is what a
    release, a notebook for students or any other public artefact must never contain.
    """
    from autograder.stubs import find_regions, solution_lines

    course = course or course_mod.load()
    secret: set[str] = set()
    public: set[str] = set()
    for src in sorted(course.solutions_dir.glob("*.py")):
        text = src.read_text(encoding="utf-8")
        secret |= solution_lines(text, str(src))
        inside = {i for r in find_regions(text, str(src)) for i in range(r.begin - 1, r.end)}
        public |= _lines("\n".join(line for i, line in enumerate(text.splitlines()) if i not in inside))
    for path in _package_files(course, secret=True):
        secret |= _lines(path.read_text(encoding="utf-8", errors="replace"))
    for path in _package_files(course, secret=False):
        public |= _lines(path.read_text(encoding="utf-8", errors="replace"))
    return {s for s in secret - public if len(s) > 3}


def _json_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)


def file_lines(path: Path) -> set[str]:
    """The stripped lines of a file; for JSON (notebooks) also the lines of every string in it."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = {line.strip() for line in text.splitlines()}
    if path.suffix in (".json", ".ipynb"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        lines |= {line.strip() for s in _json_strings(doc) for line in s.splitlines()}
    return lines


def find_leaks(folder: str | Path, course: Course | None = None, *, secrets: set[str] | None = None) -> list[str]:
    """Every ``file: line`` of ``folder`` that holds a secret line (see :func:`secret_lines`); empty is good.

    Lines are compared whole (stripped), in every file, and inside the strings of JSON files such as
    notebooks, so a copied solution or check is found however it was packed.
    """
    folder = Path(folder)
    secrets = secret_lines(course) if secrets is None else secrets
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        hits += [f"{rel}: {s}" for s in sorted(secrets & file_lines(path))]
    return hits
