# Generated from solutions/gradient_descent.py by `autograder stubs`: edit the solution, not this file.
"""Gradient descent: how neural networks learn (3Blue1Brown, "Neural networks", chapter 2).

Learning is minimising the cost ``C(θ)``, a function of every weight and bias ``θ``. The gradient
``∇C`` points in the direction in which ``C`` increases fastest, so a small step against it lowers
the cost::

    θ ← θ - η ∇C(θ)          (η: the learning rate)

Its entries also say how *sensitive* the cost is to each parameter: which nudges matter most.

**The learning rate.** Too small, and every step is tiny: the cost falls, but so slowly that training
runs out of epochs long before the minimum. Too large, and a step jumps over the valley to a point
higher up the other side: the cost oscillates or grows without bound (for ``f(x) = x^2`` the step is
``x ← (1 - 2η) x``, which shrinks for ``0 < η < 1`` and blows up for ``η > 1``). Plot the cost per
epoch: a steady fall is right, a crawl means "larger", a zig-zag or an explosion means "smaller".

* **Numerical gradient.** ``∂f/∂x_i ≈ (f(x + h e_i) - f(x - h e_i)) / 2h`` (centred differences,
  error ``O(h^2)``). Too slow for training (two evaluations per parameter) but the standard check
  that an analytic gradient, e.g. backpropagation's, is right.
* **Mini-batch stochastic gradient descent.** The true gradient averages over the whole data set;
  the video's "drunk man stumbling downhill" instead shuffles the data, splits it into mini-batches
  and takes one step per batch, using that batch's gradient as a cheap estimate. The weights are
  updated after *every batch*; an *epoch* is one pass over the whole data set (so one epoch makes
  ``ceil(N / batch_size)`` updates). Each epoch shuffles again, in a new order: with the same order
  every epoch the same batches pull the weights the same way each time.
  To follow training, record the cost of the *whole* data set after each epoch: one batch's cost is
  a noisy sample of it, and Keras's ``History`` reports something else again (the mean of the batch
  losses met during the epoch, while the weights kept changing).
* **Momentum.** A velocity accumulates past gradients, ``v ← μ v - η g``, ``θ ← θ + v`` (the rule of
  ``keras.optimizers.SGD(learning_rate=η, momentum=μ)``), which smooths the zig-zag of plain steps.

* **Adam** (``keras.optimizers.Adam``, the usual default) keeps, per parameter, a running mean of
  the gradients (like momentum) and a running mean of their squares, and divides the first by the
  square root of the second: every parameter gets its own step size, about ``η`` in size whatever
  the scale of its gradient. It is forgiving of the learning rate, which is why ``1e-3`` works for
  most models.

The loss decides *what* is minimised; the optimizer (plain steps, momentum, Adam...) decides *how*
the parameters move. :func:`train_logistic_regression` puts everything together for the simplest
network there is: one sigmoid neuron trained with binary cross-entropy, whose gradient with respect
to the weighted sum is simply ``p - y``.

**Reading-list errors.** Some course material says the weights are updated "after each epoch". With
mini-batch training they are updated after *every batch*; the epoch is only the unit of counting
(one pass over the data). Updating once per epoch is full-batch gradient descent.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Overflow-free logistic sigmoid: the one you wrote in the ``activations`` topic."""
    raise NotImplementedError('TODO: reuse your stable sigmoid from the activations exercise')


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of a scalar function by centred differences.

    ``grad_i = (f(x + h e_i) - f(x - h e_i)) / (2 h)`` for every entry ``i`` of ``x``.

    Args:
        f: function of an array of ``x``'s shape, returning a scalar.
        x: the point, array of any shape (left unchanged).
        h: the step.

    Returns:
        Float array of the shape of ``x``.

    Example:
        >>> np.round(numerical_gradient(lambda v: np.sum(v ** 2), np.array([1.0, -2.0, 3.0])), 6)
        array([ 2., -4.,  6.])
    """
    raise NotImplementedError('TODO: nudge one entry at a time up and down by h (on a float copy of x)')


def gradient_descent(
    grad_fn: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    learning_rate: float,
    n_steps: int,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Plain gradient descent: ``x_{t+1} = x_t - learning_rate * grad_fn(x_t)``, ``n_steps`` times.

    Args:
        grad_fn: gradient of the function to minimise, maps an array to an array of its shape.
        x0: starting point, array of any shape (left unchanged).
        learning_rate: step size ``η``.
        n_steps: number of steps.

    Returns:
        ``(x_final, history)``: the last point and the list of every point visited, ``x0`` first
        (``n_steps + 1`` arrays).

    Example:
        >>> x, history = gradient_descent(lambda x: 2 * x, np.array([4.0]), learning_rate=0.25, n_steps=3)
        >>> x, len(history), history[:2]
        (array([0.5]), 4, [array([4.]), array([2.])])
    """
    raise NotImplementedError('TODO: step against the gradient; record a copy of every point, starting with x0')


def sgd_update(params: list[np.ndarray], grads: list[np.ndarray], learning_rate: float) -> list[np.ndarray]:
    """One gradient-descent step on a list of parameter arrays: ``p - learning_rate * g`` each.

    Args:
        params: parameter arrays (left unchanged).
        grads: gradients, one array of the same shape per parameter.
        learning_rate: step size ``η``.

    Returns:
        A new list of new arrays.

    Example:
        >>> sgd_update([np.array([1.0, 2.0]), np.array([3.0])], [np.array([1.0, -1.0]), np.array([2.0])], 0.5)
        [array([0.5, 2.5]), array([2.])]
    """
    raise NotImplementedError('TODO: build new arrays; never modify the ones you were given')


def momentum_update(
    params: list[np.ndarray],
    grads: list[np.ndarray],
    velocities: list[np.ndarray],
    learning_rate: float,
    momentum: float,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One step of gradient descent with momentum, as ``keras.optimizers.SGD(learning_rate, momentum)``.

    ``v ← momentum * v - learning_rate * g``; ``p ← p + v``.

    Args:
        params: parameter arrays (left unchanged).
        grads: gradients, one per parameter.
        velocities: current velocities, one per parameter (zeros at the start; left unchanged).
        learning_rate: step size ``η``.
        momentum: how much of the old velocity is kept, ``μ`` in ``[0, 1)``.

    Returns:
        ``(new_params, new_velocities)``, two new lists of new arrays.

    Example:
        >>> p, v = momentum_update([np.array([1.0])], [np.array([2.0])], [np.array([0.0])], 0.1, 0.9)
        >>> p, v = momentum_update(p, [np.array([2.0])], v, 0.1, 0.9)
        >>> [np.round(a, 4) for a in p + v]
        [array([0.42]), array([-0.38])]
    """
    raise NotImplementedError('TODO: update each velocity first, then move each parameter by its new velocity')


def minibatches(X: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of shuffled mini-batches.

    The order is ``np.random.default_rng(seed).permutation(len(X))``, cut into consecutive slices of
    ``batch_size``; the last batch holds what is left (it may be smaller). Every example appears in
    exactly one batch.

    Args:
        X: inputs, shape ``(N, ...)``.
        y: targets, shape ``(N, ...)``, kept aligned with ``X``.
        batch_size: examples per batch.
        seed: seed of the shuffle.

    Yields:
        ``(X_batch, y_batch)`` pairs, ``ceil(N / batch_size)`` of them.

    Example:
        >>> X, y = np.arange(10).reshape(5, 2), np.arange(5)
        >>> [yb.tolist() for _, yb in minibatches(X, y, batch_size=2, seed=0)]
        [[2, 4], [3, 0], [1]]
    """
    raise NotImplementedError('TODO: shuffle the indices once with the seeded generator, then slice them batch by batch')


def train_logistic_regression(
    X: np.ndarray,
    y: np.ndarray,
    learning_rate: float = 0.1,
    epochs: int = 100,
    batch_size: int = 32,
    seed: int = 0,
) -> tuple[np.ndarray, float, list[float]]:
    """Train one sigmoid neuron ``p = σ(X @ w + b)`` by mini-batch gradient descent on binary cross-entropy.

    Start from ``w = 0``, ``b = 0``. Epoch ``e`` (counting from 0) walks through
    ``minibatches(X, y, batch_size, seed + e)`` and after *every* batch steps
    ``w ← w - η X_bᵀ(p - y_b) / n_b``, ``b ← b - η mean(p - y_b)``, the gradient of the batch's mean
    binary cross-entropy. After each epoch it records the cost on the full data set,
    ``mean(-(y log p + (1 - y) log(1 - p)))`` with ``p`` clipped to ``[1e-7, 1 - 1e-7]``.

    Args:
        X: inputs, shape ``(N, n_features)``.
        y: 0/1 labels, shape ``(N,)``.
        learning_rate: step size ``η``.
        epochs: passes over the data.
        batch_size: examples per update.
        seed: base seed of the shuffles; the same seed gives the same result.

    Returns:
        ``(w, b, costs)``: weights of shape ``(n_features,)``, the bias as a Python ``float`` and the
        list of ``epochs`` full-data costs (floats).

    Example:
        >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
        >>> y = np.array([0, 0, 1, 1])
        >>> w, b, costs = train_logistic_regression(X, y, learning_rate=0.5, epochs=20, batch_size=2)
        >>> bool(w[0] > 0), len(costs), bool(costs[-1] < costs[0])
        (True, 20, True)
    """
    raise NotImplementedError('TODO: per batch: error p - y, one averaged gradient step; after each epoch the full-data cost')
