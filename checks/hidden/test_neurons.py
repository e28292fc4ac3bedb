"""Hidden checks for ``neurons``: seeded random layers and networks against the reference.

Activations are handed to student code by name (``fn("probe:sigmoid")``); the expected values are
computed here, in the trusted process, with the same plain NumPy functions.
"""

import numpy as np
import pytest

from autograder.checking import Misconception, as_number, assert_close, assert_shape, assert_unchanged, diagnose, fail, show
from autograder.sandbox import probes
from autograder.sandbox.proxy import fn

# -- Diagnoses: known wrong variants, run here on the check's inputs; the first that gives the
#    student's answer names the mistake and its hint (the check's own hint stays the fallback).

DENSE_MISTAKES = (
    Misconception("a fixed sigmoid instead of the activation argument", lambda x, W, b, act: probes.sigmoid(x @ W + b),
                  "Call the function you are given as `activation`; do not hard-code one."),
    Misconception("the bias left out", lambda x, W, b, act: act(x @ W), "Add the bias b to every row: x @ W + b."),
    Misconception("the bias added after the activation", lambda x, W, b, act: act(x @ W) + b,
                  "The bias belongs inside: activation(x @ W + b)."),
)
COUNT_MISTAKES = (
    Misconception("the biases not counted", lambda sizes: sum(a * b for a, b in zip(sizes[:-1], sizes[1:])),
                  "Every neuron after the input layer also has a bias: add n_out per layer."),
    Misconception("a bias counted for the input layer too", lambda sizes: sum(
        a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + sizes[0],
                  "Input neurons have no bias: only the n_out neurons of each layer add one."),
)
ZERO_INIT = Misconception("all weights equal (e.g. zero): symmetric initialisation", None,
                          "If every weight starts equal, every neuron of a layer computes the same thing and gets "
                          "the same update forever: draw the weights at random (Glorot uniform).")
NORMAL_DRAW = Misconception("a normal draw instead of a uniform one", None,
                            "Glorot UNIFORM: rng.uniform(-limit, limit, size=...), not a normal distribution.")
GENERATOR_PER_LAYER = Misconception("a new generator from the seed for every layer", None,
                                    "Make the generator once, before the loop, and draw every layer from it.")
UNSEEDED_INIT = Misconception("the seed argument ignored", None,
                              "Draw from np.random.default_rng(seed), not from an unseeded or global generator.")
MLP_MISTAKES = (
    Misconception("the hidden activation applied to the output layer too",
                  lambda x, params, hidden, output: output(hidden(_forward(x, params, hidden, lambda z: z))),
                  "Only the layers before the last use the hidden activation; the last uses the output activation alone."),
    Misconception("the output activation never applied",
                  lambda x, params, hidden, output: _forward(x, params, hidden, lambda z: z),
                  "Apply output_activation to the last layer's weighted sums."),
    Misconception("the hidden activation on every layer, the output activation never",
                  lambda x, params, hidden, output: _forward(x, params, hidden, hidden),
                  "The last layer uses output_activation, not hidden_activation."),
)
PARAMS_CHANGED = Misconception("the caller's params list changed (pop, append or assignment)", None,
                               "Read params without changing it: loop over params[:-1] and take params[-1], "
                               "no params.pop().")


def _forward(x, params, hidden, output):
    a = x
    for W, b in params[:-1]:
        a = hidden(a @ W + b)
    W, b = params[-1]
    return output(a @ W + b)



def _layer(rng, batch, n_in, n_out):
    return rng.normal(size=(batch, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)


def _network(reference, sizes, seed):
    """Parameters with random (non-zero) biases, so a forgotten bias shows."""
    rng = np.random.default_rng(seed)
    return [(W, rng.normal(size=b.shape)) for W, b in reference.init_params(sizes, seed=seed)]


@pytest.mark.points(1)
@pytest.mark.hint("z = x @ W + b with x of shape (batch, n_in) and W of shape (n_in, n_out); the bias is added "
                  "to every row of the batch before the activation.")
def test_dense_forward_matches_reference(student, reference):
    """dense_forward matches the reference on random batches"""
    rng = np.random.default_rng(101)
    for batch, n_in, n_out in [(6, 4, 3), (1, 5, 2), (3, 2, 7)]:
        x, W, b = _layer(rng, batch, n_in, n_out)
        call = f"dense_forward(x of shape {x.shape}, W of shape {W.shape}, b of shape {b.shape}, sigmoid)"
        got = student.dense_forward(x, W, b, fn("probe:sigmoid"))
        assert_close(got, reference.dense_forward(x, W, b, probes.sigmoid), call, misconceptions=DENSE_MISTAKES,
                     args=(x, W, b, probes.sigmoid))


@pytest.mark.points(1)
@pytest.mark.hint("Apply the activation you are given (the `activation` argument), once, to the weighted sums.")
def test_dense_forward_uses_given_activation(student, reference):
    """dense_forward applies whichever activation it is given"""
    rng = np.random.default_rng(102)
    x, W, b = _layer(rng, 4, 3, 5)
    for name, act in [("identity", probes.identity), ("tanh", np.tanh)]:
        ref = f"probe:{name}" if name == "identity" else f"numpy:{name}"
        call = f"dense_forward(x of shape {x.shape}, W, b, activation={name})"
        got = student.dense_forward(x, W, b, fn(ref))
        assert_close(got, reference.dense_forward(x, W, b, act), call, misconceptions=DENSE_MISTAKES,
                     args=(x, W, b, act))


@pytest.mark.points(1)
@pytest.mark.hint("Sum over every pair of consecutive layers: n_in * n_out weights plus n_out biases; "
                  "return an integer.")
def test_count_parameters_matches_reference(student, reference):
    """count_parameters counts weights and biases of several networks, as an integer"""
    for sizes in ([2, 3], [10, 1], [4, 8, 8, 3], [64, 32, 16, 8, 4, 2], [100, 100]):
        call = f"count_parameters({sizes})"
        got = student.count_parameters(sizes)
        number = as_number(got, "iu")
        assert number is not None, f"{call} returned {show(got)}; expected a whole number (int)"
        expected = reference.count_parameters(sizes)
        if number != expected:
            fail(f"{call} returned {number}; expected {expected}", diagnose(number, expected, COUNT_MISTAKES, (sizes,)))


@pytest.mark.points(1)
@pytest.mark.hint("Glorot uniform: W ~ U(-limit, limit) with limit = sqrt(6 / (n_in + n_out)), a uniform "
                  "(not normal) draw over the whole interval; biases start at 0.")
def test_init_params_glorot_uniform(student):
    """init_params draws W uniformly within the Glorot limit and sets b to zero"""
    sizes = [400, 300, 20]
    call = f"init_params({sizes}, seed=3)"
    params = student.init_params(sizes, 3)
    assert len(params) == 2, f"{call} returned {len(params)} pairs; expected 2"
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W, b = params[i]
        where = f"{call}[{i}]"
        assert_shape(W, (n_in, n_out), f"{where}[0] (W)")
        assert_close(b, np.zeros(n_out), f"{where}[1] (b)")
        W = np.asarray(W, dtype=float)
        limit = np.sqrt(6.0 / (n_in + n_out))
        std, mean = W.std(), W.mean()
        normal = abs(std - limit) < 0.1 * limit  # a normal draw with the limit as its standard deviation
        if not np.all(np.abs(W) <= limit):
            fail(f"{where}[0] (W) reaches {np.abs(W).max():.4f}, outside the Glorot limit ±{limit:.4f}",
                 NORMAL_DRAW if normal else None)
        # U(-limit, limit) has mean 0 and standard deviation limit / sqrt(3); thousands of draws pin them.
        if abs(std - limit / np.sqrt(3)) >= 0.05 * limit:
            fail(f"{where}[0] (W) has standard deviation {std:.4f}; U(-{limit:.4f}, {limit:.4f}) has "
                 f"{limit / np.sqrt(3):.4f}", ZERO_INIT if std < 1e-12 else NORMAL_DRAW if normal else None)
        assert abs(mean) < 0.05 * limit, f"{where}[0] (W) has mean {mean:.4f}; expected about 0"


@pytest.mark.points(1)
@pytest.mark.hint("Make one generator from the seed (np.random.default_rng(seed)) and draw every layer from it: "
                  "the same seed must give the same network, another seed another one, and layers must differ.")
def test_init_params_reproducible(student):
    """init_params is reproducible with its seed, and different seeds give different networks"""
    sizes = [6, 6, 6, 6]
    first = student.init_params(sizes, 7)
    again = student.init_params(sizes, 7)
    other = student.init_params(sizes, 8)
    call = f"init_params({sizes}, seed=7)"
    assert len(first) == len(again) == len(other) == 3, f"{call} returned {len(first)} pairs; expected 3"
    for i, ((W1, _), (W2, _)) in enumerate(zip(first, again)):
        if not np.array_equal(W1, W2):
            fail(f"two calls of {call} gave different W for layer {i}", UNSEEDED_INIT)
    if np.allclose(first[0][0], other[0][0]):
        fail(f"{call} and seed=8 gave the same first-layer W",
             ZERO_INIT if np.ptp(np.asarray(first[0][0], dtype=float)) < 1e-12 else UNSEEDED_INIT)
    if np.allclose(first[0][0], first[1][0]):
        fail(f"{call} gave the same W to layers 0 and 1; draw every layer from one generator", GENERATOR_PER_LAYER)
    default = student.init_params(sizes)
    again0 = student.init_params(sizes, 0)
    assert np.array_equal(default[0][0], again0[0][0]), f"init_params({sizes}) and seed=0 gave different W"


@pytest.mark.points(1)
@pytest.mark.hint("Feed each layer's activations into the next layer; every layer but the last uses the hidden "
                  "activation, the last one the output activation.")
def test_mlp_forward_matches_reference(student, reference):
    """mlp_forward matches the reference for a deep and a one-layer network"""
    rng = np.random.default_rng(104)
    for sizes, seed in ([5, 7, 4, 3], 11), ([4, 2], 12):
        params = _network(reference, sizes, seed)
        x = rng.normal(size=(6, sizes[0]))
        call = f"mlp_forward(x of shape {x.shape}, params of a {sizes} network, hidden=sigmoid, output=identity)"
        got = student.mlp_forward(x, params, fn("probe:sigmoid"), fn("probe:identity"))
        assert_close(got, reference.mlp_forward(x, params, probes.sigmoid, probes.identity), call,
                     misconceptions=MLP_MISTAKES, args=(x, params, probes.sigmoid, probes.identity))


@pytest.mark.points(1)
@pytest.mark.hint("This check needs the right output as well as untouched inputs. When the output is wrong, fix "
                  "mlp_forward first (its other checks say how); otherwise read the parameters without changing "
                  "them: no params.pop(), no in-place updates of x or W.")
def test_mlp_forward_leaves_inputs_unchanged(student, reference):
    """mlp_forward gives the right output and leaves x and params as they were"""
    rng = np.random.default_rng(105)
    params = _network(reference, [3, 4, 2], 21)
    x = rng.normal(size=(5, 3))
    call = "mlp_forward(x, params of a [3, 4, 2] network, hidden=tanh, output=softmax)"
    expected = reference.mlp_forward(x.copy(), [(W.copy(), b.copy()) for W, b in params], np.tanh, probes.softmax)
    got, (x_after, params_after, _, _), _ = student.probe(
        "call_and_inputs", student.mlp_forward, x, params, fn("numpy:tanh"), fn("probe:softmax"))
    assert_close(got, expected, call,  # leaving the inputs alone earns nothing without the right output
                 misconceptions=MLP_MISTAKES, args=(x, params, np.tanh, probes.softmax))
    assert_unchanged(x, x_after, "x", call)
    if len(params_after) != len(params):
        fail(f"{call} changed the length of params from {len(params)} to {len(params_after)}", PARAMS_CHANGED)
    for i, ((W, b), (W_after, b_after)) in enumerate(zip(params, params_after)):
        assert_unchanged(W, W_after, f"params[{i}][0] (W)", call, PARAMS_CHANGED)
        assert_unchanged(b, b_after, f"params[{i}][1] (b)", call, PARAMS_CHANGED)
