"""An instructor's term on top of batch grading: roster, late policy, overrides, LMS files, similarity.

Everything here runs **after** grading, on the per-submission records, and changes none of them:
the autograded record of a submission (``OUT/submissions/<name>/result.json``, what a rerun resumes
from) stays the grader's. :func:`finish` is called once by :func:`autograder.batch.grade_all` when
the gradebook is rebuilt, and

1. matches every submission to roster students (:mod:`.roster`) and finds its time;
2. applies the overrides (:mod:`.overrides`) and logs every change to ``OUT/audit.jsonl``;
3. computes the late penalty from ``[policy]`` in ``course.toml`` and the extensions (:mod:`.policy`);
4. writes ``OUT/canvas.csv`` / ``OUT/moodle.csv`` (:mod:`.lms`) when asked;
5. writes ``OUT/similarity.csv`` and ``OUT/similarity.html`` (:mod:`.similarity`), always;
6. rewrites each student's ``feedback.md`` (and writes ``feedback.html``) with the raw score, the
   overrides, the penalty and the final score;

and returns the columns the gradebook gains (``raw``, ``overrides``, ``penalty``, ``final`` ...)
and the sections the class report gains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from autograder.term.overrides import Applied, Override, audit, load_overrides, resolve
from autograder.term.policy import Extension, LatePolicy, load_extensions, load_policy
from autograder.term.roster import Roster, RosterError, Student, describe, gradescope_metadata
from autograder.term.similarity import Pair, compare_all, fingerprint

__all__ = ["TermError", "TermInputs", "Grade", "TermReport", "load_inputs", "finish", "GRADEBOOK_COLUMNS"]

TermError = RosterError

GRADEBOOK_COLUMNS = ["student_id", "student_name", "email", "submitted_at", "days_late", "raw", "overrides",
                     "penalty_percent", "penalty", "final"]


@dataclass
class TermInputs:
    """What the instructor gave besides the submissions (all optional)."""

    roster: Roster | None = None
    policy: LatePolicy = field(default_factory=LatePolicy)
    extensions: dict[str, Extension] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    lms: tuple[str, ...] = ()
    assignment: str = ""


def load_inputs(*, course: Any, roster: str | Path | None = None, extensions: str | Path | None = None,
                overrides: str | Path | None = None, lms: tuple[str, ...] | list[str] = (), assignment: str = "") -> TermInputs:
    """Read and check every input up front (before any grading); :class:`TermError` names the problem."""
    from autograder.term.lms import SYSTEMS

    unknown = [s for s in lms if s not in SYSTEMS]
    if unknown:
        raise TermError(f"unknown LMS {', '.join(unknown)}; one of {', '.join(SYSTEMS)}")
    if lms and roster is None:
        raise TermError("--lms needs --roster: the LMS files are keyed by the roster's student ids")
    policy = load_policy(course)
    ros = Roster.load(roster) if roster is not None else None
    return TermInputs(
        roster=ros,
        policy=policy,
        extensions=load_extensions(extensions, policy, ros) if extensions is not None else {},
        overrides=load_overrides(overrides, ros) if overrides is not None else [],
        lms=tuple(dict.fromkeys(lms)),
        assignment=assignment or (course.title if course is not None else "autograder"),
    )


@dataclass
class Grade:
    """One submission's grade: the autograded points, then overrides, then the late penalty."""

    submission: str
    slug: str
    students: list[Student]
    raw: float
    possible: float
    submitted_at: datetime | None = None
    time_source: str = ""
    due: datetime | None = None
    extension: Extension | None = None
    days_late: int = 0
    penalty_percent: float = 0.0
    overrides: list[Applied] = field(default_factory=list)
    grader_failed: bool = False

    @property
    def adjusted(self) -> float:
        return round(self.raw + sum(a.delta for a in self.overrides), 4)

    @property
    def penalty(self) -> float:
        return round(self.adjusted * self.penalty_percent / 100.0, 4)

    @property
    def final(self) -> float:
        return round(self.adjusted - self.penalty, 4)

    def gradebook_row(self) -> dict[str, Any]:
        return {
            "student_id": "; ".join(s.student_id for s in self.students),
            "student_name": "; ".join(s.name for s in self.students),
            "email": "; ".join(s.email for s in self.students),
            "submitted_at": self.submitted_at.isoformat(timespec="seconds") if self.submitted_at else "",
            "days_late": self.days_late,
            "raw": round(self.raw, 4),
            "overrides": round(self.adjusted - self.raw, 4),
            "penalty_percent": round(self.penalty_percent, 4),
            "penalty": self.penalty,
            "final": self.final,
        }


@dataclass
class TermReport:
    """What :func:`finish` found and wrote; ``grades`` is in gradebook order."""

    grades: list[Grade]
    inputs: TermInputs
    unmatched: list[str] = field(default_factory=list)  # submissions no roster student matched
    missing: list[Student] = field(default_factory=list)  # roster students without a submission
    not_applied: list[str] = field(default_factory=list)  # overrides that could not be applied, and why
    notes: list[str] = field(default_factory=list)  # problems that did not stop the run
    audited: list[dict] = field(default_factory=list)  # audit records appended by this run
    pairs: dict[str, list[Pair]] = field(default_factory=dict)  # similarity, per topic
    sources: dict[tuple[str, str], str] = field(default_factory=dict)  # (topic, submission) -> code
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)  # topic -> submission -> Fingerprint
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def gradebook_rows(self) -> list[dict[str, Any]]:
        return [g.gradebook_row() for g in self.grades]

    def report_sections(self) -> list[str]:
        from autograder.term.pages import report_sections

        return report_sections(self)

    def label(self, submission: str) -> str:
        """The submission's name, with its students when the roster knows them."""
        students = next((g.students for g in self.grades if g.submission == submission), [])
        return f"{submission} ({'; '.join(s.label for s in students)})" if students else submission

    def top_pairs(self, n: int = 10) -> list[Pair]:
        """The ``n`` most similar pairs over all topics."""
        every = [p for pairs in self.pairs.values() for p in pairs]
        return sorted(every, key=lambda p: (-p.score, p.topic, p.a, p.b))[:n]


def finish(summary: Any, course: Any, inputs: TermInputs | None = None, *, failed: set[str] = frozenset()) -> TermReport:
    """Apply the term's inputs to a batch's results and write the term's files (see the module docstring).

    ``summary`` is the :class:`~autograder.batch.BatchSummary` (entries and results in gradebook
    order); ``failed`` the slugs whose grading failed for the grader's own reasons.
    """
    from autograder.term import lms, pages

    problem = ""
    if inputs is None:  # called without load_inputs (a library caller): the course's [policy] only
        try:
            inputs = load_inputs(course=course)
        except TermError as exc:  # said, not raised: the grades are already paid for
            inputs, problem = TermInputs(), f"[policy] of course.toml not applied: {exc}"
    out = Path(summary.out)
    report = TermReport([], inputs, notes=[problem] if problem else [])
    policy = inputs.policy
    roots = {Path(e.source).parent for e in summary.entries}
    report.notes += [why for why in (gradescope_metadata(r)[1] for r in sorted(roots)) if why]
    keys_of: dict[str, set[str]] = {}
    for entry, result in zip(summary.entries, summary.results):
        info = describe(entry, course.topic_names, policy.tz)
        students = inputs.roster.match(info) if inputs.roster else []
        keys = {entry.name, *info.names, *([info.nbgrader_student] if info.nbgrader_student else [])}
        for s in students:
            keys |= {s.student_id, s.email, s.submission} - {""}
        keys_of[entry.name] = keys
        g = Grade(entry.name, entry.slug, students, result.total, result.possible, info.submitted_at, info.time_source,
                  grader_failed=entry.slug in failed or result.incomplete)
        g.extension = next((inputs.extensions[k] for k in sorted(keys) if k in inputs.extensions), None)
        g.due = g.extension.due if g.extension else policy.due
        g.overrides, problems = resolve(inputs.overrides, result, keys)
        report.not_applied += problems
        if not g.grader_failed and result.checks:  # nothing handed in, nothing late
            g.days_late = policy.late_days(g.submitted_at, g.due)
            g.penalty_percent = policy.penalty_percent(g.days_late)
        report.grades.append(g)
        if inputs.roster and not students:
            report.unmatched.append(entry.name)
    seen: dict[str, str] = {}
    for g in report.grades:
        for s in g.students:
            if s.student_id in seen:
                report.notes.append(f"{s.label} matches two submissions, {seen[s.student_id]} and {g.submission}; "
                                    f"the LMS files take {seen[s.student_id]} (fix the roster's submission column)")
            seen.setdefault(s.student_id, g.submission)
    if inputs.roster:
        taken = {s.student_id for g in report.grades for s in g.students}
        report.missing = [s for s in inputs.roster.students if s.student_id not in taken]
    every_key = set().union(*keys_of.values()) if keys_of else set()
    report.notes += [f"the extension of {k} matches no submission" for k in inputs.extensions if k not in every_key]
    report.not_applied += [f"line {o.line}: {o.student} / {o.check}: not applied (no submission of {o.student})"
                           for o in inputs.overrides if o.student not in every_key]
    report.audited = audit(out, [a for g in report.grades for a in g.overrides], {g.submission for g in report.grades})

    possible = max((g.possible for g in report.grades), default=0.0)
    writers = {"canvas": lms.canvas_csv, "moodle": lms.moodle_csv}
    for system in inputs.lms:
        text = writers[system](report.grades, inputs.roster, assignment=inputs.assignment, possible=possible)
        report.files[system] = _write(out / f"{system}.csv", text)

    try:  # it reads student code again; whatever that code does to the tokenizer must not cost the gradebook
        _similarity(summary, course, report)
        report.files["similarity.csv"] = _write(out / "similarity.csv", pages.similarity_csv(report))
        report.files["similarity.html"] = _write(out / "similarity.html", pages.similarity_html(report, title=f"{course.title}: similarity"))
    except Exception as exc:  # noqa: BLE001 - said in the summary and the report, the grades still written
        report.notes.append(f"the similarity report could not be written: {type(exc).__name__}: {exc}")
    for g, result in zip(report.grades, summary.results):
        folder = out / "submissions" / g.slug
        _write(folder / "feedback.md", pages.feedback_markdown(result, g, policy))
        _write(folder / "feedback.html", pages.feedback_html(result, g, policy))
    return report


def _write(path: Path, text: str) -> Path:
    from autograder.atomic import atomic_write

    return atomic_write(path, text)


def _similarity(summary: Any, course: Any, report: TermReport) -> None:
    """Fingerprint every submission's modules (read again from the class folder) and compare them."""
    from autograder import intake
    from autograder.stubs import make_stub

    stubs = {}
    for topic in summary.topics:
        stub_path, solution = course.exercises_dir / f"{topic}.py", course.solutions_dir / f"{topic}.py"
        try:
            stubs[topic] = stub_path.read_text(encoding="utf-8") if stub_path.is_file() else make_stub(solution.read_text(encoding="utf-8"), solution.name)
        except Exception as exc:  # noqa: BLE001 - no stub: compare the whole modules, and say so
            stubs[topic] = ""
            report.notes.append(f"similarity: no stub for {topic} ({exc}); whole modules compared")
    prints: dict[str, dict[str, Any]] = {t: {} for t in summary.topics}
    for i, entry in enumerate(summary.entries):
        if entry.kind == "unsupported":
            continue
        try:  # the graded code (a notebook's definitions), read as grading reads it
            graded = intake.read(entry, list(summary.topics), locate=course.topic_names).files
        except Exception:  # noqa: BLE001 - unreadable entries were reported by grading; nothing to compare
            continue
        for topic in summary.topics:
            text = graded.get(f"{topic}.py")
            if text is None:
                continue
            try:
                fp = fingerprint(text, stubs[topic])
            except Exception as exc:  # noqa: BLE001 - a module that defeats the tokenizer is noted, not fatal
                report.notes.append(f"similarity: {entry.name}/{topic}.py skipped ({type(exc).__name__})")
                continue
            if fp.hashes:
                prints[topic][entry.name] = fp
                report.sources[(topic, entry.name)] = text
    report.pairs = {topic: compare_all(topic, fps) for topic, fps in prints.items()}
    report.fingerprints = prints
