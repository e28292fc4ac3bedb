"""The course's diagnoses, without a sandbox: the Keras catalogue (``checks/keras_mistakes.py``) reads
the judge's summaries right, and the mini-batch checks of ``gradient_descent`` tell a reshuffle from
the same batches every epoch and the full-data cost from its look-alikes. (End to end, on graded
code, the corpus does the same: ``tests/test_corpus.py``.)"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from autograder.checking import Diagnosed
from autograder.course import load

COURSE = load()


def _module(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def km():
    sys.path.insert(0, str(COURSE.checks_dir))  # as the grader does while it runs the checks
    try:
        yield _module(COURSE.checks_dir / "keras_mistakes.py", "keras_mistakes")
    finally:
        sys.path.remove(str(COURSE.checks_dir))


def _summary(output_shape, last, layers=(), compiled=False, **extra):
    return {"output_shape": output_shape, "last_activation": last, "compiled": compiled, "input_shape": [None, 4],
            "layers": [dict(layer) for layer in layers], **extra}


def test_output_mistakes_are_named_from_the_summary(km):
    assert km.output_mistake(_summary([None, 3], "softmax"), 3, "softmax") is None
    assert km.output_mistake(_summary([None, 3], "linear"), 3, "softmax") is km.NO_OUTPUT_ACTIVATION
    assert km.output_mistake(_summary([None, 3], "sigmoid"), 3, "softmax") is km.SIGMOID_FOR_ONE_OF_K
    assert km.output_mistake(_summary([None, 2], "softmax"), 1, "sigmoid") is km.SOFTMAX_FOR_BINARY
    assert km.output_mistake(_summary([None, 5], "softmax"), 3, "softmax") is km.WRONG_OUTPUT_UNITS
    assert km.output_mistake(_summary([None, 15, 6], "softmax"), 6, "softmax") is km.RETURN_SEQUENCES_AT_THE_END
    assert km.output_mistake(_summary([None, 13, 13, 5], "softmax"), 5, "softmax") is km.NO_FLATTEN
    assert km.output_mistake(_summary([None, 3], "tanh"), 3, "softmax", hidden_activation="tanh") is km.HIDDEN_ACTIVATION_ON_OUTPUT


def test_assert_output_fails_with_the_diagnosis_and_passes_a_right_model(km):
    km.assert_output(_summary([None, 3], "softmax"), "f()", input_shape=[None, 4], units=3, activation="softmax")
    with pytest.raises(Diagnosed) as caught:
        km.assert_output(_summary([None, 3], "softmax", compiled=True), "f()", input_shape=[None, 4], units=3,
                         activation="softmax")
    assert caught.value.diagnosis == km.BUILDER_COMPILES.name
    with pytest.raises(Diagnosed) as caught:
        km.assert_output(_summary([None, 3], "linear"), "f()", input_shape=[None, 4], units=3, activation="softmax")
    assert caught.value.diagnosis == km.NO_OUTPUT_ACTIVATION.name and "softmax" in caught.value.hint


def test_hidden_and_loss_mistakes(km):
    assert km.hidden_mistake([(8, "tanh"), (4, "tanh"), (3, "softmax")], [8, 4], "tanh") is None
    assert km.hidden_mistake([(8, "relu"), (4, "relu"), (3, "softmax")], [8, 4], "tanh") is km.ACTIVATION_ARGUMENT_IGNORED
    assert km.hidden_mistake([(8, "linear"), (4, "linear"), (3, "softmax")], [8, 4], "tanh") is km.NO_HIDDEN_NONLINEARITY
    assert km.hidden_mistake([(64, "tanh"), (3, "softmax")], [8, 4], "tanh") is km.HIDDEN_UNITS_IGNORED
    sparse = "sparse_categorical_crossentropy"
    assert km.loss_mistake({"compiled": False}, sparse) is km.MODEL_NOT_COMPILED
    assert km.loss_mistake({"compiled": True, "loss": sparse, "from_logits": True}, sparse) is km.FROM_LOGITS_ON_PROBABILITIES
    assert km.loss_mistake({"compiled": True, "loss": "categorical_crossentropy"}, sparse) is km.CATEGORICAL_FOR_INTEGER_LABELS
    assert km.loss_mistake({"compiled": True, "loss": "CategoricalCrossentropy"}, "binary_crossentropy") is km.CATEGORICAL_ON_ONE_UNIT
    assert km.loss_mistake({"compiled": True, "loss": "mean_squared_error"}, sparse) is km.WRONG_LOSS_FOR_OUTPUT


def test_batch_normalisation_is_allowed_and_other_weights_are_not(km):
    dense = [{"class": "Dense", "params": 9 * 8 + 8}, {"class": "BatchNormalization", "params": 32},
             {"class": "Dropout", "params": 0}, {"class": "Dense", "params": 8 * 3 + 3}]
    summary = _summary([None, 3], "softmax", dense)
    assert km.dense_params(summary) == 9 * 8 + 8 + 8 * 3 + 3
    km.unexpected_weights(summary, "f()")
    with pytest.raises(Diagnosed, match="Conv1D layer with 12 parameters"):
        km.unexpected_weights(_summary([None, 3], "softmax", dense + [{"class": "Conv1D", "params": 12}]), "f()")


def test_numpy_variants_of_cnn_and_rnn(km):
    cnn = _module(COURSE.solutions_dir / "cnn.py", "_ref_cnn")
    rnn = _module(COURSE.solutions_dir / "rnn.py", "_ref_rnn")
    image, kernel = np.arange(20.0).reshape(4, 5), np.array([[1.0, 2.0], [0.0, -1.0]])
    flipped, top_left = km.conv_mistakes(cnn)
    assert np.allclose(flipped.variant(image, kernel), cnn.conv2d_forward(image, kernel[::-1, ::-1]))
    assert top_left.variant(image, kernel, 1, "same").shape == (4, 5)
    assert not np.allclose(top_left.variant(image, kernel, 1, "same"), cnn.conv2d_forward(image, kernel, 1, "same"))
    assert km.size_mistake(13.0, 28, 3, 2, "same") is km.FLOAT_SIZE
    assert km.size_mistake(5, 8, 4, 2, "same") is km.SAME_SIZE_FROM_HALF_KERNEL  # (8 + 2*2 - 4) // 2 + 1, not ceil(8 / 2)
    rng = np.random.default_rng(0)
    X, h0, Wx, Wh, b = rng.normal(size=(3, 6, 2)), rng.normal(size=(3, 4)), rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), rng.normal(size=4)
    transposed, time_first, from_h0, zeros_h0 = km.rnn_mistakes(rnn)
    assert np.allclose(transposed.variant(X, h0, Wx, Wh, b), rnn.rnn_forward(X, h0, Wx, Wh.T, b))
    assert time_first.variant(X, h0, Wx, Wh, b).shape == (6, 3, 4)
    assert np.allclose(from_h0.variant(X, h0, Wx, Wh, b)[:, 0], rnn.rnn_forward(X, h0, Wx, Wh, b)[:, 0])
    assert not np.allclose(from_h0.variant(X, h0, Wx, Wh, b), rnn.rnn_forward(X, h0, Wx, Wh, b))
    assert np.allclose(zeros_h0.variant(X, h0, Wx, Wh, b), rnn.rnn_forward(X, np.zeros_like(h0), Wx, Wh, b))
    pool_overlap, pool_from_zero = km.POOL_MISTAKES
    negative = -1.0 - np.arange(16.0).reshape(4, 4)
    assert np.allclose(pool_from_zero.variant(negative, 2), 0.0) and pool_overlap.variant(negative, 2).shape == (3, 3)
    assert km.size_mistake(25, 28, 3, 1, "valid") is km.VALID_SIZE_NO_PLUS_ONE
    assert km.size_mistake(28, 28, 3, 2, "same") is km.SAME_SIZE_IGNORES_STRIDE  # n, not ceil(28 / 2)
    assert km.size_mistake(28, 28, 3, 1, "same") is not km.SAME_SIZE_IGNORES_STRIDE  # at stride 1, n is right


def test_training_errors_name_the_model_or_loss_behind_them(km):
    rank = ("ValueError: Argument `output` must have rank (ndim) `target.ndim - 1`. Received: target.shape=(32,), "
            "output.shape=(32, 5, 5, 5)")
    same = ("ValueError: Arguments `target` and `output` must have the same rank (ndim). Received: "
            "target.shape=(None,), output.shape=(None, 10)")
    assert km.training_error(rank) is km.OUTPUT_NOT_ONE_VECTOR
    assert km.training_error(same) is km.CATEGORICAL_FOR_INTEGER_LABELS
    assert km.training_error("ZeroDivisionError: division by zero") is None


def test_gradient_mistakes(km):
    expected = np.array([0.0, 0.1966, 0.25, 0.1966, 0.0])
    assert km.gradient_mistake([np.nan, 0.1966, 0.25, 0.1966, 0.0], expected) is km.NAN_GRADIENT
    assert km.gradient_mistake([0.0, 0.1966, 0.0, 0.1966, 0.0], expected) is km.ABS_SLOPE_AT_ZERO
    assert km.gradient_mistake([0.0, 0.3, 0.25, 0.1966, 0.0], expected) is None


# -- gradient_descent's mini-batch checks, with the student's function run in this process ----------


class _Last:
    warnings: list = []
    duration = 0.0


class _Student:
    """Stands in for the sandboxed student: calls go straight to ``module``."""

    def __init__(self, module):
        self._module, self.last = module, _Last()

    def __getattr__(self, name):
        return getattr(self._module, name)

    def global_seed(self, n):
        return contextlib.nullcontext()


@pytest.fixture(scope="module")
def gd():
    with warnings.catch_warnings():  # its points/hint markers are registered by the grader's plugin, not here
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        checks = _module(COURSE.checks_dir / "hidden" / "test_gradient_descent.py", "_checks_gradient_descent")
    reference = _module(COURSE.solutions_dir / "gradient_descent.py", "_ref_gradient_descent")
    return checks, reference


def _variant(reference, **replace):
    module = types.ModuleType("variant")
    module.__dict__.update(reference.__dict__)
    module.__dict__.update(replace)
    return module


def _training(reference, *, epoch_seed, record):
    def train_logistic_regression(X, y, learning_rate=0.1, epochs=100, batch_size=32, seed=0):
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        w, b, costs = np.zeros(X.shape[1]), 0.0, []
        for epoch in range(epochs):
            batch_costs = []
            for Xb, yb in reference.minibatches(X, y, batch_size, epoch_seed(seed, epoch)):
                p = np.clip(reference._sigmoid(Xb @ w + b), 1e-7, 1 - 1e-7)
                batch_costs.append(float(np.mean(-(yb * np.log(p) + (1 - yb) * np.log(1 - p)))))
                w, b = w - learning_rate * Xb.T @ (p - yb) / len(yb), b - learning_rate * float(np.mean(p - yb))
            p = np.clip(reference._sigmoid(X @ w + b), 1e-7, 1 - 1e-7)
            full = float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
            costs.append(record(full, batch_costs))
        return w, float(b), costs
    return train_logistic_regression


def test_the_reference_passes_the_mini_batch_checks(gd):
    checks, reference = gd
    checks.test_train_logistic_regression_updates_after_every_batch(_Student(reference))
    checks.test_train_logistic_regression_learns(_Student(reference))


@pytest.mark.parametrize("epoch_seed, expected", [
    (lambda seed, epoch: seed, "the same shuffle in every epoch"),
])
def test_the_same_batches_every_epoch_are_caught(gd, epoch_seed, expected):
    checks, reference = gd
    student = _Student(_variant(reference, train_logistic_regression=_training(
        reference, epoch_seed=epoch_seed, record=lambda full, batches: full)))
    with pytest.raises(Diagnosed) as caught:
        checks.test_train_logistic_regression_updates_after_every_batch(student)
    assert caught.value.diagnosis == expected
    checks.test_train_logistic_regression_learns(student)  # its costs are right: only the reshuffle is wrong


@pytest.mark.parametrize("record, expected", [
    (lambda full, batches: batches[-1], "the cost of the last mini-batch recorded instead of the full-data cost"),
    (lambda full, batches: 3 * full, None),  # not a known mistake: still caught, without a name
])
def test_a_cost_other_than_the_full_data_cost_is_caught(gd, record, expected):
    checks, reference = gd
    student = _Student(_variant(reference, train_logistic_regression=_training(
        reference, epoch_seed=lambda seed, epoch: seed + epoch, record=record)))
    with pytest.raises(AssertionError) as caught:
        checks.test_train_logistic_regression_learns(student)
    assert getattr(caught.value, "diagnosis", None) == expected
    assert "whole data set" in str(caught.value)


def test_a_shortfall_in_accuracy_is_named_from_the_training_accuracy(km):
    assert km.fit_mistake(0.6, 0.55, 0.9) is km.UNDERFIT  # not even its own training data
    assert km.fit_mistake(1.0, 0.7, 0.9) is km.OVERFIT  # its training data, not new examples
    assert km.fit_mistake(0.91, 0.89, 0.9) is None  # just under the bar on both: nothing to name
