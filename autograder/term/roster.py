"""Who handed in what, and when: the class roster, and what each submission says about itself.

The roster is a CSV file with the columns ``submission,student_id,name,email`` (and, optionally,
``section``, ``canvas_id`` and ``login_id`` for the Canvas export). A submission of ``grade-all`` is
matched to roster students by, in this order:

1. its gradebook name or the name of its folder or zip (``alice/``, ``alice.zip``) against the
   ``submission`` column;
2. for the nbgrader layout, the student folder (``submitted/<student>/<assignment>``) against
   ``submission`` and ``student_id``;
3. for a Gradescope export, each submitter listed in ``submission_metadata.yml`` (``:sid:``, then
   ``:email:``) against ``student_id`` and ``email`` (a group submission gives every member the grade);
4. its name against ``student_id`` and ``email``.

What a submission says about its own time (see :func:`describe`), first found wins:

1. Gradescope metadata, ``:created_at:`` of the submission (the upload time Gradescope recorded);
2. nbgrader's ``timestamp.txt`` in the assignment folder (written by ``nbgrader submit``/``collect``);
3. the file modification time: of the zip, or the newest course module in the folder.

File times come last because copying or unzipping a class folder can change them.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Iterable

from autograder.errors import AutograderError

__all__ = ["RosterError", "Student", "Roster", "EntryInfo", "describe", "gradescope_metadata", "read_csv", "parse_time"]

ROSTER_COLUMNS = ("submission", "student_id", "name", "email")
MAX_TABLE_BYTES = 20 * 2**20  # a roster, extensions or overrides file larger than this is refused


class RosterError(AutograderError, ValueError):
    """A roster, extensions or overrides file is malformed; the message names the file and row."""


@dataclass(frozen=True)
class Student:
    student_id: str
    name: str = ""
    email: str = ""
    submission: str = ""
    section: str = ""
    canvas_id: str = ""
    login_id: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.student_id})" if self.name else self.student_id


def read_csv(path: str | Path, required: Iterable[str], what: str) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts (keys stripped and lower-cased); :class:`RosterError` if a
    column is missing or the file can't be read."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise RosterError(f"{what} {path} is larger than {MAX_TABLE_BYTES // 2**20} MiB")
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = [(h or "").strip().lower() for h in reader.fieldnames or []]
            rows = [{(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else "" for k, v in row.items()} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RosterError(f"{what} {path} can't be read: {exc}") from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise RosterError(f"{what} {path} lacks the column(s) {', '.join(missing)} (it has: {', '.join(header) or 'none'})")
    return rows


class Roster:
    """The students of the class, looked up by submission name, student id or email."""

    def __init__(self, students: Iterable[Student] = ()) -> None:
        self.students: list[Student] = []
        self._by_submission: dict[str, Student] = {}
        self._by_id: dict[str, Student] = {}
        self._by_email: dict[str, Student] = {}
        for s in students:
            self.add(s)

    def add(self, s: Student) -> None:
        if not s.student_id:
            raise RosterError("a roster row has no student_id")
        if s.student_id in self._by_id:
            raise RosterError(f"student_id {s.student_id!r} is in the roster twice")
        self.students.append(s)
        self._by_id[s.student_id] = s
        if s.submission:
            if s.submission in self._by_submission:
                raise RosterError(f"submission {s.submission!r} is given to two students in the roster")
            self._by_submission[s.submission] = s
        if s.email:
            self._by_email[s.email.lower()] = s

    @classmethod
    def load(cls, path: str | Path) -> Roster:
        rows = read_csv(path, ROSTER_COLUMNS, "the roster")
        try:
            return cls(Student(r["student_id"], r["name"], r["email"], r["submission"], r.get("section", ""),
                               r.get("canvas_id", ""), r.get("login_id", "")) for r in rows)
        except RosterError as exc:
            raise RosterError(f"the roster {path}: {exc}") from exc

    def find(self, key: str) -> Student | None:
        """The student whose student id, email or submission name is ``key``."""
        key = key.strip()
        return self._by_id.get(key) or self._by_email.get(key.lower()) or self._by_submission.get(key)

    def match(self, info: EntryInfo) -> list[Student]:
        """The students a submission belongs to (empty when none matches); see the module docstring."""
        for name in info.names:
            if name in self._by_submission:
                return [self._by_submission[name]]
        if info.nbgrader_student:
            s = self._by_submission.get(info.nbgrader_student) or self._by_id.get(info.nbgrader_student)
            if s:
                return [s]
        found: list[Student] = []
        for person in info.submitters:
            s = self._by_id.get(str(person.get("sid", "")).strip()) or self._by_email.get(str(person.get("email", "")).strip().lower())
            if s and s not in found:
                found.append(s)
        if found:
            return found
        for name in info.names:
            s = self._by_id.get(name) or self._by_email.get(name.lower())
            if s:
                return [s]
        return []


@dataclass
class EntryInfo:
    """What a submission says about itself: names to match, its submitters and its time."""

    names: list[str]
    nbgrader_student: str = ""
    submitters: list[dict[str, Any]] = field(default_factory=list)
    submitted_at: datetime | None = None
    time_source: str = ""  # "Gradescope", "nbgrader timestamp.txt", "file time" or ""


def parse_time(value: Any, tz: tzinfo = timezone.utc) -> datetime | None:
    """A datetime from a TOML or YAML value or a string; naive times are read in ``tz``.

    >>> parse_time("2026-03-01 23:59:00.123456789 -08:00").isoformat()
    '2026-03-01T23:59:00.123456-08:00'
    >>> parse_time("2026-03-02 10:00:00.5 UTC").isoformat()
    '2026-03-02T10:00:00.500000+00:00'
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        when = value
    else:
        from dateutil import parser  # matplotlib's dependency; reads nbgrader's and Gradescope's spellings

        try:
            when = parser.parse(str(value).strip())
        except (ValueError, OverflowError) as exc:
            raise RosterError(f"can't read the time {value!r}: {exc}") from exc
    return when.replace(tzinfo=tz) if when.tzinfo is None else when


_METADATA: dict[tuple, tuple[dict, str]] = {}


def gradescope_metadata(root: Path) -> tuple[dict, str]:
    """``submission_metadata.yml`` of a Gradescope export (keys without Ruby's leading colons), and
    why it could not be read ("" when it could, or when there is none)."""
    path = root / "submission_metadata.yml"
    try:
        st = path.stat()
    except OSError:
        return {}, ""
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _METADATA:
        try:
            if st.st_size > MAX_TABLE_BYTES:
                raise ValueError(f"larger than {MAX_TABLE_BYTES // 2**20} MiB")
            import yaml

            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            _METADATA[key] = (_strip_colons(data) if isinstance(data, dict) else {}, "")
        except Exception as exc:  # noqa: BLE001 - yaml.YAMLError, OSError, ...: the export is broken, say why
            _METADATA[key] = ({}, f"{path} can't be read ({type(exc).__name__}: {exc}); its students and times are not used")
    return _METADATA[key]


def _strip_colons(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lstrip(":"): _strip_colons(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_colons(v) for v in value]
    return value


def describe(entry: Any, modules: Iterable[str], tz: tzinfo = timezone.utc) -> EntryInfo:
    """What ``entry`` (a :class:`~autograder.batch.Entry`) says about its students and its time."""
    source = Path(entry.source)
    names = list(dict.fromkeys([entry.name, source.name, source.stem if entry.kind == "zip" else source.name]))
    info = EntryInfo(names)
    if source.parent.name == "submitted":
        info.nbgrader_student = source.name
    elif source.parent.parent.name == "submitted":
        info.nbgrader_student = source.parent.name
    meta = gradescope_metadata(source.parent)[0].get(source.name)
    if isinstance(meta, dict):
        info.submitters = [s for s in meta.get("submitters") or [] if isinstance(s, dict)]
        try:
            info.submitted_at = parse_time(meta.get("created_at"), tz)
        except RosterError:
            info.submitted_at = None
        info.time_source = "Gradescope" if info.submitted_at else ""
    if info.submitted_at is None and info.nbgrader_student and (source / "timestamp.txt").is_file():
        try:
            text = (source / "timestamp.txt").read_text(encoding="utf-8", errors="replace")[:200]
        except OSError:
            text = ""
        try:
            info.submitted_at = parse_time(text, tz) if text.strip() else None
        except RosterError:
            info.submitted_at = None
        info.time_source = "nbgrader timestamp.txt" if info.submitted_at else ""
    if info.submitted_at is None:
        info.submitted_at = _file_time(entry, modules)
        info.time_source = "file time" if info.submitted_at else ""
    return info


def _file_time(entry: Any, modules: Iterable[str]) -> datetime | None:
    from autograder.grading import SubmissionError

    source = Path(entry.source)
    try:
        if entry.kind == "folder":
            from autograder.intake import _walk_modules, module_files

            found = _walk_modules(source, module_files(modules))
            stamps = [os.stat(source.joinpath(*rel.parts), follow_symlinks=False).st_mtime for rel in found]
        else:
            stamps = [source.stat().st_mtime]
    except (OSError, ValueError, SubmissionError):
        return None
    return datetime.fromtimestamp(max(stamps), timezone.utc) if stamps else None
