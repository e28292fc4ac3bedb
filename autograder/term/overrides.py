"""Overrides: an instructor's points for a check, applied on top of the autograded results.

The overrides file is a CSV with the columns ``student,check,points,reason,who,when``:

- ``student``: a student id, an email or a submission name (as in the gradebook);
- ``check``: the check's id (``neurons::test_count_parameters``) or its last part (``test_count_parameters``);
- ``points``: what the check earns from now on, between 0 and its maximum;
- ``reason``, ``who``, ``when``: why, by whom, and when it was decided (free text; ``reason`` and
  ``who`` are required).

A later row for the same student and check replaces an earlier one. Overrides live in this file, not
in the graded records, so a regrade keeps them: they are applied again after every ``grade-all``.

Every change is appended to ``OUT/audit.jsonl``, one JSON object per line, never rewritten: an
override that is new or different from the last one logged for that submission and check (what,
from, to, who, when, why), and an override that disappeared from the file (back to the autograded
points). Rerunning with the same file adds nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from autograder.term.roster import Roster, RosterError, read_csv

__all__ = ["Override", "Applied", "load_overrides", "resolve", "audit"]

COLUMNS = ("student", "check", "points", "reason", "who", "when")
AUDIT_LOG = "audit.jsonl"


@dataclass(frozen=True)
class Override:
    student: str
    check: str
    points: float
    reason: str
    who: str
    when: str
    line: int = 0


@dataclass(frozen=True)
class Applied:
    """An override as applied to one submission's check."""

    submission: str
    check: str  # the full check id
    title: str
    autograded: float
    points: float
    max_points: float
    reason: str
    who: str
    when: str

    @property
    def delta(self) -> float:
        return self.points - self.autograded


def load_overrides(path: str | Path, roster: Roster | None = None) -> list[Override]:
    rows = read_csv(path, COLUMNS, "the overrides file")
    out = []
    for i, row in enumerate(rows, 2):
        where = f"the overrides file {path}, line {i}"
        for col in ("student", "check", "points", "reason", "who"):
            if not row.get(col):
                raise RosterError(f"{where}: {col} is empty")
        try:
            points = float(row["points"])
        except ValueError as exc:
            raise RosterError(f"{where}: points {row['points']!r} is not a number") from exc
        if not points >= 0 or points == float("inf"):
            raise RosterError(f"{where}: points must be a number >= 0")
        if roster is not None and roster.students and roster.find(row["student"]) is None:
            raise RosterError(f"{where}: {row['student']!r} is not in the roster")
        out.append(Override(row["student"], row["check"], points, row["reason"], row["who"], row.get("when", ""), i))
    return out


def resolve(overrides: list[Override], result: Any, keys: set[str]) -> tuple[list[Applied], list[str]]:
    """The overrides of one submission (whose student keys are ``keys``) applied to its checks;
    and the reasons why some of its overrides could not be applied."""
    mine: dict[str, Applied] = {}
    problems = []
    for o in overrides:
        if o.student not in keys:
            continue
        checks = [c for c in result.checks if c.id == o.check] or [c for c in result.checks if c.id.split("::")[-1] == o.check]
        if len(checks) != 1:
            why = "no such check" if not checks else "several checks have that name; give the full id"
            problems.append(f"line {o.line}: {o.student} / {o.check}: not applied ({why} in {result.submission}'s results)")
            continue
        c = checks[0]
        if o.points > c.max_points:
            problems.append(f"line {o.line}: {o.student} / {o.check}: not applied ({o.points:g} is more than the check's {c.max_points:g} points)")
            continue
        mine[c.id] = Applied(result.submission, c.id, c.title, c.points, o.points, c.max_points, o.reason, o.who, o.when)
    return list(mine.values()), problems


def _last_logged(path: Path) -> dict[tuple[str, str], dict]:
    last: dict[tuple[str, str], dict] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                    last[(rec["submission"], rec["check"])] = rec
                except (ValueError, KeyError, TypeError):
                    continue
    except FileNotFoundError:
        pass
    return last


def audit(out: Path, applied: list[Applied], submissions: set[str], *, now: datetime | None = None) -> list[dict]:
    """Append to ``OUT/audit.jsonl`` every change since the last run; return the records appended.

    ``submissions`` are the gradebook names of this run: an override logged earlier for one of them
    that is no longer applied is logged as removed.
    """
    path = out / AUDIT_LOG
    last = _last_logged(path)
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    new: list[dict] = []
    current = {(a.submission, a.check): a for a in applied}
    for key, a in current.items():
        before = last.get(key)
        if before and before.get("action") == "override" and (before.get("to"), before.get("who"), before.get("when"), before.get("reason")) == (a.points, a.who, a.when, a.reason):
            continue
        was = before["to"] if before and before.get("action") == "override" else a.autograded
        new.append({"logged": stamp, "action": "override", "submission": a.submission, "check": a.check, "from": was,
                    "to": a.points, "autograded": a.autograded, "who": a.who, "when": a.when, "reason": a.reason})
    for key, before in last.items():
        if key not in current and key[0] in submissions and before.get("action") == "override":
            new.append({"logged": stamp, "action": "override removed", "submission": key[0], "check": key[1],
                        "from": before.get("to"), "to": None, "autograded": None, "who": "", "when": "",
                        "reason": "no longer in the overrides file: the autograded points apply"})
    if new:
        with open(path, "a", encoding="utf-8") as f:  # append only: earlier lines are never rewritten
            for rec in new:
                f.write(json.dumps(rec, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
    return new


def as_dict(a: Applied) -> dict:
    return asdict(a)
