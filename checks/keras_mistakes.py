"""The known mistakes of the Keras parts of the course, and how a check recognises them.

Every diagnosis here is worked out on the trusted side: from the judge's summary of a model (its
layers, activations, loss and ``from_logits`` as rebuilt from data, ``keras_models.judged``) or from
the values a check has already compared, never from what the student's process says about itself.
A check calls ``fail(message, misconception)`` (``autograder.checking``) with what it found, so the
feedback names the mistake and gives its own hint instead of the check's generic one.
"""

from __future__ import annotations

from contextlib import contextmanager

from autograder.checking import Misconception, fail
from autograder.sandbox.proxy import NotAttempted

# -- the `_keras` functions (activations, losses) ----------------------------------------------------

NUMPY_ON_KERAS_TENSORS = Misconception(
    "NumPy called on Keras tensors", None,
    "Inside a layer or a loss the values are symbolic Keras tensors: NumPy can neither compute on them nor "
    "differentiate through them. Write every step with keras.ops (exp, max, sum, clip, log...).")
NAN_GRADIENT = Misconception(
    "an exp that overflows inside the graph: its gradient is inf * 0 = nan", None,
    "The value may look fine, but the gradient goes through every operation: exp of a large positive "
    "number is inf, and inf * 0 = nan. Arrange the formula so that no exponent is ever large and positive.")
ABS_SLOPE_AT_ZERO = Misconception(
    "abs (or sign) of x in the formula: its slope at exactly 0 is taken as 0", None,
    "The backends give abs a slope of 0 at exactly 0, so σ'(0) comes out 0 instead of 1/4: choose the "
    "branch with keras.ops.where on the sign of x, each branch written with exp of a non-positive number.")
LOSS_RETURNS_MEAN = Misconception(
    "one number for the batch instead of one loss per example", None,
    "A Keras loss returns one loss per example, shape (batch,): Keras averages them into the cost itself.")
LOSS_UNCLIPPED = Misconception(
    "probabilities not clipped before the log", None,
    "log(0) = -inf: clip y_pred to [epsilon, 1 - epsilon] (keras.config.epsilon()) before the log.")


@contextmanager
def keras_ops_only(call: str):
    """Turn TensorFlow's "can't convert a symbolic tensor to a NumPy array" (a NotImplementedError,
    which would read as *not attempted*) into a failure that names the mistake."""
    try:
        yield
    except NotAttempted as exc:
        text = str(exc)
        if "symbolic" not in text and "numpy" not in text.lower():
            raise
        fail(f"{call}: {text[:300]}", NUMPY_ON_KERAS_TENSORS)


def gradient_mistake(grad, expected) -> Misconception | None:
    """What a wrong gradient of an activation says, compared with the right one: nan/inf where the
    right one is finite (an overflow inside the graph), or wrong only where x = 0 (abs's slope)."""
    import numpy as np

    try:
        g, e = np.asarray(grad, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return None
    if g.shape != e.shape:
        return None
    if not np.all(np.isfinite(g)):
        return NAN_GRADIENT
    wrong = ~np.isclose(g, e, rtol=1e-4, atol=1e-6)
    if wrong.any() and np.allclose(e[wrong], 0.25):
        return ABS_SLOPE_AT_ZERO
    return None
