"""Deadlines and the late policy: ``[policy]`` in ``course.toml``, extensions in a file.

.. code-block:: toml

    [policy]
    due = 2026-03-01T23:59:00+01:00   # a TOML date-time; without an offset it is read in `timezone`
    timezone = "Europe/Berlin"        # IANA name for times written without an offset (default UTC)
    grace_days = 0.0104               # this long after the due date costs nothing (here 15 minutes)
    penalty_per_day = 10              # percent of the points earned, per day late (a started day counts)
    penalty_cap = 50                  # never more than this percent

The extensions file is a CSV with the columns ``student`` (a student id, email or submission name)
and either ``days`` (added to the course's due date) or ``due`` (a new due date-time), and an
optional ``reason``. Days late are counted from the student's own due date plus the grace period:
``ceil((submitted - due - grace) / 1 day)``; the penalty is ``min(cap, days * per_day)`` percent of
the points after overrides, shown apart from the raw score everywhere.

>>> from datetime import datetime, timezone
>>> p = LatePolicy(due=datetime(2026, 3, 1, 12, tzinfo=timezone.utc), penalty_per_day=10, penalty_cap=25, grace_days=0.5)
>>> [p.late_days(datetime(2026, 3, d, h, tzinfo=timezone.utc)) for d, h in [(1, 12), (1, 23), (2, 1), (2, 23), (5, 0)]]
[0, 0, 1, 1, 3]
>>> p.penalty_percent(3)
25.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from autograder.term.roster import Roster, RosterError, parse_time, read_csv

__all__ = ["LatePolicy", "Extension", "load_policy", "load_extensions"]

DAY = timedelta(days=1)


@dataclass(frozen=True)
class LatePolicy:
    due: datetime | None = None
    penalty_per_day: float = 0.0
    penalty_cap: float = 100.0
    grace_days: float = 0.0
    tz: tzinfo = timezone.utc

    def late_days(self, submitted: datetime | None, due: datetime | None = None) -> int:
        """Days charged (a started day counts) for a submission at ``submitted`` due at ``due``."""
        due = due or self.due
        if submitted is None or due is None:
            return 0
        late = submitted - due - timedelta(days=self.grace_days)
        return max(0, math.ceil(late / DAY)) if late > timedelta(0) else 0

    def penalty_percent(self, days: int) -> float:
        return float(min(self.penalty_cap, max(0.0, days * self.penalty_per_day)))


@dataclass(frozen=True)
class Extension:
    student: str
    due: datetime
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def _zone(name: str) -> tzinfo:
    if not name:
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RosterError(f"[policy] timezone {name!r} is not a known time zone") from exc


def _when(value: Any, tz: tzinfo) -> datetime | None:
    if isinstance(value, date) and not isinstance(value, datetime):  # a whole day: due at its end
        return datetime.combine(value, time(23, 59, 59), tz)
    if isinstance(value, time):
        raise RosterError(f"a due date needs a day, not only a time ({value})")
    return parse_time(value, tz)


def load_policy(course: Any) -> LatePolicy:
    """The ``[policy]`` table of ``course.toml`` (no due date: nothing is ever late)."""
    table = dict(course.extra.get("policy", {})) if course is not None else {}
    known = {"due", "timezone", "grace_days", "penalty_per_day", "penalty_cap"}
    unknown = set(table) - known
    if unknown:
        raise RosterError(f"[policy] in course.toml: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    tz = _zone(str(table.get("timezone", "")))
    try:
        policy = LatePolicy(
            due=_when(table.get("due"), tz),
            penalty_per_day=float(table.get("penalty_per_day", 0.0)),
            penalty_cap=float(table.get("penalty_cap", 100.0)),
            grace_days=float(table.get("grace_days", 0.0)),
            tz=tz,
        )
    except (TypeError, ValueError) as exc:
        raise RosterError(f"[policy] in course.toml: {exc}") from exc
    if min(policy.penalty_per_day, policy.penalty_cap, policy.grace_days) < 0 or policy.penalty_cap > 100:
        raise RosterError("[policy] in course.toml: penalty_per_day, grace_days >= 0 and 0 <= penalty_cap <= 100")
    return policy


def load_extensions(path: str | Path, policy: LatePolicy, roster: Roster | None = None) -> dict[str, Extension]:
    """``student key -> Extension`` from the extensions CSV (keys as written in the file)."""
    rows = read_csv(path, ("student",), "the extensions file")
    out: dict[str, Extension] = {}
    for i, row in enumerate(rows, 2):
        student = row["student"]
        where = f"the extensions file {path}, line {i}"
        if not student:
            raise RosterError(f"{where}: no student")
        if roster is not None and roster.students and roster.find(student) is None:
            raise RosterError(f"{where}: {student!r} is not in the roster")
        try:
            if row.get("due"):
                due = _when(row["due"], policy.tz)
            elif row.get("days"):
                if policy.due is None:
                    raise RosterError("'days' needs a due date in [policy] of course.toml (or give 'due')")
                due = policy.due + timedelta(days=float(row["days"]))
            else:
                raise RosterError("give 'days' or 'due'")
        except (ValueError, RosterError) as exc:
            raise RosterError(f"{where}: {exc}") from exc
        assert due is not None
        out[student] = Extension(student, due, row.get("reason", ""))
    return out
