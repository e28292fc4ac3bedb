"""Grade one submission: read it, start its sandbox, run the checks with pytest, collect results.

A submission is a folder (the modules may sit in a nested folder) or a ``.zip`` holding some or all
of the course's modules (``activations.py``, ...) or notebooks (``activations.ipynb``: their
definitions are graded); it is read by :mod:`autograder.intake`, as every route reads it.
Modules it lacks score zero as "not submitted"; files that are not course modules are ignored.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

from autograder import course as course_mod
from autograder import intake
from autograder.course import Course, CourseError
from autograder.errors import AutograderError
from autograder.intake import MAX_FILE_BYTES, MAX_NOTEBOOK_BYTES, Submission, SubmissionError  # noqa: F401 - re-exported
from autograder.results import GRADER_FAULT, SubmissionResult, TopicSummary, declare_topics
from autograder.sandbox.client import Sandbox, SandboxConfig, SandboxStartError, Zygote, missing_protections
from autograder.sandbox.judge import Judge
from autograder.sandbox.proxy import Session

_warned: set[str] = set()


class GradingError(AutograderError, RuntimeError):
    """Grading itself could not run (no course, no such submission, no sandbox): exit non-zero."""


def released_stub(course: Course, topic: str) -> str | None:
    """The exercise stub of ``topic`` as released (made from the solution, else the course's exercises/)."""
    from autograder.stubs import make_stub

    for src, make in ((course.solutions_dir / f"{topic}.py", True), (course.exercises_dir / f"{topic}.py", False)):
        try:
            text = src.read_text(encoding="utf-8")
        except OSError:
            continue
        return make_stub(text, str(src)) if make else text
    return None


def check_files(course: Course, topics: list[str], *, public_only: bool) -> list[Path]:
    folders = ["public"] if public_only else ["public", "hidden"]
    found = []
    for topic in topics:
        for folder in folders:
            f = course.check_file(topic, folder)
            if f.is_file():
                found.append(f)
    return found


def sandbox_config(course: Course, *, masks: tuple = (), **overrides) -> SandboxConfig:
    """The sandbox settings for this course: its memory limit, and the paths student code must not see."""
    hidden = (*course.secret_dirs, *masks)
    return SandboxConfig(memory_mb=course.memory_limit_mb, masks=tuple(Path(p) for p in hidden), **overrides)


def _preload(course: Course, names: list[str]) -> tuple[str, ...]:
    """Keras is imported ahead only when a graded topic needs it (NumPy topics stay light)."""
    return ("keras",) if any(not course.topic(n).numpy_only for n in names) else ()


def warn_protections(config: SandboxConfig, stream=None) -> list[str]:
    """Say once per process which sandbox protections this machine lacks."""
    missing = missing_protections(config)
    for item in missing:
        if item not in _warned:
            _warned.add(item)
            print(f"autograder: warning: missing protection: {item}", file=stream or sys.stderr)
    return missing


def grade_submission(
    submission: str | Path | Submission,
    *,
    course: Course | None = None,
    topics: list[str] | None = None,
    public_only: bool = False,
    config: SandboxConfig | None = None,
    sandbox: Sandbox | None = None,
    zygote: Zygote | None = None,
    judge: Judge | None = None,
    name: str | None = None,
) -> SubmissionResult:
    """Grade one submission (a folder, a ``.zip``, or a :class:`~autograder.intake.Submission` already
    read); returns its :class:`SubmissionResult`. A submission with no course module at all is
    still graded (every check "not submitted") and its ``error`` says that nothing was found.

    Workers are forked from ``zygote`` (a warm fork server that batch grading keeps for many
    submissions; it is reset, not closed, here); without one, a private fork server is started,
    with Keras preloaded when a graded topic needs it. ``sandbox`` may instead be a ready worker;
    it is closed here. Keras models are judged by ``judge`` (kept warm by batch grading), or by a
    private judge started only when a collected check needs one. Raises :class:`GradingError` only
    when grading cannot run at all; a submission that can't be read gives a result with ``error``
    set and zero points.
    """
    from autograder.plugin import GraderPlugin

    start = time.perf_counter()
    try:
        course = course or course_mod.load()
    except CourseError as exc:
        raise GradingError(str(exc)) from exc
    names = topics or course.topic_names
    for t in names:
        course.topic(t)  # raises CourseError for an unknown topic name
    declared = [t for t in declare_topics(course.topics) if t.name in names]
    if isinstance(submission, Submission):
        sub, label = submission, name or "submission"
    else:
        label = name or Path(submission).name or str(submission)
        try:
            sub = intake.read(submission, names, stub=lambda t: released_stub(course, t), locate=course.topic_names)
        except SubmissionError as exc:
            if sandbox is not None:
                sandbox.close()
            return SubmissionResult(label, topics=declared, error=str(exc), duration=time.perf_counter() - start)
    files, notes = dict(sub.files), list(sub.notes)
    config = config or sandbox_config(course, preload=() if public_only else _preload(course, names))
    protections = warn_protections(config)
    own_zygote = None
    if sandbox is None and zygote is None:
        zygote = own_zygote = Zygote(config).start()  # imports in the background while pytest starts
    box = sandbox or Sandbox(files, config, zygote=zygote)
    box.files = files
    session = Session(box, {Path(f).stem for f in files}, course.memory_limit_mb)
    own_judge = None
    if judge is None:  # started when a collected check judges a model; forked from the fork server where it can be
        judge = own_judge = Judge(config, zygote=box.zygote)
    plugin = GraderPlugin(course, session, judge)
    args = [
        *map(str, check_files(course, names, public_only=public_only)),
        "-c", str(course_mod.CHECKS_INI),
        "--rootdir", str(course.checks_dir),
        "--confcutdir", str(course.checks_dir),  # no conftest lookup, nor collection, above the checks
        # the course's own helper modules (checks/<name>.py) are importable by its check files
        "-o", f"pythonpath={shlex.quote(str(course.checks_dir))}",
        "-p", "no:cacheprovider",
        "-p", "no:terminal",
        "--import-mode=importlib",
        # Self-check-only checks (docstring examples, the central idea on the public inputs) teach before
        # submitting; grading leaves them out, so they never show up as 0-point noise in a grade.
        *(() if public_only else ("-m", "not selfcheck")),
    ]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            code = _run_pytest(args, plugin)
    except SandboxStartError as exc:
        raise GradingError(str(exc)) from exc
    finally:
        _forget_helpers(course.checks_dir)
        box.close()
        if own_judge is not None:
            own_judge.close()
        if own_zygote is not None:
            own_zygote.close()
    if plugin.collect_errors:
        raise GradingError("the checks could not be collected:\n" + "\n".join(plugin.collect_errors))
    if code not in (0, 1):
        raise GradingError(f"pytest stopped with exit code {code} while grading {label}")
    if public_only:
        declared = _public_topics(declared, plugin.results)
    result = SubmissionResult(label, checks=plugin.results, topics=declared, duration=time.perf_counter() - start,
                              protections=protections, notes=notes)
    if sub.empty:  # still a row with every check "not submitted"; the command says it could not grade
        result.error = intake.nothing_found(submission if not isinstance(submission, Submission) else label, names)
    faults = [c for c in result.checks if c.status == "grader_error"]
    if faults:  # the grader's fault, decided from the checks' status: the score is not final
        result.error = (f"{GRADER_FAULT}: {len(faults)} check(s) could not run after retries; grade again "
                        f"({faults[0].feedback.removeprefix(GRADER_FAULT + ': ')[:300]})")
    return result


def _forget_helpers(folder: Path) -> None:
    """Drop the course's helper modules from ``sys.modules``: the next grading (maybe of another
    course, or of a changed one) imports its own."""
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if where and Path(where).parent == folder:
            del sys.modules[name]


def _run_pytest(args: list[str], plugin) -> int:
    import pytest

    return int(pytest.main(args, plugins=[plugin]))


def _public_topics(declared: list[TopicSummary], checks) -> list[TopicSummary]:
    """For a self-check the topics are worth what their public checks are worth."""
    return [replace(t, max_points=sum(c.max_points for c in checks if c.topic == t.name)) for t in declared]


def self_check(topic: str | None = None, folder: str | Path | None = None, *, show: bool = True, console=None, course: Course | None = None) -> SubmissionResult:
    """Run the public checks on the student's own work (default ``./exercises``) and show them."""
    course = course or course_mod.load()
    folder = Path(folder) if folder else _default_folder(course)
    result = grade_submission(folder, course=course, topics=[topic] if topic else None, public_only=True)
    if show:
        from autograder.results import render_table

        render_table(result, console, public_only=True)
    return result


def _default_folder(course: Course) -> Path:
    here = Path.cwd() / "exercises"
    return here if here.is_dir() else course.exercises_dir
