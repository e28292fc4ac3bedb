"""Recurrent networks.

Lesson
------
A sequence arrives one step at a time: ``X`` has shape ``(batch, timesteps, features)``. A recurrent
layer reads it in order and carries a *hidden state* ``h`` (shape ``(batch, units)``) from step to
step, its memory of everything seen so far. The simple (Elman) cell is

    h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)

with Keras' weight names ``kernel = Wx`` ``(features, units)``, ``recurrent_kernel = Wh``
``(units, units)`` and ``bias = b`` ``(units,)``; the *same* weights are used at every step, and
``h_0`` is zeros. ``keras.layers.SimpleRNN(units)`` returns the last state ``h_T`` ``(batch, units)``;
with ``return_sequences=True`` it returns every state, ``(batch, timesteps, units)``.

To train it, *unroll* the loop: written out for ``T`` steps, the RNN is an ordinary feed-forward
network ``T`` layers deep, one layer per time step, in which every layer shares the same ``Wx``,
``Wh`` and ``b``. Backpropagation on that unrolled network is *backpropagation through time*
(BPTT): the error flows back from the last step to the first, and each shared weight's gradient is
the sum of its gradients at every step. Going back one step multiplies by ``Wh`` (and tanh's
derivative), so after many steps gradients from early steps tend to vanish (or, with large
weights, explode): a SimpleRNN struggles to remember something seen many steps ago. ``LSTM`` and
``GRU`` cells add *gates* (sigmoid units that decide what to keep, forget and output) and an additive
memory path, which lets them remember across long gaps. They take the same input and give the same
output shapes, so swapping the cell is one line.

A sequence classifier: a recurrent layer that returns its last state, then
``Dense(num_classes, activation="softmax")``, trained with ``sparse_categorical_crossentropy`` on
integer labels. A model that only looks at the last time step cannot solve a task whose answer was
given early in the sequence; a recurrent one can.
"""

from __future__ import annotations

import keras
import numpy as np


def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):
    """One step of a simple RNN: ``tanh(x_t @ Wx + h_prev @ Wh + b)``.

    Args:
        x_t: ``(batch, features)`` inputs at this step.
        h_prev: ``(batch, units)`` hidden state of the previous step.
        Wx: ``(features, units)`` (Keras ``kernel``); Wh: ``(units, units)`` (``recurrent_kernel``);
        b: ``(units,)`` (``bias``).

    Returns:
        ``(batch, units)`` new hidden state, every entry in (-1, 1).

    >>> x_t, h_prev = np.array([[1.0, 2.0]]), np.array([[0.5]])
    >>> rnn_cell_forward(x_t, h_prev, Wx=np.array([[0.1], [0.2]]), Wh=np.array([[2.0]]), b=np.array([-1.5]))
    array([[0.]])
    """
    ### BEGIN SOLUTION one affine map of the input plus one of the previous state, squashed by tanh
    return np.tanh(x_t @ Wx + h_prev @ Wh + b)
    ### END SOLUTION


def rnn_forward(X, h0, Wx, Wh, b):
    """Run the simple RNN cell over every time step; return all hidden states.

    Equals ``keras.layers.SimpleRNN(units, return_sequences=True)`` with weights ``[Wx, Wh, b]``: called
    as ``layer(X)`` when ``h0`` is zeros (Keras' default), as ``layer(X, initial_state=[h0])`` otherwise.

    Args:
        X: ``(batch, timesteps, features)``; h0: ``(batch, units)`` initial state.

    Returns:
        ``(batch, timesteps, units)``: ``H[:, t]`` is the state after reading step ``t``.

    >>> X = np.ones((1, 3, 1))  # one sequence of three steps, each input 1
    >>> rnn_forward(X, np.zeros((1, 1)), Wx=np.array([[1.0]]), Wh=np.array([[0.0]]), b=np.zeros(1)).round(4)
    array([[[0.7616],
            [0.7616],
            [0.7616]]])
    """
    ### BEGIN SOLUTION loop over the time axis, feeding each new state into the next step; stack the states
    h = h0
    states = []
    for t in range(X.shape[1]):
        h = rnn_cell_forward(X[:, t, :], h, Wx, Wh, b)
        states.append(h)
    return np.stack(states, axis=1)
    ### END SOLUTION


def build_rnn(timesteps, features, num_classes, cell="lstm"):
    """An uncompiled sequence classifier: one recurrent layer (``"simple"``, ``"lstm"`` or ``"gru"``), then softmax.

    Maps ``(batch, timesteps, features)`` to ``(batch, num_classes)`` probabilities.

    >>> model = build_rnn(20, 4, 4, cell="gru")
    >>> model.output_shape, type(model.layers[0]).__name__
    ((None, 4), 'GRU')
    >>> build_rnn(20, 4, 4, cell="transformer")
    Traceback (most recent call last):
    ...
    ValueError: cell must be one of 'simple', 'lstm', 'gru'; got 'transformer'
    """
    ### BEGIN SOLUTION map the cell name to its Keras layer class (reject others), then Input -> recurrent layer -> softmax
    layers = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
    if cell not in layers:
        raise ValueError(f"cell must be one of 'simple', 'lstm', 'gru'; got {cell!r}")
    return keras.Sequential([
        keras.Input(shape=(timesteps, features)),
        layers[cell](32),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    ### END SOLUTION


def train_rnn(X_train, y_train, seed=0):
    """Train a recurrent classifier on the course's sequences (``(batch, timesteps, features)``); return it.

    Reproducible with ``seed`` (``keras.utils.set_random_seed``). Graded on held-out sequences against
    an accuracy bar and a time budget.
    """
    ### BEGIN SOLUTION seed, a gated cell (it must remember an early marker), compile, fit until it has learnt
    keras.utils.set_random_seed(seed)
    num_classes = int(np.max(y_train)) + 1
    model = build_rnn(X_train.shape[1], X_train.shape[2], num_classes, cell="lstm")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=5e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=15, batch_size=64, verbose=0)
    return model
    ### END SOLUTION
