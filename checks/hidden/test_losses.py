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

from autograder.checking import Misconception, as_number, assert_close, assert_no_warnings, diagnose, fail, show
from autograder.sandbox import probes
from autograder.sandbox.proxy import fn
from keras_mistakes import LOSS_RETURNS_MEAN, LOSS_UNCLIPPED, keras_ops_only

KERAS_BUDGET = 90  # seconds: the first Keras call imports TensorFlow in the sandbox


# -- Diagnoses: known wrong variants, run here on the check's inputs; the first that gives the
#    student's answer names the mistake and its hint (the check's own hint stays the fallback).

def _d(y_true, y_pred):
    return np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)


def _bce(y_true, y_pred, eps=1e-7, log=np.log, clip=True):
    y, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    p = np.clip(p, eps, 1.0 - eps) if clip else p
    return np.mean(-(y * log(p) + (1.0 - y) * log(1.0 - p)), axis=-1)


def _cce(y_true, y_pred, eps=1e-7, log=np.log, clip=True, reduce=np.sum):
    y, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    p = np.clip(p, eps, 1.0 - eps) if clip else p
    return -reduce(y * log(p), axis=-1)


def _scce(labels, y_pred, eps=1e-7, **kwargs):
    y_pred = np.asarray(y_pred, dtype=float)
    return _cce(np.eye(y_pred.shape[-1])[np.asarray(labels).astype(int)], y_pred, eps, **kwargs)


_PER_EXAMPLE = ("one number for the whole batch (averaged over every axis)",
                "A loss gives one value per example: average over the last axis only (axis=-1); the cost "
                "averages over the batch later.")
MSE_MISTAKES = (
    Misconception(_PER_EXAMPLE[0], lambda t, p: np.mean(_d(t, p) ** 2), _PER_EXAMPLE[1]),
    Misconception("squares summed over the outputs instead of averaged", lambda t, p: np.sum(_d(t, p) ** 2, axis=-1),
                  "The video sums the squares over its 10 outputs; Keras's mean_squared_error averages them: "
                  "divide by the number of outputs (np.mean over axis=-1)."),
    Misconception("a factor 1/2 in front", lambda t, p: 0.5 * np.mean(_d(t, p) ** 2, axis=-1),
                  "Some books put 1/2 in front of the squared error to tidy its derivative; Keras's "
                  "mean_squared_error has no 1/2."),
    Misconception("absolute instead of squared differences (that is L1)", lambda t, p: np.mean(np.abs(_d(t, p)), axis=-1),
                  "L2, the mean squared error, squares the differences; the absolute value is L1."),
    Misconception("averaged over the batch axis (axis 0)", lambda t, p: np.mean(_d(t, p) ** 2, axis=0),
                  "Average over the last axis (axis=-1), the outputs of one example: one loss per example."),
)
MAE_MISTAKES = (
    Misconception("squared instead of absolute differences (that is L2)", lambda t, p: np.mean(_d(t, p) ** 2, axis=-1),
                  "L1, the mean absolute error, averages |y_true - y_pred|; squaring is L2 (some texts mix "
                  "the names up: L1 is the absolute one)."),
    Misconception(_PER_EXAMPLE[0], lambda t, p: np.mean(np.abs(_d(t, p))), _PER_EXAMPLE[1]),
    Misconception("no absolute value: positive and negative errors cancel", lambda t, p: np.mean(_d(t, p), axis=-1),
                  "Take |y_true - y_pred| before averaging, or errors of opposite signs cancel out."),
    Misconception("absolute differences summed over the outputs instead of averaged",
                  lambda t, p: np.sum(np.abs(_d(t, p)), axis=-1), "Average over the last axis (np.mean), not sum."),
)
_LOG2 = ("log base 2 instead of the natural log", "Cross-entropy uses the natural logarithm (np.log, base e), as Keras does.")
_LOG10 = ("log base 10 instead of the natural log", _LOG2[1])
_UNCLIPPED = ("probabilities not clipped before the log",
              "log(0) = -inf and 0 * log(0) = nan: clip the probabilities to [eps, 1 - eps] first.")
_FIXED_EPS = ("a fixed eps instead of the eps argument",
              "Clip with the eps you are given (a parameter, 1e-7 by default), not a constant.")
BCE_MISTAKES = (
    Misconception(_LOG2[0], lambda t, p, eps=1e-7: _bce(t, p, eps, log=np.log2), _LOG2[1]),
    Misconception(_LOG10[0], lambda t, p, eps=1e-7: _bce(t, p, eps, log=np.log10), _LOG10[1]),
    Misconception(_UNCLIPPED[0], lambda t, p, eps=1e-7: _bce(t, p, clip=False), _UNCLIPPED[1]),
    Misconception(_FIXED_EPS[0], lambda t, p, eps=1e-7: _bce(t, p, 1e-7), _FIXED_EPS[1]),
    Misconception("summed over the outputs instead of averaged",
                  lambda t, p, eps=1e-7: _bce(t, p, eps) * np.shape(t)[-1],
                  "Keras's binary_crossentropy averages the outputs' losses over the last axis."),
    Misconception("only the y log p term", lambda t, p, eps=1e-7: np.mean(
        -np.asarray(t, float) * np.log(np.clip(np.asarray(p, float), eps, 1 - eps)), axis=-1),
                  "A 0 target must cost too: add (1 - y) log(1 - p)."),
)
CCE_MISTAKES = (
    Misconception(_LOG2[0], lambda t, p, eps=1e-7: _cce(t, p, eps, log=np.log2), _LOG2[1]),
    Misconception(_LOG10[0], lambda t, p, eps=1e-7: _cce(t, p, eps, log=np.log10), _LOG10[1]),
    Misconception("averaged over the classes (a factor 1/K)", lambda t, p, eps=1e-7: _cce(t, p, eps, reduce=np.mean),
                  "Categorical cross-entropy SUMS -y_k log p_k over the classes: only the true class's term is "
                  "non-zero, and it must not be divided by K."),
    Misconception(_UNCLIPPED[0], lambda t, p, eps=1e-7: _cce(t, p, clip=False), _UNCLIPPED[1]),
    Misconception(_FIXED_EPS[0], lambda t, p, eps=1e-7: _cce(t, p, 1e-7), _FIXED_EPS[1]),
    Misconception("softmax applied to the probabilities", lambda t, p, eps=1e-7: _cce(t, probes.softmax(np.asarray(p, float)), eps),
                  "y_pred already holds probabilities (a softmax output): take their log directly. Applying "
                  "softmax again is the from_logits mix-up."),
)
SCCE_MISTAKES = (
    Misconception("y_pred[:, labels] picks whole columns, not one entry per row",
                  lambda t, p, eps=1e-7: -np.log(np.clip(np.asarray(p, float)[:, np.asarray(t).astype(int)], eps, 1 - eps)),
                  "Example i needs p[i, y_i]: index rows and columns together (np.arange(n), labels) or use "
                  "np.take_along_axis."),
    Misconception(_LOG2[0], lambda t, p, eps=1e-7: _scce(t, p, eps, log=np.log2), _LOG2[1]),
    Misconception(_LOG10[0], lambda t, p, eps=1e-7: _scce(t, p, eps, log=np.log10), _LOG10[1]),
    Misconception(_UNCLIPPED[0], lambda t, p, eps=1e-7: _scce(t, p, clip=False), _UNCLIPPED[1]),
    Misconception(_FIXED_EPS[0], lambda t, p, eps=1e-7: _scce(t, p, 1e-7), _FIXED_EPS[1]),
    Misconception("softmax applied to the probabilities", lambda t, p, eps=1e-7: _scce(t, probes.softmax(np.asarray(p, float)), eps),
                  "y_pred already holds probabilities (a softmax output): take their log directly."),
)
UNCLIPPED_WARNING = Misconception(_UNCLIPPED[0], None, _UNCLIPPED[1])
COST_MISTAKES = (
    Misconception("the losses summed instead of averaged", lambda losses: float(np.sum(losses)),
                  "The cost is the MEAN of the per-example losses, so it does not grow with the batch size."),
)
MISTAKES = {"mean_squared_error": MSE_MISTAKES, "mean_absolute_error": MAE_MISTAKES,
            "binary_crossentropy": BCE_MISTAKES, "categorical_crossentropy": CCE_MISTAKES,
            "sparse_categorical_crossentropy": SCCE_MISTAKES}



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
        assert_close(student.mean_squared_error(y_true, y_pred), reference.mean_squared_error(y_true, y_pred), call,
                     misconceptions=MSE_MISTAKES, args=(y_true, y_pred))


@pytest.mark.points(1)
@pytest.mark.hint("L1 is the mean ABSOLUTE difference |y_true - y_pred| over the last axis; L2 is the squared one.")
def test_mean_absolute_error_matches_reference(student, reference):
    """mean_absolute_error (L1) gives one loss per example, as the reference does"""
    rng = np.random.default_rng(302)
    for shape in ((6, 3), (5, 1), (2, 3, 4)):
        y_true, y_pred = rng.normal(size=shape), rng.normal(size=shape)
        call = f"mean_absolute_error(y_true, y_pred of shape {shape})"
        assert_close(student.mean_absolute_error(y_true, y_pred), reference.mean_absolute_error(y_true, y_pred), call,
                     misconceptions=MAE_MISTAKES, args=(y_true, y_pred))


@pytest.mark.points(1)
@pytest.mark.hint("-(y log p + (1 - y) log(1 - p)) for every output, averaged over the last axis.")
def test_binary_crossentropy_matches_reference(student, reference):
    """binary_crossentropy matches the reference for one and for several sigmoid outputs"""
    rng = np.random.default_rng(303)
    for shape in ((8, 1), (5, 3)):
        y_true = rng.integers(0, 2, size=shape).astype(float)
        y_pred = rng.uniform(0.01, 0.99, size=shape)
        call = f"binary_crossentropy(0/1 targets, probabilities of shape {shape})"
        assert_close(student.binary_crossentropy(y_true, y_pred), reference.binary_crossentropy(y_true, y_pred), call,
                     misconceptions=BCE_MISTAKES, args=(y_true, y_pred))


@pytest.mark.points(1)
@pytest.mark.hint("-sum_k y_k log p_k over the class axis (the last one): one loss per example.")
def test_categorical_crossentropy_matches_reference(student, reference):
    """categorical_crossentropy matches the reference on one-hot targets"""
    rng = np.random.default_rng(304)
    y_pred = _probabilities(rng, 7, 4)
    y_true = _one_hot(rng.integers(0, 4, size=7), 4)
    call = "categorical_crossentropy(one-hot y_true, probabilities of shape (7, 4))"
    got = student.categorical_crossentropy(y_true, y_pred)
    assert_close(got, reference.categorical_crossentropy(y_true, y_pred), call, misconceptions=CCE_MISTAKES,
                 args=(y_true, y_pred))


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
                     reference.sparse_categorical_crossentropy(labels, y_pred), call,
                     misconceptions=SCCE_MISTAKES, args=(labels, y_pred))


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
            assert_close(got, getattr(reference, name)(y_true, y_pred, **kwargs), call,
                         misconceptions=MISTAKES[name], args=(y_true, y_pred), kwargs=kwargs)
            assert_no_warnings(student, call, UNCLIPPED_WARNING)


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
        losses = probes.mean_squared(y_true, y_pred)
        expected = float(np.mean(losses))
        if abs(number - expected) > 1e-6 * max(1.0, abs(expected)):
            fail(f"{call} returned {number}; expected {expected}",
                 diagnose(number, expected, COST_MISTAKES, (losses,), rtol=1e-6))


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
    with keras_ops_only("model.compile(loss=categorical_crossentropy_keras) on a softmax layer"):
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
    with student.budget(KERAS_BUDGET), keras_ops_only(call):
        got = student.categorical_crossentropy_keras(y_true, y_pred)
    expected = reference.categorical_crossentropy(y_true.astype(float), y_pred.astype(float))
    if np.ndim(got) == 0:
        fail(f"{call} returned one number, {show(got)}; expected one loss per example, shape (4,): {show(expected)}",
             LOSS_RETURNS_MEAN)
    got = np.asarray(got, dtype=float)
    if got.shape == expected.shape and not np.all(np.isfinite(got[y_pred.min(axis=-1) == 0])):
        fail(f"{call} returned {show(got)}, which holds nan or inf where a probability is 0; expected {show(expected)}",
             LOSS_UNCLIPPED)
    assert_close(got, expected, call, rtol=1e-5, atol=1e-6)
