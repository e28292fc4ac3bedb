"""Hidden checks for ``cnn``: the NumPy convolution and pooling against the reference on seeded random
inputs (non-square kernels, strides, both paddings), the builder's contract, and ``train_cnn`` on
shapes drawn from a secret seed.

The reference ``conv2d_forward`` equals ``keras.layers.Conv2D(1, kernel, use_bias=False)`` on one
channel; these checks compare with it and never import TensorFlow in the grader.
"""

import numpy as np
import pytest

from keras_models import accuracy, judged, keras_budget, layer_kinds, predictions, report_training, trained
from autograder.checking import assert_at_least, assert_close, fail
from keras_mistakes import NO_CONVOLUTION, POOL_MISTAKES, assert_output, conv_mistakes, fit_mistake, size_mistake
from autograder.datasets import make_shapes

#: Secret seed of the held-out images: shapes no student has seen (the public default differs).
HELDOUT_SEED = 90_210_577

#: A generous ceiling: the reference has about 56 000 parameters on 28x28x1 images.
PARAMETER_BUDGET = 1_000_000

CONV_HINT = "Keras' Conv2D computes a cross-correlation: out[i, j] sums kernel * patch with the kernel as given, not flipped. "


def _rng(offset):
    return np.random.default_rng(5150 + offset)


def _trained(student):
    """(split, (model, seconds)): ``train_cnn`` on the grading split's train part, computed once per submission."""
    return trained(student, "train_cnn", make_shapes(heldout_seed=HELDOUT_SEED))


# -- NumPy parts ------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("'valid': floor((n - k) / s) + 1 positions; 'same': one output per stride step, ceil(n / s), "
                  "whatever the kernel size. The result is an int.")
def test_conv2d_output_size_grid(student, reference):
    """conv2d_output_size matches Keras for every size, kernel, stride and padding"""
    for n in (1, 2, 5, 7, 8, 28):
        for k in (1, 2, 3, 4, 5):
            for s in (1, 2, 3):
                for padding in ("valid", "same"):
                    if padding == "valid" and k > n:
                        continue
                    got = student.conv2d_output_size(n, k, s, padding)
                    expected = reference.conv2d_output_size(n, k, s, padding)
                    call = f"conv2d_output_size({n}, {k}, stride={s}, padding={padding!r})"
                    value = np.asarray(got)
                    if not (value.shape == () and value == expected):
                        fail(f"{call} returned {got!r}; expected {expected}", size_mistake(got, n, k, s, padding))
                    if value.dtype.kind not in "iu":
                        fail(f"{call} returned {got!r} of type {type(got).__name__}; expected the int {expected}",
                             size_mistake(got, n, k, s, padding))


@pytest.mark.points(1)
@pytest.mark.hint(CONV_HINT + "Index the patch as image[i : i + kh, j : j + kw] for a (kh, kw) kernel.")
def test_conv2d_forward_valid(student, reference):
    """conv2d_forward matches Keras on random images with non-square kernels (valid, stride 1)"""
    rng = _rng(0)
    for shape, kshape in (((7, 9), (3, 2)), ((6, 5), (2, 4)), ((5, 5), (3, 3))):
        image, kernel = rng.normal(size=shape), rng.normal(size=kshape)
        call = f"conv2d_forward(image {shape}, kernel {kshape})"
        assert_close(student.conv2d_forward(image, kernel), reference.conv2d_forward(image, kernel), call,
                     misconceptions=conv_mistakes(reference), args=(image, kernel))


@pytest.mark.points(1)
@pytest.mark.hint(CONV_HINT + "With stride s the patch of output (i, j) starts at image row i*s and column j*s.")
def test_conv2d_forward_stride(student, reference):
    """conv2d_forward with strides 2 and 3 matches Keras"""
    rng = _rng(1)
    for shape, kshape, stride in (((8, 11), (3, 3), 2), ((9, 10), (2, 4), 3), ((7, 7), (3, 2), 2)):
        image, kernel = rng.normal(size=shape), rng.normal(size=kshape)
        call = f"conv2d_forward(image {shape}, kernel {kshape}, stride={stride})"
        assert_close(student.conv2d_forward(image, kernel, stride), reference.conv2d_forward(image, kernel, stride), call,
                     misconceptions=conv_mistakes(reference), args=(image, kernel, stride))


@pytest.mark.points(1)
@pytest.mark.hint(CONV_HINT + "'same' pads with zeros so the output has ceil(n / s) pixels; "
                  "when the total padding is odd, Keras puts the extra zero at the bottom/right.")
def test_conv2d_forward_same_padding(student, reference):
    """conv2d_forward with padding='same' (odd and even kernels, strides 1 and 2) matches Keras"""
    rng = _rng(2)
    for shape, kshape, stride in (((6, 7), (3, 3), 1), ((6, 7), (2, 4), 1), ((7, 8), (3, 2), 2), ((8, 8), (4, 3), 2)):
        image, kernel = rng.normal(size=shape), rng.normal(size=kshape)
        call = f"conv2d_forward(image {shape}, kernel {kshape}, stride={stride}, padding='same')"
        assert_close(student.conv2d_forward(image, kernel, stride, "same"),
                     reference.conv2d_forward(image, kernel, stride, "same"), call,
                     misconceptions=conv_mistakes(reference), args=(image, kernel, stride, "same"))


@pytest.mark.points(1)
@pytest.mark.hint("Blocks of p x p with stride p (they don't overlap); rows and columns that don't fill a block are "
                  "dropped; a block of negative numbers has a negative maximum.")
def test_max_pool2d_random(student, reference):
    """max_pool2d matches Keras' MaxPooling2D on random (also negative) arrays whose sides p does not divide"""
    rng = _rng(3)
    for shape, p in (((6, 8), 2), ((7, 9), 2), ((9, 7), 3), ((5, 5), 1)):
        image = rng.normal(size=shape) - 3.0  # mostly negative: a maximum that starts from 0 is wrong
        call = f"max_pool2d(image {shape}, pool_size={p})"
        assert_close(student.max_pool2d(image, p), reference.max_pool2d(image, p), call,
                     misconceptions=POOL_MISTAKES, args=(image, p))


# -- the model --------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("Take the input shape and the number of classes from the arguments; end in a softmax; don't compile.")
def test_build_cnn_contract(student, judge, topic):
    """build_cnn((32, 32, 3), 7) is an uncompiled (batch, 32, 32, 3) -> (batch, 7) softmax model"""
    with keras_budget(student, topic):
        call = "build_cnn((32, 32, 3), 7)"
        summary = judged(student, judge, student.build_cnn((32, 32, 3), 7), call)
        assert_output(summary, call, input_shape=[None, 32, 32, 3], units=7, activation="softmax")


@pytest.mark.points(1)
@pytest.mark.hint("A CNN learns small shared kernels with Conv2D layers (then pooling) before any Dense layer; "
                  "a Dense-only net is not convolutional and needs far more weights.")
def test_build_cnn_convolutional(student, judge, topic):
    """build_cnn starts with convolutions and stays within a parameter budget"""
    with keras_budget(student, topic):
        call = "build_cnn((28, 28, 1), 5)"
        summary = judged(student, judge, student.build_cnn((28, 28, 1), 5), call)
        kinds = layer_kinds(summary)
        convs = [i for i, kind in enumerate(kinds) if kind == "Conv2D"]
        if not convs:
            fail(f"{call} has layers {kinds}; a convolutional network needs Conv2D layers", NO_CONVOLUTION)
        dense = [i for i, kind in enumerate(kinds) if kind == "Dense"]
        assert not dense or convs[0] < dense[0], f"{call} has layers {kinds}; the convolutions come before the Dense layers"
        assert summary["params"] <= PARAMETER_BUDGET, \
            f"{call} has {summary['params']:,} parameters; keep it under {PARAMETER_BUDGET:,} (pool before flattening)"


# -- training ---------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.hint("train_cnn must return the fitted keras.Model (not the History) within the time budget.")
def test_train_cnn_returns_model(student, judge, topic, notes):
    """train_cnn returns a shapes classifier within the training budget"""
    _, (model, seconds) = _trained(student)
    call = f"train_cnn(X_train, y_train, 0) [{seconds:.1f} s of a {topic.train_budget:g} s budget]"
    summary = judged(student, judge, model, call)
    report_training(student, topic, notes, model, seconds, summary)
    assert summary["output_shape"] == [None, 5], f"{call} returned a model with output shape {summary['output_shape']}; expected [None, 5]"


@pytest.mark.points(1)
@pytest.mark.hint("Use convolutions (a Dense-only net must learn every position separately), train several epochs, "
                  "softmax output with sparse categorical cross-entropy.")
def test_train_cnn_heldout_accuracy(student, judge, topic):
    """train_cnn reaches the accuracy bar on images it never saw"""
    split, (model, _) = _trained(student)
    n = len(split.X_test)
    pred = predictions(student, judge, model, split.X_test, "train_cnn(X_train, y_train, 0)")
    assert pred.shape == (n, 5), f"predicting {n} held-out images gave shape {pred.shape}; expected ({n}, 5)"
    acc = accuracy(pred, split.y_test)
    assert_at_least(acc, topic.accuracy_bar, f"train_cnn's model classifies {acc:.1%} of {n} held-out images correctly; the bar is {topic.accuracy_bar:.0%}",
                    floor=topic.accuracy_floor,
                    why=lambda: fit_mistake(accuracy(predictions(student, judge, model, split.X_train, "train_cnn(X_train, y_train, 0)"),
                                             split.y_train), acc, topic.accuracy_bar))
