"""The project's one exception root, and the command line's exit codes (one per kind of error).

Every error the autograder raises on purpose derives from :class:`AutograderError` (keeping its own
``ValueError``/``RuntimeError`` base where it had one). The command line catches it once
(:func:`autograder.cli.main`), prints its message in one line and exits with :func:`exit_code`.
"""

from __future__ import annotations


class AutograderError(Exception):
    """Root of the autograder's own errors: the message says what went wrong, for a person."""


#: Exit codes of ``autograder`` (README "Exit codes", ``autograder --help``). An error's code is that
#: of the first class of its MRO named here; any other :class:`AutograderError` exits 1.
EXIT_CODES: tuple[tuple[int, tuple[str, ...], str], ...] = (
    (0, (), "done: grading completed (whatever the score), or the command did its job"),
    (1, ("AutograderError",), "any other error of the autograder (the message says which)"),
    (2, (), "usage: an unknown option or a bad argument (click)"),
    (3, (), "incomplete: the grader's own fault left a check ungraded; grade again"),
    (4, ("SubmissionError", "NotebookError"), "the submission can't be graded: no such path, nothing gradable, an unreadable zip"),
    (5, ("CourseError", "MarkerError"), "the course's files are missing or malformed (course.toml, solutions/, checks)"),
    (6, ("GradingError", "SandboxStartError", "ZygoteError", "WireError"), "grading could not run: the sandbox did not start, the checks did not load"),
    (7, ("BatchError", "RosterError", "CourseMismatch", "ClusterLost"), "a class could not be graded: class folder, --out, roster/extensions/overrides, cluster"),
    (8, ("ReleaseError", "ExportError", "GradescopeError"), "a release, nbgrader export or Gradescope bundle could not be built"),
    (130, (), "interrupted (Ctrl-C); what was written is kept"),
)

INCOMPLETE = 3
INTERRUPTED = 130
_BY_NAME = {name: code for code, names, _ in EXIT_CODES for name in names}


def exit_code(exc: BaseException) -> int:
    """The documented exit code of ``exc`` (1 for an :class:`AutograderError` of no listed kind)."""
    for cls in type(exc).__mro__:
        if cls.__name__ in _BY_NAME:
            return _BY_NAME[cls.__name__]
    return 1


def one_line(exc: BaseException, limit: int = 500) -> str:
    """The error's message in one line (its lines joined by "; "), at most ``limit`` characters."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def exit_codes_help() -> str:
    """The exit-code table as ``autograder --help`` shows it."""
    return "\n".join(f"  {code:<4} {meaning}" for code, _, meaning in EXIT_CODES)
