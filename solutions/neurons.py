"""Neurons and layers: what a neural network is (3Blue1Brown, "Neural networks", chapter 1).

A neuron holds a number, its *activation*. Each neuron of the next layer takes a weighted sum of all
activations of the layer before, adds a bias ``b``, and squashes the result with an activation
function. The bias shifts the threshold: the neuron gets excited when the weighted sum exceeds
``-b`` (a bias of -10 means "only fire when the sum is above 10"). For a whole layer and a whole
batch of inputs at once this is one matrix product, in Keras's layout::

    z = x @ W + b          x: (batch, n_in)   W: (n_in, n_out)   b: (n_out,)   z: (batch, n_out)
    a = activation(z)

A fully connected network ("multilayer perceptron") is just these layers composed, so the network is
one big function with many knobs: every weight and every bias is a parameter. The 784-16-16-10
digit network of the video has ``784*16 + 16 + 16*16 + 16 + 16*10 + 10 = 13002`` of them, and
*learning* means finding good values for all of them (chapters 2-4).

The activation function is what makes depth worth having. Without it (or with a linear one) two
layers collapse into one: ``(x @ W1 + b1) @ W2 + b2 = x @ (W1 @ W2) + (b1 @ W2 + b2)``, a single
linear layer, and so does any stack of them. A nonlinearity between the layers (sigmoid, ReLU...)
lets the composition bend, so deeper networks can represent curved decision boundaries that no
single linear layer can (next lesson: ``activations``).

Before learning starts the weights are drawn at random (if they were all equal, every neuron of a
layer would compute the same thing forever). Keras's default, Glorot (Xavier) uniform, draws
``W ~ U(-limit, limit)`` with ``limit = sqrt(6 / (fan_in + fan_out))``, which keeps the size of the
signal roughly the same from layer to layer; biases start at zero.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Activation = Callable[[np.ndarray], np.ndarray]


def dense_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, activation: Activation) -> np.ndarray:
    """One fully connected layer: ``activation(x @ W + b)``.

    Args:
        x: inputs, shape ``(batch, n_in)``.
        W: weights, shape ``(n_in, n_out)`` (row ``i`` holds the weights leaving input ``i``).
        b: biases, shape ``(n_out,)``, broadcast over the batch.
        activation: a function applied elementwise to the weighted sums, e.g. ``np.tanh``.

    Returns:
        The layer's activations, shape ``(batch, n_out)``.

    Example:
        >>> x = np.array([[1.0, 2.0]])
        >>> W = np.array([[1.0, -1.0, 0.5], [0.0, 1.0, 0.5]])
        >>> b = np.array([0.0, 0.0, -1.0])
        >>> dense_forward(x, W, b, lambda z: np.maximum(z, 0.0))
        array([[1. , 1. , 0.5]])
    """
    ### BEGIN SOLUTION every output neuron: weighted sum of all inputs, plus its bias, then squash
    return activation(x @ W + b)
    ### END SOLUTION


def count_parameters(layer_sizes: list[int]) -> int:
    """Number of weights plus biases of a fully connected network.

    A layer from ``n_in`` to ``n_out`` neurons has ``n_in * n_out`` weights and ``n_out`` biases.

    Args:
        layer_sizes: neurons per layer, input layer first, e.g. ``[784, 16, 16, 10]``.

    Returns:
        The total, a Python ``int``.

    Example:
        >>> count_parameters([784, 16, 16, 10])
        13002
        >>> count_parameters([3, 1])
        4
    """
    ### BEGIN SOLUTION sum over consecutive pairs of layers: one weight per connection, one bias per neuron
    return int(sum(n_in * n_out + n_out for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:])))
    ### END SOLUTION


def init_params(layer_sizes: list[int], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random starting parameters: Glorot-uniform weights and zero biases, one pair per layer.

    ``W ~ U(-limit, limit)`` with ``limit = sqrt(6 / (n_in + n_out))`` (Keras's ``glorot_uniform``),
    drawn from ``np.random.default_rng(seed)`` layer after layer, so the same seed gives the same
    network.

    Args:
        layer_sizes: neurons per layer, input layer first.
        seed: seed of the random generator.

    Returns:
        A list of ``len(layer_sizes) - 1`` pairs ``(W, b)``, ``W`` of shape ``(n_in, n_out)`` and
        ``b`` of shape ``(n_out,)``.

    Example:
        >>> params = init_params([4, 3, 2], seed=0)
        >>> [(W.shape, b.shape) for W, b in params]
        [((4, 3), (3,)), ((3, 2), (2,))]
        >>> bool(np.abs(params[0][0]).max() <= np.sqrt(6 / 7)), params[0][1]
        (True, array([0., 0., 0.]))
    """
    ### BEGIN SOLUTION one generator for the whole network; the uniform limit depends on fan-in and fan-out
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        limit = np.sqrt(6.0 / (n_in + n_out))
        W = rng.uniform(-limit, limit, size=(n_in, n_out))
        params.append((W, np.zeros(n_out)))
    return params
    ### END SOLUTION


def mlp_forward(
    x: np.ndarray,
    params: list[tuple[np.ndarray, np.ndarray]],
    hidden_activation: Activation,
    output_activation: Activation,
) -> np.ndarray:
    """Forward pass of a whole multilayer perceptron.

    ``a_0 = x``; ``a_l = hidden_activation(a_{l-1} @ W_l + b_l)`` for every layer but the last,
    which uses ``output_activation``.

    Args:
        x: inputs, shape ``(batch, n_0)``.
        params: list of ``(W, b)`` pairs as returned by :func:`init_params`.
        hidden_activation: activation of every hidden layer.
        output_activation: activation of the last layer.

    Returns:
        The output layer's activations, shape ``(batch, n_L)``.

    Example:
        >>> params = [(np.eye(2), np.zeros(2)), (np.array([[1.0], [1.0]]), np.array([0.5]))]
        >>> mlp_forward(np.array([[1.0, -2.0]]), params, lambda z: np.maximum(z, 0.0), lambda z: z)
        array([[1.5]])
    """
    ### BEGIN SOLUTION feed each layer's activations into the next; only the last layer uses the output activation
    a = x
    for W, b in params[:-1]:
        a = hidden_activation(a @ W + b)
    W, b = params[-1]
    return output_activation(a @ W + b)
    ### END SOLUTION
