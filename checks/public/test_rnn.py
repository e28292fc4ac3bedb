"""Self-checks for ``rnn``: one cell step worked by hand, the first step of ``rnn_forward``, the builder.

Cheap, but for one short training run in a self-check only (``selfcheck``, never graded: grading
trains once, in the hidden checks, on data students can't have); the hidden checks grade random weights, every step, the three cells and
``train_rnn`` on held-out sequences.
"""

import numpy as np
import pytest

from keras_models import judged, keras_budget, layer_kinds, recurrent_kinds, selfcheck_training
from autograder.checking import assert_close, fail
from autograder.datasets import make_sequences
from keras_mistakes import STATES_TIME_FIRST, assert_output


@pytest.mark.points(1)
@pytest.mark.hint("Wh has shape (units, units): row i holds the weights from previous unit i to every new unit, "
                  "so the previous state multiplies it from the left, like x_t multiplies Wx.")
def test_rnn_cell_forward_small_example(student):
    """rnn_cell_forward of one input and a two-unit state, worked by hand"""
    x_t, h_prev = np.array([[2.0]]), np.array([[1.0, 0.0]])
    Wx, Wh, b = np.array([[0.5, -0.5]]), np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([0.0, 0.5])
    # x_t @ Wx = [1, -1], h_prev @ Wh = [0, 1], + b -> [1, 0.5]
    expected = np.tanh(np.array([[1.0, 0.5]]))
    call = "rnn_cell_forward([[2]], [[1, 0]], Wx=[[0.5, -0.5]], Wh=[[0, 1], [0, 0]], b=[0, 0.5])"
    assert_close(student.rnn_cell_forward(x_t, h_prev, Wx, Wh, b), expected, call)


@pytest.mark.points(1)
@pytest.mark.hint("Return every hidden state, stacked along axis 1: (batch, timesteps, units); "
                  "with h0 = 0 the first state depends on the first input only.")
def test_rnn_forward_shape_and_first_step(student):
    """rnn_forward returns (batch, timesteps, units) and its first state is one cell step"""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(2, 3, 2))
    Wx, Wh, b = rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), rng.normal(size=4)
    call = "rnn_forward(X of shape (2, 3, 2), h0=zeros((2, 4)), Wx (2, 4), Wh (4, 4), b (4,))"
    H = np.asarray(student.rnn_forward(X, np.zeros((2, 4)), Wx, Wh, b))
    if H.shape != (2, 3, 4):
        fail(f"{call} returned shape {H.shape}; expected (2, 3, 4) = (batch, timesteps, units)",
             STATES_TIME_FIRST if H.shape == (3, 2, 4) else None)
    assert_close(H[:, 0], np.tanh(X[:, 0] @ Wx + b), call, what="has first states H[:, 0] =")


@pytest.mark.points(1)
@pytest.mark.hint("The default cell is an LSTM layer reading (timesteps, features) sequences, "
                  "then a Dense softmax with one unit per class; don't compile.")
def test_build_rnn_default_lstm(student, judge, topic):
    """build_rnn(20, 4, 4) is an uncompiled LSTM classifier with 4 softmax outputs"""
    with keras_budget(student, topic):
        call = "build_rnn(20, 4, 4)"
        summary = judged(student, judge, student.build_rnn(20, 4, 4), call)
        assert_output(summary, call, input_shape=[None, 20, 4], units=4, activation="softmax", uncompiled=False)
        kinds = layer_kinds(summary)
        assert "LSTM" in recurrent_kinds(summary), \
            f"{call} has layers {kinds}; the default cell='lstm' needs an LSTM layer"
        assert not summary["compiled"], f"{call} returned a compiled model; a builder leaves compiling to the caller"


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("A gated cell (LSTM or GRU) remembers the early marker; train enough epochs with a softmax output; compare your curve with the reference's band.")
def test_selfcheck_train_rnn(student, judge, topic, notes):
    """train_rnn on public sequences: accuracy against the bar, time, size, memory and learning curve"""
    selfcheck_training(student, judge, topic, notes, "train_rnn", make_sequences(), "sequences")
