"""Gradebook files a learning management system imports: Canvas and Moodle.

**Canvas** (Grades > Import): the columns of Canvas's own gradebook export, ``Student``, ``ID``,
``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment; the row after the
header is ``Points Possible``. Canvas matches students by ``ID`` (its user id: roster column
``canvas_id``) or, where that is empty, by ``SIS User ID`` (the roster's ``student_id``) and
``SIS Login ID`` (roster ``login_id``, else the email). A new assignment column is created on import.

**Moodle** (Grade administration > Import > CSV file): one row per student with an identifier
column and one column per grade item; on import choose *Map from* ``ID number`` to *Map to*
"ID number" (or ``Email address`` to "Email address") and map the assignment column to a grade item.
The grade is the total after overrides and late penalty, in points.

Every roster student gets a row. A student without a submission gets 0; a student whose
submission could not be graded because the grader failed gets an empty cell (not a zero: the
grader's fault is never the student's) and is listed in the summary.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from autograder.results import _cell

__all__ = ["SYSTEMS", "canvas_csv", "moodle_csv"]

SYSTEMS = ("canvas", "moodle")


def _points(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.4f}".rstrip("0").rstrip(".")


def _rows(grades: list[Any], roster: Any) -> list[tuple[Any, float | None]]:
    """``(student, final points or None)`` for every roster student, in roster order."""
    by_student: dict[str, Any] = {}
    for g in grades:
        for s in g.students:
            by_student.setdefault(s.student_id, g)
    out = []
    for s in roster.students:
        g = by_student.get(s.student_id)
        out.append((s, None if g is not None and g.grader_failed else (g.final if g is not None else 0.0)))
    return out


def canvas_csv(grades: list[Any], roster: Any, *, assignment: str, possible: float) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    w.writerow(["Points Possible", "", "", "", "", _points(possible)])
    for s, final in _rows(grades, roster):
        w.writerow([_cell(s.name), _cell(s.canvas_id), _cell(s.student_id), _cell(s.login_id or s.email), _cell(s.section), _points(final)])
    return buf.getvalue()


def moodle_csv(grades: list[Any], roster: Any, *, assignment: str, possible: float) -> str:
    del possible  # Moodle keeps the maximum on its grade item
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["ID number", "Email address", "Full name", assignment])
    for s, final in _rows(grades, roster):
        w.writerow([_cell(s.student_id), _cell(s.email), _cell(s.name), _points(final)])
    return buf.getvalue()
