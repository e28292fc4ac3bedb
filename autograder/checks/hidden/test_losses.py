"""Hidden checks for ``losses``: seeded random batches, probabilities of exactly 0 and 1, Keras.

Each per-example loss is compared with the reference on the same inputs, including its shape
(``(batch,)``: one loss per example). ``categorical_crossentropy_keras`` is run where it is meant to
work, as the loss of a compiled model (probe ``keras_compiled_loss``), and compared with the cost
and the one-step SGD update worked out here in NumPy. The probe runs beside student code, so what it
reports is the student's own answer, like any return value; the expected values are computed here.
Only the last two checks need TensorFlow.
"""

import numpy as np
import pytest

from autograder.checking import as_number, assert_close, assert_no_warnings, show
from autograder.sandbox import probes
from autograder.sandbox.proxy import fn

KERAS_BUDGET = 90  # seconds: the first Keras call imports TensorFlow in the sandbox



def _probabilities(rng, batch, k):
    return probes.softmax(rng.normal(scale=2.0, size=(batch, k)))


def _one_hot(labels, k):
    return np.eye(k)[labels]


@pytest.mark.points(1)
@pytest.mark.hint("Square the differences and average over the last axis only (axis=-1): one loss per example.")
def test_mean_squared_error_matches_reference(student, reference):
    """mean_squared_error gives one loss per example, as the reference does"""
    rng = np.random.default_rng(301)
    for shape in ((6, 3), (5, 1), (2, 3, 4)):
        y_true, y_pred = rng.normal(size=shape), rng.normal(size=shape)
        call = f"mean_squared_error(y_true, y_pred of shape {shape})"
        assert_close(student.mean_squared_error(y_true, y_pred), reference.mean_squared_error(y_true, y_pred), call)


@pytest.mark.points(1)
@pytest.mark.hint("L1 is the mean ABSOLUTE difference |y_true - y_pred| over the last axis; L2 is the squared one.")
def test_mean_absolute_error_matches_reference(student, reference):
    """mean_absolute_error (L1) gives one loss per example, as the reference does"""
    rng = np.random.default_rng(302)
    for shape in ((6, 3), (5, 1), (2, 3, 4)):
        y_true, y_pred = rng.normal(size=shape), rng.normal(size=shape)
        call = f"mean_absolute_error(y_true, y_pred of shape {shape})"
        assert_close(student.mean_absolute_error(y_true, y_pred), reference.mean_absolute_error(y_true, y_pred), call)


@pytest.mark.points(1)
@pytest.mark.hint("-(y log p + (1 - y) log(1 - p)) for every output, averaged over the last axis.")
def test_binary_crossentropy_matches_reference(student, reference):
    """binary_crossentropy matches the reference for one and for several sigmoid outputs"""
    rng = np.random.default_rng(303)
    for shape in ((8, 1), (5, 3)):
        y_true = rng.integers(0, 2, size=shape).astype(float)
        y_pred = rng.uniform(0.01, 0.99, size=shape)
        call = f"binary_crossentropy(0/1 targets, probabilities of shape {shape})"
        assert_close(student.binary_crossentropy(y_true, y_pred), reference.binary_crossentropy(y_true, y_pred), call)


@pytest.mark.points(1)
@pytest.mark.hint("-sum_k y_k log p_k over the class axis (the last one): one loss per example.")
def test_categorical_crossentropy_matches_reference(student, reference):
    """categorical_crossentropy matches the reference on one-hot targets"""
    rng = np.random.default_rng(304)
    y_pred = _probabilities(rng, 7, 4)
    y_true = _one_hot(rng.integers(0, 4, size=7), 4)
    call = "categorical_crossentropy(one-hot y_true, probabilities of shape (7, 4))"
    got = student.categorical_crossentropy(y_true, y_pred)
    assert_close(got, reference.categorical_crossentropy(y_true, y_pred), call)


@pytest.mark.points(1)
@pytest.mark.hint("For example i the loss is -log p[i, y_i]: pick one probability per row (row i, column y_i), "
                  "not a whole column.")
def test_sparse_categorical_crossentropy_matches_reference(student, reference):
    """sparse_categorical_crossentropy matches the reference on integer labels of shape (batch,)"""
    rng = np.random.default_rng(305)
    for batch, k in ((6, 5), (4, 4)):
        y_pred = _probabilities(rng, batch, k)
        labels = rng.integers(0, k, size=batch)
        call = f"sparse_categorical_crossentropy(labels {labels.tolist()}, probabilities of shape {(batch, k)})"
        assert_close(student.sparse_categorical_crossentropy(labels, y_pred),
                     reference.sparse_categorical_crossentropy(labels, y_pred), call)


@pytest.mark.points(1)
@pytest.mark.hint("log(0) = -inf: clip the probabilities to [eps, 1 - eps] (with the eps you are given) before "
                  "taking any log.")
def test_cross_entropy_probabilities_zero_and_one(student, reference):
    """the cross-entropies stay finite and warning-free at probabilities of exactly 0 and 1, using eps"""
    y_bin = np.array([[1.0], [0.0], [1.0], [0.0]])
    p_bin = np.array([[0.0], [1.0], [1.0], [0.0]])
    labels = np.array([0, 1, 2])
    y_onehot = _one_hot(labels, 3)
    p_cat = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    cases = [
        ("binary_crossentropy", "[[1], [0], [1], [0]], [[0], [1], [1], [0]]", y_bin, p_bin),
        ("categorical_crossentropy", "[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0], [0.5, 0.5, 0]]",
         y_onehot, p_cat),
        ("sparse_categorical_crossentropy", "[0, 1, 2], [[0, 1, 0], [0, 1, 0], [0.5, 0.5, 0]]", labels, p_cat),
    ]
    for name, text, y_true, y_pred in cases:
        for kwargs in ({}, {"eps": 1e-3}):
            call = f"{name}({text}{', eps=0.001' if kwargs else ''})"
            got = getattr(student, name)(y_true, y_pred, **kwargs)
            assert_close(got, getattr(reference, name)(y_true, y_pred, **kwargs), call)
            assert_no_warnings(student, call)


@pytest.mark.points(1)
@pytest.mark.hint("The cost is the MEAN of loss_fn(y_true, y_pred) over the batch, returned as one float.")
def test_cost_is_mean_over_batch(student):
    """cost is the mean of the per-example losses, one float, for batches of any size"""
    rng = np.random.default_rng(306)
    for batch in (10, 3):
        y_true, y_pred = rng.normal(size=(batch, 2)), rng.normal(size=(batch, 2))
        call = f"cost(L2 loss, y_true, y_pred of shape {(batch, 2)})"
        got = student.cost(fn("probe:mean_squared"), y_true, y_pred)
        number = as_number(got, "iuf")
        assert number is not None, f"{call} returned {show(got)}; expected one number"
        expected = float(np.mean(probes.mean_squared(y_true, y_pred)))
        assert abs(number - expected) <= 1e-6 * max(1.0, abs(expected)), (
            f"{call} returned {number}; expected {expected}")


@pytest.mark.points(1)
@pytest.mark.hint("Write it with keras.ops only (clip, log, sum over axis=-1), with y_true cast to y_pred's "
                  "dtype, so Keras can evaluate and differentiate it as a model's loss.")
def test_categorical_crossentropy_keras_in_compiled_model(student, reference):
    """categorical_crossentropy_keras works as the loss of a compiled model, and trains it"""
    rng = np.random.default_rng(307)
    x = rng.normal(size=(16, 5)).astype("float32")
    W = (0.5 * rng.normal(size=(5, 3))).astype("float32")
    b = (0.1 * rng.normal(size=3)).astype("float32")
    y = _one_hot(rng.integers(0, 3, size=16), 3).astype("float32")
    before, after = student.probe("keras_compiled_loss", student.categorical_crossentropy_keras, x, y, W, b,
                                  budget=KERAS_BUDGET)
    x64, y64 = x.astype(float), y.astype(float)
    p = probes.softmax(x64 @ W + b)
    expected_before = float(np.mean(reference.categorical_crossentropy(y64, p)))
    # One SGD step (learning rate 0.1) on the mean cross-entropy of a softmax layer: dz = (p - y) / N.
    dz = (p - y64) / len(x)
    W1, b1 = W - 0.1 * x64.T @ dz, b - 0.1 * dz.sum(axis=0)
    expected_after = float(np.mean(reference.categorical_crossentropy(y64, probes.softmax(x64 @ W1 + b1))))
    call = "model.compile(loss=categorical_crossentropy_keras) on a softmax layer"
    assert_close(before, expected_before, f"{call}: model.evaluate", rtol=1e-4, atol=1e-6, what="gave the cost")
    assert_close(after, expected_after, f"{call}: after one SGD step, model.evaluate", rtol=1e-4, atol=1e-6,
                 what="gave the cost")


@pytest.mark.points(1)
@pytest.mark.hint("Return one loss per example (shape (batch,), Keras averages them itself) and clip the "
                  "probabilities to [epsilon, 1 - epsilon] before the log.")
def test_categorical_crossentropy_keras_per_example(student, reference):
    """categorical_crossentropy_keras returns finite per-example losses, also at probabilities 0 and 1"""
    y_true = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype="float32")
    y_pred = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [0.1, 0.6, 0.3]], dtype="float32")
    call = "categorical_crossentropy_keras([[1, 0, 0], [0, 1, 0], ...], [[0, 1, 0], [0, 1, 0], [0.2, 0.3, 0.5], ...])"
    with student.budget(KERAS_BUDGET):
        got = student.categorical_crossentropy_keras(y_true, y_pred)
    expected = reference.categorical_crossentropy(y_true.astype(float), y_pred.astype(float))
    assert_close(got, expected, call, rtol=1e-5, atol=1e-6)
