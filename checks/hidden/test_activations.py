"""Hidden checks for ``activations``: seeded random inputs, z = ±1000, other axes, Keras models.

The NumPy functions are compared with the reference on the same inputs. The ``_keras`` functions
are run where they are meant to work, inside a ``Dense`` layer of a model and under a gradient
tape (probes ``keras_dense_output`` and ``keras_value_and_grad``), and compared with the reference's
NumPy values computed here. Those probes run beside student code, so what they report is the
student's own answer, like any return value: only the expected values, computed here, are trusted.
Only the last two checks need TensorFlow, so its import is paid once.
"""

import numpy as np
import pytest

from autograder.checking import Misconception, assert_close, assert_no_warnings, assert_unchanged, fail
from keras_mistakes import NUMPY_ON_KERAS_TENSORS, gradient_mistake, keras_ops_only

KERAS_BUDGET = 90  # seconds: the first Keras call imports TensorFlow in the sandbox
EXTREMES = np.array([-1000.0, -745.0, -100.0, -1.0, 0.0, 1.0, 100.0, 745.0, 1000.0])


# -- Diagnoses: known wrong variants, run here on the check's inputs; the first that gives the
#    student's answer names the mistake and its hint (the check's own hint stays the fallback).

def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(np.asarray(z, dtype=float) / 2.0))


def _softmax(z, axis=-1):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_no_keepdims(z, axis=-1):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis))
    return e / e.sum(axis=axis)


def _softmax_whole_sum(z, axis=-1):
    e = np.exp(np.asarray(z, dtype=float) - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e)


def _softmax_global_shift(z, axis=-1):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_no_shift(z, axis=-1):
    e = np.exp(np.asarray(z, dtype=float))
    return e / e.sum(axis=axis, keepdims=True)


SIGMOID_MISTAKES = (
    Misconception("the sign of the exponent: 1 / (1 + e^z)", lambda z: 1.0 / (1.0 + np.exp(np.asarray(z, float))),
                  "σ(z) = 1 / (1 + e^(-z)): large positive z must give values near 1."),
)
SIGMOID_OVERFLOW = Misconception(
    "np.exp of a large positive number overflows",
    None,
    "e^1000 is inf (with a RuntimeWarning). Never exponentiate a large positive number: use e^(-|z|), which is "
    "at most 1, and pick the formula by the sign of z. np.where computes both of its branches everywhere, so "
    "both branches must be safe.",
)
SIGMOID_DERIVATIVE_MISTAKES = (
    Misconception("the slope formula applied to z instead of σ(z)", lambda z: np.asarray(z, float) * (1.0 - np.asarray(z, float)),
                  "s (1 - s) is the slope when s = σ(z); this function receives z, the pre-activation, so "
                  "compute s = σ(z) first."),
    Misconception("σ applied twice: the slope at σ(z)", lambda z: _sigmoid(_sigmoid(z)) * (1.0 - _sigmoid(_sigmoid(z))),
                  "The argument is z, not σ(z): σ'(z) = σ(z) (1 - σ(z)) with σ applied once."),
)
RELU_DERIVATIVE_MISTAKES = (
    Misconception("slope 1 at z = 0", lambda z: (np.asarray(z) >= 0).astype(float),
                  "At z = 0 ReLU's slope is taken as 0 (as TensorFlow does): compare with z > 0, not z >= 0."),
)
RELU_IN_PLACE = Misconception("relu changes the caller's array in place", None,
                              "Assigning into z (z[z < 0] = 0) changes the caller's array: build a new array "
                              "with np.maximum or np.where.")
SOFTMAX_MISTAKES = (
    Misconception("exp of the raw logits (no max shift)", _softmax_no_shift,
                  "np.exp(1000) is inf and inf / inf is nan: subtract the maximum along the axis before exp; "
                  "softmax(z) equals softmax(z - c) for any c."),
    Misconception("shifted by the largest logit of the whole array, not of each example", _softmax_global_shift,
                  "np.max(z) without an axis takes one maximum for the whole batch: an example whose logits all lie "
                  "far below it underflows to 0 / 0 = nan. Take the max along `axis` with keepdims=True, so every "
                  "example is shifted by its own maximum."),
    Misconception("softmax always along axis 0 (down the columns)", lambda z, axis=-1: _softmax(z, axis=0),
                  "The classes lie along `axis` (the last one by default: one row per example). Reduce along "
                  "`axis`, not along axis 0."),
    Misconception("softmax along the last axis whatever `axis` says", lambda z, axis=-1: _softmax(z, axis=-1),
                  "Pass `axis` on to every reduction (the max and the sum)."),
    Misconception("the max or the sum reduced without keepdims", _softmax_no_keepdims,
                  "z.max(axis=axis) drops that axis, so z - max broadcasts against the wrong one: use "
                  "keepdims=True in the max and in the sum."),
    Misconception("normalised by the sum of the whole array (no axis)",
_softmax_whole_sum,
                  "np.sum(e) without an axis adds up every example's numbers: normalise each example over its "
                  "own classes, np.sum(e, axis=axis, keepdims=True)."),
    Misconception("softmax applied twice (softmax of probabilities)", lambda z, axis=-1: _softmax(_softmax(z, axis), axis),
                  "Apply exp and normalise once: softmax of probabilities squashes them towards uniform."),
)


@pytest.mark.points(1)
@pytest.mark.hint("σ(z) = 1 / (1 + e^(-z)) elementwise, for arrays of any shape.")
def test_sigmoid_matches_reference(student, reference):
    """sigmoid matches the reference on random 1-D and 3-D inputs"""
    rng = np.random.default_rng(201)
    for z in (rng.normal(scale=4.0, size=7), rng.normal(scale=4.0, size=(2, 3, 4))):
        assert_close(student.sigmoid(z), reference.sigmoid(z), f"sigmoid(array of shape {z.shape})", rtol=1e-7,
                     misconceptions=SIGMOID_MISTAKES, args=(z,))


@pytest.mark.points(1)
@pytest.mark.hint("np.exp of a large positive number overflows: arrange the formula so that no exponent is ever "
                  "large and positive (or use a bounded form); np.where evaluates both of its branches everywhere.")
def test_sigmoid_large_inputs(student, reference):
    """sigmoid stays finite and warning-free at z = ±1000"""
    call = "sigmoid([-1000, -745, -100, -1, 0, 1, 100, 745, 1000])"
    got = student.sigmoid(EXTREMES)
    assert_close(got, reference.sigmoid(EXTREMES), call, misconceptions=SIGMOID_MISTAKES, args=(EXTREMES,))
    assert_no_warnings(student, call, SIGMOID_OVERFLOW)


@pytest.mark.points(1)
@pytest.mark.hint("σ'(z) = σ(z) (1 - σ(z)): the argument is z, the pre-activation, not σ(z).")
def test_sigmoid_derivative_matches_reference(student, reference):
    """sigmoid_derivative matches the reference on random inputs and at z = ±1000"""
    rng = np.random.default_rng(202)
    z = rng.normal(scale=3.0, size=(4, 6))
    call = f"sigmoid_derivative(array of shape {z.shape})"
    assert_close(student.sigmoid_derivative(z), reference.sigmoid_derivative(z), call,
                 misconceptions=SIGMOID_DERIVATIVE_MISTAKES, args=(z,))
    call = "sigmoid_derivative([-1000, -745, -100, -1, 0, 1, 100, 745, 1000])"
    assert_close(student.sigmoid_derivative(EXTREMES), reference.sigmoid_derivative(EXTREMES), call,
                 misconceptions=SIGMOID_DERIVATIVE_MISTAKES, args=(EXTREMES,))


@pytest.mark.points(1)
@pytest.mark.hint("Build a new array (np.maximum, np.where, a comparison) instead of assigning into z; the slope "
                  "of ReLU is 0 at z = 0.")
def test_relu_functions_on_nd_input(student, reference):
    """relu and relu_derivative match the reference on 3-D input with zeros, leaving it unchanged"""
    rng = np.random.default_rng(203)
    z = rng.normal(size=(3, 4, 5))
    z.flat[rng.choice(z.size, size=8, replace=False)] = 0.0
    for name in ("relu", "relu_derivative"):
        call = f"{name}(array of shape {z.shape} holding some exact zeros)"
        got, (z_after,), _ = student.probe("call_and_inputs", getattr(student, name), z)
        mistakes = RELU_DERIVATIVE_MISTAKES if name == "relu_derivative" else ()
        assert_close(got, getattr(reference, name)(z), call, misconceptions=mistakes, args=(z,))
        assert_unchanged(z, z_after, "z", call, RELU_IN_PLACE if name == "relu" else None)


@pytest.mark.points(1)
@pytest.mark.hint("softmax(z)_k = e^(z_k) / sum_j e^(z_j) over the class axis (the last one by default): "
                  "for a batch each row is normalised on its own.")
def test_softmax_matches_reference(student, reference):
    """softmax matches the reference for one example (1-D) and for a batch (2-D)"""
    rng = np.random.default_rng(204)
    for z in (rng.normal(scale=3.0, size=6), rng.normal(scale=3.0, size=(5, 4))):
        assert_close(student.softmax(z), reference.softmax(z), f"softmax(array of shape {z.shape})",
                     misconceptions=SOFTMAX_MISTAKES, args=(z,))


@pytest.mark.points(1)
@pytest.mark.hint("Subtract the maximum along the axis before exp: softmax(z) equals softmax(z - c).")
def test_softmax_large_inputs(student, reference):
    """softmax stays finite and warning-free for z = ±1000"""
    z = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -999.0], [1000.0, 1000.0, 1000.0]])
    call = "softmax([[1000, 0, -1000], [-1000, -1000, -999], [1000, 1000, 1000]])"
    got = student.softmax(z)
    assert_close(got, reference.softmax(z), call, misconceptions=SOFTMAX_MISTAKES, args=(z,))
    assert_no_warnings(student, call, SOFTMAX_MISTAKES[0])


@pytest.mark.points(1)
@pytest.mark.hint("Use `axis` in every reduction (max and sum) and keep that axis (keepdims=True) so the result "
                  "broadcasts back against z.")
def test_softmax_axis(student, reference):
    """softmax normalises along the axis it is given, in 2-D and 3-D"""
    rng = np.random.default_rng(205)
    square = rng.normal(scale=2.0, size=(4, 4))
    cube = rng.normal(scale=2.0, size=(2, 3, 4))
    for z, kwargs in ((square, {"axis": 0}), (cube, {}), (cube, {"axis": 1}), (cube, {"axis": 0})):
        call = f"softmax(array of shape {z.shape}{''.join(f', axis={v}' for v in kwargs.values())})"
        assert_close(student.softmax(z, **kwargs), reference.softmax(z, **kwargs), call,
                     misconceptions=SOFTMAX_MISTAKES, args=(z,), kwargs=kwargs)


def _exact_layer(rng, batch, n_in, n_out, scale):
    """x, W, b on a grid of float32-exact values, so the layer's sums are exact in float32 too."""
    x = rng.integers(-8, 9, size=(batch, n_in)) / 4.0
    W = rng.integers(-4, 5, size=(n_in, n_out)) * scale
    b = rng.integers(-4, 5, size=n_out) / 4.0
    return x, W, b, x @ W + b


@pytest.mark.points(1)
@pytest.mark.hint("Write the NumPy recipe with keras.ops (exp, where, max, sum with keepdims=True), so it runs "
                  "on Keras tensors inside a layer; keep softmax's `axis` argument working.")
def test_keras_activations_match_numpy(student, reference):
    """sigmoid_keras and softmax_keras work as Dense activations (logits up to ±1000) and along axis=0"""
    rng = np.random.default_rng(206)
    for name, scale in (("sigmoid", 0.5), ("softmax", 0.5), ("softmax", 100.0)):
        x, W, b, z = _exact_layer(rng, 6, 5, 4, scale)
        call = f"Dense(4, activation={name}_keras) with logits in [{z.min():g}, {z.max():g}]"
        with keras_ops_only(call):
            got = student.probe("keras_dense_output", getattr(student, f"{name}_keras"), x, W, b, budget=KERAS_BUDGET)
        assert_close(got, getattr(reference, name)(z), call, rtol=1e-5, atol=1e-6, what="gave")
    z = rng.normal(scale=2.0, size=(3, 3)).astype("float32")
    with student.budget(KERAS_BUDGET), keras_ops_only("softmax_keras(3x3 tensor, axis=0)"):
        got = student.softmax_keras(z, axis=0)
        assert_close(got, reference.softmax(z.astype(float), axis=0), "softmax_keras(3x3 tensor, axis=0)",
                     rtol=1e-5, atol=1e-6)


@pytest.mark.points(1)
@pytest.mark.hint("Both branches of a where are differentiated: every branch must stay finite at ±1000, or "
                  "0 * inf = nan poisons the gradient. Check the slope at exactly 0 too (σ'(0) = 1/4).")
def test_keras_activations_finite_gradients(student, reference):
    """sigmoid_keras and softmax_keras have finite, correct gradients at z = ±1000 and 0"""
    z = EXTREMES.reshape(1, -1)
    value, grad = student.probe("keras_value_and_grad", student.sigmoid_keras, z, budget=KERAS_BUDGET)
    call = "sigmoid_keras([-1000, -745, -100, -1, 0, 1, 100, 745, 1000])"
    assert_close(value, reference.sigmoid(z), call, rtol=1e-5, atol=1e-6)
    _assert_gradient(grad, reference.sigmoid_derivative(z), call)
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    call = "softmax_keras([[1000, 0, -1000], [1, 2, 3]])"
    value, grad = student.probe("keras_value_and_grad", student.softmax_keras, z, budget=KERAS_BUDGET)
    assert_close(value, reference.softmax(z), call, rtol=1e-5, atol=1e-6)
    # Every row sums to 1 whatever z is, so the gradient of the sum is exactly 0 (and never nan).
    _assert_gradient(grad, np.zeros_like(z), call, summed=True)


def _assert_gradient(grad, expected, call: str, *, summed: bool = False) -> None:
    if grad is None:
        fail(f"{call}: no gradient flows back to the input; use keras.ops only", NUMPY_ON_KERAS_TENSORS)
    what = f"the gradient of sum({call})" if summed else f"the gradient of {call}"
    try:
        assert_close(grad, expected, what, rtol=1e-4, atol=1e-5 if summed else 1e-6, what="is")
    except AssertionError as exc:
        fail(str(exc), gradient_mistake(grad, expected))
