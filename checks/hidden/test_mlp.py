"""Hidden checks for ``mlp``: the builders' contract, ``compile_model``, and ``train_mlp`` on unseen digits.

Expected values are worked out here (parameter counts by formula, losses on known inputs); each
model leaves the sandbox only as data and is judged by the judge process, rebuilt from Keras's
built-in layers (``checks/keras_models.py``). Training
runs once per submission; its time and its held-out accuracy are separate checks worth a quarter
of the topic, so a slow machine cannot zero a student whose builders are right.
"""

import math

import numpy as np
import pytest

from autograder.checking import assert_at_least, fail
from keras_models import accuracy, dense_stack, judged, keras_budget, predictions, report_training, trained
from keras_mistakes import (WRONG_OPTIMIZER, assert_output, dense_params, fit_mistake, hidden_mistake, loss_mistake,
                            unexpected_weights)
from autograder.datasets import load_digits

#: Secret seed of the digits used for grading: it cuts the split (the student trains on its train
#: part and is judged on its test part) and scrambles the 64 pixels of every image by one secret
#: permutation. scikit-learn ships every digit, so a plain held-out part is one anyone can train on;
#: a scrambled one is not (a model of plain digits sees noise in it), while an MLP, blind to the order
#: of its inputs, learns the scrambled digits as well as the plain ones (tests/test_heldout.py).
HELDOUT_SEED = 7314159

def _dense_params(sizes):
    """Weights + biases of Dense layers mapping sizes[0] -> sizes[1] -> ... (independent of the student)."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def _trained(student):
    """(split, (model, seconds)): ``train_mlp`` on the grading split's train part, computed once per submission."""
    return trained(student, "train_mlp", load_digits(seed=HELDOUT_SEED, scramble_seed=HELDOUT_SEED))


# -- builders ---------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("Shapes come from the arguments (input_dim features in, num_classes probabilities out); "
                  "the last layer applies a softmax; a builder returns the model before model.compile.")
def test_build_mlp_contract(student, judge, topic):
    """build_mlp gives an uncompiled (batch, input_dim) -> (batch, num_classes) softmax model"""
    with keras_budget(student, topic):
        call = "build_mlp(20, 3, hidden_units=(8, 4), activation='tanh')"
        summary = judged(student, judge, student.build_mlp(20, 3, hidden_units=(8, 4), activation="tanh"), call)
        assert_output(summary, call, input_shape=[None, 20], units=3, activation="softmax", hidden_activation="tanh")


@pytest.mark.points(1)
@pytest.mark.hint("One Dense layer per entry of hidden_units, in order and with the given activation, then the output layer.")
def test_build_mlp_hidden_layers(student, judge, topic):
    """build_mlp makes one Dense layer per hidden width, with the requested activation"""
    with keras_budget(student, topic):
        call = "build_mlp(20, 3, hidden_units=(8, 4), activation='tanh')"
        stack = dense_stack(judged(student, judge, student.build_mlp(20, 3, hidden_units=(8, 4), activation="tanh"), call))
        if [units for units, _ in stack] != [8, 4, 3]:
            fail(f"{call} has Dense layers of widths {[u for u, _ in stack]}; expected [8, 4, 3]",
                 hidden_mistake(stack, [8, 4], "tanh"))
        if [act for _, act in stack[:-1]] != ["tanh", "tanh"]:
            fail(f"{call} has hidden activations {[a for _, a in stack[:-1]]}; expected ['tanh', 'tanh']",
                 hidden_mistake(stack, [8, 4], "tanh"))
        call = "build_mlp(20, 3, hidden_units=())"
        stack = dense_stack(judged(student, judge, student.build_mlp(20, 3, hidden_units=()), call))
        if [units for units, _ in stack] != [3]:
            fail(f"{call} has Dense layers of widths {[u for u, _ in stack]}; expected [3] (no hidden layer: plain "
                 f"softmax regression)", hidden_mistake(stack, [], "relu"))


@pytest.mark.points(1)
@pytest.mark.hint("Each Dense layer has n_in * n_out weights plus n_out biases; the default is one hidden layer of 64 relu units. "
                  "BatchNormalization and Dropout between the Dense layers are allowed (not counted).")
def test_build_mlp_parameter_count(student, judge, topic):
    """build_mlp's Dense layers hold exactly their weights and biases (BatchNormalization, Dropout allowed)"""
    with keras_budget(student, topic):
        for args, sizes in (((20, 3, (8, 4)), [20, 8, 4, 3]), ((64, 10), [64, 64, 10])):
            call = f"build_mlp{args}"
            summary = judged(student, judge, student.build_mlp(*args), call)
            expected = _dense_params(sizes)
            assert dense_params(summary) == expected, \
                f"{call}'s Dense layers have {dense_params(summary)} parameters; expected {expected} for Dense layers {' -> '.join(map(str, sizes))}"
            unexpected_weights(summary, call)


@pytest.mark.points(1)
@pytest.mark.hint("A binary classifier ends in a single unit with a sigmoid (P(class 1)); hidden layers as given, model uncompiled.")
def test_build_binary_classifier_contract(student, judge, topic):
    """build_binary_classifier gives an uncompiled (batch, input_dim) -> (batch, 1) sigmoid model"""
    with keras_budget(student, topic):
        call = "build_binary_classifier(30, hidden_units=(16, 8))"
        summary = judged(student, judge, student.build_binary_classifier(30, hidden_units=(16, 8)), call)
        assert_output(summary, call, input_shape=[None, 30], units=1, activation="sigmoid", hidden_activation="relu")
        stack = dense_stack(summary)
        widths = [units for units, _ in stack]
        if widths != [16, 8, 1]:
            fail(f"{call} has Dense layers of widths {widths}; expected [16, 8, 1]", hidden_mistake(stack, [16, 8], "relu"))
        expected = _dense_params([30, 16, 8, 1])
        assert dense_params(summary) == expected, f"{call}'s Dense layers have {dense_params(summary)} parameters; expected {expected}"
        unexpected_weights(summary, call)


# -- compile_model ----------------------------------------------------------------------------------


#: Known labels and probabilities on which a compiled loss is evaluated by the judge.
_SPARSE = (np.array([0, 3, 1, 2]), np.array([[0.7, 0.1, 0.1, 0.1], [0.2, 0.2, 0.1, 0.5], [0.25, 0.25, 0.25, 0.25], [0.1, 0.3, 0.4, 0.2]]))
_BINARY = (np.array([[1.0], [0.0], [1.0], [0.0]]), np.array([[0.9], [0.2], [0.4], [0.6]]))


def _expected_loss(kind):
    """The mean cross-entropy on the known inputs, by formula (sparse categorical or binary)."""
    if kind == "sparse_categorical_crossentropy":
        y, p = _SPARSE
        return float(np.mean(-np.log(p[np.arange(len(y)), y])))
    y, p = _BINARY
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def _check_compiled(summary, call, loss, learning_rate):
    if not summary["compiled"]:
        fail(f"{call} returned a model that is not compiled (call model.compile and return the model)", loss_mistake(summary, loss))
    name = summary["loss"]
    if "loss_error" in summary:
        fail(f"{call} compiled with loss {name!r}, which fails on the labels this model is trained with: {summary['loss_error']}",
             loss_mistake(summary, loss))
    got, expected = summary.get("loss_value"), _expected_loss(loss)
    logits = " (from_logits=True, but the model already outputs probabilities)" if summary.get("from_logits") else ""
    if got is None or not math.isclose(got, expected, rel_tol=1e-3, abs_tol=1e-5):
        fail(f"{call} compiled with loss {name!r}{logits}, which gives {got} on known labels and probabilities; "
             f"expected {expected:.6g} ({loss})", loss_mistake(summary, loss))
    if summary["optimizer"] != "Adam":
        fail(f"{call} compiled with optimizer {summary['optimizer']}; expected Adam", WRONG_OPTIMIZER)
    lr = summary["learning_rate"]
    if lr is None or not math.isclose(lr, learning_rate, rel_tol=1e-5):
        fail(f"{call} compiled with learning rate {lr}; expected {learning_rate}", WRONG_OPTIMIZER)
    metrics = summary.get("metrics") or []
    assert any("acc" in str(m).lower() for m in metrics), f"{call} compiled with metrics {metrics}; expected an accuracy metric"


@pytest.mark.points(1)
@pytest.mark.hint("Several softmax outputs and integer labels: sparse categorical cross-entropy, Adam with the given learning rate, accuracy.")
def test_compile_model_softmax(student, judge, topic):
    """compile_model(softmax model, learning_rate=0.01) uses Adam(0.01), sparse categorical cross-entropy, accuracy"""
    with keras_budget(student, topic):
        # the model is built by the grader, so this check judges compile_model alone
        model = student.compile_model(student.probe("plain_model", 10, 4, "softmax"), 0.01)
        call = "compile_model(<a 10 -> 4 softmax model>, learning_rate=0.01)"
        _check_compiled(judged(student, judge, model, call, loss_on=_SPARSE), call, "sparse_categorical_crossentropy", 0.01)


@pytest.mark.points(1)
@pytest.mark.hint("The loss follows the output layer: one sigmoid unit means binary cross-entropy; the default learning rate is 1e-3.")
def test_compile_model_binary(student, judge, topic):
    """compile_model(sigmoid model) uses Adam(1e-3), binary cross-entropy, accuracy"""
    with keras_budget(student, topic):
        model = student.compile_model(student.probe("plain_model", 5, 1, "sigmoid"))
        call = "compile_model(<a 5 -> 1 sigmoid model>)"
        _check_compiled(judged(student, judge, model, call, loss_on=_BINARY), call, "binary_crossentropy", 1e-3)


# -- training ---------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("train_mlp must return the fitted keras.Model (not the History) within the time budget.")
def test_train_mlp_returns_model(student, judge, topic, notes):
    """train_mlp returns a digits classifier within the training budget"""
    _, (model, seconds) = _trained(student)
    call = f"train_mlp(X_train, y_train, 0) [{seconds:.1f} s of a {topic.train_budget:g} s budget]"
    summary = judged(student, judge, model, call)
    report_training(student, topic, notes, model, seconds, summary)
    assert summary["output_shape"] == [None, 10], f"{call} returned a model with output shape {summary['output_shape']}; expected [None, 10]"


@pytest.mark.points(2)
@pytest.mark.hint("Fit long enough (dozens of epochs on this small set), with a softmax output and sparse categorical "
                  "cross-entropy on the integer labels; watch the validation accuracy.")
def test_train_mlp_heldout_accuracy(student, judge, topic):
    """train_mlp reaches the accuracy bar on digits it never saw"""
    split, (model, _) = _trained(student)
    n = len(split.X_test)
    pred = predictions(student, judge, model, split.X_test, "train_mlp(X_train, y_train, 0)")
    assert pred.shape == (n, 10), f"predicting {n} held-out digits gave shape {pred.shape}; expected ({n}, 10)"
    acc = accuracy(pred, split.y_test)
    assert_at_least(acc, topic.accuracy_bar, f"train_mlp's model classifies {acc:.1%} of {n} held-out digits correctly; "
                    f"the bar is {topic.accuracy_bar:.0%}", floor=topic.accuracy_floor,
                    why=lambda: fit_mistake(accuracy(predictions(student, judge, model, split.X_train, "train_mlp(X_train, y_train, 0)"),
                                             split.y_train), acc, topic.accuracy_bar))
