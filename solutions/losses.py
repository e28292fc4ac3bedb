"""Loss versus cost, and cross-entropy (3Blue1Brown, "Neural networks", chapter 2).

A **loss** scores one example: how far the network's output ``y_pred`` is from the wanted output
``y_true``. The **cost** is the average of the loss over the whole data set (or over a batch, as an
estimate of it); it is the single number that training drives down. So every loss here returns one
value per example, shape ``(batch,)``, reducing over the last axis like ``keras.losses`` does, and
:func:`cost` takes the mean.

* **L2, mean squared error**: ``mean_k (y_true_k - y_pred_k)^2``. Big mistakes weigh much more
  than small ones. The video's cost of one example *sums* the squares over the 10 outputs,
  ``sum_k (a_k - y_k)^2``; Keras (and this lesson) *averages* them, which is the video's value
  divided by 10: the same minimum, gradients 10 times smaller.
* **L1, mean absolute error**: ``mean_k |y_true_k - y_pred_k|``, more forgiving of outliers.
* **Cross-entropy** for classifiers that output probabilities: ``-log`` of the probability the
  model gave to the right answer. Binary: ``-(y log p + (1 - y) log(1 - p))`` (sigmoid outputs);
  categorical: ``-sum_k y_k log p_k`` with one-hot ``y`` (softmax outputs); sparse categorical: the
  same with the integer label instead of the one-hot vector. ``log`` is the *natural* logarithm
  (``np.log``, base e), as in Keras; ``log2`` or ``log10`` give a different number.

``log(0) = -inf``, so probabilities are first clipped to ``[eps, 1 - eps]`` (Keras does the same with
``eps = 1e-7``): a prediction of exactly 0 for the right class costs ``-log(1e-7) ≈ 16.1``, not
``inf``.

**Probabilities or logits (``from_logits``).** Keras's cross-entropy losses take probabilities by
default: the output layer ends in a softmax (or sigmoid). Alternatively the last layer can stay
linear and output *logits* (raw scores ``z``); then say so with
``keras.losses.SparseCategoricalCrossentropy(from_logits=True)`` (or ``BinaryCrossentropy(from_logits=True)``),
and the loss applies the softmax (sigmoid) itself, in a numerically safer combined form. Mixing them
up is a silent bug: ``from_logits=True`` on an output that is already a softmax applies softmax
twice (the probabilities get squashed towards uniform and training crawls), and the default
``from_logits=False`` on a linear output treats scores as probabilities.

The loss decides *what* is minimised; the optimizer (plain gradient descent, momentum, Adam...)
decides *how* the weights move to minimise it.

**Reading-list errors.** Some course material calls the mean absolute error "L2". It is not: L1 is
the mean *absolute* error, L2 the mean *squared* error (the names come from the L1 and L2 norms
``sum |d|`` and ``sqrt(sum d^2)``).
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """L2 loss per example: ``mean((y_true - y_pred)^2)`` over the last axis.

    Args:
        y_true: targets, shape ``(batch, d)``.
        y_pred: predictions, same shape.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> mean_squared_error(np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [2.0, 2.0]]))
        array([0.5, 4. ])
    """
    ### BEGIN SOLUTION square the differences, then average over the last axis only
    diff = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    return np.mean(np.square(diff), axis=-1)
    ### END SOLUTION


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """L1 loss per example: ``mean(|y_true - y_pred|)`` over the last axis.

    Args:
        y_true: targets, shape ``(batch, d)``.
        y_pred: predictions, same shape.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> mean_absolute_error(np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [2.0, 2.0]]))
        array([0.5, 2. ])
    """
    ### BEGIN SOLUTION absolute differences, averaged over the last axis only
    diff = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    return np.mean(np.abs(diff), axis=-1)
    ### END SOLUTION


def binary_crossentropy(y_true: np.ndarray, y_pred: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Binary cross-entropy per example, averaged over the last axis.

    ``p = clip(y_pred, eps, 1 - eps)``; ``loss = mean(-(y log p + (1 - y) log(1 - p)))``.

    Args:
        y_true: 0/1 targets, shape ``(batch, d)`` (``d`` independent yes/no outputs, often 1).
        y_pred: predicted probabilities of the positive class, same shape.
        eps: clipping margin that keeps ``log`` finite.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> np.round(binary_crossentropy(np.array([[1.0], [0.0], [1.0]]), np.array([[0.9], [0.2], [0.0]])), 4)
        array([ 0.1054,  0.2231, 16.1181])
    """
    ### BEGIN SOLUTION clip the probabilities first, then average the two-term formula over the last axis
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(y_pred, dtype=float), eps, 1.0 - eps)
    return np.mean(-(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)), axis=-1)
    ### END SOLUTION


def categorical_crossentropy(y_true: np.ndarray, y_pred: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Categorical cross-entropy per example: ``-sum_k y_k log(clip(p_k, eps, 1 - eps))``.

    Args:
        y_true: one-hot targets, shape ``(batch, K)``.
        y_pred: predicted class probabilities (rows summing to 1), shape ``(batch, K)``.
        eps: clipping margin that keeps ``log`` finite.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        >>> p = np.array([[0.1, 0.8, 0.1], [0.0, 0.5, 0.5]])
        >>> np.round(categorical_crossentropy(y, p), 4)
        array([ 0.2231, 16.1181])
    """
    ### BEGIN SOLUTION only the log-probability of the true class survives the sum; clip before the log
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(y_pred, dtype=float), eps, 1.0 - eps)
    return -np.sum(y * np.log(p), axis=-1)
    ### END SOLUTION


def sparse_categorical_crossentropy(y_true: np.ndarray, y_pred: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Categorical cross-entropy with integer labels: ``-log(clip(p[i, y_i], eps, 1 - eps))``.

    Equal to :func:`categorical_crossentropy` of the one-hot encoding of ``y_true``, without
    building it.

    Args:
        y_true: integer class labels, shape ``(batch,)``.
        y_pred: predicted class probabilities, shape ``(batch, K)``.
        eps: clipping margin that keeps ``log`` finite.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> p = np.array([[0.1, 0.8, 0.1], [0.0, 0.5, 0.5]])
        >>> np.round(sparse_categorical_crossentropy(np.array([1, 0]), p), 4)
        array([ 0.2231, 16.1181])
    """
    ### BEGIN SOLUTION pick each row's probability of its true class (take_along_axis), clip, -log
    labels = np.asarray(y_true).astype(int)
    p = np.take_along_axis(np.asarray(y_pred, dtype=float), labels[..., None], axis=-1)[..., 0]
    return -np.log(np.clip(p, eps, 1.0 - eps))
    ### END SOLUTION


def cost(loss_fn: Callable[[np.ndarray, np.ndarray], np.ndarray], y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The cost: the mean of the per-example losses, ``(1/N) sum_i loss_fn(y_true, y_pred)_i``.

    Args:
        loss_fn: a per-example loss such as :func:`mean_squared_error`.
        y_true: targets, as ``loss_fn`` expects them.
        y_pred: predictions, as ``loss_fn`` expects them.

    Returns:
        The cost, a Python ``float``.

    Example:
        >>> cost(mean_squared_error, np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [2.0, 2.0]]))
        2.25
    """
    ### BEGIN SOLUTION one number for the whole batch: average the per-example losses
    return float(np.mean(loss_fn(y_true, y_pred)))
    ### END SOLUTION


def categorical_crossentropy_keras(y_true, y_pred):
    """Categorical cross-entropy in ``keras.ops``, usable as ``model.compile(loss=...)``.

    As ``keras.losses.categorical_crossentropy``: rows of ``y_pred`` are renormalised to sum to 1,
    clipped to ``[eps, 1 - eps]`` with ``eps = keras.config.epsilon()`` (1e-7), and
    ``loss = -sum_k y_k log p_k`` over the last axis. Keras then averages the per-example losses
    into the cost itself.

    Args:
        y_true: one-hot targets, float tensor of shape ``(batch, K)`` (in ``model.compile(loss=...)``
            Keras converts the labels to the loss's float dtype before it calls the loss).
        y_pred: predicted probabilities, tensor of shape ``(batch, K)``.

    Returns:
        Per-example losses, tensor of shape ``(batch,)``.

    Example:
        >>> y = keras.ops.convert_to_tensor([[0.0, 1.0, 0.0]])
        >>> p = keras.ops.convert_to_tensor([[0.1, 0.8, 0.1]])
        >>> np.round(keras.ops.convert_to_numpy(categorical_crossentropy_keras(y, p)), 4)
        array([0.2231], dtype=float32)
    """
    ### BEGIN SOLUTION cast y_true to y_pred's dtype; normalise rows, clip, then the same sum as the numpy version
    eps = keras.config.epsilon()
    y_pred = keras.ops.convert_to_tensor(y_pred)
    y_true = keras.ops.cast(y_true, y_pred.dtype)
    p = y_pred / keras.ops.sum(y_pred, axis=-1, keepdims=True)
    p = keras.ops.clip(p, eps, 1.0 - eps)
    return -keras.ops.sum(y_true * keras.ops.log(p), axis=-1)
    ### END SOLUTION
