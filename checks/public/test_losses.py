"""Self-checks for ``losses``: hand-worked values, no reference solution.

These run on the student's machine; the hidden checks compare with the reference on random data,
at probabilities of exactly 0 and 1, and inside a compiled Keras model.
"""

import math

import numpy as np
import pytest

from autograder.checking import as_number, assert_close, assert_docstring_examples, assert_no_warnings, show
from autograder.sandbox.proxy import fn



@pytest.mark.points(1)
@pytest.mark.hint("L2 averages the squared differences, L1 the absolute differences, each over the last axis "
                  "only: one loss per example.")
def test_l1_and_l2_small_example(student):
    """mean_squared_error and mean_absolute_error on two hand-worked examples"""
    y_true = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y_pred = np.array([[2.0, 2.0, 1.0], [0.5, -0.5, 0.0]])
    call = "{}([[1, 2, 3], [0, 0, 0]], [[2, 2, 1], [0.5, -0.5, 0]])"
    # differences [-1, 0, 2] and [-0.5, 0.5, 0]
    assert_close(student.mean_squared_error(y_true, y_pred), np.array([5.0 / 3.0, 0.5 / 3.0]),
                 call.format("mean_squared_error"))
    assert_close(student.mean_absolute_error(y_true, y_pred), np.array([1.0, 1.0 / 3.0]),
                 call.format("mean_absolute_error"))


@pytest.mark.points(1)
@pytest.mark.hint("Cross-entropy is -log of the probability given to the right answer: y log p + (1 - y) log(1 - p) "
                  "for binary targets, the log-probability of the true class for one-hot or integer labels.")
def test_cross_entropy_known_values(student):
    """binary, categorical and sparse categorical cross-entropy on hand-worked examples"""
    got = student.binary_crossentropy(np.array([[1.0], [0.0]]), np.array([[0.5], [0.25]]))
    assert_close(got, np.array([math.log(2.0), -math.log(0.75)]), "binary_crossentropy([[1], [0]], [[0.5], [0.25]])")
    p = np.array([[0.25, 0.5, 0.25], [0.8, 0.1, 0.1]])
    expected = np.array([math.log(2.0), -math.log(0.8)])
    got = student.categorical_crossentropy(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), p)
    call = "categorical_crossentropy([[0, 1, 0], [1, 0, 0]], [[0.25, 0.5, 0.25], [0.8, 0.1, 0.1]])"
    assert_close(got, expected, call)
    got = student.sparse_categorical_crossentropy(np.array([1, 0]), p)
    assert_close(got, expected, "sparse_categorical_crossentropy([1, 0], [[0.25, 0.5, 0.25], [0.8, 0.1, 0.1]])")


@pytest.mark.points(1)
@pytest.mark.hint("The cost is one number: the average (not the sum) of the per-example losses.")
def test_cost_is_mean_of_losses(student):
    """cost averages the per-example losses into one number"""
    y_true = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    y_pred = np.zeros((4, 2))
    call = "cost(L2 loss, y_true=[[0, 0], [1, 1], [2, 2], [3, 3]], y_pred=zeros)"
    got = student.cost(fn("probe:mean_squared"), y_true, y_pred)
    # per-example losses [0, 1, 4, 9]
    number = as_number(got, "iuf")
    assert number is not None, f"{call} returned {show(got)}; expected one number"
    assert abs(number - 3.5) < 1e-6, f"{call} returned {number}; expected 3.5"


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Each docstring shows calls (>>> lines) and what they give; run them yourself "
                  "(python -m doctest -v losses.py) and compare. Run by `autograder check` only; it earns no points.")
def test_docstring_examples(student):
    """the examples in the docstrings give what they show (self-check only)"""
    assert_docstring_examples(student, "mean_squared_error", budget=90)


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("log(0) = -inf: clip the probabilities to [eps, 1 - eps], with the eps you are given, before any log.")
def test_selfcheck_probabilities_zero_and_one(student):
    """cross-entropy at probabilities of exactly 0 and 1: -log(eps), finite, no warnings (self-check only)"""
    y, p = np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])
    for kwargs, value in (({}, -math.log(1e-7)), ({"eps": 1e-3}, -math.log(1e-3))):
        call = f"binary_crossentropy([[1], [0]], [[0], [1]]{', eps=0.001' if kwargs else ''})"
        assert_close(student.binary_crossentropy(y, p, **kwargs), np.array([value, value]), call, rtol=1e-4)
        assert_no_warnings(student, call)
    call = "categorical_crossentropy([[1, 0]], [[0, 1]])"
    assert_close(student.categorical_crossentropy(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])),
                 np.array([-math.log(1e-7)]), call, rtol=1e-4)
    assert_no_warnings(student, call)
