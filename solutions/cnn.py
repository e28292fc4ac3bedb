"""Convolutional networks.

Lesson
------
A Dense layer connects every pixel to every unit, so a pattern learnt in one corner of an image means
nothing in another corner. A *convolution* slides one small kernel (e.g. 3x3 weights) over the whole
image and computes, at every position, the sum of the kernel times the patch beneath it:

    out[i, j] = sum_{u, v} image[i*s + u, j*s + v] * kernel[u, v]        (stride s)

Strictly this is a cross-correlation (the kernel is not flipped); it is what every deep-learning
library calls convolution. The same few weights are *shared* across positions, so the net detects an
edge or a corner wherever it is, with far fewer parameters than a Dense layer.

Sizes: a side of ``n`` pixels, padded with ``p`` zeros on each side, with a ``k``-wide kernel and
stride ``s``, gives ``floor((n + 2p - k) / s) + 1`` outputs (the number of positions the kernel fits).
With ``padding="valid"`` (no padding, ``p = 0``) that is ``floor((n - k) / s) + 1``; with
``padding="same"`` Keras pads with zeros so that the output has ``ceil(n / s)`` pixels, putting the
extra zero (when the padding is odd) at the bottom/right. *Max pooling* keeps the largest
value of each ``p x p`` block (stride ``p``), halving height and width for ``p = 2``: the map gets
coarser and a little shift-invariant.

In Keras an image batch is ``(batch, height, width, channels)`` (grey images have one channel);
``Conv2D(filters, kernel_size)`` maps it to ``(batch, h', w', filters)``, one feature map per kernel,
each kernel spanning all input channels. So a Conv2D layer has ``(kh * kw * c_in + 1) * filters``
parameters (one bias per filter), whatever the image size: ``Conv2D(16, 3)`` on grey images has
``(3 * 3 * 1 + 1) * 16 = 160``, where a Dense layer from 28x28 pixels to 16 units has 12,560. A classifier stacks Conv2D + MaxPooling2D blocks, then
``Flatten`` (or global pooling) and Dense layers ending in a softmax, trained with
``sparse_categorical_crossentropy`` on integer labels, exactly like the MLP of the previous lesson.
"""

from __future__ import annotations

import keras
import numpy as np


def conv2d_output_size(input_size, kernel_size, stride=1, padding="valid"):
    """Output height (or width) of a convolution along one axis, as ``keras.layers.Conv2D`` gives it.

    ``"valid"``: ``floor((n - k) / s) + 1``; ``"same"``: ``ceil(n / s)``.

    >>> conv2d_output_size(28, 3)
    26
    >>> conv2d_output_size(28, 3, stride=2, padding="same")
    14
    >>> conv2d_output_size(7, 3, stride=2)
    3
    """
    ### BEGIN SOLUTION count how many kernel positions fit (valid) or how many strides cover the input (same)
    if padding == "valid":
        if kernel_size > input_size:
            raise ValueError(f"kernel_size {kernel_size} is larger than input_size {input_size} with padding='valid'")
        return (input_size - kernel_size) // stride + 1
    if padding == "same":
        return -(-input_size // stride)  # ceil(n / s) in integers
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    ### END SOLUTION


def conv2d_forward(image, kernel, stride=1, padding="valid"):
    """Single-channel 2-D cross-correlation of an ``(H, W)`` image with a ``(kh, kw)`` kernel.

    ``out[i, j] = sum(padded[i*s : i*s + kh, j*s : j*s + kw] * kernel)``, no kernel flip, no bias:
    what ``keras.layers.Conv2D(1, (kh, kw), strides=s, padding=padding, use_bias=False)`` computes
    on one channel. ``"same"`` pads with zeros: along the height, with ``H' = ceil(H / s)`` outputs,
    the padding in all is ``P = max((H' - 1) * s + kh - H, 0)`` rows, ``P // 2`` on top and
    ``P - P // 2`` (the larger half) at the bottom; the same along the width with ``kw``.

    Returns:
        ``(H', W')`` array, ``H' = conv2d_output_size(H, kh, stride, padding)`` (same for ``W'``).

    >>> image = np.arange(16.0).reshape(4, 4)
    >>> conv2d_forward(image, np.array([[1.0, 0.0], [0.0, -1.0]]))  # top-left minus bottom-right
    array([[-5., -5., -5.],
           [-5., -5., -5.],
           [-5., -5., -5.]])
    >>> conv2d_forward(image, np.ones((3, 3)), stride=2, padding="same")  # one zero row/column, bottom/right
    array([[45., 39.],
           [66., 50.]])
    """
    ### BEGIN SOLUTION pad (for "same") so the output has ceil(n/s) pixels, then slide the kernel with the stride
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    (h, w), (kh, kw) = image.shape, kernel.shape
    out_h = conv2d_output_size(h, kh, stride, padding)
    out_w = conv2d_output_size(w, kw, stride, padding)
    if padding == "same":
        pad_h = max((out_h - 1) * stride + kh - h, 0)
        pad_w = max((out_w - 1) * stride + kw - w, 0)
        image = np.pad(image, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)))
    out = np.empty((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            patch = image[i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[i, j] = np.sum(patch * kernel)
    return out
    ### END SOLUTION


def max_pool2d(image, pool_size=2):
    """Max pooling of an ``(H, W)`` array over ``pool_size x pool_size`` blocks with stride ``pool_size``.

    Like ``keras.layers.MaxPooling2D(pool_size)`` (padding "valid"): the last rows/columns that do not
    fill a whole block are dropped. Returns ``(H // p, W // p)``.

    >>> max_pool2d(np.arange(20.0).reshape(4, 5))
    array([[ 6.,  8.],
           [16., 18.]])
    """
    ### BEGIN SOLUTION drop the incomplete border, view the array as blocks, take each block's max
    image = np.asarray(image)
    p = pool_size
    out_h, out_w = image.shape[0] // p, image.shape[1] // p
    blocks = image[: out_h * p, : out_w * p].reshape(out_h, p, out_w, p)
    return blocks.max(axis=(1, 3))
    ### END SOLUTION


def build_cnn(input_shape, num_classes):
    """An uncompiled CNN classifier: Conv2D/MaxPooling2D blocks, then Dense layers ending in a softmax.

    Args:
        input_shape: ``(height, width, channels)`` of one image, e.g. ``(28, 28, 1)``.
        num_classes: K; the model maps ``(batch, *input_shape)`` to ``(batch, K)`` probabilities.

    >>> model = build_cnn((28, 28, 1), 5)
    >>> model.output_shape, model.layers[-1].activation.__name__
    ((None, 5), 'softmax')
    >>> [layer.output.shape for layer in model.layers[:2]]  # 28 - 3 + 1 = 26, then 26 // 2 = 13
    [(None, 26, 26, 16), (None, 13, 13, 16)]
    """
    ### BEGIN SOLUTION two (Conv2D -> MaxPooling2D) blocks with relu, Flatten, a small Dense layer, softmax
    return keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    ### END SOLUTION


def train_cnn(X_train, y_train, seed=0):
    """Train a CNN on the course's shapes images (``(batch, 28, 28, 1)`` in [0, 1], integer labels); return it.

    Reproducible with ``seed`` (``keras.utils.set_random_seed``). Graded on held-out images against an
    accuracy bar and a time budget: a few epochs of a small CNN are enough.
    """
    ### BEGIN SOLUTION seed, build_cnn, compile with Adam and sparse categorical cross-entropy, fit a few epochs
    keras.utils.set_random_seed(seed)
    num_classes = int(np.max(y_train)) + 1
    model = build_cnn(X_train.shape[1:], num_classes)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=8, batch_size=32, verbose=0)
    return model
    ### END SOLUTION
