"""A Keras course autograder: sandboxed hidden checks, teaching feedback, standard reports.

The same verbs as the CLI are importable, e.g. in a notebook::

    from autograder import check
    check("activations")
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["check", "grade"]


def check(topic: str | None = None, folder: str | None = None, **kwargs):
    """Run the public self-checks of ``topic`` (default: all) on ``folder`` (default ./exercises)."""
    from autograder.grading import self_check

    return self_check(topic=topic, folder=folder, **kwargs)


def grade(submission: str, **kwargs):
    """Grade one submission folder with the public and hidden checks; returns the results object."""
    from autograder.grading import grade_submission

    return grade_submission(submission, **kwargs)
