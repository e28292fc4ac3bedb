"""Self-checks for ``mlp``: the builders' output layers and the loss ``compile_model`` picks.

Cheap, but for one short training run in a self-check only (``selfcheck``, never graded: grading
trains once, in the hidden checks, on data students can't have). Each model is judged as data by the judge process (rebuilt from Keras's
built-in layers), never by asking it about itself. The hidden checks also grade the hidden layers, parameter counts and
``train_mlp`` on held-out digits.
"""

import math

import numpy as np
import pytest

from autograder.checking import fail
from autograder.datasets import load_digits
from keras_models import judged, keras_budget, selfcheck_training
from keras_mistakes import assert_output, loss_mistake


@pytest.mark.points(1)
@pytest.mark.hint("A one-of-K classifier ends in Dense(num_classes) with a softmax: one probability per class, rows summing to 1.")
def test_build_mlp_ends_in_softmax(student, judge, topic):
    """build_mlp(64, 10) maps (batch, 64) to (batch, 10) softmax probabilities"""
    with keras_budget(student, topic):
        call = "build_mlp(64, 10)"
        summary = judged(student, judge, student.build_mlp(64, 10), call)
        assert_output(summary, call, input_shape=[None, 64], units=10, activation="softmax", hidden_activation="relu",
                      uncompiled=False)


@pytest.mark.points(1)
@pytest.mark.hint("A binary classifier outputs one number, P(class 1): a single unit squashed into (0, 1).")
def test_build_binary_classifier_ends_in_sigmoid(student, judge, topic):
    """build_binary_classifier(30) maps (batch, 30) to (batch, 1) sigmoid probabilities"""
    with keras_budget(student, topic):
        call = "build_binary_classifier(30)"
        summary = judged(student, judge, student.build_binary_classifier(30), call)
        assert_output(summary, call, input_shape=None, units=1, activation="sigmoid", hidden_activation="relu",
                      uncompiled=False)


@pytest.mark.points(1)
@pytest.mark.hint("Integer labels of shape (batch,) with a softmax over several classes call for the *sparse* categorical cross-entropy.")
def test_compile_model_softmax_loss(student, judge, topic):
    """compile_model(a softmax model) uses sparse categorical cross-entropy"""
    with keras_budget(student, topic):
        model = student.compile_model(student.probe("plain_model", 64, 10, "softmax"))
        call = "compile_model(<a 64 -> 10 softmax model>)"
        labels, probs = np.array([0, 2, 1]), np.array([[0.6, 0.2, 0.2] + [0.0] * 7, [0.1, 0.1, 0.8] + [0.0] * 7, [0.3, 0.4, 0.3] + [0.0] * 7])
        summary = judged(student, judge, model, call, loss_on=(labels, probs))
        if not summary["compiled"]:
            fail(f"{call} returned a model that is not compiled (return the model after model.compile(...))",
                 loss_mistake(summary, "sparse_categorical_crossentropy"))
        expected = float(np.mean(-np.log([0.6, 0.8, 0.4])))
        got = summary.get("loss_value")
        if got is None or not math.isclose(got, expected, rel_tol=1e-3):
            fail(f"{call} compiled with loss {summary['loss']!r}, which gives {got} on integer labels and softmax "
                 f"probabilities; expected {expected:.4f} (sparse categorical cross-entropy)",
                 loss_mistake(summary, "sparse_categorical_crossentropy"))


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Fit long enough (dozens of epochs on this small set), with a softmax output and sparse categorical cross-entropy on the integer labels; compare your curve with the reference's band.")
def test_selfcheck_train_mlp(student, judge, topic, notes):
    """train_mlp on public digits: accuracy against the bar, time, size, memory and learning curve"""
    selfcheck_training(student, judge, topic, notes, "train_mlp", load_digits(), "digits")
