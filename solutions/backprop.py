"""Backpropagation: what it is doing and its calculus (3Blue1Brown, "Neural networks", chapters 3-4).

Gradient descent needs ``∂C/∂θ`` for every weight and bias. Backpropagation gets them all in one
backward sweep with the chain rule. Each training example "wants" the output layer to move towards
its label; those wishes are passed back, layer by layer, in proportion to the weights that connect
the neurons, and averaged over the examples.

The network of this topic, for a batch ``X`` of ``N`` examples::

    z1 = X @ W1 + b1      h = sigmoid(z1)            (hidden layer)
    z2 = h @ W2 + b2      p = softmax(z2)            (class probabilities)
    C  = (1/N) sum_i -sum_k y_ik log p_ik            (cost: mean categorical cross-entropy)

Going backwards, each line of the chain rule reuses the one before it::

    dz2 = (p - y) / N                 softmax + cross-entropy: the neat "prediction minus target"
    dW2 = hᵀ @ dz2      db2 = sum over the batch of dz2
    dh  = dz2 @ W2ᵀ                   how the cost changes with each hidden activation
    dz1 = dh * h * (1 - h)            times the sigmoid's slope σ'(z1) = h (1 - h)
    dW1 = Xᵀ @ dz1      db1 = sum over the batch of dz1

(``dA`` means ``∂C/∂A``.) The ``1/N`` is there because the cost is the *mean* over the batch. Every
gradient has the shape of the parameter it belongs to, which is a quick check of the algebra; a
numerical gradient (``gradient_descent.numerical_gradient``) is the thorough one.
"""

from __future__ import annotations

import numpy as np

Params = dict[str, np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Overflow-free logistic sigmoid: the one you wrote in the ``activations`` topic."""
    ### BEGIN SOLUTION reuse your stable sigmoid from the activations exercise
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION


def _softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise stable softmax: the one you wrote in the ``activations`` topic."""
    ### BEGIN SOLUTION reuse your stable softmax from the activations exercise
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
    ### END SOLUTION


def _example_params() -> Params:
    """A tiny fixed network (2 inputs, 2 hidden units, 2 classes) for the examples below."""
    return {
        "W1": np.array([[1.0, -1.0], [0.5, 2.0]]),
        "b1": np.array([0.0, 0.1]),
        "W2": np.array([[1.0, -1.0], [-2.0, 0.5]]),
        "b2": np.array([0.2, 0.0]),
    }


def forward(X: np.ndarray, params: Params) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Forward pass: ``h = sigmoid(X @ W1 + b1)``, ``p = softmax(h @ W2 + b2)``.

    Args:
        X: inputs, shape ``(N, n_in)``.
        params: ``{"W1": (n_in, n_hidden), "b1": (n_hidden,), "W2": (n_hidden, K), "b2": (K,)}``.

    Returns:
        ``(p, cache)``: class probabilities of shape ``(N, K)``, and a dict of the intermediate
        values :func:`backward` needs (here ``X``, ``h`` and ``p``).

    Example:
        >>> p, cache = forward(np.array([[1.0, 2.0]]), _example_params())
        >>> np.round(p, 4)
        array([[0.394, 0.606]])
    """
    ### BEGIN SOLUTION two dense layers; remember the inputs and activations the backward pass will need
    X = np.asarray(X, dtype=float)
    h = _sigmoid(X @ params["W1"] + params["b1"])
    p = _softmax(h @ params["W2"] + params["b2"])
    return p, {"X": X, "h": h, "p": p}
    ### END SOLUTION


def backward(y_onehot: np.ndarray, params: Params, cache: dict[str, np.ndarray]) -> Params:
    """Backward pass: gradients of the mean categorical cross-entropy for every parameter.

    ``dz2 = (p - y) / N``; ``dW2 = hᵀ dz2``; ``db2 = Σ_batch dz2``; ``dz1 = (dz2 W2ᵀ) ⊙ h ⊙ (1 - h)``;
    ``dW1 = Xᵀ dz1``; ``db1 = Σ_batch dz1``.

    Args:
        y_onehot: one-hot targets, shape ``(N, K)``.
        params: the parameters used in the forward pass (left unchanged).
        cache: the cache returned by :func:`forward`.

    Returns:
        ``{"W1", "b1", "W2", "b2"}`` → gradient arrays with the shapes of the parameters.

    Example:
        >>> params = _example_params()
        >>> p, cache = forward(np.array([[1.0, 2.0]]), params)
        >>> grads = backward(np.array([[1.0, 0.0]]), params, cache)
        >>> {k: g.shape for k, g in grads.items()}
        {'W1': (2, 2), 'b1': (2,), 'W2': (2, 2), 'b2': (2,)}
        >>> np.round(grads["b2"], 4)
        array([-0.606,  0.606])
    """
    ### BEGIN SOLUTION start from (p - y) / N at the output and apply the chain rule layer by layer
    X, h, p = cache["X"], cache["h"], cache["p"]
    dz2 = (p - np.asarray(y_onehot, dtype=float)) / len(X)
    dh = dz2 @ params["W2"].T
    dz1 = dh * h * (1.0 - h)
    return {
        "W1": X.T @ dz1,
        "b1": dz1.sum(axis=0),
        "W2": h.T @ dz2,
        "b2": dz2.sum(axis=0),
    }
    ### END SOLUTION


def train_step(X: np.ndarray, y_onehot: np.ndarray, params: Params, learning_rate: float) -> tuple[Params, float]:
    """One gradient-descent step on the whole batch: forward, cost, backward, update.

    ``θ ← θ - learning_rate * ∂C/∂θ`` for each of ``W1, b1, W2, b2``.

    Args:
        X: inputs, shape ``(N, n_in)``.
        y_onehot: one-hot targets, shape ``(N, K)``.
        params: current parameters (left unchanged).
        learning_rate: step size ``η``.

    Returns:
        ``(new_params, cost)``: a new parameter dict, and the mean categorical cross-entropy of the
        batch *before* the step, as a Python ``float`` (probabilities clipped to
        ``[1e-7, 1 - 1e-7]``).

    Example:
        >>> X, y = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> params, first = train_step(X, y, _example_params(), learning_rate=1.0)
        >>> params, second = train_step(X, y, params, learning_rate=1.0)
        >>> round(first, 4), bool(second < first)
        (0.5774, True)
    """
    ### BEGIN SOLUTION forward, cost of the current parameters, backward, then new arrays θ - η·grad
    p, cache = forward(X, params)
    p_clipped = np.clip(p, 1e-7, 1.0 - 1e-7)
    cost = float(np.mean(-np.sum(np.asarray(y_onehot, dtype=float) * np.log(p_clipped), axis=-1)))
    grads = backward(y_onehot, params, cache)
    new_params = {name: params[name] - learning_rate * grads[name] for name in grads}
    return new_params, cost
    ### END SOLUTION
