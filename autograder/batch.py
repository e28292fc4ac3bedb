"""Grade a class: a folder of submissions in; a gradebook, feedback files and a class report out.

Each entry of the class folder is one submission, named after it (see :func:`discover` for the
layouts understood). Every entry gets exactly one gradebook row, whatever happens to it: a corrupt
zip, an empty folder or a hostile submission scores zero with the reason in the ``error`` column.

Work is spread over ``jobs`` trusted job processes (``spawn`` context), or over the workers of a
Dask cluster (``cluster``; :mod:`autograder.cluster`); :func:`_where` is the one place that decides.
Each job keeps a warm fork server (a sandboxed process that has imported NumPy, and Keras when a
graded topic needs it) and forks fresh workers from it for every submission, so TensorFlow's import
is paid once per job, not per submission. Jobs send results back as data, and the main process
writes each finished submission at once, atomically, to
``OUT/submissions/<name>/`` (``results.json`` for Gradescope, ``feedback.md`` for the
student, and last ``result.json``, the record a rerun resumes from). A rerun skips a submission
whose files, selected topics and grader (checks, reference solutions, manifest) are unchanged, so
killing the run at any moment loses at most the submissions in flight. ``gradebook.csv`` and
``report.html`` are rebuilt from the per-submission records at the end.

The scores are those of :func:`autograder.grading.grade_submission` (``autograder grade``) on the
same files (both read it through :mod:`autograder.intake`): batch grading only adds the warm
fork servers and the bookkeeping around them.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import functools
import hashlib
import io
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from autograder import course as course_mod
from autograder.course import Course, CourseError
from autograder import intake
from autograder.atomic import atomic_write
from autograder.errors import AutograderError
from autograder.grading import GradingError, grade_submission, released_stub, sandbox_config, warn_protections
from autograder.intake import Entry, SubmissionError, discover, source_hash  # noqa: F401 - the intake's, re-exported
from autograder.results import CSV_COLUMNS, SubmissionResult, _cell, declare_topics, to_csv_row, to_gradescope_dict, to_markdown

__all__ = ["BatchError", "BatchSummary", "Entry", "discover", "grade_all", "materialize", "read_gradebook"]

RECORD = "result.json"  # written last: its presence (with a matching key) means "graded"
RECORD_FORMAT = 1
POOL_RETRIES = 2  # a submission in flight when a job process died is retried this often


class BatchError(AutograderError, RuntimeError):
    """The batch cannot run at all (bad arguments, unreadable class folder)."""


def materialize(entry: Entry, target: Path, modules: Iterable[str]) -> Path:
    """Copy the entry's course modules (:func:`autograder.intake.read_files`) into the empty folder ``target``; return it."""
    target.mkdir(parents=True, exist_ok=True)
    for name, data in intake.read_files(entry, modules).items():
        (target / name).write_bytes(data)
    return target


def modules_digest(files: dict[str, bytes]) -> str:
    """sha256 of a submission's module files as they travel to a worker (names and bytes)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"\0{name}\0{len(files[name])}\0".encode())
        h.update(files[name])
    return h.hexdigest()



GRADER_PACKAGE = course_mod.PACKAGE_DIR  # hashed whole by grader_fingerprint


def _tree_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def grader_fingerprint(course: Course, topics: Iterable[str]) -> str:
    """sha256 of everything that decides the scores besides the submission: the whole grader package
    (the sandbox, checking helpers, plugin, data sets), the course's checks (public, hidden and their
    helpers) and data sets, ``course.toml``, and the reference solutions of the graded topics. A change in any of them
    regrades the class on the next run."""
    h = hashlib.sha256()
    h.update(_grading_manifest(course.root / course_mod.MANIFEST))
    named = [(f"solutions/{t}.py", course.solutions_dir / f"{t}.py") for t in topics]
    for label, root in (("package", GRADER_PACKAGE), ("checks", course.checks_dir), ("datasets", course.datasets_dir)):
        named += [(f"{label}/{p.relative_to(root).as_posix()}", p) for p in _tree_files(root)]
    for label, f in named:  # named relative to their root: moving the course regrades nothing
        h.update(f"\0{label}\0".encode())
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


def _grading_manifest(path: Path) -> bytes:
    """``course.toml`` as the grader reads it, less ``[policy]``: a due date or a late penalty is
    applied after grading (:mod:`autograder.term`), so changing one must not regrade the class."""
    try:
        data = course_mod.tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, course_mod.tomllib.TOMLDecodeError):
        return path.read_bytes() if path.is_file() else b""
    data.pop("policy", None)
    return json.dumps(data, sort_keys=True, default=str).encode()


# --------------------------------------------------------------------------------------------------
# Per-submission files
# --------------------------------------------------------------------------------------------------


def write_submission(folder: Path, result: SubmissionResult, *, key: str | None, source: Path) -> None:
    """Write ``results.json`` and ``feedback.md``, then (when ``key`` is given) the resume record.

    The record is written last, so a run killed in between regrades the submission. Without a key
    (grading itself failed) an earlier record is removed, so the next run grades it again.
    """
    for leftover in folder.glob(".*.tmp") if folder.is_dir() else ():
        leftover.unlink(missing_ok=True)
    if key is None:
        (folder / RECORD).unlink(missing_ok=True)
    atomic_write(folder / "results.json", json.dumps(to_gradescope_dict(result), indent=2) + "\n")
    atomic_write(folder / "feedback.md", to_markdown(result))
    if key is not None:
        record = {"format": RECORD_FORMAT, "key": key, "source": str(source), "result": result.to_dict()}
        atomic_write(folder / RECORD, json.dumps(record, indent=1) + "\n")


def read_record(folder: Path, key: str | None = None) -> SubmissionResult | None:
    """The stored result of a submission (``None`` when absent, unreadable or for another key)."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        if record.get("format") != RECORD_FORMAT or (key is not None and record.get("key") != key):
            return None
        return SubmissionResult.from_dict(record["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --------------------------------------------------------------------------------------------------
# Inside a job process: a warm fork server and one submission at a time
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    """One submission to grade. Locally the job reads ``entry.source`` itself; for a machine
    without the class folder (a Dask worker) the caller reads the modules first
    (:func:`_with_content`) and the task carries them, with their hash, or why they can't be read."""

    entry: Entry
    key: str
    files: dict[str, bytes] | None = None
    digest: str = ""
    unreadable: str = ""


def _with_content(task: _Task, modules: Iterable[str]) -> _Task:
    """``task`` carrying its submission's module files (the bytes, not the path)."""
    try:
        files, why = intake.read_files(task.entry, modules), ""
    except SubmissionError as exc:
        files, why = {}, str(exc)
    return _Task(task.entry, task.key, files, modules_digest(files), why)


@dataclass(frozen=True)
class _Done:
    slug: str
    result: dict
    stored: bool  # False: grading itself failed (not the submission); the next run retries it


class _Job:
    """The state of one job process: the course, the sandbox settings and a warm fork server.

    The fork server (:class:`~autograder.sandbox.client.Zygote`) imports NumPy, and Keras when a
    graded topic needs it, once per job; every submission gets fresh workers forked from it, and
    it is reset between submissions, so nothing of one submission survives into the next. The
    judge (:class:`~autograder.sandbox.judge.Judge`), which rebuilds Keras models from data, is
    started when the first submission's checks need it (forked from the fork server, with Keras
    already imported, where the grader is root under bubblewrap) and kept warm for the job's later
    submissions: the fork server's reset spares it. A job
    lives in a local job process, or in a Dask worker (:mod:`autograder.cluster`); either way it
    returns the result as data and the main process writes it.
    """

    def __init__(self, course: str | Course, topics: list[str], masks: tuple[str, ...]) -> None:
        from autograder.sandbox.client import Zygote
        from autograder.sandbox.judge import Judge

        self.course = course if isinstance(course, Course) else course_mod.load(course)
        self.topics = topics
        self.declared = [t for t in declare_topics(self.course.topics) if t.name in topics]
        keras = any(not self.course.topic(t).numpy_only for t in topics)
        self.config = sandbox_config(self.course, masks=tuple(Path(m) for m in masks), preload=("keras",) if keras else ())
        warn_protections(self.config, stream=io.StringIO())  # the main process has said it once
        # Started from this (main) thread: bubblewrap's --die-with-parent follows the starting thread.
        self.zygote = Zygote(self.config).start()  # imports in the background
        # judges Keras models; forked from the fork server (where it can be) when the first
        # submission's checks need it, before that submission's first worker, and kept warm
        self.judge = Judge(self.config, zygote=self.zygote)

    def grade(self, task: _Task) -> _Done:
        entry = task.entry
        stored = True
        start = time.perf_counter()
        try:
            submission = self._submission(task)
            result = grade_submission(submission, course=self.course, topics=self.topics, config=self.config, zygote=self.zygote,
                                      judge=self.judge, name=entry.name)
        except SubmissionError as exc:
            result = SubmissionResult(entry.name, topics=self.declared, error=str(exc), duration=time.perf_counter() - start)
        except (GradingError, CourseError) as exc:
            result, stored = self._failed(entry, f"grading failed: {exc}", start), False
        except Exception as exc:  # noqa: BLE001 - a grader bug must cost one row's score, not the batch
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            result, stored = self._failed(entry, f"grading failed (a bug in the grader): {detail}", start), False
        else:
            if result.incomplete:  # the grader, not the student, failed a check: kept, never stored as final
                stored = False
        return _Done(entry.slug, result.to_dict(), stored)

    def _submission(self, task: _Task) -> intake.Submission:
        """What to grade, through the intake: read from ``entry.source`` here, or from the content the task carries."""
        if task.files is None:
            raw = intake.read_files(task.entry, self.course.topic_names)
        elif task.unreadable:
            raise SubmissionError(task.unreadable)
        elif modules_digest(task.files) != task.digest:
            raise GradingError("the submission's files changed on the way to the worker (hash mismatch)")
        else:
            raw = task.files
        return intake.from_files(raw, self.topics, stub=lambda t: released_stub(self.course, t))

    def _failed(self, entry: Entry, why: str, start: float) -> SubmissionResult:
        return SubmissionResult(entry.name, topics=self.declared, error=why, duration=time.perf_counter() - start, grader_failed=True)

    def close(self) -> None:
        self.judge.close()
        self.zygote.close()

    def kill_all(self) -> None:
        """Last resort (the run is being killed): end the fork server, every worker and the judge at once,
        and remove the worker cgroup of the submission in flight (its ``close`` never comes)."""
        from autograder.sandbox import limits

        self.zygote.close()  # a judge forked from it ends with it
        self.judge.close()
        limits.remove_all()


_JOB: _Job | None = None


def _init_job(course_root: str, topics: list[str], masks: tuple[str, ...]) -> None:
    """Job process start: ignore Ctrl-C (the main process decides), clean up on SIGTERM or when the
    main process dies, and start the fork server."""
    global _JOB
    import atexit

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _die)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()
    _JOB = _Job(course_root, topics, masks)
    atexit.register(_JOB.close)


def _die(*_args) -> None:
    if _JOB is not None:
        _JOB.kill_all()
    os._exit(1)


def _watch_parent(parent) -> None:
    parent.join()  # returns when the main process is gone, however it ended
    _die()


def _grade_task(task: _Task) -> _Done:
    assert _JOB is not None, "job process not initialised"
    return _JOB.grade(task)


# --------------------------------------------------------------------------------------------------
# The main process: plan, run, rebuild the gradebook and the report
# --------------------------------------------------------------------------------------------------


@dataclass
class BatchSummary:
    """What a batch run did; ``results`` holds one result per entry, in gradebook order.

    Two ways to count the entries, each adding up to ``len(entries)``: ``graded`` (this run) +
    ``skipped`` (unchanged since a run that graded them); and ``scored`` + ``unusable`` (a zero with
    the reason in the ``error`` column: nothing gradable, an unreadable zip) + ``failed`` (the
    grader's fault: not final, a rerun grades them again). ``ignored``: files of the class folder
    that are no submission (no row), each with the reason.
    """

    entries: list[Entry]
    results: list[SubmissionResult]
    graded: int = 0
    skipped: int = 0
    failed: int = 0
    unusable: int = 0
    ignored: list[str] = field(default_factory=list)
    out: Path = Path(".")
    duration: float = 0.0
    topics: list[str] = field(default_factory=list)
    term: Any = None  # the term's grades and files (autograder.term.TermReport), set at the end

    @property
    def scored(self) -> int:
        return len(self.entries) - self.unusable - self.failed

    def counts(self) -> str:
        """The run in two lines whose counts add up (see the class docstring)."""
        n = len(self.entries)
        return (f"{n} submissions: {self.graded} graded in this run, {self.skipped} unchanged since an earlier run (kept), in {self.duration:.1f} s\n"
                f"of the {n}: {self.scored} scored, {self.unusable} with nothing gradable (0 points, the reason in the error column), "
                f"{self.failed} unfinished: the grader failed, not the student (run again to grade them)")

    @property
    def gradebook(self) -> Path:
        return self.out / "gradebook.csv"

    @property
    def report(self) -> Path:
        return self.out / "report.html"


def _safe_masks(paths: Iterable[Path]) -> tuple[str, ...]:
    """Folders to hide from student code, leaving out any that holds what the worker needs to run."""
    needed = [Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(__file__).resolve().parent]
    keep = []
    for p in paths:
        p = p.resolve()
        if not any(n == p or p in n.parents for n in needed):
            keep.append(str(p))
    return tuple(keep)


def _progress(console, enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("done"),
        TextColumn("[red]{task.fields[failed]} failed"),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[last]}", style="dim", markup=False),
        console=console,
        disable=not enabled,
    )


def grade_all(
    submissions: str | Path,
    out: str | Path,
    *,
    jobs: int | None = None,
    cluster: str | None = None,
    force: bool = False,
    topics: list[str] | None = None,
    course: Course | None = None,
    progress: bool = True,
    console: Any = None,
    term: Any = None,
) -> BatchSummary:
    """Grade every entry of ``submissions`` into ``out``; see the module docstring.

    ``jobs`` job processes (default: the number of cores) each keep a warm fork server; with
    ``cluster`` (a Dask scheduler address, or ``local:N``; see :mod:`autograder.cluster`) each Dask
    worker keeps one instead, and this process writes what they send back. Entries
    whose record in ``out`` matches their files and the grader are not graded again unless
    ``force``. A ``KeyboardInterrupt`` stops the job processes and their sandboxes and is raised
    again; the submissions already written stay. Raises :class:`BatchError` when the batch can't
    run (unknown topic, ``out`` inside ``submissions``, another run writing to ``out``, no
    scheduler at ``cluster``). ``term`` (:func:`autograder.term.load_inputs`: roster, extensions,
    overrides, LMS files) is applied after grading, on top of the records; see :mod:`autograder.term`.
    """
    started = time.perf_counter()
    try:
        course = course or course_mod.load()
        names = list(topics or course.topic_names)
        for t in names:
            course.topic(t)
    except CourseError as exc:
        raise BatchError(str(exc)) from exc
    root, out = Path(submissions).resolve(), Path(out).resolve()
    if out == root or root in out.parents:
        raise BatchError(f"--out {out} is inside the class folder {root}; write the results elsewhere")
    ignored: list[str] = []
    entries = discover(root, ignored)
    out.mkdir(parents=True, exist_ok=True)
    with _lock(out):
        fingerprint = grader_fingerprint(course, names)
        keys = {e.slug: _key(e, fingerprint, names, course.topic_names) for e in entries}
        todo = [e for e in entries if force or read_record(out / "submissions" / e.slug, keys[e.slug]) is None]
        masks = _safe_masks([out, root])
        warn_protections(sandbox_config(course, masks=tuple(Path(m) for m in masks)))
        failures: dict[str, SubmissionResult] = {}
        summary = BatchSummary(entries, [], skipped=len(entries) - len(todo), out=out, topics=names, ignored=ignored)
        if todo:
            declared = [t for t in declare_topics(course.topics) if t.name in names]
            with _where(cluster, jobs, len(todo), course, names, masks) as where:
                _run(todo, keys, where, summary, failures, declared, console, progress)
        _finish(summary, course, keys, failures, title=f"{course.title}: {root.name}", term=term)
    summary.duration = time.perf_counter() - started
    return summary


@contextlib.contextmanager
def _lock(out: Path):
    """One run at a time per output folder (an advisory lock on ``OUT/.grade-all.lock``)."""
    with open(out / ".grade-all.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BatchError(f"another grade-all is writing to {out}; wait for it or choose another --out") from exc
        yield


def _finish(summary: BatchSummary, course: Course, keys: dict[str, str], failures: dict[str, SubmissionResult], *, title: str, term: Any = None) -> None:
    """Rebuild the gradebook and the report from the per-submission records (one row per entry)."""
    out = summary.out
    declared = [t for t in declare_topics(course.topics) if t.name in summary.topics]
    for e in summary.entries:
        result = failures.get(e.slug) or read_record(out / "submissions" / e.slug, keys[e.slug])
        if result is None:  # only if the output folder was changed under this run
            result = SubmissionResult(e.name, topics=declared, error="not graded: its result file is missing")
        summary.results.append(result)
    unfinished = [e.slug in failures or r.incomplete for e, r in zip(summary.entries, summary.results)]
    summary.failed = sum(unfinished)
    summary.unusable = sum(1 for r, u in zip(summary.results, unfinished) if r.error and not u)
    from autograder import term as term_mod  # roster, overrides, late penalty on top of the records; LMS, similarity

    summary.term = term_mod.finish(summary, course, term, failed=set(failures))
    write_gradebook(out / "gradebook.csv", summary.results, summary.topics, extra=summary.term.gradebook_rows)
    from autograder.report import class_report

    atomic_write(out / "report.html", class_report(summary.results, title=title, topics=declared, sections=summary.term.report_sections()))


def _key(entry: Entry, fingerprint: str, topics: list[str], modules: list[str]) -> str:
    parts = {"source": source_hash(entry, modules), "grader": fingerprint, "topics": topics, "name": entry.name}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class _Where:
    """Where the submissions are graded: local job processes, or a Dask cluster.

    ``open(n)`` is a context manager for one round of ``n`` tasks that gives ``submit(task)`` (a
    :class:`~concurrent.futures.Future` of :class:`_Done`) and stops its workers if the round is
    interrupted. A future failing with one of ``lost`` lost its task (a job process or a Dask
    worker died, not the student's doing): it is sent again up to ``retries`` times, then
    recorded as "grading failed" (``why(exc, n)`` says why) and not stored, so a rerun grades it.
    """

    open: Callable[[int], Any]
    lost: tuple[type[BaseException], ...]
    retries: int
    why: Callable[[BaseException, int], str]


@contextlib.contextmanager
def _where(cluster: str | None, jobs: int | None, n: int, course: Course, names: list[str], masks: tuple[str, ...]):
    """The one place that decides where tasks run: ``jobs`` local spawn processes, or ``cluster``."""
    if cluster:
        if cluster.startswith("local:"):
            _start_forkserver()  # its worker processes' imports run beside this process's import of Dask
        from autograder.cluster import dask_where

        with dask_where(cluster, course, names, masks) as where:
            yield where
        return
    jobs = max(1, min(jobs or os.cpu_count() or 1, n))
    why = lambda exc, k: f"a grading process died {k} times while this submission was graded"  # noqa: E731
    yield _Where(functools.partial(_pool, jobs, (str(course.root), names, masks)), (BrokenProcessPool,), POOL_RETRIES, why)


FORKSERVER_PRELOAD = ("distributed", "autograder.cluster")


def _start_forkserver() -> None:
    """Start this process's multiprocessing fork server, preloaded with Dask and the grader (once;
    idempotent). A ``local:N`` cluster forks its Dask worker processes from it
    (:func:`autograder.cluster._connect`): Dask and the grader are imported once, not once per worker
    (a second each), a worker ends without tearing down an interpreter, and started before this
    process imports Dask, the server's imports run beside that one."""
    import multiprocessing.forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(list(FORKSERVER_PRELOAD))
    multiprocessing.forkserver.ensure_running()


def _stop_forkserver(grace: float = 5.0) -> None:
    """End this process's multiprocessing fork server now (the local cluster's workers are gone),
    with SIGTERM: left to end when this process does, it would first tear down an interpreter that
    has Dask loaded, holding this process's stdout all the while. Not reaped here: the next
    :func:`_start_forkserver` sees it dead and starts another."""
    import psutil

    for child in psutil.Process().children():
        try:
            if "multiprocessing.forkserver" not in " ".join(child.cmdline()):
                continue
            child.terminate()
            deadline = time.monotonic() + grace
            while child.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
                time.sleep(0.01)
        except psutil.Error:
            continue


@contextlib.contextmanager
def _pool(jobs: int, initargs: tuple, n: int):
    """``min(jobs, n)`` spawn processes, each a :class:`_Job`; SIGTERMed if the round is interrupted."""
    before = _child_pids()
    pool = ProcessPoolExecutor(max_workers=min(jobs, n), mp_context=multiprocessing.get_context("spawn"), initializer=_init_job, initargs=initargs)
    try:
        yield functools.partial(pool.submit, _grade_task)
    except BaseException:
        _stop_jobs(pool, before)
        raise
    pool.shutdown(wait=True)


def _run(todo, keys, where: _Where, summary, failures, declared, console, show) -> None:
    """Grade ``todo`` where ``where`` says; write each result as it comes; a round that loses tasks
    (a pool that breaks, a dead Dask worker) is followed by another for what was lost."""
    by_slug = {e.slug: e for e in todo}
    pending = [e.slug for e in todo]
    breaks: dict[str, int] = {}
    with _progress(console, show) as bar:
        task = bar.add_task("grading", total=len(todo), failed=0, last="")
        while pending:
            with where.open(len(pending)) as submit:
                futures: dict[Future, str] = {submit(_Task(by_slug[s], keys[s])): s for s in pending}
                pending = []
                remaining = set(futures)
                while remaining:
                    finished, remaining = wait(remaining, timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        slug = futures[fut]
                        try:
                            done = fut.result()
                        except where.lost as exc:
                            breaks[slug] = breaks.get(slug, 0) + 1
                            if breaks[slug] <= where.retries:
                                pending.append(slug)
                                continue
                            why = f"grading failed: {where.why(exc, breaks[slug])}"
                            result = SubmissionResult(by_slug[slug].name, topics=declared, error=why, grader_failed=True)
                            failures[slug] = result
                        else:
                            result = SubmissionResult.from_dict(done.result)
                            write_submission(summary.out / "submissions" / slug, result, key=keys[slug] if done.stored else None, source=by_slug[slug].source)
                            if not done.stored:
                                failures[slug] = result
                        summary.graded += 1
                        failed = bar.tasks[task].fields["failed"] + (1 if result.error else 0)
                        bar.update(task, advance=1, failed=failed, last=result.submission)


def _child_pids() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children()}


def _stop_jobs(pool: ProcessPoolExecutor, before: set[int]) -> None:
    """Interrupted: SIGTERM the job processes (children started with the pool; each one kills its
    sandboxes and exits at once), then drop the pool."""
    import psutil

    for child in psutil.Process().children():
        if child.pid not in before:
            try:
                child.terminate()
            except psutil.Error:
                pass
    pool.shutdown(wait=True, cancel_futures=True)


def write_gradebook(path: Path, results: list[SubmissionResult], topics: list[str], extra: list[dict] | None = None) -> None:
    """``gradebook.csv``: one row per result, columns :func:`~autograder.results.CSV_COLUMNS`, then
    the keys of ``extra`` (one dict per result: the term's student, late penalty and final score)."""
    from autograder.term import GRADEBOOK_COLUMNS

    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_COLUMNS(topics) + (GRADEBOOK_COLUMNS if extra is not None else []), lineterminator="\n")
    writer.writeheader()
    for i, r in enumerate(results):
        writer.writerow({**to_csv_row(r, topics), **({k: _cell(v) if isinstance(v, str) else v for k, v in extra[i].items()} if extra is not None else {})})
    atomic_write(path, buf.getvalue())


def read_gradebook(path: str | Path) -> list[dict[str, str]]:
    """The rows of a ``gradebook.csv`` as dicts of strings."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
