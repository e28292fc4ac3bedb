"""Make student stubs from reference solutions: one transform, one file at a time.

Every region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's spelling) becomes
``raise NotImplementedError("TODO: ...")`` at the marker's indentation. Text after the BEGIN marker
is the one-line hint of that TODO. Docstrings, signatures and everything outside the regions stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import AutograderError

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HEADER = "# Generated from solutions/{name} by `autograder stubs`: edit the solution, not this file.\n"
_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)")


class MarkerError(AutograderError, ValueError):
    """A malformed solution marker; the message names the file and line."""


@dataclass(frozen=True)
class Region:
    begin: int  # 1-based line number of the BEGIN marker
    end: int  # 1-based line number of the END marker
    indent: str
    hint: str
    function: str | None

    def body(self, lines: list[str]) -> list[str]:
        return lines[self.begin : self.end - 1]


def find_regions(text: str, filename: str = "<string>") -> list[Region]:
    """Parse the solution regions of ``text``; raise MarkerError on nested, stray or open markers."""
    lines = text.splitlines()
    regions: list[Region] = []
    open_at: int | None = None
    indent = hint = ""
    function: str | None = None
    current_def: str | None = None
    for no, line in enumerate(lines, start=1):
        stripped = line.strip()
        m = _DEF.match(line)
        if m and open_at is None:
            current_def = m.group(1)
        if stripped.startswith(BEGIN):
            if open_at is not None:
                raise MarkerError(f"{filename}:{no}: nested {BEGIN} (the region opened at line {open_at} is not closed)")
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                raise MarkerError(f"{filename}:{no}: {BEGIN} at module level; regions belong inside a function")
            open_at, hint, function = no, stripped[len(BEGIN) :].strip(" :-"), current_def
        elif stripped.startswith(END):
            if open_at is None:
                raise MarkerError(f"{filename}:{no}: {END} without a matching {BEGIN}")
            if line[: len(line) - len(line.lstrip())] != indent:
                raise MarkerError(f"{filename}:{no}: {END} is not at the indentation of its {BEGIN} (line {open_at})")
            regions.append(Region(open_at, no, indent, hint, function))
            open_at = None
        elif "BEGIN SOLUTION" in stripped or "END SOLUTION" in stripped:
            raise MarkerError(f"{filename}:{no}: misspelt marker {stripped!r}; write {BEGIN!r} or {END!r}")
    if open_at is not None:
        raise MarkerError(f"{filename}:{open_at}: {BEGIN} is never closed by {END}")
    return regions


def make_stub(text: str, filename: str = "<string>") -> str:
    """Return the student version of one solution file."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    last = 0
    for r in find_regions(text, filename):
        out.extend(lines[last : r.begin - 1])
        hint = r.hint or (f"implement {r.function}" if r.function else "implement this part")
        out.append(f"{r.indent}raise NotImplementedError({('TODO: ' + hint)!r})\n")
        last = r.end
    out.extend(lines[last:])
    return HEADER.format(name=Path(filename).name) + "".join(out)


def student_stub(text: str, filename: str = "<string>") -> str:
    """The stub as students get it: :func:`make_stub` without the authors' "generated from" header."""
    return make_stub(text, filename).split("\n", 1)[1]


def solution_lines(text: str, filename: str = "<string>") -> set[str]:
    """The code lines that only solution regions hold (what a stub must never contain)."""
    lines = text.splitlines()
    inside: set[str] = set()
    outside: set[str] = set()
    regions = find_regions(text, filename)
    in_region = set()
    for r in regions:
        in_region.update(range(r.begin, r.end - 1))  # 0-based indices of body lines
    for i, line in enumerate(lines):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        (inside if i in in_region else outside).add(s)
    return inside - outside


def generate(solutions: Path, exercises: Path, *, check: bool = False, notebooks: bool = True,
             titles: dict[str, str] | None = None) -> list[Path]:
    """Write ``exercises/<topic>.py`` and ``exercises/<topic>.ipynb`` for every ``solutions/<topic>.py``.

    The notebook is :func:`autograder.notebooks.exercise_notebook` (``titles`` names the topics;
    default: the file name). With ``check=True`` nothing is written; the return value lists the
    files that are missing or differ from what would be generated (drift).
    """
    from autograder.notebooks import exercise_notebook, notebook_text

    changed = []
    for src in sorted(solutions.glob("*.py")):
        if src.name.startswith("_"):
            continue
        text = src.read_text(encoding="utf-8")
        outputs = [(exercises / src.name, make_stub(text, str(src)))]
        if notebooks:
            title = (titles or {}).get(src.stem, src.stem)
            outputs.append((exercises / f"{src.stem}.ipynb", notebook_text(exercise_notebook(text, src.stem, title, str(src)))))
        for dest, content in outputs:
            if dest.exists() and dest.read_text(encoding="utf-8") == content:
                continue
            changed.append(dest)
            if not check:
                exercises.mkdir(parents=True, exist_ok=True)
                dest.write_text(content, encoding="utf-8")
    return changed
