"""Reference solutions of the first five topics against independent oracles.

Oracles: SciPy (``expit``, ``softmax``, ``kstest``), ``keras.activations`` / ``keras.losses`` /
``keras.optimizers.SGD`` / ``keras.layers.Dense``, TensorFlow's ``GradientTape``, scikit-learn's
``log_loss``, and centred finite differences with a relative error. Never the reference against
itself. TensorFlow/Keras are imported inside the tests that need them, so the NumPy-only topics can
be checked without paying for the import.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.util
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from scipy import special, stats

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
NUMPY_ONLY = ("neurons", "gradient_descent", "backprop")


@functools.cache
def _load(topic: str) -> ModuleType:
    """Import ``solutions/<topic>.py`` by path (no package, no sys.path edits)."""
    spec = importlib.util.spec_from_file_location(f"_reference_{topic}", SOLUTIONS / f"{topic}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _strict():
    """Turn overflow, division by zero, invalid operations and any RuntimeWarning into errors."""
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        warnings.simplefilter("error", RuntimeWarning)
        yield


def _rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """CS231n's relative error ``max |a - b| / max(|a| + |b|)``, safe when both are ~0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def _centred_diff(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Elementwise derivative of an elementwise function by centred differences (test oracle)."""
    return (f(x + h) - f(x - h)) / (2 * h)


def _probabilities(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Rows of strictly positive probabilities summing to 1 along the last axis."""
    p = rng.uniform(0.05, 1.0, size=shape)
    return p / p.sum(axis=-1, keepdims=True)


def _one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


# --------------------------------------------------------------------------------------------------
# Module hygiene
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", NUMPY_ONLY)
def test_numpy_topics_do_not_import_keras_or_tensorflow(topic):
    tree = ast.parse((SOLUTIONS / f"{topic}.py").read_text(encoding="utf-8"))
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"keras", "tensorflow", "torch", "jax"}, imported


@pytest.mark.parametrize("topic", ["activations", "losses"])
def test_keras_topics_import_keras_at_the_top(topic):
    tree = ast.parse((SOLUTIONS / f"{topic}.py").read_text(encoding="utf-8"))
    top = {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    assert "keras" in top


# --------------------------------------------------------------------------------------------------
# 1. neurons
# --------------------------------------------------------------------------------------------------


def test_dense_forward_matches_a_neuron_by_neuron_sum():
    neurons = _load("neurons")
    rng = np.random.default_rng(1)
    x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    expected = np.empty((4, 5))
    for i in range(4):
        for j in range(5):
            expected[i, j] = np.tanh(sum(x[i, k] * W[k, j] for k in range(3)) + b[j])
    np.testing.assert_allclose(neurons.dense_forward(x, W, b, np.tanh), expected, rtol=1e-12)


def test_count_parameters_of_the_video_network():
    assert _load("neurons").count_parameters([784, 16, 16, 10]) == 13002


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_count_parameters_matches_keras():
    import keras

    sizes = [7, 5, 3, 2]
    model = keras.Sequential([keras.Input((sizes[0],))] + [keras.layers.Dense(n) for n in sizes[1:]])
    result = _load("neurons").count_parameters(sizes)
    assert isinstance(result, int)
    assert result == model.count_params()


def test_init_params_shapes_and_zero_biases():
    params = _load("neurons").init_params([6, 4, 3], seed=0)
    assert [(W.shape, b.shape) for W, b in params] == [((6, 4), (4,)), ((4, 3), (3,))]
    for _, b in params:
        np.testing.assert_array_equal(b, 0.0)


def test_init_params_is_glorot_uniform():
    n_in, n_out = 300, 200
    (W, _), = _load("neurons").init_params([n_in, n_out], seed=3)
    limit = np.sqrt(6 / (n_in + n_out))
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.99 * limit  # the whole range is used, not a narrower one
    # Kolmogorov-Smirnov against U(-limit, limit): a wrong limit or distribution gives p ~ 0.
    assert stats.kstest(W.ravel(), stats.uniform(loc=-limit, scale=2 * limit).cdf).pvalue > 1e-3


def test_init_params_reproducible_with_seed():
    neurons = _load("neurons")
    a, b, c = (neurons.init_params([5, 4, 2], seed=s) for s in (7, 7, 8))
    for (Wa, ba), (Wb, bb) in zip(a, b):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)
    assert not np.allclose(a[0][0], c[0][0])


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_mlp_forward_matches_keras_sequential():
    import keras

    neurons = _load("neurons")
    sizes = [5, 4, 3, 2]
    params = neurons.init_params(sizes, seed=2)
    rng = np.random.default_rng(2)
    params = [(W, rng.normal(size=b.shape)) for W, b in params]  # non-zero biases are checked too
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(3, activation="tanh"),
         keras.layers.Dense(2, activation="softmax")]
    )
    for layer, (W, b) in zip(model.layers, params):
        layer.set_weights([W, b])
    x = rng.normal(size=(6, 5))
    got = neurons.mlp_forward(x, params, np.tanh, lambda z: special.softmax(z, axis=-1))
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_mlp_forward_does_not_mutate_inputs():
    neurons = _load("neurons")
    params = neurons.init_params([3, 2, 1], seed=0)
    x = np.ones((2, 3))
    copies = [(W.copy(), b.copy()) for W, b in params]
    neurons.mlp_forward(x, params, np.tanh, np.tanh)
    np.testing.assert_array_equal(x, 1.0)
    for (W, b), (W0, b0) in zip(params, copies):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)


# --------------------------------------------------------------------------------------------------
# 2. activations
# --------------------------------------------------------------------------------------------------


def test_sigmoid_matches_scipy_expit():
    z = np.concatenate([np.linspace(-40, 40, 161), np.random.default_rng(0).normal(scale=5, size=100)])
    np.testing.assert_allclose(_load("activations").sigmoid(z), special.expit(z), rtol=1e-12, atol=0)


def test_sigmoid_at_plus_minus_1000_without_warnings():
    z = np.array([-1000.0, 1000.0])
    with _strict():
        s = _load("activations").sigmoid(z)
    np.testing.assert_array_equal(s, [0.0, 1.0])


def test_sigmoid_keeps_nd_shape():
    z = np.random.default_rng(0).normal(size=(2, 3, 4))
    s = _load("activations").sigmoid(z)
    assert s.shape == z.shape
    np.testing.assert_allclose(s, special.expit(z), rtol=1e-12)


def test_sigmoid_derivative_matches_centred_differences():
    z = np.linspace(-8, 8, 41)
    got = _load("activations").sigmoid_derivative(z)
    assert _rel_error(got, _centred_diff(special.expit, z)) < 1e-7


def test_sigmoid_derivative_at_plus_minus_1000_is_zero_without_warnings():
    with _strict():
        d = _load("activations").sigmoid_derivative(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(d, [0.0, 0.0])


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_relu_matches_keras():
    import keras

    z = np.random.default_rng(0).normal(size=(5, 4))
    expected = keras.ops.convert_to_numpy(keras.activations.relu(z))
    np.testing.assert_allclose(_load("activations").relu(z), expected, rtol=1e-12)


def test_relu_derivative_matches_centred_differences_away_from_zero():
    activations = _load("activations")
    z = np.array([-3.0, -0.5, -1e-3, 1e-3, 0.5, 3.0])
    expected = _centred_diff(lambda v: np.maximum(v, 0.0), z, h=1e-5)
    np.testing.assert_allclose(activations.relu_derivative(z), expected, atol=1e-9)


def test_relu_derivative_is_zero_at_zero():
    assert _load("activations").relu_derivative(np.array([0.0]))[0] == 0.0


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_matches_scipy_on_2d(axis):
    z = np.random.default_rng(axis + 5).normal(scale=3, size=(4, 6))
    np.testing.assert_allclose(_load("activations").softmax(z, axis=axis), special.softmax(z, axis=axis), rtol=1e-12)


def test_softmax_on_1d_input():
    z = np.array([1.0, 2.0, 3.0, -1.0])
    got = _load("activations").softmax(z)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, special.softmax(z), rtol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_on_3d_input_along_axis(axis):
    z = np.random.default_rng(1).normal(size=(2, 3, 4))
    got = _load("activations").softmax(z, axis=axis)
    np.testing.assert_allclose(got, special.softmax(z, axis=axis), rtol=1e-12)
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=1e-12)


def test_softmax_axis_0_differs_from_last_axis():
    z = np.array([[1.0, 2.0], [3.0, 5.0]])
    softmax = _load("activations").softmax
    np.testing.assert_allclose(softmax(z, axis=0).sum(axis=0), [1.0, 1.0])
    assert not np.allclose(softmax(z, axis=0), softmax(z, axis=-1))


def test_softmax_at_plus_minus_1000_without_warnings():
    z = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]])
    with _strict():
        p = _load("activations").softmax(z)
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], atol=1e-300)


def test_softmax_does_not_mutate_input():
    z = np.array([[3.0, 1.0, 2.0]])
    _load("activations").softmax(z)
    np.testing.assert_array_equal(z, [[3.0, 1.0, 2.0]])


def test_softmax_of_z_and_zero_is_sigmoid_of_z():
    activations = _load("activations")
    z = np.linspace(-20, 20, 81)
    two_logits = np.stack([z, np.zeros_like(z)], axis=-1)
    np.testing.assert_allclose(activations.softmax(two_logits)[:, 0], special.expit(z), rtol=1e-12)
    np.testing.assert_allclose(activations.sigmoid(z), special.expit(z), rtol=1e-12)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_sigmoid_keras_matches_keras_activation():
    import keras

    z = np.concatenate([np.linspace(-30, 30, 61), [-1000.0, 1000.0]]).astype("float32")
    got = keras.ops.convert_to_numpy(_load("activations").sigmoid_keras(keras.ops.convert_to_tensor(z)))
    expected = keras.ops.convert_to_numpy(keras.activations.sigmoid(z))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_keras_matches_keras_activation(axis):
    import keras

    z = np.random.default_rng(0).normal(scale=4, size=(3, 5)).astype("float32")
    got = keras.ops.convert_to_numpy(_load("activations").softmax_keras(keras.ops.convert_to_tensor(z), axis=axis))
    expected = keras.ops.convert_to_numpy(keras.activations.softmax(z, axis=axis))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_sigmoid_keras_gradient_finite_at_plus_minus_1000():
    import tensorflow as tf

    x = tf.constant([-1000.0, -1.0, 0.0, 2.0, 1000.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = _load("activations").sigmoid_keras(x)
    grad = tape.gradient(y, x).numpy()
    assert np.all(np.isfinite(grad))
    s = special.expit(x.numpy().astype(float))
    np.testing.assert_allclose(grad, s * (1 - s), atol=1e-6)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_softmax_keras_gradient_finite_at_plus_minus_1000():
    import tensorflow as tf

    x = tf.constant([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    weights = tf.constant([[1.0, 2.0, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(_load("activations").softmax_keras(x) * weights)
    grad = tape.gradient(y, x).numpy()
    assert np.all(np.isfinite(grad))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y_ref = tf.reduce_sum(tf.nn.softmax(x) * weights)
    np.testing.assert_allclose(grad, tape.gradient(y_ref, x).numpy(), atol=1e-6)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@pytest.mark.parametrize("name, oracle", [("sigmoid_keras", special.expit), ("softmax_keras", special.softmax)])
def test_keras_activation_inside_a_dense_layer(name, oracle):
    import keras

    activation = getattr(_load("activations"), name)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=activation)])
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=3).astype("float32")
    model.layers[0].set_weights([W, b])
    x = rng.normal(size=(5, 4)).astype("float32")
    expected = oracle(x.astype(float) @ W + b) if name == "sigmoid_keras" else oracle(x.astype(float) @ W + b, axis=-1)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------------------
# 3. losses
# --------------------------------------------------------------------------------------------------


def _keras_loss(name: str, y_true, y_pred) -> np.ndarray:
    import keras

    return keras.ops.convert_to_numpy(getattr(keras.losses, name)(y_true, y_pred)).astype(float)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@pytest.mark.parametrize("name", ["mean_squared_error", "mean_absolute_error"])
def test_regression_losses_match_keras_per_example(name):
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    got = getattr(_load("losses"), name)(y_true, y_pred)
    assert got.shape == (6,)
    np.testing.assert_allclose(got, _keras_loss(name, y_true, y_pred), rtol=1e-6)


def test_l1_is_absolute_and_l2_is_squared():
    losses = _load("losses")
    y_true, y_pred = np.array([[0.0, 0.0]]), np.array([[3.0, -1.0]])
    np.testing.assert_allclose(losses.mean_absolute_error(y_true, y_pred), [2.0])
    np.testing.assert_allclose(losses.mean_squared_error(y_true, y_pred), [5.0])


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_binary_crossentropy_matches_keras_per_example():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 2, size=(8, 3)).astype(float)
    y_pred = rng.uniform(0.01, 0.99, size=(8, 3))
    got = _load("losses").binary_crossentropy(y_true, y_pred)
    assert got.shape == (8,)
    np.testing.assert_allclose(got, _keras_loss("binary_crossentropy", y_true, y_pred), rtol=1e-5)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_categorical_crossentropy_matches_keras_per_example():
    rng = np.random.default_rng(2)
    y_true, y_pred = _one_hot(rng.integers(0, 4, size=7), 4), _probabilities(rng, (7, 4))
    got = _load("losses").categorical_crossentropy(y_true, y_pred)
    assert got.shape == (7,)
    np.testing.assert_allclose(got, _keras_loss("categorical_crossentropy", y_true, y_pred), rtol=1e-5)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_sparse_categorical_crossentropy_matches_keras_per_example():
    rng = np.random.default_rng(3)
    labels, y_pred = rng.integers(0, 5, size=9), _probabilities(rng, (9, 5))
    got = _load("losses").sparse_categorical_crossentropy(labels, y_pred)
    assert got.shape == (9,)
    np.testing.assert_allclose(got, _keras_loss("sparse_categorical_crossentropy", labels, y_pred), rtol=1e-5)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_binary_crossentropy_at_probabilities_0_and_1_without_warnings():
    y_true = np.array([[1.0], [0.0], [1.0], [0.0]])
    y_pred = np.array([[0.0], [1.0], [1.0], [0.0]])
    with _strict():
        got = _load("losses").binary_crossentropy(y_true, y_pred)
    big, small = -np.log(1e-7), -np.log1p(-1e-7)
    np.testing.assert_allclose(got, [big, big, small, small], rtol=1e-9)
    np.testing.assert_allclose(got, _keras_loss("binary_crossentropy", y_true, y_pred), rtol=1e-4, atol=1e-6)


def test_categorical_crossentropies_at_probabilities_0_and_1_without_warnings():
    losses = _load("losses")
    labels = np.array([0, 1])
    y_pred = np.array([[0.0, 1.0], [0.0, 1.0]])  # wrong with certainty, right with certainty
    with _strict():
        cce = losses.categorical_crossentropy(_one_hot(labels, 2), y_pred)
        sparse = losses.sparse_categorical_crossentropy(labels, y_pred)
    expected = [-np.log(1e-7), -np.log1p(-1e-7)]
    np.testing.assert_allclose(cce, expected, rtol=1e-9)
    np.testing.assert_allclose(sparse, expected, rtol=1e-9)


def test_crossentropy_eps_argument_is_used():
    losses = _load("losses")
    np.testing.assert_allclose(
        losses.binary_crossentropy(np.array([[1.0]]), np.array([[0.0]]), eps=1e-3), [-np.log(1e-3)]
    )
    np.testing.assert_allclose(
        losses.categorical_crossentropy(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), eps=1e-3), [-np.log(1e-3)]
    )
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(np.array([0]), np.array([[0.0, 1.0]]), eps=1e-3), [-np.log(1e-3)]
    )


def test_sparse_equals_categorical_of_one_hot():
    losses = _load("losses")
    rng = np.random.default_rng(4)
    labels, y_pred = rng.integers(0, 3, size=10), _probabilities(rng, (10, 3))
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(labels, y_pred),
        losses.categorical_crossentropy(_one_hot(labels, 3), y_pred),
        rtol=1e-12,
    )


def test_losses_do_not_mutate_inputs():
    losses = _load("losses")
    y_true, y_pred = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    for fn in (losses.binary_crossentropy, losses.categorical_crossentropy, losses.mean_squared_error):
        fn(y_true, y_pred)
    losses.sparse_categorical_crossentropy(np.array([0]), y_pred)
    np.testing.assert_array_equal(y_true, [[1.0, 0.0]])
    np.testing.assert_array_equal(y_pred, [[0.0, 1.0]])


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_cost_is_the_mean_as_keras_reduces_it():
    import keras

    losses = _load("losses")
    rng = np.random.default_rng(5)
    y_true, y_pred = rng.normal(size=(10, 2)), rng.normal(size=(10, 2))
    got = losses.cost(losses.mean_squared_error, y_true, y_pred)
    assert type(got) is float
    expected = float(keras.ops.convert_to_numpy(keras.losses.MeanSquaredError()(y_true, y_pred)))
    assert got == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_categorical_crossentropy_keras_matches_keras():
    import keras

    rng = np.random.default_rng(6)
    y_true = _one_hot(rng.integers(0, 4, size=6), 4).astype("float32")
    y_pred = _probabilities(rng, (6, 4)).astype("float32")
    y_pred[0] = [0.0, 0.0, 1.0, 0.0]  # exactly 0 and 1 go through the clipping too
    custom = _load("losses").categorical_crossentropy_keras
    got = custom(keras.ops.convert_to_tensor(y_true), keras.ops.convert_to_tensor(y_pred))
    expected = keras.losses.categorical_crossentropy(y_true, y_pred)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(expected), rtol=1e-6)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_categorical_crossentropy_keras_in_compile_and_fit():
    import keras

    custom = _load("losses").categorical_crossentropy_keras
    rng = np.random.default_rng(7)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = _one_hot(rng.integers(0, 3, size=16), 3).astype("float32")
    W, b = rng.normal(size=(4, 3)).astype("float32"), np.zeros(3, "float32")
    histories = []
    for loss in (custom, "categorical_crossentropy"):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.layers[0].set_weights([W, b])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
        histories.append(model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False).history["loss"][0])
        histories.append(model.evaluate(x, y, verbose=0))
    assert np.all(np.isfinite(histories))
    np.testing.assert_allclose(histories[:2], histories[2:], rtol=1e-5)


# --------------------------------------------------------------------------------------------------
# 4. gradient_descent
# --------------------------------------------------------------------------------------------------


def test_numerical_gradient_matches_analytic_gradient():
    gd = _load("gradient_descent")
    x = np.random.default_rng(0).normal(size=(3, 4))
    # Not separable (the squared sum couples the entries): a nudge left in place would show.
    got = gd.numerical_gradient(lambda v: float(np.sum(np.sin(v) * v**2) + np.sum(v) ** 2), x)
    assert got.shape == x.shape
    assert _rel_error(got, np.cos(x) * x**2 + 2 * x * np.sin(x) + 2 * np.sum(x)) < 1e-7


def test_numerical_gradient_does_not_mutate_x():
    x = np.array([1.0, 2.0])
    _load("gradient_descent").numerical_gradient(lambda v: float(v @ v), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_numerical_gradient_of_integer_input():
    got = _load("gradient_descent").numerical_gradient(lambda v: float(np.sum(v**2)), np.array([1, 2]))
    np.testing.assert_allclose(got, [2.0, 4.0], rtol=1e-6)


def test_gradient_descent_on_a_quadratic_follows_the_closed_form():
    gd = _load("gradient_descent")
    x0 = np.array([3.0, -1.0])
    x, history = gd.gradient_descent(lambda v: 2 * v, x0, learning_rate=0.1, n_steps=10)
    assert len(history) == 11
    for t, h in enumerate(history):
        np.testing.assert_allclose(h, x0 * 0.8**t, rtol=1e-12)
    np.testing.assert_allclose(x, history[-1])
    np.testing.assert_array_equal(x0, [3.0, -1.0])


def test_gradient_descent_history_entries_are_independent_copies():
    _, history = _load("gradient_descent").gradient_descent(lambda v: np.ones_like(v), np.zeros(2), 1.0, 3)
    np.testing.assert_allclose([h[0] for h in history], [0.0, -1.0, -2.0, -3.0])


def test_sgd_update_values_and_no_mutation():
    params, grads = [np.array([1.0, 2.0]), np.array([[3.0]])], [np.array([0.5, -1.0]), np.array([[2.0]])]
    new = _load("gradient_descent").sgd_update(params, grads, 0.1)
    np.testing.assert_allclose(new[0], [0.95, 2.1])
    np.testing.assert_allclose(new[1], [[2.8]])
    np.testing.assert_array_equal(params[0], [1.0, 2.0])
    np.testing.assert_array_equal(params[1], [[3.0]])
    assert new is not params


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_momentum_update_matches_keras_sgd_over_several_steps():
    import keras

    gd = _load("gradient_descent")
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=2).astype("float32")]
    gradient_steps = [[rng.normal(size=p.shape).astype("float32") for p in start] for _ in range(5)]
    variables = [keras.Variable(p) for p in start]
    optimizer = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
    params, velocities = [p.astype(float) for p in start], [np.zeros(p.shape) for p in start]
    for grads in gradient_steps:
        optimizer.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in grads], variables))
        params, velocities = gd.momentum_update(params, [g.astype(float) for g in grads], velocities, 0.05, 0.9)
    for p, v in zip(params, variables):
        np.testing.assert_allclose(p, keras.ops.convert_to_numpy(v), rtol=1e-5, atol=1e-6)


def test_momentum_update_does_not_mutate_inputs():
    params, grads, velocities = [np.array([1.0])], [np.array([1.0])], [np.array([0.5])]
    _load("gradient_descent").momentum_update(params, grads, velocities, 0.1, 0.9)
    assert (params[0][0], grads[0][0], velocities[0][0]) == (1.0, 1.0, 0.5)


def test_minibatches_cover_every_example_once_in_shuffled_order():
    gd = _load("gradient_descent")
    X = np.arange(23 * 2).reshape(23, 2)
    y = np.arange(23)
    batches = list(gd.minibatches(X, y, batch_size=5, seed=0))
    assert [len(yb) for _, yb in batches] == [5, 5, 5, 5, 3]  # the last, partial batch is kept
    order = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(np.sort(order), y)  # each example exactly once
    assert not np.array_equal(order, y)  # shuffled
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb, X[yb])  # inputs stay aligned with their targets


def test_minibatches_reproducible_with_seed():
    gd = _load("gradient_descent")
    X, y = np.zeros((30, 1)), np.arange(30)

    def order(seed):
        return np.concatenate([yb for _, yb in gd.minibatches(X, y, 8, seed)])

    np.testing.assert_array_equal(order(3), order(3))
    assert not np.array_equal(order(3), order(4))


@pytest.fixture(scope="module")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def test_train_logistic_regression_on_breast_cancer(breast_cancer):
    from sklearn.metrics import log_loss

    X, y = breast_cancer
    train = _load("gradient_descent").train_logistic_regression
    w, b, costs = train(X, y, learning_rate=0.1, epochs=15, batch_size=32, seed=0)
    assert w.shape == (X.shape[1],) and type(b) is float
    assert len(costs) == 15 and all(type(c) is float for c in costs)
    assert costs[0] < np.log(2)  # the cost at w = 0 is log 2; one epoch of updates must beat it
    assert costs[-1] < 0.5 * costs[0]
    assert costs[-1] < 0.1
    p = special.expit(X @ w + b)
    assert np.mean((p > 0.5) == y) > 0.9
    assert costs[-1] == pytest.approx(log_loss(y, p), rel=1e-6)  # the recorded cost is the full-data cost


def test_train_logistic_regression_reproducible_with_seed(breast_cancer):
    gd = _load("gradient_descent")
    X, y = breast_cancer
    w1, b1, c1 = gd.train_logistic_regression(X, y, epochs=3, seed=5)
    w2, b2, c2 = gd.train_logistic_regression(X, y, epochs=3, seed=5)
    w3, _, _ = gd.train_logistic_regression(X, y, epochs=3, seed=6)
    np.testing.assert_array_equal(w1, w2)
    assert (b1, c1) == (b2, c2)
    assert not np.array_equal(w1, w3)


def test_train_logistic_regression_full_batch_is_one_gradient_step():
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.0], [2.0, 1.0]])
    y = np.array([1, 0, 1, 1])
    w, b, _ = _load("gradient_descent").train_logistic_regression(X, y, learning_rate=0.3, epochs=1, batch_size=4)
    # From w = 0, b = 0 every prediction is 1/2; the BCE gradient is X^T (p - y) / N and mean(p - y).
    np.testing.assert_allclose(w, -0.3 * X.T @ (0.5 - y) / 4, rtol=1e-12)
    assert b == pytest.approx(-0.3 * np.mean(0.5 - y))


def test_train_logistic_regression_reshuffles_every_epoch_as_documented():
    X = np.random.default_rng(0).normal(size=(5, 2))
    y = np.array([1, 0, 1, 1, 0])
    train = _load("gradient_descent").train_logistic_regression
    w, b, _ = train(X, y, learning_rate=0.5, epochs=3, batch_size=1, seed=4)
    # Oracle: one example at a time, epoch e visiting default_rng(seed + e).permutation(N).
    w_ref, b_ref = np.zeros(2), 0.0
    for epoch in range(3):
        for i in np.random.default_rng(4 + epoch).permutation(5):
            error = special.expit(X[i] @ w_ref + b_ref) - y[i]
            w_ref, b_ref = w_ref - 0.5 * error * X[i], b_ref - 0.5 * error
    np.testing.assert_allclose(w, w_ref, rtol=1e-12)
    assert b == pytest.approx(b_ref, rel=1e-12)


def test_train_logistic_regression_updates_after_every_batch():
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.0], [2.0, 1.0]])
    y = np.array([1, 0, 0, 1])
    gd = _load("gradient_descent")
    w_full, _, _ = gd.train_logistic_regression(X, y, learning_rate=0.3, epochs=1, batch_size=4)
    w_small, _, _ = gd.train_logistic_regression(X, y, learning_rate=0.3, epochs=1, batch_size=1)
    # Four updates of one example each go further than one update with their average gradient.
    assert np.linalg.norm(w_small) > 2 * np.linalg.norm(w_full)


# --------------------------------------------------------------------------------------------------
# 5. backprop
# --------------------------------------------------------------------------------------------------


def _net(seed: int = 0, n: int = 6, n_in: int = 4, n_hidden: int = 5, k: int = 3):
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.normal(size=(n_in, n_hidden)),
        "b1": rng.normal(size=n_hidden),
        "W2": rng.normal(size=(n_hidden, k)),
        "b2": rng.normal(size=k),
    }
    return rng.normal(size=(n, n_in)), _one_hot(rng.integers(0, k, size=n), k), params


def _tf_cost_and_grads(X, y, params):
    """The same network and mean categorical cross-entropy in TensorFlow, in float64."""
    import tensorflow as tf

    variables = {k: tf.Variable(v, dtype=tf.float64) for k, v in params.items()}
    with tf.GradientTape() as tape:
        h = tf.sigmoid(tf.constant(X) @ variables["W1"] + variables["b1"])
        logits = h @ variables["W2"] + variables["b2"]
        cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=tf.constant(y), logits=logits))
    grads = tape.gradient(cost, variables)
    return float(cost.numpy()), {k: g.numpy() for k, g in grads.items()}, tf.nn.softmax(logits).numpy()


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_forward_matches_tensorflow():
    X, y, params = _net()
    p, _ = _load("backprop").forward(X, params)
    _, _, p_tf = _tf_cost_and_grads(X, y, params)
    assert p.shape == (6, 3)
    np.testing.assert_allclose(p, p_tf, rtol=1e-12)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_backward_matches_tensorflow_gradient_tape():
    backprop = _load("backprop")
    X, y, params = _net(seed=1)
    p, cache = backprop.forward(X, params)
    grads = backprop.backward(y, params, cache)
    _, expected, _ = _tf_cost_and_grads(X, y, params)
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for name in params:
        assert grads[name].shape == params[name].shape, name
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_backward_matches_centred_differences():
    backprop = _load("backprop")
    X, y, params = _net(seed=2, n=3, n_in=2, n_hidden=3, k=2)

    def cost():
        p = special.softmax(special.expit(X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"], axis=-1)
        return -np.mean(np.sum(y * np.log(p), axis=-1))

    _, cache = backprop.forward(X, params)
    grads = backprop.backward(y, params, cache)
    for name in params:
        original = params[name].copy()
        numeric = np.zeros_like(original)
        for i in np.ndindex(original.shape):
            for sign in (1, -1):
                params[name] = original.copy()
                params[name][i] += sign * 1e-6
                numeric[i] += sign * cost() / 2e-6
        params[name] = original
        assert _rel_error(grads[name], numeric) < 1e-6, name


def test_backward_uses_the_mean_over_the_batch():
    backprop = _load("backprop")
    X, y, params = _net(seed=3)
    grads = backprop.backward(y, params, backprop.forward(X, params)[1])
    X2, y2 = np.concatenate([X, X]), np.concatenate([y, y])
    grads2 = backprop.backward(y2, params, backprop.forward(X2, params)[1])
    for name in params:  # duplicating every example leaves the mean, and so its gradient, unchanged
        np.testing.assert_allclose(grads2[name], grads[name], rtol=1e-12, err_msg=name)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_train_step_returns_cost_before_the_step_and_a_gradient_step():
    backprop = _load("backprop")
    X, y, params = _net(seed=4)
    before = {k: v.copy() for k, v in params.items()}
    cost_tf, grads_tf, _ = _tf_cost_and_grads(X, y, params)
    new_params, cost = backprop.train_step(X, y, params, learning_rate=0.5)
    assert type(cost) is float
    assert cost == pytest.approx(cost_tf, rel=1e-9)
    for name in params:
        np.testing.assert_array_equal(params[name], before[name])  # not mutated
        np.testing.assert_allclose(new_params[name], before[name] - 0.5 * grads_tf[name], rtol=1e-9, atol=1e-12)


def test_train_step_lowers_the_cost():
    backprop = _load("backprop")
    X, y, params = _net(seed=5, n=20)
    costs = []
    for _ in range(30):
        params, c = backprop.train_step(X, y, params, learning_rate=0.5)
        costs.append(c)
    assert costs[-1] < 0.8 * costs[0]
    assert all(b <= a + 1e-12 for a, b in zip(costs, costs[1:]))


def test_backprop_with_huge_inputs_is_finite_without_warnings():
    backprop = _load("backprop")
    X, y, params = _net(seed=6)
    with _strict():
        new_params, cost = backprop.train_step(1000 * X, y, params, learning_rate=0.1)
    assert np.isfinite(cost)
    assert all(np.all(np.isfinite(v)) for v in new_params.values())
