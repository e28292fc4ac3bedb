"""Self-checks for ``neurons``: hand-worked examples and properties, no reference solution.

These run on the student's machine; the hidden checks compare with the reference on more inputs.
"""

import numpy as np
import pytest

from autograder.checking import as_number, assert_close, assert_docstring_examples, assert_shape, assert_unchanged, show
from autograder.sandbox.proxy import fn



@pytest.mark.points(1)
@pytest.mark.hint("Keras's layout: x is (batch, n_in) and W is (n_in, n_out), so the weighted sums are x @ W, "
                  "then the bias is added to every row, then the activation.")
def test_dense_forward_small_example(student):
    """dense_forward on a hand-worked 2-input, 3-neuron layer"""
    x = np.array([[1.0, 2.0]])
    W = np.array([[1.0, -1.0, 0.5], [0.0, 1.0, 0.5]])
    b = np.array([0.0, 0.0, -1.0])
    call = "dense_forward([[1, 2]], W=[[1, -1, 0.5], [0, 1, 0.5]], b=[0, 0, -1], identity)"
    # z = [1*1 + 2*0, 1*(-1) + 2*1, 1*0.5 + 2*0.5 - 1] = [1, 1, 0.5]
    assert_close(student.dense_forward(x, W, b, fn("probe:identity")), np.array([[1.0, 1.0, 0.5]]), call)


@pytest.mark.points(1)
@pytest.mark.hint("Every layer after the input has one weight per connection (n_in * n_out) and one bias per neuron.")
def test_count_parameters_digit_network(student):
    """count_parameters of the 784-16-16-10 network of the video is 13002"""
    for sizes, expected in (([784, 16, 16, 10], 13002), ([3, 1], 4)):
        got = student.count_parameters(sizes)
        number = as_number(got, "iuf")
        assert number == expected, (
            f"count_parameters({sizes}) returned {show(got) if number is None else number}; expected {expected}")


@pytest.mark.points(1)
@pytest.mark.hint("One (W, b) pair per pair of consecutive layers: W of shape (n_in, n_out) within "
                  "±sqrt(6 / (n_in + n_out)), b of shape (n_out,) filled with zeros.")
def test_init_params_shapes(student):
    """init_params gives one (W, b) pair per layer, with the right shapes and zero biases"""
    sizes = [5, 4, 2]
    call = "init_params([5, 4, 2], seed=0)"
    params = student.init_params(sizes, 0)
    assert len(params) == 2, f"{call} returned {len(params)} pairs; expected 2 (one per layer after the input)"
    for i, ((n_in, n_out), pair) in enumerate(zip(zip(sizes[:-1], sizes[1:]), params)):
        assert len(pair) == 2, f"{call}[{i}] should be a pair (W, b); got {len(pair)} items"
        W, b = pair
        assert_shape(W, (n_in, n_out), f"{call}[{i}][0] (W)")
        assert_shape(b, (n_out,), f"{call}[{i}][1] (b)")
        assert_close(b, np.zeros(n_out), f"{call}[{i}][1] (b)")
        limit = np.sqrt(6.0 / (n_in + n_out))
        assert np.all(np.abs(W) <= limit), (
            f"{call}[{i}][0] (W) has values up to {np.abs(W).max():.3f}; Glorot uniform stays within ±{limit:.3f}")


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Each docstring shows calls (>>> lines) and what they give; run them yourself "
                  "(python -m doctest -v neurons.py) and compare. Run by `autograder check` only; it earns no points.")
def test_docstring_examples(student):
    """the examples in the docstrings give what they show (self-check only)"""
    assert_docstring_examples(student, "dense_forward", budget=90)


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Read params without changing it: no params.pop(), no assignment into its arrays.")
def test_selfcheck_mlp_forward_leaves_params_unchanged(student):
    """mlp_forward leaves its params list as it was (self-check only)"""
    params = [(np.eye(2), np.zeros(2)), (np.array([[1.0], [1.0]]), np.array([0.5]))]
    call = "mlp_forward([[1, -2]], params of a [2, 2, 1] network, relu, identity)"
    _, after, _ = student.probe("call_and_inputs", student.mlp_forward, np.array([[1.0, -2.0]]), params,
                                fn("probe:identity"), fn("probe:identity"))
    assert len(after[1]) == 2, f"{call} changed the length of params from 2 to {len(after[1])}"
    for i, ((W, b), (W_after, b_after)) in enumerate(zip(params, after[1])):
        assert_unchanged(W, W_after, f"params[{i}][0]", call)
        assert_unchanged(b, b_after, f"params[{i}][1]", call)
