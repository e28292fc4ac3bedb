"""The pytest plugin behind grading: markers for points and hints, fixtures, outcome capture.

Checks are plain pytest functions in the course's ``checks/{public,hidden}/test_<topic>.py``::

    @pytest.mark.points(2)
    @pytest.mark.hint("Subtract the row maximum before exp: softmax(z) == softmax(z - c).")
    def test_softmax_large_inputs(student, reference):
        '''softmax stays finite for z = ±1000'''
        z = np.array([[1000.0, 0.0, -1000.0]])
        assert_close(student.softmax(z), reference.softmax(z), "softmax([[1000, 0, -1000]])")

Fixtures: ``student`` (the submission's module of this topic, in the sandbox), ``reference`` (the
reference module; hidden checks only), ``topic`` (the manifest entry), ``judge`` (the process that
judges Keras models as data, ``checks/keras_models.py``). Each check's outcome is
one of :data:`autograder.results.STATUSES`, recorded in ``pytest_runtest_makereport``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder import reference as reference_loader
from autograder.checking import Diagnosed, PartialCredit
from autograder.course import Course
from autograder.results import GRADER_FAULT, CheckResult
from autograder.sandbox.proxy import Session, Student, StudentFailure

OUTPUT_SHOWN = 2000
_TRACEBACK_STATUSES = {"error", "crashed"}
# TensorFlow's, absl's and XLA's own log lines (C++ "E0000 12:34:56.789 123 node_def_util.cc:680] ...",
# absl's pre-init notice, Python "WARNING:tensorflow:..." records such as retracing warnings): the
# grader's business, never shown as what the student's code printed.
_LIBRARY_LOG = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.+-]+\.(?:cc|h|cpp|c):\d+\].*"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|(?:WARNING|ERROR|INFO):(?:tensorflow|absl):.*"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] (?:tensorflow|external|xla|tsl)/[\w/.+-]+:\d+\].*)\n?",
    re.MULTILINE,
)


def drop_library_logs(text: str) -> str:
    """The output without the log lines TensorFlow and its libraries write themselves.

    >>> drop_library_logs("hi\\nE0000 00:00:1700000000.1   42 node_def_util.cc:680] use_unbounded_threadpool\\nbye\\n")
    'hi\\nbye\\n'
    """
    return _LIBRARY_LOG.sub("", text)


def _is_judge_fault(exc) -> bool:
    from autograder.sandbox.judge import JudgeError  # light: the judge's client imports no Keras

    return isinstance(exc, JudgeError)


def topic_of(path: Path | str) -> str:
    """``.../test_activations.py`` -> ``activations``."""
    stem = Path(path).stem
    return stem[len("test_") :] if stem.startswith("test_") else stem


@dataclass
class GraderPlugin:
    """Registered with ``pytest.main(plugins=[...])`` by :mod:`autograder.grading`."""

    course: Course
    session: Session
    judge_client: object = None  # a sandbox.judge.Judge, started on first use (NumPy-only topics never start it)
    results: list[CheckResult] = field(default_factory=list)
    collect_errors: list[str] = field(default_factory=list)
    _judge_wanted: bool = False  # a collected check uses the judge and it is not started yet

    # -- configuration -------------------------------------------------------------------------
    def pytest_configure(self, config) -> None:
        config.addinivalue_line("markers", "points(n): points the check is worth (default 1)")
        config.addinivalue_line("markers", "hint(text): what to think about when the check fails; the idea, not the answer")
        config.addinivalue_line("markers", "selfcheck: a public check run only in a student's self-check (`autograder check`), never when grading; give it points(0)")

    # -- fixtures ------------------------------------------------------------------------------
    @pytest.fixture
    def topic(self, request):
        return self.course.topic(topic_of(request.node.path))

    @pytest.fixture
    def student(self, topic) -> Student:
        return Student(self.session, topic.name, topic.call_budget, topic.train_budget)

    @pytest.fixture
    def notes(self, request) -> "Notes":
        """What a check reports whether or not it passes (a training run's accuracy, time, memory and
        learning curve): ``CheckResult.notes`` and ``learning_curve``, shown with its result."""
        found = request.node.stash.setdefault(_NOTES, Notes())
        return found

    @pytest.fixture
    def judge(self):
        """The judge process that rebuilds student models from data (see ``checks/keras_models.py``)."""
        return self._judge()

    def _judge(self):
        if self.judge_client is None:
            from autograder.sandbox.judge import Judge

            box = self.session.sandbox
            self.judge_client = Judge(box.config, zygote=box.zygote)
        return self.judge_client

    @pytest.fixture
    def reference(self, request, topic):
        if _is_public(request.node.path):
            raise RuntimeError("public checks must not use the reference solution (students run them without it)")
        return reference_loader.load(topic.name, self.course)

    def pytest_collection_finish(self, session) -> None:
        """Start the judge now if a collected check needs it and it is forked from the fork server:
        that is before the first worker of this submission exists, and costs no import (the first
        check waits for the fork server anyway). NumPy-only grading never starts it."""
        self._judge_wanted = any("judge" in getattr(item, "fixturenames", ()) for item in session.items)
        if self._judge_wanted and self._judge().forks_from_zygote:
            self._start_judge()

    def pytest_runtest_teardown(self, item) -> None:
        """After the first check, start a judge of its own process in the background if a later
        check will need it: its Keras import overlaps with the checks before those, and no longer
        competes with the fork server's own import (the first check waited for that)."""
        if self._judge_wanted:
            self._start_judge()

    def _start_judge(self) -> None:
        from autograder.sandbox.judge import JudgeError

        self._judge_wanted = False
        judge = self._judge()
        if not judge.started:
            try:
                judge.start()
            except JudgeError:
                pass  # started again by the first check that needs it; a lasting fault is that check's grader error

    # -- outcomes ------------------------------------------------------------------------------
    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")

    def pytest_runtest_setup(self, item) -> None:
        self.session.history.clear()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.results.append(self._result(item, call, report))
        return report

    def _result(self, item, call, report) -> CheckResult:
        status, feedback, diagnosis, own_hint = "passed", "", "", ""
        points = item.get_closest_marker("points")
        max_points = float(points.args[0]) if points else 1.0
        earned = None
        if not report.passed:
            exc = call.excinfo.value if call.excinfo else None
            if isinstance(exc, StudentFailure):
                status = exc.status
                feedback = f"{exc.call}: {exc}" if exc.call else str(exc)
                if status in _TRACEBACK_STATUSES and exc.traceback:
                    feedback += "\n" + exc.traceback
            elif isinstance(exc, AssertionError):
                partial = isinstance(exc, PartialCredit) and (earned := _share(exc.fraction, max_points))
                status, feedback = "partial" if partial else "failed", _assertion_text(exc)
                if isinstance(exc, (Diagnosed, PartialCredit)) and exc.diagnosis:
                    diagnosis, own_hint = exc.diagnosis, exc.hint  # a known mistake: named, with its own hint
            elif _is_judge_fault(exc):  # the judge process failed, not the student's model
                status, feedback = "grader_error", f"{GRADER_FAULT}: {exc}"
            elif report.skipped:
                status, feedback = "error", f"the check was skipped: {report.longreprtext[-300:]}"
            else:
                status = "error"
                feedback = f"the result could not be checked: {type(exc).__name__}: {exc}"
        fault = next((r for r in self.session.history if r.status == "grader_error"), None)
        if fault is not None:  # decided from the calls' own status: no check can turn it into a student's failure
            status, feedback = "grader_error", f"{GRADER_FAULT}: {fault.message}"
            diagnosis = own_hint = ""
            earned = None
        kept = item.stash.get(_NOTES, None)
        hint = item.get_closest_marker("hint")
        doc = (item.function.__doc__ or "").strip().splitlines()
        return CheckResult(
            id=f"{topic_of(item.path)}::{item.name}",
            topic=topic_of(item.path),
            name=doc[0] if doc else item.name.removeprefix("test_").replace("_", " "),
            max_points=max_points,
            status=status,
            points=earned,
            feedback=feedback,
            hint=own_hint or (hint.args[0] if hint and status not in ("passed", "grader_error") else ""),
            diagnosis=diagnosis,
            duration=report.duration,
            output=self._output(),
            public=_is_public(item.path),
            notes="\n".join(kept.lines) if kept is not None else "",
            learning_curve=kept.curve if kept is not None else {},
        )

    def _output(self) -> str:
        parts = []
        for r in self.session.history:
            for text, total in ((r.stdout, r.stdout_bytes), (r.stderr, r.stderr_bytes)):
                if text:
                    parts.append(text if total <= len(text.encode()) else text + f"\n[... {total} bytes in all, cut]")
        out = drop_library_logs("".join(parts))
        return out if len(out) <= OUTPUT_SHOWN else out[:OUTPUT_SHOWN] + "\n[... output cut]"


@dataclass
class Notes:
    """A check's own report (the ``notes`` fixture): lines of text and, for a training run, its
    learning curve (``{"loss": [...], "accuracy": [...]}`` per epoch, with the reference's band as
    ``loss_band``/``accuracy_band`` ``[low, high]``; see :attr:`autograder.results.CheckResult.learning_curve`)."""

    lines: list[str] = field(default_factory=list)
    curve: dict = field(default_factory=dict)

    def add(self, line: str) -> None:
        self.lines.append(str(line))


_NOTES = pytest.StashKey[Notes]()


def _share(fraction: float, max_points: float) -> float | None:
    """The points a share earns, to the hundredth and never all of them (a check that earns all of
    them passed); ``None`` when that rounds to nothing.

    >>> _share(0.5, 2), _share(0.999, 2), _share(0.001, 2)
    (1.0, 1.99, None)
    """
    earned = min(round(fraction * max_points, 2), round(max_points - 0.01, 2))
    return earned if earned > 0 else None


def _is_public(path) -> bool:
    return Path(path).parent.name == "public"


def _assertion_text(exc: AssertionError) -> str:
    text = str(exc).strip()
    # pytest's assertion rewriting appends an "assert ..." explanation; the student needs the message.
    first = text.split("\nassert ")[0].strip()
    return first or "the result is not what the check expected"
