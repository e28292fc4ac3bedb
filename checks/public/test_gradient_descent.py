"""Self-checks for ``gradient_descent``: hand-worked values and properties, no reference solution."""

import numpy as np
import pytest

from autograder.checking import assert_close, assert_docstring_examples, assert_unchanged, show
from autograder.sandbox.proxy import Remote, fn


def _batches(result) -> list:
    """The items of what ``minibatches`` returned: a generator stays in the sandbox, a list travels."""
    return result.collect() if isinstance(result, Remote) else list(result)


@pytest.mark.points(1)
@pytest.mark.hint("Central differences: (f(x + h e_i) - f(x - h e_i)) / (2h), one entry i at a time.")
def test_numerical_gradient_of_a_quadratic(student):
    """numerical_gradient of sum((x - 3)^2) is 2 (x - 3)"""
    # Central differences are exact on a quadratic, whatever h; one-sided ones are off by h.
    x = np.array([0.0, 1.0, 4.5, -2.0])
    got = student.numerical_gradient(fn("probe:quadratic"), x, 0.01)
    assert_close(got, 2.0 * (x - 3.0), "numerical_gradient(f = sum((x - 3)^2), x = [0, 1, 4.5, -2], h=0.01)", rtol=1e-6, atol=1e-6)


@pytest.mark.points(1)
@pytest.mark.hint("history starts with x0 and gets one new point per step: n_steps + 1 points in all.")
def test_gradient_descent_history_starts_at_x0(student):
    """gradient_descent returns every point visited, x0 first"""
    # f = sum((x - 3)^2), gradient 2 (x - 3); with learning rate 0.25 each step halves the distance to 3.
    x0 = np.array([5.0, 1.0])
    call = "gradient_descent(grad of sum((x - 3)^2), x0 = [5, 1], learning_rate=0.25, n_steps=3)"
    x_final, history = student.gradient_descent(fn("probe:quadratic_grad"), x0, 0.25, 3)
    expected = [[5.0, 1.0], [4.0, 2.0], [3.5, 2.5], [3.25, 2.75]]
    assert len(history) == 4, f"{call} returned a history of {len(history)} points; expected 4 (x0 and one per step)"
    assert_close(history[0], expected[0], call, what="returned history[0] =")
    assert_close(np.asarray(history, dtype=float), expected, call, what="returned the history")
    assert_close(x_final, expected[-1], call, what="returned x_final =")


@pytest.mark.points(1)
@pytest.mark.hint("Each parameter moves against its own gradient: p - learning_rate * g.")
def test_sgd_update_small_example(student):
    """sgd_update on two small parameter arrays"""
    params = [np.array([1.0, 2.0]), np.array([[3.0, -1.0]])]
    grads = [np.array([1.0, -1.0]), np.array([[2.0, 0.0]])]
    call = "sgd_update([[1, 2], [[3, -1]]], grads=[[1, -1], [[2, 0]]], learning_rate=0.5)"
    got = student.sgd_update(params, grads, 0.5)
    assert isinstance(got, list) and len(got) == 2, f"{call} returned {show(got)}; expected a list of 2 arrays"
    assert_close(got[0], [0.5, 2.5], call, what="returned new_params[0] =")
    assert_close(got[1], [[2.0, -1.0]], call, what="returned new_params[1] =")


@pytest.mark.points(1)
@pytest.mark.hint("Slice the shuffled indices in steps of batch_size; the last batch keeps what is left, even if it is smaller.")
def test_minibatches_cover_every_example_once(student):
    """minibatches: every example exactly once, in batches of batch_size, the last one smaller"""
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.arange(10)
    call = "minibatches(X of shape (10, 2), y = [0..9], batch_size=4, seed=0)"
    batches = _batches(student.minibatches(X, y, 4, 0))
    sizes = [len(np.atleast_1d(yb)) for _, yb in batches]
    assert sizes == [4, 4, 2], f"{call} gave batches of sizes {sizes}; expected [4, 4, 2]"
    seen = np.concatenate([np.asarray(yb) for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(10)), f"{call} gave the labels {seen.tolist()}; expected each of 0..9 exactly once"
    for Xb, yb in batches:
        assert_close(Xb, X[np.asarray(yb)], call, what="gave a batch whose X rows do not belong to its y labels:")


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Each docstring shows calls (>>> lines) and what they give; run them yourself "
                  "(python -m doctest -v gradient_descent.py) and compare. Run by `autograder check` only; it earns no points.")
def test_docstring_examples(student):
    """the examples in the docstrings give what they show (self-check only)"""
    assert_docstring_examples(student, "sgd_update", budget=90)


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Return new arrays: `p -= ...`, `v *= ...` or `x[i] = ...` on an argument changes the caller's array.")
def test_selfcheck_inputs_unchanged(student):
    """sgd_update, momentum_update and numerical_gradient leave their inputs unchanged (self-check only)"""
    params, grads, velocities = [np.array([1.0, 2.0])], [np.array([0.5, -0.5])], [np.array([0.1, 0.1])]
    call = "sgd_update([[1, 2]], [[0.5, -0.5]], 0.1)"
    _, after, _ = student.probe("call_and_inputs", student.sgd_update, params, grads, 0.1)
    assert_unchanged(params[0], after[0][0], "params[0]", call)
    call = "momentum_update([[1, 2]], [[0.5, -0.5]], [[0.1, 0.1]], 0.1, 0.9)"
    _, after, _ = student.probe("call_and_inputs", student.momentum_update, params, grads, velocities, 0.1, 0.9)
    assert_unchanged(params[0], after[0][0], "params[0]", call)
    assert_unchanged(velocities[0], after[2][0], "velocities[0]", call)
    x = np.array([1.0, -2.0])
    call = "numerical_gradient(sum((x - 3)^2), [1, -2])"
    _, after, _ = student.probe("call_and_inputs", student.numerical_gradient, fn("probe:quadratic"), x.copy())
    assert_unchanged(x, after[1], "x", call)
