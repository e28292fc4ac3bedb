"""Self-checks for ``backprop``: a hand-worked forward pass, gradient shapes, one training step.

No reference solution here: the expected numbers were worked out once and written down.
"""

import numpy as np
import pytest

from autograder.checking import assert_close, assert_docstring_examples, assert_no_warnings, show

KEYS = ("W1", "b1", "W2", "b2")


def _tiny_params() -> dict:
    """2 inputs, 3 hidden units, 2 classes."""
    return {
        "W1": np.array([[0.5, -1.0, 0.0], [1.0, 0.5, -0.5]]),
        "b1": np.array([0.0, 0.5, -0.5]),
        "W2": np.array([[1.0, 0.0], [-1.0, 2.0], [0.5, -0.5]]),
        "b2": np.array([0.1, -0.1]),
    }


@pytest.mark.points(1)
@pytest.mark.hint("h = sigmoid(X @ W1 + b1), then p = softmax(h @ W2 + b2) row by row.")
def test_forward_on_a_tiny_network(student):
    """forward on a 2-3-2 network gives the probabilities worked out by hand"""
    X = np.array([[1.0, -1.0], [0.0, 2.0]])
    call = "forward(X = [[1, -1], [0, 2]], params of a 2-3-2 network)"
    p, _ = student.forward(X, _tiny_params())
    assert_close(p, [[0.567269, 0.432731], [0.233348, 0.766652]], call, rtol=0, atol=2e-6, what="returned p =")


@pytest.mark.points(1)
@pytest.mark.hint("Every gradient has the shape of its parameter: dW = (layer input)ᵀ @ dz, db sums dz over the batch.")
def test_backward_gives_one_gradient_per_parameter(student):
    """backward returns a gradient for W1, b1, W2 and b2, each with its parameter's shape"""
    params = _tiny_params()
    X = np.array([[1.0, -1.0], [0.0, 2.0], [0.5, 0.5]])
    y = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    call = "backward(y of shape (3, 2), params of a 2-3-2 network, cache of forward on 3 examples)"
    _, cache = student.forward(X, params)
    grads = student.backward(y, params, cache)
    assert isinstance(grads, dict), f"{call} returned {show(grads)}; expected a dict with keys {list(KEYS)}"
    assert sorted(grads) == sorted(KEYS), f"{call} returned the keys {sorted(grads)}; expected {sorted(KEYS)}"
    for key in KEYS:
        assert np.shape(grads[key]) == params[key].shape, (
            f"{call} returned a gradient {key} of shape {np.shape(grads[key])}; expected {params[key].shape}, the shape of {key}")


@pytest.mark.points(1)
@pytest.mark.hint("Compute the cost from the forward pass of the parameters you were given, before updating them.")
def test_train_step_reports_the_cost_before_its_step(student):
    """train_step from all-zero weights reports cost log(3), then the cost keeps falling"""
    # With zero weights every class gets probability 1/3, so the cost before the first step is log 3.
    params = {"W1": np.zeros((2, 3)), "b1": np.zeros(3), "W2": np.zeros((3, 3)), "b2": np.zeros(3)}
    X = np.array([[1.0, -1.0], [0.0, 2.0], [0.5, 0.5], [-1.0, 0.0]])
    y = np.eye(3)[[0, 0, 0, 1]]
    call = "train_step(X of shape (4, 2), y of shape (4, 3), all-zero params, learning_rate=0.5)"
    costs = []
    for _ in range(4):
        params, cost = student.train_step(X, y, params, 0.5)
        costs.append(float(cost))
    assert abs(costs[0] - np.log(3)) < 1e-6, f"{call} returned the cost {costs[0]:.6f}; expected log(3) = {np.log(3):.6f}, the cost before the step"
    assert all(b < a for a, b in zip(costs, costs[1:])), f"four train_step calls in a row returned the costs {show(costs)}; expected them to fall"


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Each docstring shows calls (>>> lines) and what they give; run them yourself "
                  "(python -m doctest -v backprop.py) and compare. Run by `autograder check` only; it earns no points.")
def test_docstring_examples(student):
    """the examples in the docstrings give what they show (self-check only)"""
    assert_docstring_examples(student, "forward", budget=90)


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Pre-activations of ±1000 must not overflow: use the stable sigmoid and softmax of the "
                  "activations topic.")
def test_selfcheck_forward_stable_at_large_weights(student):
    """forward with weights of ±1000 gives finite probabilities, no warnings (self-check only)"""
    params = {"W1": np.array([[1000.0, -1000.0]]), "b1": np.zeros(2),
              "W2": np.array([[1000.0, -1000.0], [-1000.0, 1000.0]]), "b2": np.zeros(2)}
    call = "forward([[1], [-1]], params with weights of ±1000)"
    p, _ = student.forward(np.array([[1.0], [-1.0]]), params)
    # h = [[1, 0], [0, 1]], so the logits are [[1000, -1000], [-1000, 1000]]
    assert_close(p, np.array([[1.0, 0.0], [0.0, 1.0]]), call, what="returned p =")
    assert_no_warnings(student, call)
