"""Export the course as an nbgrader course directory, made from the same sources as everything else.

``export(out)`` writes ``out/nbgrader_config.py`` and ``out/source/<assignment>/<topic>.ipynb``, one
notebook per topic:

1. the lesson (the module's docstring), in Markdown;
2. a locked set-up cell: TensorFlow's start-up noise silenced, the module's imports, and three small
   helpers the test cells use (``_examples``, ``_same``, ``_no_warnings``);
3. for every function with a solution region, a solution cell (the function, with nbgrader's
   ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers and the TODO hint above them), followed by an
   autograded test cell: the docstring's examples run visibly, then the hidden tests between
   ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``, which compare the notebook's function with
   the reference (embedded in the hidden part, docstrings and comments stripped) on seeded inputs and,
   for ``train_*``, judge held-out accuracy on a secret split against the bar and the time budget of
   ``course.toml``;
4. helper code the exercise gives (private functions) in locked cells.

The points of a topic's test cells add up to the topic's points in ``course.toml``, split by the
weights of :data:`CASES`. nbgrader runs every cell in the student's own kernel, with no sandbox: the
route exists for courses that live in JupyterHub, and as the peer the grader is measured against.
"""

from __future__ import annotations

import ast
import doctest
import hashlib
import inspect
import re
import string
import textwrap
import zlib
from dataclasses import dataclass
from pathlib import Path

from autograder import course as course_mod
from autograder.course import Course, Topic
from autograder.stubs import BEGIN, find_regions

DEFAULT_ASSIGNMENT = "course"
#: Time limit of an ordinary cell (seconds); the first cell that imports Keras pays for TensorFlow.
CELL_TIMEOUT = 120
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
TIME_LIMIT = "# time limit: {seconds} s"


class ExportError(ValueError):
    """The course can't be exported; the message names the topic and function."""


@dataclass(frozen=True)
class Case:
    """The nbgrader test of one exercise function.

    ``hidden`` runs inside a function, after ``ref`` (the reference module) and ``rng`` (a seeded
    NumPy generator) are set; the notebook's own functions are its globals. ``visible`` runs after
    the docstring's examples and ships to students. ``$topic``, ``$bar``, ``$budget`` and ``$data``
    (a call that loads the secret held-out split) are filled in from the course.
    """

    hidden: str
    visible: str = ""
    weight: float = 1.0
    training: bool = False


def _train_case(function: str, smoke: int = 128) -> Case:
    """A ``train_*`` function: a tiny visible run for the output shape, then held-out accuracy and time."""
    visible = f"""
from autograder.datasets import load_topic

_split = load_topic("$topic")
_model = {function}(_split.X_train[:{smoke}], _split.y_train[:{smoke}], seed=0)
_out = _model.predict(_split.X_val[:5], verbose=0)
assert tuple(_out.shape) == (5, _split.num_classes), (
    f"{function}'s model maps 5 inputs to shape {{tuple(_out.shape)}}; expected (5, {{_split.num_classes}})")
"""
    hidden = f"""
import time
from autograder.datasets import DATASETS
split = $data
start = time.perf_counter()
model = {function}(split.X_train, split.y_train, seed=0)
seconds = time.perf_counter() - start
pred = np.asarray(model.predict(split.X_test, verbose=0))
accuracy = float(np.mean(pred.argmax(axis=1) == split.y_test))
assert accuracy >= $bar, f"{function}: held-out accuracy {{accuracy:.3f}} is below the bar of $bar"
assert seconds <= $budget, f"{function} took {{seconds:.0f}} s; the budget is $budget s (train_budget in course.toml)"
"""
    return Case(hidden=hidden, visible=visible, weight=2.0, training=True)


_KERAS_GRAD = """
import tensorflow as tf

def value_and_grad(f, x, weights):
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = f(t)
        s = tf.reduce_sum(y * weights)
    return y.numpy(), tape.gradient(s, t).numpy()
"""

#: topic -> function -> its nbgrader test. A function with a solution region and no case here is
#: tested by its docstring's examples only (``export`` reports it); one with neither is an error.
CASES: dict[str, dict[str, Case]] = {
    "neurons": {
        "dense_forward": Case("""
x, W, b = rng.normal(size=(6, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
for name, act in (("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0.0)), ("identity", lambda z: z)):
    _same(dense_forward(x, W, b, act), ref.dense_forward(x, W, b, act), f"dense_forward(x (6, 3), W (3, 4), b (4,), {name})")
x, W, b = rng.normal(size=(1, 5)), rng.normal(size=(5, 1)), rng.normal(size=1)
_same(dense_forward(x, W, b, np.tanh), ref.dense_forward(x, W, b, np.tanh), "dense_forward(x (1, 5), W (5, 1), b (1,), tanh)")
"""),
        "count_parameters": Case("""
for sizes in ([784, 16, 16, 10], [2, 3], [10, 1], [5, 8, 8, 8, 3], [1, 1]):
    got = count_parameters(sizes)
    _same(got, ref.count_parameters(sizes), f"count_parameters({sizes})")
    assert isinstance(got, (int, np.integer)), f"count_parameters({sizes}) returned a {type(got).__name__}; expected an int"
"""),
        "init_params": Case("""
for sizes, seed in (([4, 3, 2], 0), ([30, 20, 10], 5)):
    params = init_params(sizes, seed=seed)
    assert len(params) == len(sizes) - 1, f"init_params({sizes}) gave {len(params)} layers; expected {len(sizes) - 1}"
    for (W, b), n_in, n_out in zip(params, sizes[:-1], sizes[1:]):
        limit = np.sqrt(6 / (n_in + n_out))
        assert np.shape(W) == (n_in, n_out) and np.shape(b) == (n_out,), (
            f"init_params({sizes}): W {np.shape(W)} and b {np.shape(b)}; expected {(n_in, n_out)} and {(n_out,)}")
        assert np.all(np.abs(W) <= limit), f"init_params({sizes}): weights beyond the Glorot limit ±{limit:.3f}"
        assert not np.any(b), f"init_params({sizes}): the biases must start at zero"
    _same(init_params(sizes, seed=seed), params, f"init_params({sizes}, seed={seed}) called twice")
    other = init_params(sizes, seed=seed + 1)
    assert not np.allclose(other[0][0], params[0][0]), f"init_params({sizes}) gives the same weights for another seed"
W = np.asarray(init_params([200, 100], seed=3)[0][0])
limit = np.sqrt(6 / 300)
assert abs(W.std() - limit / np.sqrt(3)) < 0.05 * limit, "init_params: the weights are not spread uniformly over (-limit, limit)"
"""),
        "mlp_forward": Case("""
params = [(rng.normal(size=(5, 4)), rng.normal(size=4)), (rng.normal(size=(4, 3)), rng.normal(size=3)),
          (rng.normal(size=(3, 2)), rng.normal(size=2))]
x = rng.normal(size=(7, 5))
acts = {"tanh": np.tanh, "identity": lambda z: z, "relu": lambda z: np.maximum(z, 0.0), "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
for hidden, out in (("tanh", "identity"), ("relu", "sigmoid")):
    _same(mlp_forward(x, params, acts[hidden], acts[out]), ref.mlp_forward(x, params, acts[hidden], acts[out]),
          f"mlp_forward(x (7, 5), 3 layers, {hidden}, {out})")
x = rng.normal(size=(2, 3))
_same(mlp_forward(x, params[-1:], np.tanh, acts["identity"]), ref.mlp_forward(x, params[-1:], np.tanh, acts["identity"]),
      "mlp_forward(x (2, 3), one layer, tanh, identity): a single layer uses the output activation")
"""),
    },
    "activations": {
        "sigmoid": Case("""
z = np.concatenate([rng.normal(scale=5.0, size=20), [-1000.0, -50.0, 0.0, 50.0, 1000.0]])
_same(_no_warnings(sigmoid, z), ref.sigmoid(z), "sigmoid(z) for z in [-1000, 1000]")
z = rng.normal(size=(3, 4))
_same(sigmoid(z), ref.sigmoid(z), "sigmoid(z of shape (3, 4))")
"""),
        "sigmoid_derivative": Case("""
z = np.concatenate([rng.normal(scale=3.0, size=20), [-1000.0, 0.0, 1000.0]])
_same(_no_warnings(sigmoid_derivative, z), ref.sigmoid_derivative(z), "sigmoid_derivative(z) for z in [-1000, 1000]")
z = rng.normal(size=(2, 5))
numerical = (ref.sigmoid(z + 1e-6) - ref.sigmoid(z - 1e-6)) / 2e-6
_same(sigmoid_derivative(z), numerical, "sigmoid_derivative(z) against the slope of the sigmoid", rtol=1e-5, atol=1e-8)
"""),
        "relu": Case("""
z = np.concatenate([rng.normal(size=10), [0.0, -0.0, 1e-9, -1e-9]]).reshape(2, 7)
_same(relu(z), ref.relu(z), "relu(z of shape (2, 7), with zeros)")
z = rng.normal(size=(2, 3, 4))
_same(relu(z), ref.relu(z), "relu(z of shape (2, 3, 4))")
"""),
        "relu_derivative": Case("""
z = np.concatenate([rng.normal(size=10), [0.0, 1e-9, -1e-9, 5.0]])
_same(relu_derivative(z), ref.relu_derivative(z), "relu_derivative(z), with z = 0 (slope 0 there)")
z = rng.normal(size=(3, 4))
_same(relu_derivative(z), ref.relu_derivative(z), "relu_derivative(z of shape (3, 4))")
"""),
        "softmax": Case("""
for z, axis in ((rng.normal(size=5), -1), (rng.normal(size=(4, 3)), -1), (rng.normal(size=(4, 3)), 0), (rng.normal(size=(2, 3, 4)), 1)):
    _same(softmax(z, axis=axis), ref.softmax(z, axis=axis), f"softmax(z of shape {z.shape}, axis={axis})")
z = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]])
_same(_no_warnings(softmax, z), ref.softmax(z), "softmax([[1000, 0, -1000], [-1000, -1000, -1000]])")
"""),
        "sigmoid_keras": Case(_KERAS_GRAD + """
import keras
x = np.array([-1000.0, -20.0, -1.0, 0.0, 0.5, 3.0, 1000.0], dtype="float32")
weights = np.ones_like(x)
value, grad = value_and_grad(sigmoid_keras, x, weights)
_same(value, ref.sigmoid(x.astype(float)), "sigmoid_keras(x) for x in [-1000, 1000]", atol=1e-6)
_same(grad, ref.sigmoid_derivative(x.astype(float)), "the gradient of sigmoid_keras at [-1000, ..., 0, ..., 1000]", atol=1e-6)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=sigmoid_keras)])
X = rng.normal(size=(4, 3)).astype("float32")
W, b = model.layers[0].get_weights()
_same(model.predict(X, verbose=0), ref.sigmoid(X @ W + b), "Dense(2, activation=sigmoid_keras) on a batch", atol=1e-6)
"""),
        "softmax_keras": Case(_KERAS_GRAD + """
import keras
for shape, axis in (((4, 3), -1), ((3, 5), 0), ((2, 3, 4), 1)):
    x = rng.normal(scale=3.0, size=shape).astype("float32")
    got = keras.ops.convert_to_numpy(softmax_keras(keras.ops.convert_to_tensor(x), axis=axis))
    _same(got, ref.softmax(x.astype(float), axis=axis), f"softmax_keras(x of shape {shape}, axis={axis})", atol=1e-6)
x = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]], dtype="float32")
weights = rng.normal(size=x.shape).astype("float32")
value, grad = value_and_grad(softmax_keras, x, weights)
p = ref.softmax(x.astype(float))
_same(value, p, "softmax_keras([[1000, 0, -1000], [1, 2, 3]])", atol=1e-6)
expected = p * (weights - np.sum(p * weights, axis=-1, keepdims=True))
_same(grad, expected, "the gradient of softmax_keras at [[1000, 0, -1000], [1, 2, 3]]", atol=1e-5)
"""),
    },
    "losses": {
        "mean_squared_error": Case("""
for shape in ((5, 3), (4, 1), (2, 6)):
    y_true, y_pred = rng.normal(size=shape), rng.normal(size=shape)
    _same(mean_squared_error(y_true, y_pred), ref.mean_squared_error(y_true, y_pred), f"mean_squared_error(y_true, y_pred of shape {shape})")
"""),
        "mean_absolute_error": Case("""
for shape in ((5, 3), (4, 1), (2, 6)):
    y_true, y_pred = rng.normal(size=shape), rng.normal(size=shape)
    _same(mean_absolute_error(y_true, y_pred), ref.mean_absolute_error(y_true, y_pred), f"mean_absolute_error(y_true, y_pred of shape {shape})")
"""),
        "binary_crossentropy": Case("""
y_true = rng.integers(0, 2, size=(6, 2)).astype(float)
y_pred = rng.uniform(size=(6, 2))
y_pred[0] = [0.0, 1.0]
y_pred[1] = [1.0, 0.0]
_same(_no_warnings(binary_crossentropy, y_true, y_pred), ref.binary_crossentropy(y_true, y_pred),
      "binary_crossentropy(y_true (6, 2), y_pred (6, 2) holding exact 0s and 1s)")
_same(binary_crossentropy(y_true, y_pred, eps=1e-3), ref.binary_crossentropy(y_true, y_pred, eps=1e-3),
      "binary_crossentropy(..., eps=1e-3)")
"""),
        "categorical_crossentropy": Case("""
y_true = np.eye(4)[rng.integers(0, 4, size=6)]
y_pred = rng.dirichlet(np.ones(4), size=6)
y_pred[0] = np.eye(4)[(np.argmax(y_true[0]) + 1) % 4]
y_pred[1] = y_true[1]
_same(_no_warnings(categorical_crossentropy, y_true, y_pred), ref.categorical_crossentropy(y_true, y_pred),
      "categorical_crossentropy(one-hot y_true (6, 4), y_pred (6, 4) holding exact 0s and 1s)")
_same(categorical_crossentropy(y_true, y_pred, eps=1e-3), ref.categorical_crossentropy(y_true, y_pred, eps=1e-3),
      "categorical_crossentropy(..., eps=1e-3)")
"""),
        "sparse_categorical_crossentropy": Case("""
labels = rng.integers(0, 4, size=7)
y_pred = rng.dirichlet(np.ones(4), size=7)
y_pred[0] = np.eye(4)[(labels[0] + 1) % 4]
_same(_no_warnings(sparse_categorical_crossentropy, labels, y_pred), ref.categorical_crossentropy(np.eye(4)[labels], y_pred),
      "sparse_categorical_crossentropy(labels (7,), y_pred (7, 4)) against the one-hot version")
_same(sparse_categorical_crossentropy(labels, y_pred, eps=1e-3), ref.sparse_categorical_crossentropy(labels, y_pred, eps=1e-3),
      "sparse_categorical_crossentropy(..., eps=1e-3)")
"""),
        "cost": Case("""
def loss(y_true, y_pred):
    return np.abs(y_true - y_pred).sum(axis=-1)

y_true, y_pred = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
got = cost(loss, y_true, y_pred)
_same(got, np.mean(loss(y_true, y_pred)), "cost(sum of absolute differences, y_true (8, 3), y_pred (8, 3))")
assert isinstance(got, float), f"cost(...) returned a {type(got).__name__}; expected a Python float"
"""),
        "categorical_crossentropy_keras": Case("""
import keras
y = np.eye(4, dtype="float32")[rng.integers(0, 4, size=6)]
p = rng.uniform(size=(6, 4)).astype("float32")
p[0] = [0.0, 0.0, 0.0, 2.0]
expected = keras.ops.convert_to_numpy(keras.losses.categorical_crossentropy(y, p))
for dtype in ("float32", "int32"):
    got = categorical_crossentropy_keras(keras.ops.convert_to_tensor(y.astype(dtype)), keras.ops.convert_to_tensor(p))
    _same(keras.ops.convert_to_numpy(got), expected, f"categorical_crossentropy_keras(y_true of {dtype}, unnormalised y_pred)", rtol=1e-5, atol=1e-5)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
X = rng.normal(size=(8, 3)).astype("float32")
Y = np.eye(4, dtype="float32")[rng.integers(0, 4, size=8)]
model.compile(optimizer="sgd", loss=categorical_crossentropy_keras)
got = model.evaluate(X, Y, verbose=0)
model.compile(optimizer="sgd", loss="categorical_crossentropy")
_same(got, model.evaluate(X, Y, verbose=0), "model.compile(loss=categorical_crossentropy_keras).evaluate(...)", rtol=1e-5)
"""),
    },
    "gradient_descent": {
        "numerical_gradient": Case("""
def f(v):
    return float(np.sum(np.sin(v) * v ** 2))

x = rng.normal(size=(3, 2))
before = x.copy()
_same(numerical_gradient(f, x), np.cos(x) * x ** 2 + 2 * x * np.sin(x), "numerical_gradient(sum(sin(v) v²), x (3, 2))", rtol=1e-5, atol=1e-7)
_same(x, before, "x after numerical_gradient (it must stay unchanged)")
_same(numerical_gradient(lambda v: float(np.sum(v ** 2)), np.array([1, 2, 3])), [2.0, 4.0, 6.0],
      "numerical_gradient(sum(v²), the integer array [1, 2, 3])", rtol=1e-4)
"""),
        "gradient_descent": Case("""
c, x0 = rng.normal(size=3), rng.normal(size=3)
before = x0.copy()

def grad(x):
    return 2 * (x - c)

x, history = gradient_descent(grad, x0, 0.1, 5)
expected_x, expected_history = ref.gradient_descent(grad, x0, 0.1, 5)
_same(x, expected_x, "gradient_descent(2 (x - c), x0, 0.1, 5): x_final")
_same(list(history), expected_history, "gradient_descent(2 (x - c), x0, 0.1, 5): history")
_same(x0, before, "x0 after gradient_descent (it must stay unchanged)")
_same(list(gradient_descent(grad, x0, 0.1, 0)[1]), [x0], "gradient_descent(..., n_steps=0): history")
"""),
        "sgd_update": Case("""
params = [rng.normal(size=(3, 2)), rng.normal(size=2)]
grads = [rng.normal(size=(3, 2)), rng.normal(size=2)]
before = [p.copy() for p in params]
_same(list(sgd_update(params, grads, 0.3)), ref.sgd_update(params, grads, 0.3), "sgd_update(params, grads, 0.3)")
_same(params, before, "params after sgd_update (they must stay unchanged)")
"""),
        "momentum_update": Case("""
params = [rng.normal(size=(3, 2)), rng.normal(size=2)]
velocities = [np.zeros((3, 2)), np.zeros(2)]
expected_p, expected_v = params, velocities
for step in range(3):
    grads = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    before = [a.copy() for a in params + velocities]
    params, velocities = momentum_update(params, grads, velocities, 0.1, 0.9)
    expected_p, expected_v = ref.momentum_update(expected_p, grads, expected_v, 0.1, 0.9)
    _same(list(params), expected_p, f"momentum_update(..., 0.1, 0.9), step {step + 1}: new params")
    _same(list(velocities), expected_v, f"momentum_update(..., 0.1, 0.9), step {step + 1}: new velocities")
"""),
        "minibatches": Case("""
X, y = rng.normal(size=(11, 2)), np.arange(11)
for batch_size, seed in ((4, 3), (20, 1), (1, 0)):
    got = [(np.asarray(a), np.asarray(b)) for a, b in minibatches(X, y, batch_size, seed)]
    _same(got, list(ref.minibatches(X, y, batch_size, seed)), f"minibatches(X (11, 2), y, batch_size={batch_size}, seed={seed})")
"""),
        "train_logistic_regression": Case("""
X = rng.normal(size=(40, 2))
y = (X @ np.array([1.5, -2.0]) + 0.3 > 0).astype(int)
w, b, costs = train_logistic_regression(X, y, learning_rate=0.2, epochs=15, batch_size=8, seed=2)
expected_w, expected_b, expected_costs = ref.train_logistic_regression(X, y, learning_rate=0.2, epochs=15, batch_size=8, seed=2)
call = "train_logistic_regression(X (40, 2), y, learning_rate=0.2, epochs=15, batch_size=8, seed=2)"
_same(w, expected_w, call + ": w")
_same(b, expected_b, call + ": b")
_same(list(costs), expected_costs, call + ": costs")
"""),
    },
    "backprop": {
        "forward": Case("""
params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4), "W2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2)}
X = rng.normal(size=(5, 3))
p, cache = forward(X, params)
_same(p, ref.forward(X, params)[0], "forward(X (5, 3), params 3-4-2): p")
"""),
        "backward": Case("""
params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4), "W2": rng.normal(size=(4, 3)), "b2": rng.normal(size=3)}
X, y = rng.normal(size=(6, 3)), np.eye(3)[rng.integers(0, 3, size=6)]
before = {k: v.copy() for k, v in params.items()}
grads = backward(y, params, forward(X, params)[1])
expected = ref.backward(y, params, ref.forward(X, params)[1])
_same(dict(grads), expected, "backward(y (6, 3), params 3-4-3, cache of forward(X (6, 3)))", rtol=1e-5, atol=1e-9)
_same(params, before, "params after backward (they must stay unchanged)")
"""),
        "train_step": Case("""
params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4), "W2": rng.normal(size=(4, 3)), "b2": rng.normal(size=3)}
X, y = rng.normal(size=(6, 3)), np.eye(3)[rng.integers(0, 3, size=6)]
before = {k: v.copy() for k, v in params.items()}
new, cost = train_step(X, y, params, 0.5)
expected_new, expected_cost = ref.train_step(X, y, params, 0.5)
_same(dict(new), expected_new, "train_step(X (6, 3), y, params, 0.5): new params")
_same(cost, expected_cost, "train_step(X (6, 3), y, params, 0.5): the cost before the step")
assert isinstance(cost, float), f"train_step returned a cost of type {type(cost).__name__}; expected a Python float"
_same(params, before, "params after train_step (they must stay unchanged)")
"""),
    },
    "mlp": {
        "build_mlp": Case("""
import keras
for input_dim, k, hidden, act in ((8, 3, (5,), "relu"), (4, 2, (), "relu"), (6, 4, (7, 5), "tanh")):
    call = f"build_mlp({input_dim}, {k}, hidden_units={hidden}, activation={act!r})"
    model = build_mlp(input_dim, k, hidden_units=hidden, activation=act)
    assert isinstance(model, keras.Model), f"{call} returned a {type(model).__name__}, not a keras.Model"
    assert tuple(model.output_shape) == (None, k), f"{call} has output shape {model.output_shape}; expected (None, {k})"
    sizes = [input_dim, *hidden, k]
    n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    assert model.count_params() == n, f"{call} has {model.count_params()} parameters; Dense layers {sizes} have {n}"
    assert not model.compiled, f"{call} returned a compiled model; a builder leaves compiling to the caller"
    expected = ref.build_mlp(input_dim, k, hidden_units=hidden, activation=act)
    expected.set_weights(model.get_weights())
    x = rng.normal(size=(5, input_dim)).astype("float32")
    _same(model.predict(x, verbose=0), expected.predict(x, verbose=0), f"{call}.predict(x), against the same weights in the expected network", rtol=1e-4, atol=1e-6)
"""),
        "build_binary_classifier": Case("""
import keras
for input_dim, hidden in ((30, (16,)), (4, ()), (5, (3, 2))):
    call = f"build_binary_classifier({input_dim}, hidden_units={hidden})"
    model = build_binary_classifier(input_dim, hidden_units=hidden)
    assert isinstance(model, keras.Model), f"{call} returned a {type(model).__name__}, not a keras.Model"
    assert tuple(model.output_shape) == (None, 1), f"{call} has output shape {model.output_shape}; expected (None, 1)"
    assert not model.compiled, f"{call} returned a compiled model; a builder leaves compiling to the caller"
    expected = ref.build_binary_classifier(input_dim, hidden_units=hidden)
    expected.set_weights(model.get_weights())
    x = rng.normal(size=(5, input_dim)).astype("float32")
    _same(model.predict(x, verbose=0), expected.predict(x, verbose=0), f"{call}.predict(x), against the same weights in the expected network", rtol=1e-4, atol=1e-6)
"""),
        "compile_model": Case("""
import keras
for model, loss, k in ((ref.build_mlp(4, 3), "sparse_categorical_crossentropy", 3), (ref.build_binary_classifier(4), "binary_crossentropy", 2)):
    call = f"compile_model(<model with {model.output_shape[-1]} output units>, learning_rate=0.01)"
    got = compile_model(model, learning_rate=0.01)
    assert isinstance(got, keras.Model) and got.compiled, f"{call} must return the compiled model; it returned {type(got).__name__}"
    name = got.loss if isinstance(got.loss, str) else getattr(got.loss, "name", getattr(got.loss, "__name__", repr(got.loss)))
    assert name == loss, f"{call} compiled with loss {name!r}; expected {loss!r}"
    assert isinstance(got.optimizer, keras.optimizers.Adam), f"{call} uses {type(got.optimizer).__name__}; expected Adam"
    lr = float(keras.ops.convert_to_numpy(got.optimizer.learning_rate))
    assert abs(lr - 0.01) < 1e-7, f"{call} uses learning rate {lr}; expected 0.01"
    X, y = rng.normal(size=(6, 4)).astype("float32"), rng.integers(0, k, size=6)
    metrics = got.evaluate(X, y, verbose=0, return_dict=True)
    assert any("acc" in key for key in metrics), f"{call} reports {sorted(metrics)}; expected an accuracy metric"
"""),
        "train_mlp": _train_case("train_mlp", smoke=200),
    },
    "cnn": {
        "conv2d_output_size": Case("""
for n, k, s, padding in ((28, 3, 1, "valid"), (28, 3, 2, "same"), (7, 3, 2, "valid"), (5, 5, 1, "valid"),
                         (9, 2, 3, "same"), (10, 4, 3, "valid"), (1, 1, 1, "same"), (13, 4, 4, "same")):
    got = conv2d_output_size(n, k, stride=s, padding=padding)
    _same(got, ref.conv2d_output_size(n, k, stride=s, padding=padding), f"conv2d_output_size({n}, {k}, stride={s}, padding={padding!r})")
"""),
        "conv2d_forward": Case("""
import keras
for shape, kshape, stride, padding in (((7, 6), (3, 2), 1, "valid"), ((8, 8), (3, 3), 2, "same"),
                                       ((9, 7), (2, 4), 3, "same"), ((6, 6), (3, 3), 2, "valid")):
    image, kernel = rng.normal(size=shape), rng.normal(size=kshape)
    layer = keras.layers.Conv2D(1, kshape, strides=stride, padding=padding, use_bias=False)
    layer.build((1, *shape, 1))
    layer.set_weights([kernel[:, :, None, None]])
    expected = keras.ops.convert_to_numpy(layer(image[None, :, :, None].astype("float32")))[0, :, :, 0]
    call = f"conv2d_forward(image {shape}, kernel {kshape}, stride={stride}, padding={padding!r})"
    _same(conv2d_forward(image, kernel, stride=stride, padding=padding), expected, call + ", against keras Conv2D", rtol=1e-4, atol=1e-4)
"""),
        "max_pool2d": Case("""
import keras
for shape, p in (((4, 5), 2), ((7, 9), 3), ((6, 6), 2), ((5, 5), 5)):
    image = rng.normal(size=shape)
    expected = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(p)(image[None, :, :, None].astype("float32")))[0, :, :, 0]
    _same(max_pool2d(image, pool_size=p), expected, f"max_pool2d(image {shape}, pool_size={p}), against keras MaxPooling2D", rtol=1e-5, atol=1e-6)
"""),
        "build_cnn": Case("""
import keras
for input_shape, k in (((28, 28, 1), 5), ((20, 20, 1), 3)):
    call = f"build_cnn({input_shape}, {k})"
    model = build_cnn(input_shape, k)
    assert isinstance(model, keras.Model), f"{call} returned a {type(model).__name__}, not a keras.Model"
    assert tuple(model.output_shape) == (None, k), f"{call} has output shape {model.output_shape}; expected (None, {k})"
    kinds = [type(layer).__name__ for layer in model.layers]
    assert "Conv2D" in kinds, f"{call} has layers {kinds}; expected at least one Conv2D"
    assert any("Pooling" in kind for kind in kinds), f"{call} has layers {kinds}; expected a pooling layer"
    assert not model.compiled, f"{call} returned a compiled model; a builder leaves compiling to the caller"
    out = model.predict(rng.uniform(size=(3, *input_shape)).astype("float32"), verbose=0)
    _same(out.sum(axis=1), np.ones(3), f"{call}: each row of predictions sums to 1 (a softmax output)", atol=1e-5)
"""),
        "train_cnn": _train_case("train_cnn"),
    },
    "rnn": {
        "rnn_cell_forward": Case("""
x_t, h_prev = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
Wx, Wh, b = rng.normal(size=(3, 5)), rng.normal(size=(5, 5)), rng.normal(size=5)
_same(rnn_cell_forward(x_t, h_prev, Wx, Wh, b), np.tanh(x_t @ Wx + h_prev @ Wh + b), "rnn_cell_forward(x_t (4, 3), h_prev (4, 5), ...)")
"""),
        "rnn_forward": Case("""
import keras
X = rng.normal(size=(2, 6, 3)).astype("float32")
Wx, Wh, b = rng.normal(scale=0.5, size=(3, 4)), rng.normal(scale=0.5, size=(4, 4)), rng.normal(size=4)
layer = keras.layers.SimpleRNN(4, return_sequences=True)
layer.build((None, 6, 3))
layer.set_weights([Wx, Wh, b])
expected = keras.ops.convert_to_numpy(layer(X))
_same(rnn_forward(X, np.zeros((2, 4)), Wx, Wh, b), expected, "rnn_forward(X (2, 6, 3), h0 = 0, ...), against keras SimpleRNN", rtol=1e-4, atol=1e-5)
h0 = rng.normal(size=(2, 4))
_same(rnn_forward(X, h0, Wx, Wh, b), ref.rnn_forward(X, h0, Wx, Wh, b), "rnn_forward(X (2, 6, 3), h0 (2, 4) not zero, ...)", rtol=1e-5, atol=1e-6)
"""),
        "build_rnn": Case("""
import keras
for cell, kind in (("simple", "SimpleRNN"), ("lstm", "LSTM"), ("gru", "GRU")):
    call = f"build_rnn(12, 3, 4, cell={cell!r})"
    model = build_rnn(12, 3, 4, cell=cell)
    assert isinstance(model, keras.Model), f"{call} returned a {type(model).__name__}, not a keras.Model"
    assert tuple(model.output_shape) == (None, 4), f"{call} has output shape {model.output_shape}; expected (None, 4)"
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kind in kinds, f"{call} has layers {kinds}; expected a {kind} layer"
    assert not model.compiled, f"{call} returned a compiled model; a builder leaves compiling to the caller"
    out = model.predict(rng.normal(size=(2, 12, 3)).astype("float32"), verbose=0)
    _same(out.sum(axis=1), np.ones(2), f"{call}: each row of predictions sums to 1 (a softmax output)", atol=1e-5)
try:
    build_rnn(12, 3, 4, cell="transformer")
except ValueError:
    pass
else:
    raise AssertionError("build_rnn(12, 3, 4, cell='transformer') must raise ValueError")
"""),
        "train_rnn": _train_case("train_rnn"),
    },
}


# --------------------------------------------------------------------------------------------------
# Helpers that the set-up cell defines (their source is copied into the notebook)
# --------------------------------------------------------------------------------------------------


def _examples(function, examples):
    """Run doctest examples, ``[(source, want), ...]``, with the notebook's functions; fail with doctest's report.

    (The examples travel as pairs, not as ``>>>`` text: IPython strips ``>>>`` prompts from a cell's
    lines before running it, even inside a string.)
    """
    import doctest

    text = "".join(">>> " + "\n... ".join(source.splitlines()) + "\n" + want for source, want in examples)
    test = doctest.DocTestParser().get_doctest(text, dict(globals()), function.__name__, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    report = []
    runner.run(test, out=report.append)
    if runner.failures or not runner.tries:
        raise AssertionError("".join(report) or f"no example of {function.__name__} ran")


def _same(got, expected, call, rtol=1e-5, atol=1e-8):
    """Fail unless ``got`` has ``expected``'s structure, shapes and values (numbers to a tolerance).

    >>> _same([1.0, 2.0], (1.0, 2.0 + 1e-9), "f()")
    >>> _same({"a": 1.0}, {"a": 2.0}, "f()")
    Traceback (most recent call last):
    ...
    AssertionError: f()['a'] returned 1; expected 2
    """
    import numpy as np

    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            raise AssertionError(f"{call} returned {got!r:.200}; expected a dict with keys {sorted(expected)}")
        for key in expected:
            _same(got[key], expected[key], f"{call}[{key!r}]", rtol, atol)
        return
    if isinstance(expected, (list, tuple)) and any(isinstance(e, (list, tuple, dict, np.ndarray)) for e in expected):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            raise AssertionError(f"{call} returned {got!r:.200}; expected a sequence of {len(expected)} items")
        for i, (g, e) in enumerate(zip(got, expected)):
            _same(g, e, f"{call}[{i}]", rtol, atol)
        return
    e = np.asarray(expected, dtype=float)
    try:
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{call} returned {got!r:.200}, not numbers; expected {e}") from None
    if g.shape != e.shape:
        raise AssertionError(f"{call} returned an array of shape {g.shape}; expected shape {e.shape}")
    if not np.allclose(g, e, rtol=rtol, atol=atol):
        def show(a):
            return f"{float(a):.6g}" if a.ndim == 0 else np.array2string(a, threshold=12, precision=5)

        raise AssertionError(f"{call} returned {show(g)}; expected {show(e)}")


def _no_warnings(function, *args, **kwargs):
    """Call ``function``; fail if it raises a RuntimeWarning (overflow in exp, divide by zero, ...)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args, **kwargs)
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if runtime:
        raise AssertionError(f"{function.__name__} warned {runtime[0].category.__name__}: {runtime[0].message}")
    return result


_HELPERS = (_examples, _same, _no_warnings)


# --------------------------------------------------------------------------------------------------
# From a solution module to cells
# --------------------------------------------------------------------------------------------------


@dataclass
class Chunk:
    kind: str  # setup | given | solution
    code: str
    function: str | None = None


def split_module(text: str, filename: str = "<string>") -> tuple[str, list[Chunk]]:
    """``(lesson, chunks)``: the module docstring and the code cut at top-level statements.

    Imports and anything before the first function are ``setup``; a function holding a solution
    region is ``solution``; every other top-level statement is ``given``. Comments above a
    statement travel with it.
    """
    tree = ast.parse(text, filename)
    lines = text.splitlines()
    regions = find_regions(text, filename)
    body = list(tree.body)
    lesson = ""
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        lesson = inspect.cleandoc(body[0].value.value)
        start = body.pop(0).end_lineno
    else:
        start = 0
    chunks: list[Chunk] = []
    seen_def = False
    for node in body:
        end = node.end_lineno
        while end < len(lines) and (not lines[end].strip() or lines[end][:1].isspace()):
            end += 1  # indented lines after the node (a region's END marker) belong to it
        code = "\n".join(lines[start:end]).strip("\n")
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        is_def = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        if is_def and any(first <= r.begin <= end for r in regions):
            chunks.append(Chunk("solution", code, node.name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)) or not (seen_def or is_def):
            chunks.append(Chunk("setup", code))
        else:
            chunks.append(Chunk("given", code))
        seen_def = seen_def or is_def
        start = end
    return lesson, chunks


def _nbgrader_markers(code: str) -> str:
    """Move each region's hint to a ``# TODO:`` comment above nbgrader's bare ``### BEGIN SOLUTION``."""
    out = []
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            indent = line[: len(line) - len(stripped)]
            hint = stripped[len(BEGIN):].strip(" :-")
            if hint:
                out.append(f"{indent}# TODO: {hint}")
            out.append(f"{indent}{BEGIN}")
        else:
            out.append(line)
    return "\n".join(out)


class _StripDocs(ast.NodeTransformer):
    """Remove docstrings and annotations: the hidden reference only has to run."""

    def _strip(self, node):
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    def visit_FunctionDef(self, node):  # noqa: N802 - ast's visitor naming
        node.returns = None
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg):
            if arg is not None:
                arg.annotation = None
        return self._strip(node)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = _strip

    def visit_ImportFrom(self, node):  # noqa: N802
        return None if node.module == "__future__" else node


def reference_code(text: str) -> str:
    """The solution module as plain code: no docstrings, comments, annotations or solution markers."""
    tree = _StripDocs().visit(ast.parse(text))
    tree.body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(getattr(n, "value", None), ast.Constant))]
    return ast.unparse(ast.fix_missing_locations(tree))


def examples_of(code: str, function: str) -> list[tuple[str, str]]:
    """The examples of ``function``'s docstring in ``code`` as ``(source, want)`` pairs (empty if none)."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            examples = doctest.DocTestParser().get_examples(ast.get_docstring(node) or "")
            return [(e.source.rstrip("\n"), _want(e)) for e in examples]
    return []


def _want(example: doctest.Example) -> str:
    if example.exc_msg is not None:
        return "Traceback (most recent call last):\n    ...\n" + example.exc_msg
    return example.want


def _examples_call(function: str, examples: list[tuple[str, str]]) -> str:
    rows = "".join(f"    ({source!r}, {want!r}),\n" for source, want in examples)
    return f"_examples({function}, [\n{rows}])"


def secret_seed(topic: str, text: str) -> int:
    """The seed of the held-out split in this topic's hidden tests: derived from the reference, not guessable from a release."""
    return int.from_bytes(hashlib.sha256(f"nbgrader:{topic}:{text}".encode()).digest()[:4], "big") % 10**8


def _data_call(topic: str, seed: int) -> str:
    from autograder.datasets import DATASETS

    loader = DATASETS[topic]
    params = inspect.signature(loader).parameters
    kw = "heldout_seed" if "heldout_seed" in params else "seed" if "seed" in params else None
    args = f"{kw}={seed}" if kw else ""
    return f"DATASETS[{topic!r}]({args})"


def _points(topic: Topic, weights: list[float]) -> list[float]:
    """Split the topic's points by ``weights`` (largest remainder; whole points where the total is whole).

    >>> _points(Topic("t", "T", 12, True, 10), [1, 1, 1, 2])
    [3.0, 2.0, 2.0, 5.0]
    """
    total = topic.points
    unit = 1.0 if float(total).is_integer() else 0.01
    units = round(total / unit)
    shares = [units * w / sum(weights) for w in weights]
    whole = [int(s) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - whole[i]), -weights[i], i))
    for i in order[: units - sum(whole)]:
        whole[i] += 1
    return [w * unit for w in whole]


# --------------------------------------------------------------------------------------------------
# Notebook cells
# --------------------------------------------------------------------------------------------------


def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _test_cell(topic: Topic, chunk: Chunk, case: Case | None, examples: list[tuple[str, str]], ref: str, points: float, seed: int):
    import nbformat.v4 as nbf

    name = chunk.function
    parts = []
    if case is not None and case.training:
        limit = int(3 * (topic.train_budget or topic.call_budget) + 60)
        parts.append(TIME_LIMIT.format(seconds=limit))
    parts.append(f"# Checks of {name} ({points:g} points): its docstring's examples{', then hidden tests' if case else ''}.")
    if examples:
        parts.append(_examples_call(name, examples))
    if case is not None:
        fill = {"topic": topic.name, "bar": topic.accuracy_bar, "budget": topic.train_budget or topic.call_budget,
                "data": _data_call(topic.name, seed) if case.training else ""}
        if case.visible.strip():
            parts.append(string.Template(case.visible.strip("\n")).substitute(fill))
        hidden = string.Template(case.hidden.strip("\n")).substitute(fill)
        check, reference = f"_hidden_{name}", f"_reference_{name}"
        block = [HIDDEN_BEGIN]
        uses_ref = re.search(r"\bref\.", hidden) is not None
        if uses_ref:
            block += [f"def {reference}():", textwrap.indent(ref, "    "),
                      "    return __import__('types').SimpleNamespace(**locals())", "", ""]
        # The docstring keeps the reference code more than IPython's traceback context (5 lines) away
        # from any line that can fail, so a failing hidden test never shows reference code.
        seed = zlib.crc32(f"{topic.name}.{name}".encode()) % 2**31
        body = ['"""Hidden tests: the notebook\'s function against expected values computed here.',
                "", "Inputs are seeded; expected values come from the reference or an independent formula.", '"""',
                "import numpy as np", "",
                f"ref = {reference}()" if uses_ref else "ref = None", f"rng = np.random.default_rng({seed})", hidden]
        block += [f"def {check}():", textwrap.indent("\n".join(body), "    "), "", "", f"{check}()", HIDDEN_END]
        parts.append("\n".join(block))
    elif not examples:
        raise ExportError(f"{topic.name}.{name}: no docstring example and no nbgrader case, so its test cell would test nothing")
    cell = nbf.new_code_cell("\n".join(parts), metadata=_meta(f"test_{topic.name}_{name}", grade=True, locked=True, points=points))
    return cell


def _setup_code(chunks: list[Chunk]) -> str:
    future = [c.code for c in chunks if c.code.startswith("from __future__")]
    rest = [c.code for c in chunks if not c.code.startswith("from __future__")]
    head = [*future, *([""] if future else []), "import os", "",
            'os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # quiet TensorFlow\'s start-up messages',
            'os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"', ""]
    helpers = "\n\n\n".join(inspect.getsource(h) for h in _HELPERS)
    return "\n".join(head) + "\n".join(rest) + "\n\n\n# Helpers of the test cells below (given).\n" + helpers


def topic_notebook(topic: Topic, course: Course):
    """The nbgrader source notebook of one topic (an ``nbformat`` v4 notebook)."""
    import nbformat.v4 as nbf

    path = course.solutions_dir / f"{topic.name}.py"
    text = path.read_text(encoding="utf-8")
    lesson, chunks = split_module(text, str(path))
    cases = CASES.get(topic.name, {})
    ref = reference_code(text)
    seed = secret_seed(topic.name, text)
    tested = [c for c in chunks if c.kind == "solution" and not c.function.startswith("_")]
    if not tested:
        raise ExportError(f"{path}: no function with a solution region to grade")
    points = dict(zip((c.function for c in tested), _points(topic, [cases[c.function].weight if c.function in cases else 1.0 for c in tested])))
    intro = (f"# {topic.title}\n\n{lesson}\n\n---\n\nFill in every cell that says `YOUR CODE HERE`, then run the "
             f"test cell below it. The visible tests are a subset: hidden tests decide the grade "
             f"({topic.points:g} points in all).")
    cells = [nbf.new_markdown_cell(intro, metadata=_meta(f"{topic.name}_lesson", locked=True)),
             nbf.new_code_cell(_setup_code([c for c in chunks if c.kind == "setup"]), metadata=_meta(f"{topic.name}_setup", locked=True))]
    given = 0
    for chunk in chunks:
        if chunk.kind == "given":
            given += 1
            cells.append(nbf.new_code_cell(chunk.code, metadata=_meta(f"{topic.name}_given_{given}", locked=True)))
        elif chunk.kind == "solution":
            cells.append(nbf.new_code_cell(_nbgrader_markers(chunk.code), metadata=_meta(f"{topic.name}_{chunk.function}", solution=True)))
            if chunk in tested:
                case = cases.get(chunk.function)
                cells.append(_test_cell(topic, chunk, case, examples_of(chunk.code, chunk.function), ref, points[chunk.function], seed))
    nb = nbf.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    return nb


def untested_functions(course: Course) -> list[str]:
    """``topic.function`` of every graded function without a hidden nbgrader case (examples only)."""
    missing = []
    for topic in course.topics:
        path = course.solutions_dir / f"{topic.name}.py"
        _, chunks = split_module(path.read_text(encoding="utf-8"), str(path))
        missing += [f"{topic.name}.{c.function}" for c in chunks
                    if c.kind == "solution" and not c.function.startswith("_") and c.function not in CASES.get(topic.name, {})]
    return missing


NBGRADER_CONFIG = '''"""nbgrader configuration of "{title}", written by `autograder nbgrader` (re-export rather than edit)."""

import re

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821 - nbgrader provides get_config when it reads this file

c.CourseDirectory.course_id = {course_id!r}

# Time limits. nbgrader's default of 30 s per cell silently fails training cells. Every cell gets
# Execute.timeout; a cell whose first line says "# time limit: N s" gets N seconds (the training
# checks: 3 x train_budget of course.toml + 60 s for loading data and predicting).
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
_LIMIT = re.compile(r"^# time limit: (\\d+) s$", re.MULTILINE)


def _cell_timeout(cell):
    found = _LIMIT.search(cell.source)
    return int(found.group(1)) if found else {timeout}


c.Execute.timeout_func = _cell_timeout

# Feedback must not show the hidden tests: they hold the reference solution.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
'''


def export(out: str | Path, *, course: Course | None = None, assignment: str = DEFAULT_ASSIGNMENT,
           topics: list[str] | None = None, force: bool = False) -> Path:
    """Write the nbgrader course directory ``out`` (config and source notebooks); return it."""
    import nbformat

    from autograder.release import check_output

    course = course or course_mod.load()
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", assignment):
        raise ExportError(f"assignment name {assignment!r}: use letters, digits, '-' and '_' (nbgrader's rule)")
    chosen = [course.topic(t) for t in topics] if topics else list(course.topics)
    out = Path(out).resolve()
    check_output(out, course)
    folder = out / "source" / assignment
    if folder.exists() and any(folder.iterdir()) and not force:
        raise ExportError(f"{folder} already holds notebooks; pass --force to overwrite them")
    folder.mkdir(parents=True, exist_ok=True)
    for topic in chosen:
        nb = topic_notebook(topic, course)
        nbformat.validate(nb)
        nbformat.write(nb, str(folder / f"{topic.name}.ipynb"))
    slug = re.sub(r"[^a-z0-9]+", "-", course.title.lower()).strip("-") or "course"
    (out / "nbgrader_config.py").write_text(
        NBGRADER_CONFIG.format(title=course.title, course_id=slug, timeout=CELL_TIMEOUT), encoding="utf-8")
    return out


def notebook_module(notebook: str | Path) -> str:
    """The code of a (student's) notebook as one module, test cells left out.

    Used to grade an nbgrader submission with ``autograder grade`` as well: write it to
    ``<folder>/<topic>.py`` and grade the folder.
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    parts = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not (meta.get("grade") and not meta.get("solution")):
            parts.append(cell.source)
    return "\n\n\n".join(parts) + "\n"


__all__ = ["CASES", "Case", "ExportError", "export", "notebook_module", "topic_notebook", "untested_functions"]
