"""Real data sets: scikit-learn's bundled digits and breast cancer, and the standard ``mnist.npz`` file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._base import Split, stratified_split


def load_digits(*, val_fraction: float = 0.1, test_fraction: float = 0.3, seed: int = 0,
                scramble_seed: int | None = None) -> Split:
    """Handwritten digits 0-9 as 8x8 images flattened to 64 features in [0, 1] (scikit-learn's copy).

    1797 examples; the split is stratified and fixed by ``seed``. Pixels (0..16) are divided by 16.

    ``scramble_seed`` (the grader's secret) shuffles the 64 pixels of every image, in every part, by
    one permutation drawn from it. Anyone can load scikit-learn's digits, held-out ones included, so
    plain digits can't be a held-out set; scrambled ones can: a model trained on plain digits (or a
    lookup table of them) sees noise in them, while a network of Dense layers, blind to the order of
    its inputs, learns the scrambled training part exactly as well as the plain one.

    Returns:
        Split with ``X_*`` float32 ``(batch, 64)`` and ``y_*`` int64 ``(batch,)`` in 0..9.

    >>> data = load_digits()
    >>> data.X_train.shape, data.X_test.shape, data.num_classes
    ((1079, 64), (539, 64), 10)
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    if scramble_seed is not None:
        # its own stream (spawn key 2): the split's seed and the scramble's never share draws
        X = X[:, np.random.default_rng([scramble_seed, 2]).permutation(X.shape[1])]
    train, val, test = stratified_split(y, val_fraction, test_fraction, seed)
    return Split(X[train], y[train], X[val], y[val], X[test], y[test],
                 name="digits" if scramble_seed is None else "scrambled digits",
                 classes=tuple(str(c) for c in bunch.target_names))


def load_breast_cancer(*, val_fraction: float = 0.15, test_fraction: float = 0.25, seed: int = 0) -> Split:
    """Wisconsin diagnostic breast cancer: 30 cell-nucleus features, label 1 = benign, 0 = malignant.

    569 examples, stratified split fixed by ``seed``. Every feature is standardised with the mean and
    standard deviation of the *train* split only (no information leaks from validation or test).

    Returns:
        Split with ``X_*`` float32 ``(batch, 30)`` and ``y_*`` int64 ``(batch,)`` in {0, 1}.

    >>> data = load_breast_cancer()
    >>> data.X_train.shape, data.classes
    ((341, 30), ('malignant', 'benign'))
    >>> bool(abs(data.X_train.mean()) < 1e-6)
    True
    """
    from sklearn.datasets import load_breast_cancer as _sk_load_breast_cancer

    bunch = _sk_load_breast_cancer()
    y = bunch.target.astype(np.int64)
    train, val, test = stratified_split(y, val_fraction, test_fraction, seed)
    mean = bunch.data[train].mean(axis=0)
    std = bunch.data[train].std(axis=0)
    X = ((bunch.data - mean) / std).astype(np.float32)
    return Split(X[train], y[train], X[val], y[val], X[test], y[test],
                 name="breast_cancer", classes=tuple(str(c) for c in bunch.target_names))


MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_mnist(path: str | os.PathLike, *, val_fraction: float = 1 / 12) -> Split:
    """Read a local ``mnist.npz`` (the file ``keras.datasets.mnist`` uses); never downloads.

    The file holds ``x_train`` ``(N, 28, 28)`` uint8, ``y_train`` ``(N,)``, ``x_test``, ``y_test``.
    Pixels are scaled to [0, 1] and given a channel axis. The last ``val_fraction`` of the training
    images becomes the validation split (5000 of 60000 by default); ``x_test`` is the held-out split.

    Returns:
        Split with ``X_*`` float32 ``(batch, 28, 28, 1)`` and ``y_*`` int64 ``(batch,)``.

    Raises:
        FileNotFoundError: ``path`` does not exist (the message says how to get the file).
        ValueError: a key is missing, or an array has the wrong rank, dtype or length.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no MNIST file at {str(path)!r}. This loader never downloads: fetch mnist.npz once on a machine "
            "with network access (e.g. keras.datasets.mnist.load_data() stores it under ~/.keras/datasets/) "
            "and pass its path.")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    with np.load(path, allow_pickle=False) as npz:
        missing = [k for k in MNIST_KEYS if k not in npz.files]
        if missing:
            raise ValueError(f"{path} is not an mnist.npz file: missing key(s) {', '.join(missing)} "
                             f"(found {', '.join(npz.files) or 'none'}; expected {', '.join(MNIST_KEYS)})")
        arrays = {k: npz[k] for k in MNIST_KEYS}
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim != 3 or x.dtype != np.uint8:
            raise ValueError(f"{path}: x_{part} must be uint8 images (N, H, W), got {x.dtype} {x.shape}")
        if y.shape != (len(x),):
            raise ValueError(f"{path}: y_{part} must have shape ({len(x)},) to match x_{part}, got {y.shape}")
    X_all = (arrays["x_train"].astype(np.float32) / 255.0)[..., np.newaxis]
    y_all = arrays["y_train"].astype(np.int64)
    n_val = int(round(val_fraction * len(X_all)))
    cut = len(X_all) - n_val
    X_test = (arrays["x_test"].astype(np.float32) / 255.0)[..., np.newaxis]
    classes = tuple(str(c) for c in range(10))
    return Split(X_all[:cut], y_all[:cut], X_all[cut:], y_all[cut:], X_test, arrays["y_test"].astype(np.int64),
                 name="mnist", classes=classes)
