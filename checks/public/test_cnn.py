"""Self-checks for ``cnn``: output sizes, one small convolution worked by hand, the builder's contract.

Cheap, but for one short training run in a self-check only (``selfcheck``, never graded: grading
trains once, in the hidden checks, on data students can't have); the hidden checks grade random images, strides, padding, pooling and
``train_cnn`` on held-out images.
"""

import numpy as np
import pytest

from keras_models import judged, keras_budget, layer_kinds, selfcheck_training
from autograder.checking import assert_close, fail
from autograder.datasets import make_shapes
from keras_mistakes import NO_CONVOLUTION, assert_output, size_mistake


@pytest.mark.points(1)
@pytest.mark.hint("'valid': count the positions where the whole kernel fits, stepping by the stride; "
                  "'same': the output has one pixel per stride step over the input.")
def test_conv2d_output_size_examples(student):
    """conv2d_output_size gives Keras' sizes for a few valid and same convolutions"""
    cases = [((28, 3), 26), ((28, 3, 2, "same"), 14), ((7, 3, 2), 3), ((5, 5), 1), ((5, 2, 1, "same"), 5)]
    for args, expected in cases:
        got = student.conv2d_output_size(*args)
        value = np.asarray(got)
        if not (value.shape == () and value == expected):
            n, k, s, padding = [*args, *(1, "valid")[len(args) - 2 :]]  # the defaults: stride=1, padding="valid"
            fail(f"conv2d_output_size{args} returned {got!r}; expected {expected}", size_mistake(got, n, k, s, padding))


@pytest.mark.points(1)
@pytest.mark.hint("Slide the kernel over the image and sum kernel * patch at each position; "
                  "deep-learning 'convolution' does not flip the kernel.")
def test_conv2d_forward_small_example(student):
    """conv2d_forward of a 3x4 image with a 2x2 kernel, worked by hand"""
    image = np.arange(12.0).reshape(3, 4)  # image[i, j] = 4 i + j
    kernel = np.array([[1.0, 2.0], [0.0, -1.0]])
    # out[i, j] = image[i, j] + 2 image[i, j+1] - image[i+1, j+1] = 8 i + 2 j - 3
    expected = np.array([[-3.0, -1.0, 1.0], [5.0, 7.0, 9.0]])
    call = "conv2d_forward(np.arange(12.0).reshape(3, 4), [[1, 2], [0, -1]])"
    assert_close(student.conv2d_forward(image, kernel), expected, call)


@pytest.mark.points(1)
@pytest.mark.hint("Stack Conv2D (+ pooling) blocks, flatten, and end in a Dense softmax with one unit per class; don't compile.")
def test_build_cnn_is_a_convolutional_classifier(student, judge, topic):
    """build_cnn((28, 28, 1), 5) is an uncompiled Conv2D classifier with 5 softmax outputs"""
    with keras_budget(student, topic):
        call = "build_cnn((28, 28, 1), 5)"
        summary = judged(student, judge, student.build_cnn((28, 28, 1), 5), call)
        assert_output(summary, call, input_shape=None, units=5, activation="softmax", uncompiled=False)
        kinds = layer_kinds(summary)
        if "Conv2D" not in kinds:
            fail(f"{call} has layers {kinds}; a convolutional network needs Conv2D layers", NO_CONVOLUTION)
        assert not summary["compiled"], f"{call} returned a compiled model; a builder leaves compiling to the caller"


@pytest.mark.selfcheck
@pytest.mark.points(0)
@pytest.mark.hint("Use convolutions, train several epochs, softmax output with sparse categorical cross-entropy; compare your curve with the reference's band.")
def test_selfcheck_train_cnn(student, judge, topic, notes):
    """train_cnn on public images: accuracy against the bar, time, size, memory and learning curve"""
    selfcheck_training(student, judge, topic, notes, "train_cnn", make_shapes(), "images")
