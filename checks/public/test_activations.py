"""Self-checks for ``activations``: known values and properties, no reference solution.

These run on the student's machine; the hidden checks compare with the reference on more inputs,
at z = ±1000, along other axes, and inside Keras models.
"""

import math

import numpy as np
import pytest

from autograder.checking import assert_close, assert_docstring_examples, assert_no_warnings, assert_shape, assert_unchanged


@pytest.mark.points(1)
@pytest.mark.hint("σ(z) = 1 / (1 + e^(-z)), applied to every entry; the result keeps the shape of z.")
def test_sigmoid_known_values(student):
    """sigmoid on a small 2-D array (σ(0) = 1/2)"""
    z = np.array([[-2.0, -1.0, 0.0], [1.0, 2.0, 3.0]])
    expected = np.array([[1.0 / (1.0 + math.exp(-v)) for v in row] for row in z])
    assert_close(student.sigmoid(z), expected, "sigmoid([[-2, -1, 0], [1, 2, 3]])")


@pytest.mark.points(1)
@pytest.mark.hint("ReLU keeps the positive part; its slope is 1 for z > 0 and 0 otherwise, at z = 0 too.")
def test_relu_and_derivative_small_example(student):
    """relu and relu_derivative on [-2, 0, 3] (slope 0 at z = 0)"""
    z = np.array([-2.0, 0.0, 3.0])
    assert_close(student.relu(z), np.array([0.0, 0.0, 3.0]), "relu([-2, 0, 3])")
    assert_close(student.relu_derivative(z), np.array([0.0, 0.0, 1.0]), "relu_derivative([-2, 0, 3])")


@pytest.mark.points(1)
@pytest.mark.hint("Exponentiate, then divide by the sum along `axis` (for a batch: each row on its own).")
def test_softmax_rows_sum_to_one(student):
    """softmax gives positive values summing to 1 for one example and for each row of a batch"""
    z = np.array([1.0, 2.0, 3.0])
    e = np.exp(z)
    assert_close(student.softmax(z), e / e.sum(), "softmax([1, 2, 3])")
    batch = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    call = "softmax([[1, 2, 3], [0, 0, 0]])"
    got = student.softmax(batch)
    assert_shape(got, (2, 3), call)
    assert_close(np.sum(got, axis=-1), np.ones(2), call, what="has row sums")
    assert_close(got[1], np.full(3, 1.0 / 3.0), call, what="has second row")


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Each docstring shows calls (>>> lines) and what they give; run them yourself "
                  "(python -m doctest -v activations.py) and compare. Run by `autograder check` only; it earns no points.")
def test_docstring_examples(student):
    """the examples in the docstrings give what they show (self-check only)"""
    assert_docstring_examples(student, "sigmoid", budget=90)


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("np.exp of a large positive number overflows (inf, with a RuntimeWarning): arrange sigmoid so that "
                  "no exponent is large and positive, and subtract the maximum before softmax's exp.")
def test_selfcheck_stable_at_plus_minus_1000(student):
    """sigmoid and softmax at z = ±1000: right, finite, no warnings (self-check only)"""
    z = np.array([-1000.0, 0.0, 1000.0])
    call = "sigmoid([-1000, 0, 1000])"
    assert_close(student.sigmoid(z), np.array([0.0, 0.5, 1.0]), call)
    assert_no_warnings(student, call)
    z = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]])
    call = "softmax([[1000, 0, -1000], [1000, 1000, 1000]])"
    assert_close(student.softmax(z), np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]]), call)
    assert_no_warnings(student, call)


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Reduce along `axis` (keepdims=True) in softmax; build new arrays in relu instead of assigning "
                  "into z.")
def test_selfcheck_axis_and_inputs_unchanged(student):
    """softmax along axis=0 sums every column to 1; relu leaves its input unchanged (self-check only)"""
    z = np.array([[0.0, 2.0, 1.0], [0.0, 0.0, 3.0]])
    call = "softmax([[0, 2, 1], [0, 0, 3]], axis=0)"
    got = student.softmax(z, axis=0)
    assert_shape(got, (2, 3), call)
    assert_close(np.sum(got, axis=0), np.ones(3), call, what="has column sums")
    assert_close(got[:, 0], np.array([0.5, 0.5]), call, what="has first column")
    z = np.array([-2.0, 0.0, 3.0])
    call = "relu([-2, 0, 3])"
    _, (z_after,), _ = student.probe("call_and_inputs", student.relu, z.copy())
    assert_unchanged(z, z_after, "z", call)
