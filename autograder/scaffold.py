"""``autograder new-course DIR``: a minimal course folder that every verb works on.

The course has one NumPy topic: a reference function with its solution region, one public check,
one hidden check (which compares with the reference), the course's ``checks/conftest.py`` for its
own helpers, ``course.toml`` and the ``exercises/`` generated from the solution. From inside the
folder (or with ``--course DIR``) ``stubs``, ``check``, ``grade``, ``grade-all``, ``release``,
``nbgrader`` and ``gradescope`` use it. docs/writing-checks.md says how to grow it.
"""

from __future__ import annotations

import re
from pathlib import Path

from autograder import course as course_mod

__all__ = ["ScaffoldError", "new_course"]

TOPIC = "normalize"

COURSE_TOML = '''# The course manifest: topics in teaching order (see the Keras course's course.toml for every key).
[course]
title = {title!r}
call_budget = 10
memory_limit_mb = 2048

[[topics]]
name = "{topic}"
title = "Unit vectors"
points = 2          # the sum of the topic's checks' @pytest.mark.points
numpy_only = true   # neither the exercise nor its checks need TensorFlow
'''

SOLUTION = '''"""Unit vectors: a vector divided by its length points the same way and has length 1.

The length (Euclidean norm) of ``x`` is ``sqrt(sum(x ** 2))``, ``np.linalg.norm(x)``. The zero
vector has no direction: it stays zero.
"""

from __future__ import annotations

import numpy as np


def normalize(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to length 1; the zero vector stays zero. ``x`` itself is left unchanged.

    Example:
        >>> normalize(np.array([3.0, 4.0]))
        array([0.6, 0.8])
    """
    ### BEGIN SOLUTION divide by the Euclidean norm (np.linalg.norm), unless it is zero
    norm = np.linalg.norm(x)
    return x / norm if norm > 0 else np.zeros_like(x, dtype=float)
    ### END SOLUTION
'''

CONFTEST = '''"""The course's own check helpers: fixtures and functions shared by its check files.

The engine provides the ``student``, ``reference`` (hidden checks only) and ``topic`` fixtures and
the ``points``/``hint`` markers; what this course needs besides goes here.
"""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fixed random generator: the same inputs for every submission."""
    return np.random.default_rng(2024)
'''

PUBLIC_CHECK = '''"""Public checks of ``{topic}``: students run them with ``autograder check``."""

import numpy as np
import pytest

from autograder.checking import assert_close


@pytest.mark.points(1)
@pytest.mark.hint("Divide every component by the vector's length, np.linalg.norm(x).")
def test_normalize_3_4(student):
    """normalize([3, 4]) is [0.6, 0.8]"""
    assert_close(student.normalize(np.array([3.0, 4.0])), np.array([0.6, 0.8]), "normalize([3, 4])")
'''

HIDDEN_CHECK = '''"""Hidden checks of ``{topic}``: they decide the grade, compared with the reference solution."""

import numpy as np
import pytest

from autograder.checking import assert_close


@pytest.mark.points(1)
@pytest.mark.hint("The zero vector has no length to divide by: return zeros, not nan.")
def test_normalize_matches_reference(student, reference, rng):
    """normalize matches the reference on random vectors and the zero vector"""
    for x in (rng.normal(size=5), rng.normal(size=12) * 100, np.zeros(3)):
        call = f"normalize({{np.round(x, 3).tolist()}})"
        assert_close(student.normalize(x), reference.normalize(x), call)
'''


class ScaffoldError(ValueError):
    """The course folder can't be made there; the message says why."""


def new_course(folder: str | Path, *, title: str | None = None) -> Path:
    """Write a minimal course into the new (or empty) ``folder`` and generate its exercises; return it."""
    from autograder.stubs import generate

    root = Path(folder).resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ScaffoldError(f"{root} exists and is not an empty folder; choose a new one")
    title = title or re.sub(r"[-_]+", " ", root.name).strip().capitalize() or "My course"
    files = {
        course_mod.MANIFEST: COURSE_TOML.format(title=title, topic=TOPIC),
        f"solutions/{TOPIC}.py": SOLUTION,
        "checks/conftest.py": CONFTEST,
        f"checks/public/test_{TOPIC}.py": PUBLIC_CHECK.format(topic=TOPIC),
        f"checks/hidden/test_{TOPIC}.py": HIDDEN_CHECK.format(topic=TOPIC),
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    course = course_mod.parse(root)
    generate(course.solutions_dir, course.exercises_dir, titles={t.name: t.title for t in course.topics})
    return root
