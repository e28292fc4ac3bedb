"""Hidden checks for ``backprop``.

Oracles, written here in NumPy independently of the reference solution: the network and its
gradients in closed form (log-softmax, tanh-form sigmoid), and centred finite differences of the
cost. ``backward`` always gets the cache of the student's own ``forward``, since the cache's
contents are the student's choice.

These checks deliberately do not use the ``reference`` fixture: loading a reference puts a lazy
``keras`` module into the grader process, and pytest's failure report (``inspect.getmodule``)
then imports TensorFlow; a NumPy-only topic must never pay for that.
"""

import numpy as np
import pytest

from autograder.checking import Misconception, assert_close, assert_no_warnings, assert_unchanged, fail, show

KEYS = ("W1", "b1", "W2", "b2")


def _network(seed: int, n: int = 6, n_in: int = 4, n_hidden: int = 5, k: int = 3, scale: float = 1.0):
    """Seeded (X, one-hot y, params) of a ``n_in``-``n_hidden``-``k`` network on ``n`` examples."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    y = np.eye(k)[rng.integers(0, k, size=n)]
    params = {
        "W1": scale * rng.normal(size=(n_in, n_hidden)),
        "b1": scale * rng.normal(size=n_hidden),
        "W2": scale * rng.normal(size=(n_hidden, k)),
        "b2": scale * rng.normal(size=k),
    }
    return X, y, params


def _oracle_forward(X, params):
    """(h, log p) of the network: sigmoid in its tanh form, log-softmax by log-sum-exp."""
    h = 0.5 * (1.0 + np.tanh(0.5 * (X @ params["W1"] + params["b1"])))
    z2 = h @ params["W2"] + params["b2"]
    log_p = z2 - z2.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    return h, log_p


def _cost(X, y, params) -> float:
    """Mean categorical cross-entropy of the network."""
    return float(-np.mean(np.sum(y * _oracle_forward(X, params)[1], axis=1)))


def _oracle_grads(X, y, params) -> dict:
    """The gradients of the mean cross-entropy, example by example, then averaged."""
    h, log_p = _oracle_forward(X, params)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    for x_i, h_i, p_i, y_i in zip(X, h, np.exp(log_p), y):
        d_out = p_i - y_i                                   # dC_i / dz2 for one example
        d_hid = (params["W2"] @ d_out) * h_i * (1.0 - h_i)  # dC_i / dz1
        grads["W2"] += np.outer(h_i, d_out)
        grads["b2"] += d_out
        grads["W1"] += np.outer(x_i, d_hid)
        grads["b1"] += d_hid
    return {k: g / len(X) for k, g in grads.items()}


def _numerical_gradients(X, y, params, h: float = 1e-6) -> dict:
    grads = {}
    for key in KEYS:
        g = np.zeros_like(params[key])
        for i in np.ndindex(g.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][i] += h
            minus[key][i] -= h
            g[i] = (_cost(X, y, plus) - _cost(X, y, minus)) / (2 * h)
        grads[key] = g
    return grads


# -- Diagnoses: known wrong variants, run here on the check's inputs; the first that gives the
#    student's answer names the mistake and its hint (the check's own hint stays the fallback).

def _sig(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _forward_variant(X, params, axis=1, shift=True, hidden=None):
    h = (hidden or _sig)(X @ params["W1"] + params["b1"])
    z2 = h @ params["W2"] + params["b2"]
    e = np.exp(z2 - z2.max(axis=axis, keepdims=True) if shift else z2)
    return e / e.sum(axis=axis, keepdims=True)


def _backward_variant(X, y, params, key, *, per_n=True, bias_mean=False, bias_axis=0, transposed=False,
                      slope_of_h=False):
    h = _sig(X @ params["W1"] + params["b1"])
    p = _forward_variant(X, params)
    dz2 = (p - y) / (len(X) if per_n else 1.0)
    dz1 = (dz2 @ params["W2"].T) * (_sig(h) * (1.0 - _sig(h)) if slope_of_h else h * (1.0 - h))
    reduce = np.mean if bias_mean else np.sum
    grads = {"W2": dz2.T @ h if transposed else h.T @ dz2, "b2": reduce(dz2, axis=bias_axis),
             "W1": dz1.T @ X if transposed else X.T @ dz1, "b1": reduce(dz1, axis=bias_axis)}
    return grads[key]


FORWARD_MISTAKES = (
    Misconception("softmax over the batch axis (down the columns)",
                  lambda X, params: _forward_variant(X, params, axis=0),
                  "Each example's probabilities sum to 1: normalise every row over its classes (axis=-1), "
                  "not each class over the batch."),
    Misconception("relu in the hidden layer instead of the sigmoid",
                  lambda X, params: _forward_variant(X, params, hidden=lambda z: np.maximum(z, 0.0)),
                  "This network's hidden layer is h = sigmoid(X @ W1 + b1), and backward's slope h (1 - h) "
                  "belongs to that sigmoid."),
    Misconception("softmax without the max shift", lambda X, params: _forward_variant(X, params, shift=False),
                  "Logits of about ±1000 overflow np.exp: subtract each row's maximum before exp (the "
                  "stable softmax of the activations topic)."),
)
BACKWARD_MISTAKES = (
    Misconception("the 1/N of the mean cost left out", lambda X, y, params, key: _backward_variant(
        X, y, params, key, per_n=False),
                  "The cost is the MEAN over the batch: dz2 = (p - y) / N, so every gradient carries the 1/N."),
    Misconception("bias gradients averaged although dz already carries the 1/N",
                  lambda X, y, params, key: _backward_variant(X, y, params, key, bias_mean=True),
                  "db is the SUM of dz over the batch: dz = (p - y) / N already holds the 1/N, so a mean "
                  "divides by N twice."),
    Misconception("bias gradients summed over the wrong axis",
                  lambda X, y, params, key: _backward_variant(X, y, params, key, bias_axis=1),
                  "A bias gradient has the bias's shape (units,): sum dz over the batch axis (axis 0)."),
    Misconception("weight gradients transposed (dzᵀ @ input)",
                  lambda X, y, params, key: _backward_variant(X, y, params, key, transposed=True),
                  "dW has W's shape (n_in, n_out): inputᵀ @ dz, the input's transpose on the left."),
    Misconception("the sigmoid's slope taken at h instead of at z1",
                  lambda X, y, params, key: _backward_variant(X, y, params, key, slope_of_h=True),
                  "σ'(z1) = h (1 - h) with h = σ(z1): use h itself, do not apply the sigmoid again."),
)

STEP_MISTAKES = (
    Misconception("the learning rate applied twice", lambda X, y, params, key, lr: params[key] - lr * lr * _oracle_grads(
        X, y, params)[key], "Multiply the gradient by the learning rate once: θ - learning_rate * dθ."),
    Misconception("a step of twice the learning rate", lambda X, y, params, key, lr: params[key] - 2 * lr * _oracle_grads(
        X, y, params)[key], "Multiply the gradient by the learning rate once: θ - learning_rate * dθ."),
    Misconception("a step uphill (θ + learning_rate * dθ)", lambda X, y, params, key, lr: params[key] + lr * _oracle_grads(
        X, y, params)[key], "The gradient points uphill; a descent step subtracts it."),
)
COST_AFTER_STEP = Misconception("the cost of the updated parameters", None,
                                "Report the cost of the parameters you were given, computed in the forward pass "
                                "before the update.")
PARAMS_IN_PLACE = Misconception("the caller's parameters updated in place", None,
                                "params[k] -= ... changes the caller's arrays: build a new dict of new arrays.")


def _student_grads(student, X, y, params, call: str) -> dict:
    _, cache = student.forward(X, params)
    grads = student.backward(y, params, cache)
    assert isinstance(grads, dict) and sorted(grads) == sorted(KEYS), (
        f"{call} returned {show(grads)}; expected a dict with the keys {list(KEYS)}")
    return grads


# -- forward --------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("Two dense layers, sigmoid then softmax; use the given overflow-free _sigmoid and _softmax "
                  "so that pre-activations of ±1000 give no overflow.")
def test_forward_gives_the_probabilities(student):
    """forward gives softmax(sigmoid(X W1 + b1) W2 + b2), also for pre-activations of ±1000 (no warnings)"""
    X, _, params = _network(51)
    call = "forward(X of shape (6, 4), params of a 4-5-3 network)"
    p, _ = student.forward(X, params)
    assert_close(p, np.exp(_oracle_forward(X, params)[1]), call, what="returned p =",
                 misconceptions=FORWARD_MISTAKES, args=(X, params))
    X_big, _, big = _network(52, scale=1000.0)
    call = "forward(X of shape (6, 4), params of a 4-5-3 network with weights of about ±1000)"
    p, _ = student.forward(X_big, big)
    assert_close(p, np.exp(_oracle_forward(X_big, big)[1]), call, what="returned p =",
                 misconceptions=FORWARD_MISTAKES, args=(X_big, big))
    assert_no_warnings(student, call)  # student.last is still the forward call


# -- backward -------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("Start from dz2 = (p - y) / N, then dW2 = hᵀ dz2, db2 = sum of dz2 over the batch, "
                  "and go back through W2 and the sigmoid's slope h (1 - h).")
def test_backward_gives_the_gradients(student):
    """backward gives the gradients of the mean cross-entropy on a seeded batch"""
    X, y, params = _network(53)
    call = "backward(y, params, cache) after forward(X of shape (6, 4), params of a 4-5-3 network)"
    grads = _student_grads(student, X, y, params, call)
    expected = _oracle_grads(X, y, params)
    for key in ("W2", "b2", "W1", "b1"):
        assert_close(grads[key], expected[key], call, what=f"returned the gradient {key} =",
                     misconceptions=BACKWARD_MISTAKES, args=(X, y, params), kwargs={"key": key})


@pytest.mark.points(1)
@pytest.mark.hint("Compare with centred differences (C(θ + h) - C(θ - h)) / 2h of the mean cross-entropy; "
                  "the hidden layer's gradient goes through W2 and the sigmoid's slope.")
def test_backward_matches_numerical_gradients(student):
    """backward agrees with numerical gradients of the mean cross-entropy"""
    X, y, params = _network(54, n=5, n_in=3, n_hidden=4, k=3, scale=1.5)
    call = "backward(y, params, cache) after forward(X of shape (5, 3), params of a 3-4-3 network)"
    grads = _student_grads(student, X, y, params, call)
    numeric = _numerical_gradients(X, y, params)
    for key in ("W2", "b2", "W1", "b1"):
        assert_close(grads[key], numeric[key], call + " vs numerical gradients", rtol=1e-5, atol=1e-8,
                     what=f"returned the gradient {key} =", misconceptions=BACKWARD_MISTAKES, args=(X, y, params),
                     kwargs={"key": key})


@pytest.mark.points(1)
@pytest.mark.hint("The cost is the mean over the batch, so every gradient carries a 1/N: "
                  "repeating each example twice must not change it.")
def test_backward_averages_over_the_batch(student):
    """backward gives the same gradients when every example of the batch appears twice"""
    X, y, params = _network(55, n=4)
    call = "backward on a batch of 4 examples"
    once = _student_grads(student, X, y, params, call)
    call2 = "backward on the same 4 examples each repeated twice (8 rows)"
    twice = _student_grads(student, np.vstack([X, X]), np.vstack([y, y]), params, call2)
    for key in KEYS:
        a, b = np.asarray(once[key], dtype=float), np.asarray(twice[key], dtype=float)
        if a.shape == b.shape and np.allclose(b, 2 * a, rtol=1e-6, atol=1e-12) and not np.allclose(a, 0):
            raise AssertionError(f"{call2}: the gradient {key} doubled when the batch doubled ({show(a)} -> {show(b)}); "
                                 "the cost is a mean, so it must not depend on the batch size")
        assert_close(b, a, call2, what=f"returned the gradient {key} =")


# -- train_step -----------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("Return the cost of the parameters you were given (computed in the forward pass), not the cost after the update.")
def test_train_step_returns_cost_before_the_step(student):
    """train_step returns the mean cross-entropy of the parameters it was given"""
    X, y, params = _network(56, n=8)
    lr = 0.5
    call = "train_step(X of shape (8, 4), y of shape (8, 3), params of a 4-5-3 network, learning_rate=0.5)"
    new_params, cost = student.train_step(X, y, params, lr)
    assert np.size(cost) == 1, f"{call} returned the cost {show(cost)}; expected a single number"
    before = _cost(X, y, params)
    cost = float(np.asarray(cost).ravel()[0])
    if isinstance(new_params, dict) and sorted(new_params) == sorted(KEYS) and abs(cost - before) > 1e-6:
        after = _cost(X, y, {k: np.asarray(v, dtype=float) for k, v in new_params.items()})
        if abs(cost - after) < 1e-6:
            fail(f"{call} returned the cost {cost:.6f}, the cost after the step; expected {before:.6f}, the cost before it",
                 COST_AFTER_STEP)
    assert abs(cost - before) < 1e-6, f"{call} returned the cost {cost:.6f}; expected {before:.6f}, the mean cross-entropy before the step"


@pytest.mark.points(1)
@pytest.mark.hint("Each parameter moves against its own gradient, θ - learning_rate * dθ, with the gradients of backward.")
def test_train_step_moves_against_the_gradient(student):
    """train_step moves every parameter by -learning_rate * gradient and lowers the cost"""
    X, y, params = _network(57, n=8)
    call = "train_step(X of shape (8, 4), y of shape (8, 3), params of a 4-5-3 network, learning_rate=0.5)"
    new_params, _ = student.train_step(X, y, params, 0.5)
    grads = _oracle_grads(X, y, params)
    expected = {k: params[k] - 0.5 * grads[k] for k in KEYS}
    assert isinstance(new_params, dict) and sorted(new_params) == sorted(KEYS), (
        f"{call} returned new params {show(new_params)}; expected a dict with the keys {list(KEYS)}")
    for key in KEYS:
        assert_close(new_params[key], expected[key], call, what=f"returned the new {key} =",
                     misconceptions=STEP_MISTAKES, args=(X, y, params), kwargs={"key": key, "lr": 0.5})
    after = _cost(X, y, {k: np.asarray(v, dtype=float) for k, v in new_params.items()})
    assert after < _cost(X, y, params), f"{call}: the cost went from {_cost(X, y, params):.4f} to {after:.4f}; a step should lower it"


@pytest.mark.points(1)
@pytest.mark.hint("This check needs the right step as well as untouched parameters. When the new parameters are "
                  "wrong, fix backward first (its own checks say how; train_step moves each parameter by "
                  "-learning_rate times backward's gradient); otherwise build a new dict of new arrays: "
                  "`params[k] -= ...` changes the caller's parameters too.")
def test_train_step_leaves_params_unchanged(student):
    """train_step takes the right step and does not modify the params (or X, y) it was given"""
    X, y, params = _network(58, n=8)
    before = {k: v.copy() for k, v in params.items()}
    call = "train_step(X, y, params, learning_rate=0.5)"
    got, args_after, _ = student.probe("call_and_inputs", student.train_step, X.copy(), y.copy(), params, 0.5)
    grads = _oracle_grads(X, y, before)
    new_params = got[0] if isinstance(got, (list, tuple)) and len(got) == 2 else got
    assert isinstance(new_params, dict) and sorted(new_params) == sorted(KEYS), (  # no points for returning nothing
        f"{call} returned {show(got)}; expected (new params, cost) with the keys {list(KEYS)}")
    for key in KEYS:
        assert_close(new_params[key], before[key] - 0.5 * grads[key], call, what=f"returned the new {key} =")
    for key in KEYS:
        assert_unchanged(before[key], args_after[2][key], f"params[{key!r}]", call, PARAMS_IN_PLACE)
    assert_unchanged(X, args_after[0], "X", call)
    assert_unchanged(y, args_after[1], "y", call)
