"""One results object per submission, and one serializer per consumer.

A :class:`SubmissionResult` holds the :class:`CheckResult` of every check that was run (or could not
run) on one submission. Everything else is derived from the checks: totals, per-topic summaries and
every report. The outcome taxonomy lives in :data:`STATUSES` and nowhere else.

Consumers and their serializers:

=====================  =========================================================================
terminal               :func:`render_table` (rich; ``public_only=True`` for a student's self-check)
Gradescope             :func:`to_gradescope_dict` (``results.json``, checked by
                       ``schemas/gradescope_results.schema.json``)
CI dashboards          :func:`to_junit_xml`
gradebook              :func:`to_csv_row` with :func:`CSV_COLUMNS` (``csv.DictWriter``)
the student            :func:`to_markdown` (the feedback file), :func:`to_html` (a standalone page)
batch grading storage  :meth:`SubmissionResult.to_dict` / :meth:`SubmissionResult.from_dict`
=====================  =========================================================================

Example:

>>> r = SubmissionResult("ada", checks=[
...     CheckResult(id="neurons::test_count", topic="neurons", name="count_parameters",
...                 max_points=2, status="passed"),
...     CheckResult(id="neurons::test_init", topic="neurons", name="init_params",
...                 max_points=3, status="failed", feedback="W has the wrong shape"),
... ])
>>> r.total, r.possible, round(r.percent, 1)
(2.0, 5.0, 40.0)
>>> r.by_topic()["neurons"].counts["failed"]
1
>>> to_gradescope_dict(r)["tests"][1]["status"]
'failed'

Only this module's standard-library imports run at import time; ``rich`` and ``jsonschema`` are
imported inside the functions that need them.
"""

from __future__ import annotations

import html
import json
import math
import numbers
import re
import signal
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable
from xml.etree import ElementTree as ET

__all__ = [
    "STATUSES",
    "VISIBILITIES",
    "Status",
    "CheckResult",
    "TopicSummary",
    "SubmissionResult",
    "timeout_feedback",
    "crash_feedback",
    "clean_text",
    "clean_curve",
    "curve_png",
    "GRADER_FAULT",
    "declare_topics",
    "to_gradescope_dict",
    "gradescope_schema",
    "validate_gradescope",
    "to_junit_xml",
    "CSV_COLUMNS",
    "to_csv_row",
    "to_markdown",
    "public_footer",
    "render_table",
    "to_html",
]

FORMAT_VERSION = 1


# --------------------------------------------------------------------------------------------------
# The outcome taxonomy
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """One outcome of a check: how reports name it, what it means, how each format spells it.

    ``junit`` is the JUnit child element (``None`` for a pass) and ``style`` the rich colour.
    """

    key: str
    label: str
    meaning: str
    style: str
    junit: str | None

    @property
    def earns_points(self) -> bool:
        """Whether the check earns all its points (``passed``); ``partial`` earns the share the check gave."""
        return self.key == "passed"


STATUSES: dict[str, Status] = {
    s.key: s
    for s in (
        Status("passed", "passed", "the result matches the reference", "green", None),
        Status("partial", "partial credit", "the result reaches part of the goal and earns part of the points",
               "yellow", "failure"),
        Status("failed", "failed", "the code ran but the result is wrong", "red", "failure"),
        Status("error", "error", "the code raised an exception", "magenta", "error"),
        Status("timeout", "timed out", "the call went past its time budget and was stopped", "yellow", "error"),
        Status("crashed", "crashed", "the worker running the code died (exit or signal)", "bold red", "error"),
        Status("not_attempted", "not attempted", "the stub still raises NotImplementedError", "dim", "skipped"),
        Status("not_submitted", "not submitted", "the module is missing from the submission", "dim", "skipped"),
        Status("grader_error", "grader error", "the grader failed to run this check (not the student's code); "
               "it is graded again", "bold yellow", "error"),
    )
}
"""Every outcome a check can have, in report order. ``passed`` earns all the check's points,
``partial`` the share the check gave (more than 0, less than all: a held-out accuracy between the
trivial baseline and the bar), every other outcome none. ``grader_error``
is the grader's own fault (a sandbox that would not start, a worker killed from outside its own
limits): never counted as the student's, it makes the score incomplete (see
:attr:`SubmissionResult.incomplete`)."""

GRADER_FAULT = "grading failed, not your code"
"""What a student reads when the grader, not their code, failed."""

# ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC), other two-byte ESC sequences, then any C0/C1
# control character other than newline and tab (\r, clear screen, bell, backspace, DEL).
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]|"
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def clean_text(text: str) -> str:
    """Student text made safe for every output: terminal escape sequences (ANSI colours, OSC titles
    and clipboard writes) and control characters other than newline and tab removed.

    >>> clean_text("ok\\x1b[2J\\x1b]0;pwned\\x07 10/10\\r\\n\\tdone\\x00")
    'ok 10/10\\n\\tdone'
    """
    if not text:
        return text
    return _CONTROL.sub("", text)

MAX_EPOCHS_SHOWN = 1000


def _series(values) -> list[float]:
    """Finite numbers only, at most :data:`MAX_EPOCHS_SHOWN` of them (a claimed curve is untrusted data)."""
    if not isinstance(values, (list, tuple)):
        return []
    out = []
    for v in values[:MAX_EPOCHS_SHOWN]:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            return []
        out.append(round(float(v), 5))
    return out


def clean_curve(curve) -> dict:
    """A learning curve reduced to what reports draw: ``loss``/``accuracy`` lists of finite numbers and
    their ``*_band`` ``[low, high]`` pairs; anything else (wrong types, nan, a million epochs) is dropped.

    >>> clean_curve({"loss": [1.0, 0.5, float("nan")], "accuracy": [0.5, 0.9], "evil": "<script>"})
    {'accuracy': [0.5, 0.9]}
    """
    if not isinstance(curve, dict):
        return {}
    out: dict = {}
    for key in ("loss", "accuracy"):
        values = _series(curve.get(key))
        if values:
            out[key] = values
        band = curve.get(f"{key}_band")
        if isinstance(band, (list, tuple)) and len(band) == 2:
            low, high = _series(band[0]), _series(band[1])
            if low and len(low) == len(high):
                out[f"{key}_band"] = [low, high]
    return out if ("loss" in out or "accuracy" in out) else {}


VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
"""When a student may see a check's result (Gradescope's vocabulary)."""


def timeout_feedback(budget: float, setting: str = "call_budget") -> str:
    """The message of a ``timeout``: it names the budget and where it is set.

    >>> print(timeout_feedback(60, "train_budget")[:79])
    Stopped after 60 s: the time budget of this call (train_budget in course.toml).
    """
    return (
        f"Stopped after {budget:g} s: the time budget of this call ({setting} in course.toml). "
        "Look for a loop that never ends or work that grows much faster than the input."
    )


def crash_feedback(returncode: int | None) -> str:
    """The message of a ``crashed`` check from the worker's exit status (negative: a signal).

    >>> crash_feedback(-9)
    'The process running your code was killed by signal SIGKILL (9), most often for using too much memory.'
    >>> crash_feedback(3)
    'The process running your code exited with code 3; do not call exit() or sys.exit() in a module.'
    """
    if returncode is None:
        return "The process running your code stopped answering and was shut down."
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "?"
        why = ", most often for using too much memory" if -returncode == signal.SIGKILL else ""
        return f"The process running your code was killed by signal {name} ({-returncode}){why}."
    return (
        f"The process running your code exited with code {returncode}; "
        "do not call exit() or sys.exit() in a module."
    )


# --------------------------------------------------------------------------------------------------
# The results object
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """The outcome of one check on one submission.

    ``points`` is what the check earned: ``max_points`` when it passed, the share the check gave when
    it is ``partial`` (required, strictly between 0 and ``max_points``), 0 otherwise. Leave it out to
    have it derived from ``status``; a value that disagrees is an error, so a check that did not pass
    can never carry points, nor a partial one all of them.
    """

    id: str
    topic: str
    name: str
    max_points: float
    status: str
    points: float | None = None
    feedback: str = ""
    hint: str = ""
    duration: float = 0.0
    visibility: str = "visible"
    output: str = ""
    public: bool = False
    diagnosis: str = ""
    #: what a check measured on the way, whether or not it passed (a training run's seconds against
    #: its budget, the model's size, peak memory): shown with the result, apart from ``feedback``,
    #: which stays the same from run to run
    notes: str = ""
    #: a training run's learning curve, drawn in the feedback: ``loss`` and ``accuracy`` per epoch (what
    #: the student's History claims: feedback only, never a score), and optionally the reference's band,
    #: ``loss_band``/``accuracy_band`` = ``[low per epoch, high per epoch]``
    learning_curve: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"check {self.id!r}: unknown status {self.status!r}; one of {', '.join(STATUSES)}")
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"check {self.id!r}: unknown visibility {self.visibility!r}; one of {VISIBILITIES}")
        if not self.id or not self.topic:
            raise ValueError(f"a check needs an id and a topic, got id={self.id!r} topic={self.topic!r}")
        max_points = float(self.max_points)
        if not math.isfinite(max_points) or max_points < 0:
            raise ValueError(f"check {self.id!r}: max_points must be finite and >= 0, got {self.max_points!r}")
        if self.status == "partial":
            earned = float(self.points) if self.points is not None else math.nan
            if not 0 < earned < max_points:  # nan fails too: a partial check must say what it earned
                raise ValueError(f"check {self.id!r} is partial and so earns more than 0 and less than "
                                 f"{max_points:g} points, not {self.points!r}")
        else:
            earned = max_points if STATUSES[self.status].earns_points else 0.0
        if self.points is not None and float(self.points) != earned:
            raise ValueError(
                f"check {self.id!r} is {self.status} and so earns {earned:g} points, not {self.points!r}"
            )
        object.__setattr__(self, "max_points", max_points)
        object.__setattr__(self, "points", earned)
        object.__setattr__(self, "duration", float(self.duration))
        for name in ("name", "feedback", "hint", "output", "notes"):  # student text reaches every report: clean it once, here
            object.__setattr__(self, name, clean_text(getattr(self, name)))
        object.__setattr__(self, "learning_curve", clean_curve(self.learning_curve))

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def label(self) -> str:
        return STATUSES[self.status].label

    @property
    def title(self) -> str:
        """The name to show; the id when the check has no name."""
        return self.name or self.id

    def message(self) -> str:
        """Feedback, the likely mistake (when diagnosed), then hint: what a student reads for a check
        that did not pass."""
        parts = [self.notes.strip(), self.feedback.strip()]
        if self.diagnosis.strip():
            parts.append(f"Likely mistake: {self.diagnosis.strip()}.")
        if self.hint.strip():
            parts.append(f"Hint: {self.hint.strip()}")
        return "\n\n".join(p for p in parts if p)


@dataclass(frozen=True)
class TopicSummary:
    """A topic of the course: its name, title and points.

    In ``SubmissionResult.topics`` it *declares* a topic (``points`` and ``counts`` unused);
    :meth:`SubmissionResult.by_topic` returns summaries whose ``points`` and ``counts`` (checks per
    status) are computed from the checks.
    """

    name: str
    title: str = ""
    max_points: float = 0.0
    points: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def percent(self) -> float:
        return 100.0 * self.points / self.max_points if self.max_points else 0.0


def declare_topics(topics: Iterable[Any]) -> list[TopicSummary]:
    """Topic declarations from the course manifest's topics (anything with ``name``, ``title``, ``points``).

    >>> from types import SimpleNamespace as NS
    >>> declare_topics([NS(name="neurons", title="What is a neural network", points=10)])
    [TopicSummary(name='neurons', title='What is a neural network', max_points=10.0, points=0.0, counts={})]
    """
    return [TopicSummary(t.name, getattr(t, "title", ""), float(getattr(t, "points", 0.0))) for t in topics]


@dataclass
class SubmissionResult:
    """Everything the grader found out about one submission.

    ``topics`` declares the course's topics in course order (see :func:`declare_topics`); when it is
    empty, the topics are those of the checks, in order of appearance. ``error`` says why the
    submission could not be read at all; ``protections`` lists the sandbox protections that were
    missing while it ran (empty when all were in place). ``grader_failed`` marks a row the grader
    could not grade at all through its own fault (see :attr:`incomplete`).
    """

    submission: str
    checks: list[CheckResult] = field(default_factory=list)
    topics: list[TopicSummary] = field(default_factory=list)
    error: str | None = None
    duration: float = 0.0
    protections: list[str] = field(default_factory=list)
    grader_failed: bool = False
    notes: list[str] = field(default_factory=list)  # what was graded when it was a choice (notebook or .py)

    def __post_init__(self) -> None:
        self.submission = clean_text(self.submission)
        self.error = clean_text(self.error) if self.error else self.error
        self.notes = [clean_text(n) for n in self.notes]

    @property
    def incomplete(self) -> bool:
        """True when the grader, not the student, kept a check (or the whole row) from being graded:
        the total is then not a final score, and a resumed batch grades the submission again."""
        return self.grader_failed or any(c.status == "grader_error" for c in self.checks)

    @property
    def total(self) -> float:
        """Points earned over all checks."""
        return float(sum(c.points for c in self.checks))

    @property
    def possible(self) -> float:
        """Points available: the declared topics' points (or, undeclared, the sum over their checks)."""
        return float(sum(t.max_points for t in self.by_topic().values()))

    @property
    def percent(self) -> float:
        """``100 * total / possible`` (0 when nothing is possible)."""
        return 100.0 * self.total / self.possible if self.possible else 0.0

    def counts(self, checks: Iterable[CheckResult] | None = None) -> dict[str, int]:
        """Number of checks per status, every status present, in :data:`STATUSES` order."""
        out = dict.fromkeys(STATUSES, 0)
        for c in self.checks if checks is None else checks:
            out[c.status] += 1
        return out

    def topic_order(self) -> list[str]:
        """Declared topics first (course order), then any topic seen only among the checks."""
        order = [t.name for t in self.topics]
        for c in self.checks:
            if c.topic not in order:
                order.append(c.topic)
        return order

    def checks_of(self, topic: str) -> list[CheckResult]:
        return [c for c in self.checks if c.topic == topic]

    def by_topic(self) -> dict[str, TopicSummary]:
        """``topic -> TopicSummary`` in course order, with points and counts computed from the checks."""
        declared = {t.name: t for t in self.topics}
        out = {}
        for name in self.topic_order():
            mine = self.checks_of(name)
            d = declared.get(name)
            out[name] = TopicSummary(
                name=name,
                title=d.title if d else "",
                max_points=d.max_points if d else float(sum(c.max_points for c in mine)),
                points=float(sum(c.points for c in mine)),
                counts=self.counts(mine),
            )
        return out

    def _repr_html_(self) -> str:
        """How a notebook shows ``check("activations")``: the standalone HTML report."""
        return to_html(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` gives back an equal object."""
        return {
            "format": FORMAT_VERSION,
            "submission": self.submission,
            "checks": [asdict(c) for c in self.checks],
            "topics": [asdict(t) for t in self.topics],
            "error": self.error,
            "duration": self.duration,
            "protections": list(self.protections),
            "grader_failed": self.grader_failed,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        """Rebuild a result stored with :meth:`to_dict`; unknown keys or statuses are an error."""
        version = data.get("format", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(f"results format {version!r} is not supported (this is format {FORMAT_VERSION})")
        known = {f.name for f in fields(CheckResult)}
        checks = []
        for c in data.get("checks", []):
            extra = set(c) - known
            if extra:
                raise ValueError(f"check {c.get('id')!r}: unknown fields {sorted(extra)}")
            checks.append(CheckResult(**c))
        return cls(
            submission=data["submission"],
            checks=checks,
            topics=[TopicSummary(**t) for t in data.get("topics", [])],
            error=data.get("error"),
            duration=float(data.get("duration", 0.0)),
            protections=list(data.get("protections", [])),
            grader_failed=bool(data.get("grader_failed", False)),
            notes=list(data.get("notes", [])),
        )


# --------------------------------------------------------------------------------------------------
# Small text helpers shared by the serializers
# --------------------------------------------------------------------------------------------------


def _num(x: float) -> str:
    """Points without a useless ``.0``, to two decimals (partial credit): 2.0 -> '2', 2.5 -> '2.5',
    1.23456 -> '1.23'."""
    x = round(float(x), 2)
    return f"{x:g}" if x != int(x) else str(int(x))


def _score_line(result: SubmissionResult) -> str:
    if result.incomplete:
        return f"incomplete ({GRADER_FAULT}): {_num(result.total)} / {_num(result.possible)} points so far"
    return f"{_num(result.total)} / {_num(result.possible)} points ({result.percent:.1f} %)"


def _first_line(text: str, width: int = 70) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _topic_heading(t: TopicSummary) -> str:
    return f"{t.title} ({t.name})" if t.title else t.name


def _not_passed(result: SubmissionResult) -> list[CheckResult]:
    order = {name: i for i, name in enumerate(result.topic_order())}
    return sorted((c for c in result.checks if not c.passed), key=lambda c: order[c.topic])


_UNTOUCHED = ("not_attempted", "not_submitted")


def _untouched(checks: list[CheckResult]) -> str | None:
    """The status that sums up a topic none of whose checks was attempted (``not_submitted`` when
    every check is, else ``not_attempted``); ``None`` when some check ran or there are none.

    Such a topic takes one line in the human-facing reports: listing each of its checks teaches nothing.
    """
    statuses = {c.status for c in checks}
    if not statuses or not statuses <= set(_UNTOUCHED):
        return None
    return "not_submitted" if statuses == {"not_submitted"} else "not_attempted"


_SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], low: float | None = None, high: float | None = None) -> str:
    """One character per value (at most 40, evenly picked), from ▁ (``low``) to █ (``high``).

    >>> sparkline([0.0, 0.5, 1.0])
    '▁▅█'
    """
    if not values:
        return ""
    if len(values) > 40:
        values = [values[round(i * (len(values) - 1) / 39)] for i in range(40)]
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    span = (high - low) or 1.0
    return "".join(_SPARKS[min(7, max(0, round(7 * (v - low) / span)))] for v in values)


def curve_text(curve: dict) -> list[str]:
    """The learning curve in words: per metric a sparkline from the first to the last epoch, and where
    the last epoch stands against the reference's band."""
    lines = []
    for key in ("loss", "accuracy"):
        values = curve.get(key)
        if not values:
            continue
        line = f"{key} per epoch ({len(values)}): {values[0]:.3g} {sparkline(values)} {values[-1]:.3g}"
        band = curve.get(f"{key}_band")
        if band:
            at = min(len(values), len(band[0])) - 1
            line += f"; the reference's seeds at epoch {at + 1}: {band[0][at]:.3g}-{band[1][at]:.3g}"
        lines.append(line)
    return lines


def curve_png(curve: dict) -> str:
    """The learning curve as a base64 PNG: loss and accuracy per epoch, the reference's band shaded.
    Drawn once per curve however many reports show it (Markdown, HTML, Gradescope)."""
    return _curve_png(json.dumps(curve, sort_keys=True))


@lru_cache(maxsize=32)
def _curve_png(key: str) -> str:
    import base64
    import io

    curve = json.loads(key)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keys = [k for k in ("loss", "accuracy") if curve.get(k)]
    fig = Figure(figsize=(3.4 * len(keys), 2.4), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    for ax, key in zip(fig.subplots(1, len(keys), squeeze=False)[0], keys):
        band = curve.get(f"{key}_band")
        if band:
            epochs = range(1, len(band[0]) + 1)
            ax.fill_between(epochs, band[0], band[1], color="#9ecae1", alpha=0.6, label="reference (seeds)")
        ax.plot(range(1, len(curve[key]) + 1), curve[key], color="#d9480f", label="yours")
        ax.set_xlabel("epoch")
        ax.set_title(f"{key} on the training data")
        ax.legend(fontsize="small")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _reported(result: SubmissionResult) -> list[CheckResult]:
    """Checks that report something even when they pass: a training run (its curve, time, memory)."""
    return [c for c in result.checks if c.learning_curve or c.notes.strip()]


# --------------------------------------------------------------------------------------------------
# Gradescope results.json
# --------------------------------------------------------------------------------------------------

SCHEMA_FILE = "gradescope_results.schema.json"


def _gradescope_test_output(check: CheckResult) -> str:
    if check.learning_curve:  # Markdown (the test's output_format): the text fenced, the curve drawn
        text = _md_block(_gradescope_plain(check)) if _gradescope_plain(check) else ""
        return f"{text}\n\n![learning curve](data:image/png;base64,{curve_png(check.learning_curve)})".strip()
    return _gradescope_plain(check)


def _gradescope_plain(check: CheckResult) -> str:
    if check.passed:
        return "\n\n".join(p for p in (check.notes.strip(), check.feedback.strip()) if p)
    if check.status == "grader_error":
        return f"{GRADER_FAULT[0].upper() + GRADER_FAULT[1:]}: this check could not run and will be graded again.\n\n{check.feedback}".rstrip()
    text = f"{check.label}: {STATUSES[check.status].meaning}."
    if check.message():
        text += "\n\n" + check.message()
    if check.output.strip():
        text += "\n\nYour code printed:\n" + check.output.rstrip()
    return text


def to_gradescope_dict(
    result: SubmissionResult, *, visibility: str = "visible", stdout_visibility: str = "hidden"
) -> dict[str, Any]:
    """Gradescope's ``results.json`` (https://gradescope-autograders.readthedocs.io/en/latest/specs/).

    One test per check: ``score``/``max_score``, ``status`` in Gradescope's own words (``passed`` or
    ``failed``), ``number`` ``"<topic>.<check>"`` in course order, the topic as a tag, the check's
    visibility, and for a check that did not pass an ``output`` with the outcome, feedback, hint and
    what the student's code printed (never the check's code). Gradescope has no top-level
    ``max_score``; the possible points, the percent and the missing sandbox protections travel in
    ``extra_data``. The grader's own stdout stays ``hidden`` from students by default.
    """
    tests = []
    for ti, (name, summary) in enumerate(result.by_topic().items(), start=1):
        for ci, c in enumerate(result.checks_of(name), start=1):
            tests.append(
                {
                    "name": f"{_topic_heading(summary)}: {c.title}",
                    "number": f"{ti}.{ci}",
                    "score": c.points,
                    "max_score": c.max_points,
                    "status": "passed" if c.passed else "failed",
                    "output": _gradescope_test_output(c),
                    "visibility": c.visibility,
                    "tags": [c.topic],
                    **({"output_format": "md"} if c.learning_curve else {}),
                }
            )
    output = f"Score: {_score_line(result)}."
    if result.error:
        output = f"Your submission could not be graded: {result.error}\n\n{output}"
    if result.notes:
        output = "".join(f"Note: {n}\n" for n in result.notes) + "\n" + output
    if result.incomplete:
        output = f"{GRADER_FAULT[0].upper() + GRADER_FAULT[1:]}: this score is incomplete and will be graded again.\n\n{output}"
    counts = {k: n for k, n in result.counts().items() if n}
    if counts:
        output += "\nChecks: " + ", ".join(f"{n} {STATUSES[k].label}" for k, n in counts.items()) + "."
    return {
        "score": result.total,
        "execution_time": round(result.duration),
        "output": output,
        "output_format": "text",
        "test_output_format": "text",
        "visibility": visibility,
        "stdout_visibility": stdout_visibility,
        "extra_data": {
            "submission": result.submission,
            "max_score": result.possible,
            "percent": round(result.percent, 2),
            "missing_protections": list(result.protections),
        },
        "tests": tests,
    }


def gradescope_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of Gradescope's ``results.json``, shipped with the package."""
    text = resources.files("autograder.schemas").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def validate_gradescope(doc: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``doc`` is not a valid ``results.json``."""
    import jsonschema

    schema = gradescope_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(doc)


# --------------------------------------------------------------------------------------------------
# JUnit XML
# --------------------------------------------------------------------------------------------------

# Characters XML 1.0 forbids (student output may hold NUL or ANSI escapes); shown as \xNN instead.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def to_junit_xml(result: SubmissionResult) -> str:
    """JUnit XML: a ``<testsuite>`` per topic, a ``<testcase>`` per check.

    ``failed`` -> ``<failure>``; ``error``, ``timeout``, ``crashed`` -> ``<error>``; ``not_attempted``,
    ``not_submitted`` -> ``<skipped>`` (each with the status as ``type`` and the feedback and hint as
    text). Points are ``<properties>`` of each case; a submission that could not be read adds a suite
    ``submission`` with one ``<error>``. Characters XML cannot hold are written as ``\\xNN``.
    """

    def add_counts(elem: ET.Element, checks: list[CheckResult], time: float) -> None:
        kinds = [STATUSES[c.status].junit for c in checks]
        elem.set("tests", str(len(checks)))
        elem.set("failures", str(kinds.count("failure")))
        elem.set("errors", str(kinds.count("error")))
        elem.set("skipped", str(kinds.count("skipped")))
        elem.set("time", f"{time:.3f}")

    root = ET.Element("testsuites", name=_xml_text(result.submission))
    all_cases: list[CheckResult] = []
    for name, summary in result.by_topic().items():
        mine = result.checks_of(name)
        suite = ET.SubElement(root, "testsuite", name=_xml_text(name))
        add_counts(suite, mine, sum(c.duration for c in mine))
        props = ET.SubElement(suite, "properties")
        for key, value in (("title", summary.title), ("points", _num(summary.points)),
                           ("max_points", _num(summary.max_points))):
            ET.SubElement(props, "property", name=key, value=_xml_text(value))
        for c in mine:
            case = ET.SubElement(
                suite, "testcase", classname=_xml_text(c.topic), name=_xml_text(c.id.split("::")[-1]),
                time=f"{c.duration:.3f}",
            )
            cprops = ET.SubElement(case, "properties")
            for key, value in (("title", c.title), ("points", _num(c.points)),
                               ("max_points", _num(c.max_points)), ("visibility", c.visibility)):
                ET.SubElement(cprops, "property", name=key, value=_xml_text(value))
            kind = STATUSES[c.status].junit
            if kind:
                message = _xml_text(f"{c.label}: {_first_line(c.feedback, 200)}")
                child = ET.SubElement(case, kind, type=c.status, message=message)
                child.text = _xml_text(c.message())
            if c.output:
                ET.SubElement(case, "system-out").text = _xml_text(c.output)
        all_cases += mine
    if result.error:
        suite = ET.SubElement(root, "testsuite", name="submission", tests="1", failures="0", errors="1",
                              skipped="0", time="0.000")
        case = ET.SubElement(suite, "testcase", classname="submission", name="read_submission", time="0.000")
        ET.SubElement(case, "error", type="submission", message=_xml_text(result.error)).text = _xml_text(result.error)
    add_counts(root, all_cases, result.duration)
    if result.error:
        root.set("tests", str(len(all_cases) + 1))
        root.set("errors", str(int(root.get("errors", "0")) + 1))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# --------------------------------------------------------------------------------------------------
# Gradebook CSV
# --------------------------------------------------------------------------------------------------


def _topic_names(topics: Iterable[Any]) -> list[str]:
    return [t if isinstance(t, str) else t.name for t in topics]


def CSV_COLUMNS(topics: Iterable[Any]) -> list[str]:  # noqa: N802 - a constant that depends on the course
    """Gradebook columns: submission, score, max_score, one per topic (names or objects with ``name``), error.

    >>> CSV_COLUMNS(["neurons", "activations"])
    ['submission', 'score', 'max_score', 'neurons', 'activations', 'error']
    """
    return ["submission", "score", "max_score", *_topic_names(topics), "error"]


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a cell starting with = + - @ is read as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv_row(result: SubmissionResult, topics: Iterable[Any]) -> dict[str, Any]:
    """One gradebook row for ``csv.DictWriter(f, CSV_COLUMNS(topics))``: points per topic, 0 if absent."""
    names = _topic_names(topics)
    summary = result.by_topic()
    row: dict[str, Any] = {
        "submission": _cell(result.submission),
        "score": "incomplete" if result.incomplete else round(result.total, 4),
        "max_score": round(result.possible, 4),
    }
    for name in names:
        unfinished = result.grader_failed or (name in summary and summary[name].counts.get("grader_error"))
        row[name] = "incomplete" if unfinished else round(summary[name].points, 4) if name in summary else 0.0
    row["error"] = _cell(result.error or "; ".join(f"note: {n}" for n in result.notes))
    return row


# --------------------------------------------------------------------------------------------------
# Markdown feedback for the student
# --------------------------------------------------------------------------------------------------


_MD_SPECIAL = re.compile(r"([\\<>&|])")


def _md_text(text: str) -> str:
    """Plain text in Markdown, on one line: the characters that could start HTML (``<``, ``>``, ``&``),
    a table cell's end (``|``) and the backslash are backslash-escaped, so the file reads as clean
    text (no HTML entities such as ``&#x27;``) and renders literally.

    >>> _md_text("Keras's <b>softmax</b> | a & b")
    "Keras's \\\\<b\\\\>softmax\\\\</b\\\\> \\\\| a \\\\& b"
    """
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_block(text: str) -> str:
    """Text shown verbatim: a fenced block longer than any backtick run inside (raw HTML stays inert)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def to_markdown(result: SubmissionResult) -> str:
    """The feedback file a student gets back: total, a per-topic table, then every check that did not
    pass with its outcome, feedback and hint. A topic none of whose checks was attempted (or
    submitted) is its one row of the table; a check not attempted in a topic that was is one line.
    Text is clean Markdown (special characters backslash-escaped); feedback and output are fenced."""
    lines = [f"# Feedback for {_md_text(result.submission)}", "", f"**Score: {_score_line(result)}**", ""]
    if result.error:
        lines += [f"**Your submission could not be graded:** {_md_text(result.error)}", ""]
    lines += ["| Topic | Points | Checks passed |", "| --- | ---: | ---: |"]
    skipped = set()
    for t in result.by_topic().values():
        n = sum(t.counts.values())
        untouched = _untouched(result.checks_of(t.name))
        if untouched:
            skipped.add(t.name)
        passed = STATUSES[untouched].label if untouched else f"{t.counts.get('passed', 0)} of {n}"
        lines.append(f"| {_md_text(_topic_heading(t))} | {_num(t.points)} / {_num(t.max_points)} | {passed} |")
    lines.append("")
    todo = [c for c in _not_passed(result) if c.topic not in skipped]
    if todo:
        lines += ["## Checks to revisit", ""]
        for c in todo:
            if c.status in _UNTOUCHED:
                lines += [f"- {_md_text(c.topic)}: {_md_text(c.title)} — {c.label} "
                          f"({_num(c.points)} / {_num(c.max_points)})", ""]
                continue
            lines += [f"### {_md_text(c.topic)}: {_md_text(c.title)} — {c.label} "
                      f"({_num(c.points)} / {_num(c.max_points)})", ""]
            lines += [f"*{_sentence(STATUSES[c.status].meaning)}*", ""]
            if c.notes.strip():
                lines += [_md_block(c.notes), ""]
            if c.feedback.strip():
                lines += [_md_block(c.feedback), ""]
            if c.diagnosis.strip():
                lines += [f"**Likely mistake:** {_md_text(c.diagnosis)}.", ""]
            if c.hint.strip():
                lines += [f"**Hint:** {_md_text(c.hint)}", ""]
            if c.learning_curve:
                lines += [f"![learning curve of {_md_text(c.topic)}](data:image/png;base64,{curve_png(c.learning_curve)})", ""]
            if c.output.strip():
                lines += ["Your code printed:", "", _md_block(c.output), ""]
    elif result.checks and not skipped:
        lines += ["Every check passed.", ""]
    reported = [c for c in _reported(result) if c.passed or c.topic in skipped]
    if reported:
        lines += ["## Training runs", ""]
        for c in reported:
            lines += [f"### {_md_text(c.topic)}: {_md_text(c.title)} — {c.label}", ""]
            if c.notes.strip():
                lines += [_md_block(c.notes), ""]
            if c.learning_curve:
                lines += [f"![learning curve of {_md_text(c.topic)}](data:image/png;base64,{curve_png(c.learning_curve)})", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Terminal table (rich)
# --------------------------------------------------------------------------------------------------


def public_footer(result: SubmissionResult) -> str:
    """The self-check's verdict: never "all tests passed", since hidden checks decide the grade."""
    public = [c for c in result.checks if c.public]
    n = sum(c.passed for c in public)
    return f"{n} of {len(public)} public checks pass; hidden checks decide the grade"


FEEDBACK_LINES = 8


def render_table(result: SubmissionResult, console: Any = None, *, public_only: bool = False) -> Any:
    """Print one rich table per topic (check, points, coloured status), then every check that did not
    pass with its feedback and hint, and a total.

    With ``public_only`` (a student's self-check) only public checks are listed and the footer says
    "N of M public checks pass; hidden checks decide the grade". All text from checks and students is
    printed literally (never read as rich markup). Returns the console.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    if result.error:
        console.print(Text(f"Could not grade {result.submission}: {result.error}", style="bold red"))
    for note in result.notes:
        console.print(Text(f"Note: {note}", style="yellow"))
    for name, summary in result.by_topic().items():
        checks = [c for c in result.checks_of(name) if c.public or not public_only]
        if not checks:
            continue
        points = sum(c.points for c in checks)
        possible = sum(c.max_points for c in checks) if public_only else summary.max_points
        untouched = _untouched(checks)
        if untouched:  # one line: a table of checks that never ran teaches nothing
            console.print(Text.assemble((f"{_topic_heading(summary)}  {_num(points)} / {_num(possible)}  ", "bold"),
                                        (STATUSES[untouched].label, STATUSES[untouched].style)))
            continue
        table = Table(title=Text(f"{_topic_heading(summary)}  {_num(points)} / {_num(possible)}"),
                      title_justify="left", expand=True)
        table.add_column("Check", ratio=1, overflow="fold")
        table.add_column("Points", justify="right", no_wrap=True)
        table.add_column("Status", no_wrap=True)
        for c in checks:
            table.add_row(Text(c.title), f"{_num(c.points)}/{_num(c.max_points)}",
                          Text(c.label, style=STATUSES[c.status].style))
        console.print(table)
        # What to fix, in full under the table: the feedback and hint are what a student reads.
        for c in checks:
            if c.passed and (c.notes.strip() or c.learning_curve):  # a training run's report
                console.print(Text.assemble(("  ✓ ", STATUSES[c.status].style), (c.title, "bold")))
                for line in [*c.notes.strip().splitlines(), *curve_text(c.learning_curve)]:
                    console.print(Text("      " + line), overflow="fold")
                continue
            if c.passed or c.status in _UNTOUCHED:  # the table's status line says it all
                continue
            console.print(Text.assemble(("  ✗ ", STATUSES[c.status].style), (c.title, "bold"), f" ({c.label})"))
            feedback = c.feedback.strip() or STATUSES[c.status].meaning
            lines = [*c.notes.strip().splitlines(), *feedback.splitlines()]
            for line in lines[:FEEDBACK_LINES]:
                console.print(Text("      " + line), overflow="fold")
            if len(lines) > FEEDBACK_LINES:
                console.print(Text(f"      ... ({len(lines) - FEEDBACK_LINES} more lines)"), style="dim")
            for line in curve_text(c.learning_curve):
                console.print(Text("      " + line), overflow="fold")
            if c.diagnosis.strip():
                console.print(Text.assemble(("      Likely mistake: ", "yellow"), c.diagnosis.strip() + "."),
                              overflow="fold")
            if c.hint.strip():
                console.print(Text.assemble(("      Hint: ", "cyan"), c.hint.strip()), overflow="fold")
        console.print()
    if public_only:
        console.print(Text(public_footer(result), style="bold"))
    else:
        console.print(Text(f"Total: {_score_line(result)}", style="bold"))
    if result.protections:
        console.print(Text("Sandbox protections missing: " + ", ".join(result.protections), style="yellow"))
    return console


# --------------------------------------------------------------------------------------------------
# Standalone HTML report
# --------------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
.passed{color:#17803d}.failed,.error,.crashed{color:#b42318}.timeout,.partial{color:#a15c00}
.not_attempted,.not_submitted{color:#666}
.grader_error{color:#a15c00;font-weight:bold}
"""


def _curve_img(c: CheckResult) -> str:
    alt = html.escape("; ".join(curve_text(c.learning_curve)), quote=True)
    return f'<p><img alt="{alt}" src="data:image/png;base64,{curve_png(c.learning_curve)}"></p>'


def to_html(result: SubmissionResult) -> str:
    """A small standalone HTML page (inline CSS, no scripts) with every string escaped."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Feedback for {e(result.submission)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Feedback for {e(result.submission)}</h1>",
        f"<p><strong>Score: {e(_score_line(result))}</strong></p>",
    ]
    if result.error:
        parts.append(f"<p class=\"error\"><strong>Your submission could not be graded:</strong> {e(result.error)}</p>")
    parts.append("<table><tr><th>Topic</th><th>Points</th><th>Checks passed</th></tr>")
    for t in result.by_topic().values():
        parts.append(f"<tr><td>{e(_topic_heading(t))}</td><td>{_num(t.points)} / {_num(t.max_points)}</td>"
                     f"<td>{t.counts.get('passed', 0)} of {sum(t.counts.values())}</td></tr>")
    parts.append("</table>")
    if result.checks:
        parts.append("<h2>Checks</h2><table><tr><th>Topic</th><th>Check</th><th>Points</th><th>Status</th></tr>")
        for c in result.checks:
            parts.append(f"<tr><td>{e(c.topic)}</td><td>{e(c.title)}</td><td>{_num(c.points)} / {_num(c.max_points)}"
                         f'</td><td class="{e(c.status)}">{e(c.label)}</td></tr>')
        parts.append("</table>")
    todo = _not_passed(result)
    if todo:
        parts.append("<h2>Checks to revisit</h2>")
        for c in todo:
            parts.append(f'<h3>{e(c.topic)}: {e(c.title)} — <span class="{e(c.status)}">{e(c.label)}</span></h3>')
            parts.append(f"<p><em>{e(_sentence(STATUSES[c.status].meaning))}</em></p>")
            if c.notes.strip():
                parts.append(f"<pre>{e(c.notes.rstrip())}</pre>")
            if c.feedback.strip():
                parts.append(f"<pre>{e(c.feedback.rstrip())}</pre>")
            if c.diagnosis.strip():
                parts.append(f"<p><strong>Likely mistake:</strong> {e(c.diagnosis.strip())}.</p>")
            if c.hint.strip():
                parts.append(f"<p><strong>Hint:</strong> {e(c.hint.strip())}</p>")
            if c.learning_curve:
                parts.append(_curve_img(c))
            if c.output.strip():
                parts.append(f"<p>Your code printed:</p><pre>{e(c.output.rstrip())}</pre>")
    reported = [c for c in _reported(result) if c.passed]
    if reported:
        parts.append("<h2>Training runs</h2>")
        for c in reported:
            parts.append(f'<h3>{e(c.topic)}: {e(c.title)} — <span class="{e(c.status)}">{e(c.label)}</span></h3>')
            if c.notes.strip():
                parts.append(f"<pre>{e(c.notes.rstrip())}</pre>")
            if c.learning_curve:
                parts.append(_curve_img(c))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
