"""One check per function of the submission: a clean submission passes all of them."""

import builtins
from pathlib import Path

import numpy as np
import pytest

COURSE = Path(__file__).resolve().parents[2]
REPO = COURSE.parents[1]
SCRIBBLE_TARGETS = [COURSE, COURSE / "checks", COURSE / "submissions", REPO, Path("/tmp"), Path.home()]


def test_double_before(student):
    """double() before anything misbehaves"""
    np.testing.assert_allclose(student.double(np.array([1.0, 2.0])), [2.0, 4.0])


def test_spin(student):
    """spin() returns 1"""
    assert student.spin() == 1


def test_leave(student):
    """leave() returns 2"""
    assert student.leave() == 2


def test_hard_exit(student):
    """hard_exit() returns 3"""
    assert student.hard_exit() == 3


def test_segfault(student):
    """segfault() returns 4"""
    assert student.segfault() == 4


def test_memory(student):
    """memory() returns 5"""
    assert student.memory() == 5


def test_flood(student):
    """flood() returns 6"""
    assert student.flood() == 6


def test_spy(student):
    """spy() finds no solution code"""
    assert student.spy([str(COURSE), str(REPO)]) == []


def test_scribble(student):
    """scribble() returns 8"""
    targets = [str(p) for p in SCRIBBLE_TARGETS]
    assert student.scribble(targets) == 8


def test_fork(student):
    """fork() returns 9"""
    assert student.fork() == 9


def test_close(student):
    """close() is judged with numpy's and pytest's own tools, which the submission tries to patch"""
    got = student.close()
    assert builtins.len(got) == 2
    assert np.allclose(got, [1.0, 2.5])
    assert list(got) == pytest.approx([1.0, 2.5])
    np.testing.assert_array_equal(got, [1.0, 2.5])


def test_double_after(student):
    """double() after everything else"""
    np.testing.assert_allclose(student.double(np.array([1.0, 2.0])), [2.0, 4.0])
