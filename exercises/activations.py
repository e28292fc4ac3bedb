# Generated from solutions/activations.py by `autograder stubs`: edit the solution, not this file.
"""Activation functions: sigmoid, ReLU and softmax (3Blue1Brown, "Neural networks", chapter 1).

The weighted sum ``z = x @ W + b`` of a neuron can be any real number; the activation function
decides what the neuron passes on. It must be *nonlinear*: a stack of linear layers is itself one
linear layer (``(x @ W1) @ W2 = x @ (W1 @ W2)``), so without a nonlinearity between them extra
layers add nothing a single layer could not do.

* **Sigmoid** ``σ(z) = 1 / (1 + e^(-z))`` squashes ``z`` into ``(0, 1)``; its slope is
  ``σ'(z) = σ(z) (1 - σ(z))``, at most 1/4, and almost 0 for large ``|z|`` (the "vanishing
  gradient" that made deep sigmoid networks slow to train).
* **ReLU** ``max(0, z)`` is what most modern hidden layers use: cheap, and its slope is 1 for every
  positive ``z`` (0 for negative ``z``; we take 0 at ``z = 0`` too, as TensorFlow does).
* **Softmax** ``softmax(z)_k = e^(z_k) / sum_j e^(z_j)`` turns a vector of scores ("logits") into
  probabilities that sum to 1.

Which one for the output layer? **Sigmoid** for a binary output, or for multi-label outputs where
each unit is its own yes/no question; **softmax** for one-of-K outputs, where exactly one class is
right. For two classes they agree: ``softmax([z, 0])[0] == sigmoid(z)``, because
``e^z / (e^z + e^0) = 1 / (1 + e^(-z))``.

Numerical stability is part of correctness. ``np.exp(1000)`` overflows to ``inf``, so:
sigmoid is computed from ``e^(-|z|)``, which is never larger than 1; softmax subtracts the largest
logit first, which changes nothing mathematically (the factor ``e^(-max)`` cancels) but keeps every
exponent ``<= 0``.

The ``_keras`` versions compute the same functions with ``keras.ops`` only, so they run on Keras
tensors under every backend, can be differentiated, and can be passed to a layer as
``keras.layers.Dense(units, activation=sigmoid_keras)``.
"""

from __future__ import annotations

import keras
import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid ``σ(z) = 1 / (1 + e^(-z))``, elementwise and overflow-free.

    With ``e = e^(-|z|)`` (never above 1): ``σ(z) = 1 / (1 + e)`` for ``z >= 0`` and
    ``σ(z) = e / (1 + e)`` for ``z < 0``.

    Args:
        z: array of any shape.

    Returns:
        Array of the same shape with values in ``[0, 1]``.

    Example:
        >>> np.round(sigmoid(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])), 4)
        array([0.    , 0.2689, 0.5   , 0.7311, 1.    ])
    """
    raise NotImplementedError('TODO: never exponentiate a large positive number: work with e^(-|z|) and pick by the sign of z')


def sigmoid_derivative(z: np.ndarray) -> np.ndarray:
    """Slope of the sigmoid, ``σ'(z) = σ(z) (1 - σ(z))``, elementwise.

    Args:
        z: array of any shape (the pre-activations, not ``σ(z)``).

    Returns:
        Array of the same shape with values in ``[0, 0.25]``.

    Example:
        >>> np.round(sigmoid_derivative(np.array([-1000.0, 0.0, 2.0])), 4)
        array([0.   , 0.25 , 0.105])
    """
    raise NotImplementedError('TODO: the derivative is written with the sigmoid itself')


def relu(z: np.ndarray) -> np.ndarray:
    """Rectified linear unit ``max(0, z)``, elementwise.

    Args:
        z: array of any shape.

    Returns:
        Array of the same shape, negative entries replaced by 0.

    Example:
        >>> relu(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 3.])
    """
    raise NotImplementedError('TODO: keep the positive part')


def relu_derivative(z: np.ndarray) -> np.ndarray:
    """Slope of ReLU: 1 where ``z > 0``, else 0 (0 at ``z = 0`` by convention).

    Args:
        z: array of any shape.

    Returns:
        Float array of the same shape holding 0.0 and 1.0.

    Example:
        >>> relu_derivative(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 1.])
    """
    raise NotImplementedError('TODO: slope 1 on the strictly positive side, 0 elsewhere')


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: ``softmax(z)_k = e^(z_k - m) / sum_j e^(z_j - m)``, ``m = max_j z_j``.

    Subtracting the maximum ``m`` leaves the result unchanged and keeps every exponent ``<= 0``.

    Args:
        z: logits, any shape (1-D for one example, ``(batch, K)`` for a batch, or more axes).
        axis: the axis that holds the classes.

    Returns:
        Array of the shape of ``z``, non-negative, summing to 1 along ``axis``.

    Example:
        >>> np.round(softmax(np.array([1.0, 2.0, 3.0])), 4)
        array([0.09  , 0.2447, 0.6652])
        >>> np.round(softmax(np.array([[1000.0, 0.0], [0.0, 0.0]])), 4)
        array([[1. , 0. ],
               [0.5, 0.5]])
    """
    raise NotImplementedError('TODO: shift by the max along the axis (keepdims) before exponentiating, then normalise')


def sigmoid_keras(x):
    """Sigmoid in ``keras.ops`` (same formula as :func:`sigmoid`), usable as a layer activation.

    ``e = exp(-|x|)``; ``where(x >= 0, 1 / (1 + e), e / (1 + e))``. Both branches stay finite, so
    the gradient is finite too, even at ``x = ±1000`` (``where`` differentiates both branches, and a
    branch that overflows poisons the gradient with ``0 * inf = nan``). ``-|x|`` is written as
    ``where(x >= 0, -x, x)`` because the backends give ``abs`` a slope of 0 at ``x = 0``, which would
    make the gradient there 0 instead of ``σ'(0) = 1/4``.

    Args:
        x: Keras/backend tensor of any shape.

    Returns:
        Tensor of the same shape and dtype with values in ``[0, 1]``.

    Example:
        >>> y = sigmoid_keras(keras.ops.convert_to_tensor([-1000.0, 0.0, 2.0]))
        >>> np.round(keras.ops.convert_to_numpy(y), 4)
        array([0.    , 0.5   , 0.8808], dtype=float32)
    """
    raise NotImplementedError('TODO: the stable numpy recipe in keras.ops (exp, where); mind the gradient at exactly 0')


def softmax_keras(x, axis: int = -1):
    """Softmax in ``keras.ops`` (same formula as :func:`softmax`), usable as a layer activation.

    Args:
        x: Keras/backend tensor of logits, any shape.
        axis: the axis that holds the classes.

    Returns:
        Tensor of the same shape and dtype, summing to 1 along ``axis``.

    Example:
        >>> y = softmax_keras(keras.ops.convert_to_tensor([[1000.0, 0.0], [1.0, 1.0]]))
        >>> np.round(keras.ops.convert_to_numpy(y), 4)
        array([[1. , 0. ],
               [0.5, 0.5]], dtype=float32)
    """
    raise NotImplementedError('TODO: the max-shift trick, written with keras.ops (max/sum with keepdims=True)')
