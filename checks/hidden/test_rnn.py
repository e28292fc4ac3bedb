"""Hidden checks for ``rnn``: the NumPy cell and unrolled RNN against the reference (which equals
``keras.layers.SimpleRNN(return_sequences=True)``), the builder's cells and errors, and ``train_rnn``
on sequences drawn from a secret seed.

Weights are seeded, ``Wx`` non-square and ``Wh`` square but not symmetric, so a transposed weight
matrix gives a wrong answer instead of a lucky right one.
"""

import numpy as np
import pytest

from keras_models import accuracy, judged, keras_budget, predictions, recurrent_kinds, report_training, trained
from autograder.checking import assert_at_least, assert_close, assert_finite, assert_no_warnings, assert_unchanged, fail
from keras_mistakes import (CELL_IGNORED, TANH_OVERFLOWS, UNKNOWN_CELL_ACCEPTED, assert_output, fit_mistake, rnn_mistakes)
from autograder.datasets import make_sequences
from autograder.sandbox.proxy import StudentError

#: Secret seed of the held-out sequences (the public default differs).
HELDOUT_SEED = 4_815_162_342

CELL_LAYERS = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}

#: A generous ceiling: the reference has a few thousand parameters (one recurrent layer of 32 units).
PARAMETER_BUDGET = 200_000

ORDER_HINT = ("Keras' layout: Wx is (features, units), Wh is (units, units) and row i of Wh holds the weights "
              "from previous unit i, so h_prev multiplies Wh from the left, like x_t multiplies Wx. ")


def _weights(rng, batch=3, features=2, units=4):
    x_t = rng.normal(size=(batch, features))
    h_prev = rng.uniform(-0.9, 0.9, size=(batch, units))
    Wx = rng.normal(scale=0.7, size=(features, units))
    Wh = rng.normal(scale=0.7, size=(units, units))
    b = rng.normal(scale=0.3, size=units)
    return x_t, h_prev, Wx, Wh, b


def _trained(student):
    """(split, (model, seconds)): ``train_rnn`` on the grading split's train part, computed once per submission."""
    return trained(student, "train_rnn", make_sequences(heldout_seed=HELDOUT_SEED))


# -- NumPy parts ------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint(ORDER_HINT + "Add the bias, then apply tanh.")
def test_rnn_cell_forward_random(student, reference):
    """rnn_cell_forward matches Keras' SimpleRNN cell on random weights"""
    rng = np.random.default_rng(2718)
    for batch, features, units in ((3, 2, 4), (1, 5, 3)):
        x_t, h_prev, Wx, Wh, b = _weights(rng, batch, features, units)
        call = f"rnn_cell_forward(x_t {x_t.shape}, h_prev {h_prev.shape}, Wx {Wx.shape}, Wh {Wh.shape}, b {b.shape})"
        assert_close(student.rnn_cell_forward(x_t, h_prev, Wx, Wh, b), reference.rnn_cell_forward(x_t, h_prev, Wx, Wh, b), call,
                     misconceptions=rnn_mistakes(reference), args=(x_t, h_prev, Wx, Wh, b))


@pytest.mark.points(1)
@pytest.mark.hint("np.tanh is stable for any input; tanh written with exp overflows (inf / inf = nan) at large |z|.")
def test_rnn_cell_forward_saturates(student, reference):
    """rnn_cell_forward stays finite and warning-free when the pre-activation is ±1000"""
    x_t, h_prev = np.array([[1000.0], [-1000.0]]), np.zeros((2, 2))
    Wx, Wh, b = np.array([[1.0, -1.0]]), np.array([[0.5, -0.2], [0.3, 0.1]]), np.zeros(2)
    call = "rnn_cell_forward([[1000], [-1000]], zeros((2, 2)), Wx=[[1, -1]], Wh, b=0)"
    got = student.rnn_cell_forward(x_t, h_prev, Wx, Wh, b)
    try:
        assert_finite(got, call)
    except AssertionError as exc:
        fail(str(exc), TANH_OVERFLOWS)
    assert_no_warnings(student, call, TANH_OVERFLOWS)
    assert_close(got, reference.rnn_cell_forward(x_t, h_prev, Wx, Wh, b), call)


@pytest.mark.points(2)
@pytest.mark.hint(ORDER_HINT + "Loop over axis 1 (time), feed each new state into the next step, "
                  "and stack all states along axis 1; don't modify h0 or X.")
def test_rnn_forward_random(student, reference):
    """rnn_forward matches SimpleRNN(return_sequences=True) on random sequences, from a non-zero h0"""
    rng = np.random.default_rng(31415)
    X = rng.normal(size=(3, 6, 2))
    _, h0, Wx, Wh, b = _weights(rng, batch=3, features=2, units=4)
    call = "rnn_forward(X (3, 6, 2), h0 (3, 4), Wx (2, 4), Wh (4, 4), b (4,))"
    H, after, _ = student.probe("call_and_inputs", student.rnn_forward, X, h0, Wx, Wh, b)
    assert_close(H, reference.rnn_forward(X, h0, Wx, Wh, b), call, misconceptions=rnn_mistakes(reference),
                 args=(X, h0, Wx, Wh, b))
    for name, before, now in zip(("X", "h0", "Wx", "Wh", "b"), (X, h0, Wx, Wh, b), after):
        assert_unchanged(before, now, name, call)


# -- the model --------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("Take timesteps, features and num_classes from the arguments; return the last state only "
                  "(no return_sequences) into a Dense softmax; keep it small; don't compile.")
def test_build_rnn_contract(student, judge, topic):
    """build_rnn(15, 3, 6, cell='gru') is a small uncompiled (batch, 15, 3) -> (batch, 6) softmax model"""
    with keras_budget(student, topic):
        call = "build_rnn(15, 3, 6, cell='gru')"
        summary = judged(student, judge, student.build_rnn(15, 3, 6, cell="gru"), call)
        assert_output(summary, call, input_shape=[None, 15, 3], units=6, activation="softmax")
        assert summary["params"] <= PARAMETER_BUDGET, \
            f"{call} has {summary['params']:,} parameters; a small recurrent layer needs far fewer than {PARAMETER_BUDGET:,}"


@pytest.mark.points(1)
@pytest.mark.hint("Map the cell name to its Keras layer: 'simple' -> SimpleRNN, 'lstm' -> LSTM, 'gru' -> GRU.")
def test_build_rnn_cells(student, judge, topic):
    """build_rnn uses the recurrent layer that cell names"""
    with keras_budget(student, topic):
        for cell, layer in CELL_LAYERS.items():
            call = f"build_rnn(20, 4, 4, cell={cell!r})"
            kinds = recurrent_kinds(judged(student, judge, student.build_rnn(20, 4, 4, cell=cell), call))
            if not (kinds and set(kinds) == {layer}):
                fail(f"{call} has recurrent layers {kinds}; expected {layer}", CELL_IGNORED if kinds else None)


@pytest.mark.points(1)
@pytest.mark.hint("Reject a cell name you don't know with raise ValueError(...) naming the allowed ones, "
                  "instead of silently using another cell.")
def test_build_rnn_invalid_cell(student, topic):
    """build_rnn(..., cell='transformer') raises ValueError"""
    with keras_budget(student, topic):
        call = "build_rnn(20, 4, 4, cell='transformer')"
        try:
            student.build_rnn(20, 4, 4, cell="transformer")
        except StudentError as exc:
            raised = str(exc).split(":")[0]
            assert raised == "ValueError", f"{call} raised {raised}; expected ValueError"
        else:
            fail(f"{call} returned a model; expected ValueError for an unknown cell", UNKNOWN_CELL_ACCEPTED)


# -- training ---------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("train_rnn must return the fitted keras.Model (not the History) within the time budget.")
def test_train_rnn_returns_model(student, judge, topic, notes):
    """train_rnn returns a sequence classifier within the training budget"""
    _, (model, seconds) = _trained(student)
    call = f"train_rnn(X_train, y_train, 0) [{seconds:.1f} s of a {topic.train_budget:g} s budget]"
    summary = judged(student, judge, model, call)
    report_training(student, topic, notes, model, seconds, summary)
    assert summary["output_shape"] == [None, 4], f"{call} returned a model with output shape {summary['output_shape']}; expected [None, 4]"


@pytest.mark.points(1)
@pytest.mark.hint("The class is a marker early in the sequence: a gated cell (LSTM or GRU) remembers it across "
                  "the noisy steps; train enough epochs with a softmax output.")
def test_train_rnn_heldout_accuracy(student, judge, topic):
    """train_rnn reaches the accuracy bar on sequences it never saw"""
    split, (model, _) = _trained(student)
    n = len(split.X_test)
    pred = predictions(student, judge, model, split.X_test, "train_rnn(X_train, y_train, 0)")
    assert pred.shape == (n, 4), f"predicting {n} held-out sequences gave shape {pred.shape}; expected ({n}, 4)"
    acc = accuracy(pred, split.y_test)
    assert_at_least(acc, topic.accuracy_bar, f"train_rnn's model classifies {acc:.1%} of {n} held-out sequences correctly; the bar is {topic.accuracy_bar:.0%}",
                    floor=topic.accuracy_floor,
                    why=lambda: fit_mistake(accuracy(predictions(student, judge, model, split.X_train, "train_rnn(X_train, y_train, 0)"),
                                             split.y_train), acc, topic.accuracy_bar))
