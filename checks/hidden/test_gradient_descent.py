"""Hidden checks for ``gradient_descent``.

Oracles are computed here with NumPy: analytic gradients of the probe functions, the closed form of
gradient descent on a quadratic, the Keras momentum rule, and every possible shuffle of a tiny data
set for mini-batch training. Nothing here imports TensorFlow. ``student.global_seed(n)`` reseeds the
sandbox's global generators, to show that a result depends on its own ``seed`` argument only.
"""

import itertools

import numpy as np
import pytest

from autograder.checking import Misconception, assert_close, assert_unchanged, fail, show
from autograder.sandbox.proxy import Remote, fn


def _batches(result) -> list:
    """The items of what ``minibatches`` returned: a generator stays in the sandbox, a list travels."""
    return result.collect() if isinstance(result, Remote) else list(result)


def _order(batches) -> list[int]:
    return np.concatenate([np.atleast_1d(np.asarray(yb)) for _, yb in batches]).astype(int).tolist()


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _linear_data(seed: int = 47):
    """A seeded, noisy, linearly separable-ish binary data set: (X_train, y_train, X_test, y_test).

    Generated here rather than loaded (scikit-learn's import alone costs a second); the labels follow
    a logistic model, so the best linear classifier scores about 0.9 on the held-out part.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, 6))
    w = rng.normal(size=6)
    w *= 3.0 / np.linalg.norm(w)
    y = (X @ w + 0.5 + 0.5 * rng.logistic(size=500) > 0).astype(float)
    return X[:300], y[:300], X[300:], y[300:]


def _bce_cost(X, y, w, b) -> float:
    p = np.clip(_sigmoid(X @ w + b), 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


# -- Diagnoses: known wrong variants, run here on the check's inputs; the first that gives the
#    student's answer names the mistake and its hint (the check's own hint stays the fallback).

def _cubic_mix(x):
    return float(np.sum(x**3) + np.sum(np.sin(x)) + x.flat[0] * x.flat[-1])


def _cubic_gradient(x):
    grad = 3 * x**2 + np.cos(x)
    grad.flat[0] += x.flat[-1]
    grad.flat[-1] += x.flat[0]
    return grad


def _forward_difference(x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        bumped = x.copy()
        bumped[i] += h
        grad[i] = (_cubic_mix(bumped) - _cubic_mix(x)) / h
    return grad


NUMERICAL_GRADIENT_MISTAKES = (
    Misconception("forward differences (f(x + h) - f(x)) / h", _forward_difference,
                  "Forward differences are only accurate to O(h); central differences "
                  "(f(x + h) - f(x - h)) / 2h are accurate to O(h^2)."),
    Misconception("central differences divided by h instead of 2h", lambda x: 2.0 * _cubic_gradient(x),
                  "x + h and x - h lie 2h apart: divide their difference by 2h."),
)
HISTORY_NO_X0 = Misconception("the history without the starting point x0", None,
                              "Record x0 first, then every point after a step: n_steps + 1 points in all.")
def _aliased(t, last, x0):
    """Every entry is the final point: the one array, stepped in place, appended again and again."""
    if np.allclose(last, x0):
        raise ValueError("x never moved: nothing to tell about aliasing")
    return last


HISTORY_NO_LAST = Misconception("the history without the final point", None,
                                "Append each new x after its step (x0 before the loop): the last point visited "
                                "belongs in the history too, n_steps + 1 points in all.")
HISTORY_ALIASED = Misconception("the history holds the same array again and again", _aliased,
                                "x -= ... changes the one array you keep appending: append a copy (or compute a "
                                "new x = x - ...), so that each entry keeps its own point.")
SGD_MISTAKES = (
    Misconception("a step uphill (p + learning_rate * g)", lambda p, g, lr: p + lr * g,
                  "The gradient points uphill; a descent step subtracts it: p - learning_rate * g."),
)
IN_PLACE = Misconception("the caller's arrays changed in place", None,
                         "p -= ..., v *= ... or p[...] = ... change the caller's arrays: build new lists of new arrays.")
VELOCITY_MISTAKES = (
    Misconception("the gradient added to the velocity (a step uphill)", lambda p, v, g, lr, mu: mu * v + lr * g,
                  "Keras's rule: v <- momentum * v - learning_rate * g (minus: downhill)."),
)
MOMENTUM_PARAM_MISTAKES = (
    Misconception("the parameters moved by the old velocity", lambda p, v, g, lr, mu: p + v,
                  "Update the velocity first, then move the parameters by the NEW velocity: "
                  "v <- momentum * v - learning_rate * g, then p <- p + v."),
)
NOT_SHUFFLED = Misconception("the batches in the original order (no shuffle)", None,
                             "Shuffle the example indices every epoch (rng.permutation(len(X))) before cutting "
                             "them into batches.")
UNSEEDED = Misconception("a shuffle that ignores the seed argument", None,
                         "Make the generator from the seed you are given, np.random.default_rng(seed); NumPy's "
                         "global generator (np.random.shuffle, np.random.permutation) ignores it.")
ERROR_SIGN = Misconception("the error written y - p: every step climbs the cost", None,
                           "The gradient of the cross-entropy with respect to z is p - y; stepping against it "
                           "means w <- w - lr * Xᵀ(p - y) / n.")
SUMMED_GRADIENT = Misconception("the batch gradient summed over its examples, not averaged", None,
                                "The step uses the MEAN gradient of the batch: w <- w - lr * X_bᵀ(p - y_b) / n_b and "
                                "b <- b - lr * mean(p - y_b). A sum makes the step n_b times too large (and "
                                "the last, smaller batch weigh less).")
DROP_LAST = Misconception("the last, smaller batch skipped", None,
                          "When N is not a multiple of batch_size the last batch is smaller; it must still be used, "
                          "or its examples are never learnt from.")
SAME_SHUFFLE = Misconception("the same shuffle in every epoch", None,
                             "Each epoch must shuffle the data again, differently: a generator seeded with the same "
                             "number gives the same order every time (seed + epoch, or one generator for all epochs).")
LAST_BATCH_COST = Misconception("the cost of the last mini-batch recorded instead of the full-data cost", None,
                                "After each epoch, compute the cost on the WHOLE data set with the weights as they are "
                                "then; one batch's cost is a noisy sample of it.")
RUNNING_MEAN_COST = Misconception("the running mean of the batch costs recorded instead of the full-data cost", None,
                                  "Keras's History averages the batch losses met during the epoch, with weights that "
                                  "kept changing; here each epoch records the cost of the whole data set with the "
                                  "weights at the end of the epoch.")
SUMMED_COST = Misconception("the losses summed instead of averaged", None,
                            "The cost is the MEAN of the per-example losses over the data set, not their sum.")
COST_BEFORE_EPOCH = Misconception("the cost recorded before the epoch's updates", None,
                                  "Record the cost after the epoch's updates, with the weights the epoch ends with.")
FULL_BATCH = Misconception("one update per epoch (full-batch gradient descent)", None,
                           "Mini-batch training steps after EVERY batch, using that batch's mean gradient; an "
                           "epoch is one pass over the data, not one update.")


# -- numerical_gradient and gradient_descent ------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("Use central differences (f(x + h e_i) - f(x - h e_i)) / 2h on every entry of an N-D x, "
                  "and put each entry back before nudging the next one.")
def test_numerical_gradient_matches_analytic_gradient(student):
    """numerical_gradient of a cubic on a 2-D array matches the analytic gradient"""
    x = np.random.default_rng(41).uniform(-1.5, 1.5, size=(3, 4))
    # f(x) = sum(x^3) + sum(sin x) + x_first * x_last  (probe "cubic_mix")
    expected = 3 * x**2 + np.cos(x)
    expected.flat[0] += x.flat[-1]
    expected.flat[-1] += x.flat[0]
    call = "numerical_gradient(f = sum(x^3) + sum(sin x) + x[0,0] x[-1,-1], x of shape (3, 4))"
    got, args_after, _ = student.probe("call_and_inputs", student.numerical_gradient, fn("probe:cubic_mix"), x.copy())
    assert_close(got, expected, call, rtol=1e-6, atol=1e-6, misconceptions=NUMERICAL_GRADIENT_MISTAKES, args=(x,))
    assert_unchanged(x, args_after[1], "x", call)


@pytest.mark.points(1)
@pytest.mark.hint("Each step is x <- x - learning_rate * grad_fn(x); append a copy of every new x to the history.")
def test_gradient_descent_converges_on_a_quadratic(student):
    """gradient_descent follows x_t = 3 + (x0 - 3)(1 - 2 lr)^t on sum((x - 3)^2)"""
    x0 = np.random.default_rng(42).normal(0.0, 4.0, size=(2, 3))
    lr, n = 0.1, 40
    call = "gradient_descent(grad of sum((x - 3)^2), x0 of shape (2, 3), learning_rate=0.1, n_steps=40)"
    x_final, history = student.gradient_descent(fn("probe:quadratic_grad"), x0, lr, n)
    expected = np.stack([3 + (x0 - 3) * (1 - 2 * lr) ** t for t in range(n + 1)])
    if len(history) != n + 1:
        short = None
        if len(history) == n:
            starts_at_x0 = np.shape(history[0]) == x0.shape and np.allclose(history[0], x0)
            short = HISTORY_NO_LAST if starts_at_x0 else HISTORY_NO_X0
        fail(f"{call} returned a history of {len(history)} points; expected {n + 1} (x0 and one per step)", short)
    for t in (0, 1, n):
        assert_close(history[t], expected[t], call, what=f"returned history[{t}] =",
                     misconceptions=(HISTORY_ALIASED,), args=(t, np.asarray(history[-1], dtype=float), x0))
    assert_close(np.asarray(history, dtype=float), expected, call, what="returned the history")
    assert_close(x_final, expected[-1], call, what="returned x_final =")
    assert np.max(np.abs(np.asarray(x_final) - 3.0)) < 1e-2, f"{call} ended at {show(x_final)}, not at the minimum 3"


# -- sgd_update and momentum_update ---------------------------------------------------------------


def _params_and_grads(seed: int):
    rng = np.random.default_rng(seed)
    shapes = [(3, 2), (2,), (2, 4)]
    return [rng.normal(size=s) for s in shapes], [rng.normal(size=s) for s in shapes], [rng.normal(size=s) for s in shapes]


@pytest.mark.points(1)
@pytest.mark.hint("Return new arrays (p - learning_rate * g); `p -= ...` changes the caller's arrays too.")
def test_sgd_update_returns_new_arrays(student):
    """sgd_update gives p - lr g for every array and leaves params and grads unchanged"""
    params, grads, _ = _params_and_grads(43)
    before_p, before_g = [p.copy() for p in params], [g.copy() for g in grads]
    call = "sgd_update(params of shapes [(3, 2), (2,), (2, 4)], grads, learning_rate=0.3)"
    got, args_after, _ = student.probe("call_and_inputs", student.sgd_update, params, grads, 0.3)
    assert len(got) == 3, f"{call} returned {len(got)} arrays; expected 3"
    for i, (p, g) in enumerate(zip(before_p, before_g)):
        assert_close(got[i], p - 0.3 * g, call, what=f"returned new_params[{i}] =", misconceptions=SGD_MISTAKES,
                     args=(p, g, 0.3))
    for i in range(3):
        assert_unchanged(before_p[i], args_after[0][i], f"params[{i}]", call, IN_PLACE)
        assert_unchanged(before_g[i], args_after[1][i], f"grads[{i}]", call, IN_PLACE)


@pytest.mark.points(1)
@pytest.mark.hint("Keras SGD with momentum: first v <- momentum * v - learning_rate * g, then p <- p + v (the new v).")
def test_momentum_update_matches_keras_rule(student):
    """momentum_update follows Keras' SGD(momentum) over several steps, from non-zero velocities"""
    params, _, velocities = _params_and_grads(44)
    rng = np.random.default_rng(45)
    lr, mu = 0.05, 0.9
    p_exp, v_exp = [p.copy() for p in params], [v.copy() for v in velocities]
    p_got, v_got = params, velocities
    for step in range(1, 5):
        grads = [rng.normal(size=p.shape) for p in params]
        call = f"momentum_update(params, grads, velocities, learning_rate={lr}, momentum={mu}) at step {step}"
        p_got, v_got = student.momentum_update(p_got, grads, v_got, lr, mu)
        p_old, v_old = p_exp, v_exp  # the inputs of this step (the student's own, as long as it has been right)
        v_exp = [mu * v - lr * g for v, g in zip(v_exp, grads)]
        p_exp = [p + v for p, v in zip(p_exp, v_exp)]
        assert len(p_got) == 3 and len(v_got) == 3, f"{call} returned {len(p_got)} params and {len(v_got)} velocities; expected 3 of each"
        for i in range(3):
            inputs = (p_old[i], v_old[i], grads[i], lr, mu)
            assert_close(v_got[i], v_exp[i], call, what=f"returned new_velocities[{i}] =",
                         misconceptions=VELOCITY_MISTAKES, args=inputs)
            assert_close(p_got[i], p_exp[i], call, what=f"returned new_params[{i}] =",
                         misconceptions=MOMENTUM_PARAM_MISTAKES, args=inputs)


@pytest.mark.points(1)
@pytest.mark.hint("This check needs the right step as well as untouched inputs. When the step is wrong, fix the "
                  "update rule first (see test_momentum_update_matches_keras_rule); otherwise build new lists of "
                  "new arrays: `v *= momentum` or `p += v` changes the caller's arrays too.")
def test_momentum_update_leaves_inputs_unchanged(student):
    """momentum_update gives the right step and does not modify params, grads or velocities in place"""
    params, grads, velocities = _params_and_grads(46)
    before = [[a.copy() for a in group] for group in (params, grads, velocities)]
    call = "momentum_update(params, grads, velocities, learning_rate=0.1, momentum=0.9)"
    got, args_after, _ = student.probe("call_and_inputs", student.momentum_update, params, grads, velocities, 0.1, 0.9)
    v_exp = [0.9 * v - 0.1 * g for v, g in zip(before[2], before[1])]
    p_exp = [p + v for p, v in zip(before[0], v_exp)]
    assert isinstance(got, (list, tuple)) and len(got) == 2 and len(got[0]) == 3 and len(got[1]) == 3, (  # nothing earns nothing
        f"{call} returned {show(got)}; expected (new_params, new_velocities), 3 arrays each")
    for i in range(3):
        inputs = (before[0][i], before[2][i], before[1][i], 0.1, 0.9)
        assert_close(got[1][i], v_exp[i], call, what=f"returned new_velocities[{i}] =",
                     misconceptions=VELOCITY_MISTAKES, args=inputs)
        assert_close(got[0][i], p_exp[i], call, what=f"returned new_params[{i}] =",
                     misconceptions=MOMENTUM_PARAM_MISTAKES, args=inputs)
    for name, old, new in zip(("params", "grads", "velocities"), before, args_after[:3]):
        for i in range(3):
            assert_unchanged(old[i], new[i], f"{name}[{i}]", call, IN_PLACE)


# -- minibatches ----------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("Shuffle the example indices with a generator seeded by `seed` (np.random.default_rng(seed)); "
                  "the same seed must give the same order, another seed another order.")
def test_minibatches_shuffled_and_seeded(student):
    """minibatches shuffles the examples, the same seed gives the same batches, another seed others"""
    X = np.arange(96, dtype=float).reshape(48, 2)
    y = np.arange(48)
    call = "minibatches(X of shape (48, 2), y = [0..47], batch_size=8, seed=5)"
    first = _order(_batches(student.minibatches(X, y, 8, 5)))
    assert sorted(first) == list(range(48)), f"{call} gave the labels {show(first)}; expected each of 0..47 exactly once"
    in_place = sum(a == b for a, b in zip(first, range(48)))
    if in_place >= 12:
        fail(f"{call} left {in_place} of 48 examples at their original position ({show(first)}): shuffle them",
             NOT_SHUFFLED)
    # the same seed again, with the sandbox's global random state seeded differently
    with student.global_seed(1):
        again = _order(_batches(student.minibatches(X, y, 8, 5)))
    if again != first:
        fail(f"{call} called twice gave two orders, {show(first)} and {show(again)}; the seed must fix the order",
             UNSEEDED)
    other = _order(_batches(student.minibatches(X, y, 8, 6)))
    assert other != first, f"minibatches(..., seed=5) and (..., seed=6) gave the same order {show(first)}; use the seed"


# -- train_logistic_regression --------------------------------------------------------------------


def _cost_mistake(student) -> Misconception | None:
    """What the student's costs are, when not the full-data cost: found on the tiny data set, where the
    batches of each epoch can be worked out from the (w, b) the student's training ends with."""
    w, b, costs = student.train_logistic_regression(_TINY_X, _TINY_Y, _TINY_LR, _TINY_EPOCHS, _TINY_BATCH, 0)
    got = np.append(np.asarray(w, dtype=float).ravel(), np.asarray(b, dtype=float).ravel())
    path = _tiny_path(got)
    try:
        costs = np.asarray(costs, dtype=float)
    except (TypeError, ValueError):
        return None
    if path is None or costs.shape != (_TINY_EPOCHS,):
        return None
    variants = _cost_variants(path)
    for key, misconception in (("last_batch", LAST_BATCH_COST), ("running_mean", RUNNING_MEAN_COST),
                               ("summed", SUMMED_COST), ("before_epoch", COST_BEFORE_EPOCH)):
        if np.allclose(costs, variants[key], rtol=1e-6, atol=1e-9):
            return misconception
    return None


@pytest.mark.points(1)
@pytest.mark.hint("Record one cost per epoch: the mean binary cross-entropy of the whole data set with the weights "
                  "at the end of that epoch; it should fall as the neuron learns, and the same seed must give the same result.")
def test_train_logistic_regression_learns(student):
    """train_logistic_regression learns: one falling cost per epoch, held-out accuracy, reproducible"""
    X, y, X_test, y_test = _linear_data()
    epochs = 20
    call = f"train_logistic_regression(X of shape {X.shape}, y, learning_rate=0.1, epochs={epochs}, batch_size=32, seed=0)"
    w, b, costs = student.train_logistic_regression(X, y, 0.1, epochs, 32, 0)
    assert np.shape(w) == (X.shape[1],), f"{call} returned w of shape {np.shape(w)}; expected ({X.shape[1]},)"
    assert np.size(b) == 1, f"{call} returned b of shape {np.shape(b)}; expected a single number"
    costs = np.asarray(costs, dtype=float)
    assert costs.shape == (epochs,), f"{call} returned {costs.size} costs; expected one per epoch ({epochs})"
    assert np.all(np.isfinite(costs)), f"{call} returned costs {show(costs)}, which hold nan or inf"
    final = _bce_cost(X, y, np.asarray(w, dtype=float), float(np.asarray(b).ravel()[0]))
    if not np.isclose(costs[-1], final, rtol=1e-6, atol=1e-9):
        fail(f"{call}: the last cost is {costs[-1]:.6f}, but the mean binary cross-entropy of the returned w, b on "
             f"the whole data set is {final:.6f}", _cost_mistake(student))
    assert costs[-1] < 0.8 * costs[0], f"{call} returned costs {show(costs)} that do not fall"
    acc = float(np.mean(((X_test @ np.asarray(w, dtype=float) + float(np.asarray(b).ravel()[0])) > 0) == y_test))
    assert acc >= 0.85, f"{call}: held-out accuracy of the returned w, b is {acc:.3f}; expected at least 0.85"
    with student.global_seed(1):
        w2, b2, costs2 = student.train_logistic_regression(X, y, 0.1, epochs, 32, 0)
    assert_close(w2, w, call + " called a second time", rtol=1e-9, atol=1e-12, what="returned w =")
    assert_close(costs2, costs, call + " called a second time", rtol=1e-9, atol=1e-12, what="returned costs")


#: The tiny data set on which every possible shuffle of mini-batch training is worked out here.
_TINY_X = np.array([[1.0, -0.5], [-1.2, 0.3], [0.4, 2.0], [-0.7, -1.5], [2.0, 0.8]])
_TINY_Y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
_TINY_LR, _TINY_BATCH, _TINY_EPOCHS = 0.5, 2, 3
_TINY_CALL = ("train_logistic_regression(X of shape (5, 2), y = [1, 0, 1, 0, 1], learning_rate=0.5, epochs=3, "
              "batch_size=2, seed=0)")


def _splits(n: int, batch_size: int, drop_last: bool = False) -> list[tuple[tuple[int, ...], ...]]:
    """Every distinct way to cut a shuffle of n examples into consecutive batches (the order inside a
    batch does not change its mean gradient); ``drop_last``: the last, smaller batch left out."""
    seen = {}
    for order in itertools.permutations(range(n)):
        stop = n - n % batch_size if drop_last else n
        split = tuple(tuple(sorted(order[i : i + batch_size])) for i in range(0, stop, batch_size))
        seen.setdefault(split, None)
    return list(seen)


def _epoch(w, b, split, X, y, lr: float, sign: float = 1.0, summed: bool = False):
    """(w, b) of many runs at once (rows of w, entries of b) after one epoch over the batches of ``split``
    (``summed``: the batch's gradient summed over its examples, not averaged)."""
    for batch in split:
        Xb, yb = X[list(batch)], y[list(batch)]
        err = sign * (_sigmoid(w @ Xb.T + b[:, None]) - yb)  # (runs, batch)
        n = 1 if summed else len(batch)
        w, b = w - lr * err @ Xb / n, b - lr * err.sum(axis=1) / n
    return w, b


def _every_path(X, y, lr: float, batch_size: int, epochs: int, *, sign: float = 1.0, drop_last: bool = False,
                summed: bool = False):
    """``(paths, finals)``: every sequence of per-epoch batch splits from w = 0, b = 0, and the (w, b)
    each ends at, as rows ``[w..., b]`` (``sign=-1``: the error written y - p; ``drop_last``: the last,
    smaller batch skipped; ``summed``: the batch gradient summed, not averaged)."""
    splits = _splits(len(X), batch_size, drop_last)
    paths, w, b = [()], np.zeros((1, X.shape[1])), np.zeros(1)
    for _ in range(epochs):
        ends = [_epoch(w, b, split, X, y, lr, sign, summed) for split in splits]
        paths = [path + (split,) for split in splits for path in paths]
        w = np.concatenate([e[0] for e in ends])
        b = np.concatenate([e[1] for e in ends])
    return paths, np.column_stack([w, b])


def _matching(got, paths, finals) -> list:
    if got.shape != finals.shape[1:]:
        return []
    close = np.all(np.isclose(finals, got, rtol=1e-5, atol=1e-8), axis=1)
    return [paths[i] for i in np.flatnonzero(close)]


def _tiny_path(got):
    """The per-epoch batch splits that give ``got`` = [w..., b] after _TINY_EPOCHS epochs, or None."""
    found = _matching(got, *_every_path(_TINY_X, _TINY_Y, _TINY_LR, _TINY_BATCH, _TINY_EPOCHS))
    return found[0] if found else None


def _cost_variants(path):
    """The costs of each epoch of ``path`` as the contract asks (the whole data set after the epoch) and
    as the known mistakes record them: {name: list of costs}."""
    X, y, lr = _TINY_X, _TINY_Y, _TINY_LR
    w, b = np.zeros((1, 2)), np.zeros(1)
    out = {"full": [], "last_batch": [], "running_mean": [], "summed": [], "before_epoch": []}
    for split in path:
        out["before_epoch"].append(_bce_cost(X, y, w[0], b[0]))
        batch_costs = []
        for batch in split:
            Xb, yb = X[list(batch)], y[list(batch)]
            batch_costs.append((_bce_cost(Xb, yb, w[0], b[0]), len(batch)))
            w, b = _epoch(w, b, (batch,), X, y, lr)
        full = _bce_cost(X, y, w[0], b[0])
        out["full"].append(full)
        out["summed"].append(full * len(X))
        out["last_batch"].append(batch_costs[-1][0])
        out["running_mean"].append(sum(c * n for c, n in batch_costs) / len(X))
    return out


@pytest.mark.points(1)
@pytest.mark.hint("Mini-batch gradient descent updates w and b after every batch (the last, smaller one too), "
                  "with the mean gradient of that batch, and shuffles the data again at the start of every epoch.")
def test_train_logistic_regression_updates_after_every_batch(student):
    """each epoch of train_logistic_regression makes one update per mini-batch, in a new shuffled order"""
    X, y, lr = _TINY_X, _TINY_Y, _TINY_LR
    w, b, _ = student.train_logistic_regression(X, y, lr, _TINY_EPOCHS, _TINY_BATCH, 0)
    got = np.append(np.asarray(w, dtype=float).ravel(), np.asarray(b, dtype=float).ravel())
    paths, finals = _every_path(X, y, lr, _TINY_BATCH, _TINY_EPOCHS)
    found_paths = _matching(got, paths, finals)
    if any(len(set(path)) > 1 for path in found_paths):
        return
    if found_paths:
        unshuffled = tuple(tuple(range(i, min(i + _TINY_BATCH, len(X)))) for i in range(0, len(X), _TINY_BATCH))
        same = NOT_SHUFFLED if found_paths[0][0] == unshuffled else SAME_SHUFFLE
        fail(f"{_TINY_CALL} returned (w, b) = {show(got)}: every epoch used the very same batches "
             f"{[list(batch) for batch in found_paths[0][0]]}; expected the data shuffled again, differently, each epoch",
             same)
    w_full, b_full = np.zeros((1, 2)), np.zeros(1)
    for _ in range(_TINY_EPOCHS):
        w_full, b_full = _epoch(w_full, b_full, (tuple(range(len(X))),), X, y, lr)
    full_batch = got.shape == (3,) and np.allclose(got, np.append(w_full[0], b_full[0]), rtol=1e-5)
    note = " (that is full-batch gradient descent: update after every batch, not once per epoch)" if full_batch else ""
    found = FULL_BATCH if full_batch else None
    for misconception, kwargs in ((ERROR_SIGN, {"sign": -1.0}), (DROP_LAST, {"drop_last": True}),
                                  (SUMMED_GRADIENT, {"summed": True})):
        if found is None and _matching(got, *_every_path(X, y, lr, _TINY_BATCH, _TINY_EPOCHS, **kwargs)):
            found = misconception
    example = finals[next(i for i, path in enumerate(paths) if len(set(path)) == _TINY_EPOCHS)]
    fail(f"{_TINY_CALL} returned (w, b) = {show(got)}{note}; expected the result of 3 epochs of 3 updates, one per "
         f"batch of sizes 2, 2, 1, in a new shuffled order each epoch, e.g. {show(example)}", found)
