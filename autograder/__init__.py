"""A Keras course autograder: sandboxed hidden checks, teaching feedback, standard reports.

The same verbs as the CLI are importable, e.g. in a notebook::

    from autograder import check
    check("activations")
"""

from __future__ import annotations

from autograder.quiet import quiet_tensorflow

quiet_tensorflow()  # before anything imports TensorFlow: its own log lines off (a value already set wins)

__version__ = "0.1.0"
__all__ = ["check", "grade"]


def check(topic: str | None = None, folder: str | None = None, **kwargs):
    """Run the public self-checks of ``topic`` (default: all) on ``folder`` (default ./exercises).

    In a notebook (an IPython kernel), ``check("activations")`` without a folder grades the code this
    notebook has run (its imports, functions and classes, saved or not) and returns a
    :class:`~autograder.notebooks.CheckReport` that the notebook shows as the table of checks; a
    mistake such as an unknown topic is one line, not a traceback.
    """
    from autograder.notebooks import check_in_notebook, kernel_cells

    cells = kernel_cells()
    if cells is None or kwargs:
        from autograder.grading import self_check

        return self_check(topic=topic, folder=folder, **kwargs)
    # in a notebook: the live code for one topic, else the folder; shown as a table either way
    return check_in_notebook(topic, cells if folder is None and topic is not None else None, folder)


def grade(submission: str, **kwargs):
    """Grade one submission folder with the public and hidden checks; returns the results object."""
    from autograder.grading import grade_submission

    return grade_submission(submission, **kwargs)
