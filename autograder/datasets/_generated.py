"""Generated data sets: outline shapes for the CNN, marker sequences for the RNN.

The train and validation parts come from ``seed``; the held-out test part comes from
``heldout_seed`` through an independent random stream, so changing ``heldout_seed`` changes the test
part only, and the grader's secret seed gives images no student has seen.
"""

from __future__ import annotations

import numpy as np

from ._base import PUBLIC_HELDOUT_SEED, Split

SHAPE_CLASSES = ("square", "circle", "triangle", "plus", "cross")
IMAGE_SIZE = 28


def _streams(seed: int, heldout_seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    # Different spawn keys: even seed == heldout_seed gives unrelated streams.
    return np.random.default_rng([seed, 0]), np.random.default_rng([heldout_seed, 1])


def _check_sizes(n: int, n_test: int, val_fraction: float) -> int:
    if n < 2 or n_test < 1:
        raise ValueError(f"need n >= 2 and n_test >= 1, got n={n}, n_test={n_test}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    return n - max(1, int(round(val_fraction * n)))


def _segment_distance(u: np.ndarray, v: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Distance from (u, v) to the segment from (-half, 0) to (half, 0)."""
    return np.hypot(np.maximum(np.abs(u) - half, 0.0), v)


def _draw_shapes(labels: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Render one outline shape per label into (n, 28, 28) float32 images in [0, 1]."""
    n = len(labels)
    r = rng.uniform(4.5, 10.5, n)  # size: circumradius / half-length in pixels
    margin = r + 1.5
    cy = rng.uniform(margin, IMAGE_SIZE - 1 - margin)
    cx = rng.uniform(margin, IMAGE_SIZE - 1 - margin)
    theta = rng.uniform(-np.pi / 12, np.pi / 12, n)  # +-15 degrees keeps plus and cross apart
    width = rng.uniform(1.0, 2.0, n)
    ink = rng.uniform(0.6, 1.0, n)

    grid = np.arange(IMAGE_SIZE, dtype=np.float64)
    dy = grid[None, :, None] - cy[:, None, None]
    dx = grid[None, None, :] - cx[:, None, None]
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    u, v = c * dx + s * dy, -s * dx + c * dy  # shape-local coordinates
    r3 = r[:, None, None]

    dist = np.empty((n, IMAGE_SIZE, IMAGE_SIZE))
    kinds = {
        "square": lambda k: np.abs(np.maximum(np.abs(u[k]), np.abs(v[k])) - 0.8 * r3[k]),
        "circle": lambda k: np.abs(np.hypot(u[k], v[k]) - r3[k]),
        # Regular triangle, circumradius r: the edges lie at distance r/2 along three unit normals.
        "triangle": lambda k: np.abs(np.max([np.cos(a) * u[k] + np.sin(a) * v[k]
                                             for a in (np.pi / 2, 7 * np.pi / 6, 11 * np.pi / 6)], axis=0) - r3[k] / 2),
        "plus": lambda k: np.minimum(_segment_distance(u[k], v[k], r3[k]), _segment_distance(v[k], u[k], r3[k])),
        "cross": lambda k: np.minimum(_segment_distance((u[k] + v[k]) / np.sqrt(2), (v[k] - u[k]) / np.sqrt(2), r3[k]),
                                      _segment_distance((u[k] - v[k]) / np.sqrt(2), (u[k] + v[k]) / np.sqrt(2), r3[k])),
    }
    for label, name in enumerate(SHAPE_CLASSES):
        k = labels == label
        dist[k] = kinds[name](k)
    # A stroke of the given width with one pixel of anti-aliasing, then sensor noise.
    images = ink[:, None, None] * np.clip(width[:, None, None] / 2 + 0.5 - dist, 0.0, 1.0)
    images += rng.normal(0.0, noise, images.shape)
    return np.clip(images, 0.0, 1.0).astype(np.float32)


def _shapes_part(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, len(SHAPE_CLASSES), n)
    return _draw_shapes(labels, rng, noise)[..., np.newaxis], labels.astype(np.int64)


def make_shapes(*, n: int = 3000, n_test: int = 1000, val_fraction: float = 0.2, noise: float = 0.15,
                seed: int = 0, heldout_seed: int = PUBLIC_HELDOUT_SEED) -> Split:
    """Generated 28x28 grey images of one outline shape each: square, circle, triangle, plus or cross.

    Every image has a random position, size (4.5-10.5 px), rotation (+-15 degrees), stroke width and
    brightness, plus Gaussian pixel noise of standard deviation ``noise``, clipped to [0, 1]. The same
    shape appears anywhere in the image, so a convolutional net (shared, local filters) generalises
    from far fewer examples than a Dense-only net, which must learn each position separately.

    Args:
        n: examples generated from ``seed``, split into train and validation by ``val_fraction``.
        n_test: held-out examples generated from ``heldout_seed``.

    Returns:
        Split with ``X_*`` float32 ``(batch, 28, 28, 1)`` in [0, 1] and ``y_*`` int64 ``(batch,)`` in 0..4.

    >>> data = make_shapes(n=100, n_test=10)
    >>> data.X_train.shape, data.X_test.shape, data.classes
    ((80, 28, 28, 1), (10, 28, 28, 1), ('square', 'circle', 'triangle', 'plus', 'cross'))
    """
    n_train = _check_sizes(n, n_test, val_fraction)
    rng, rng_heldout = _streams(seed, heldout_seed)
    X, y = _shapes_part(n, rng, noise)
    X_test, y_test = _shapes_part(n_test, rng_heldout, noise)
    return Split(X[:n_train], y[:n_train], X[n_train:], y[n_train:], X_test, y_test,
                 name="shapes", classes=SHAPE_CLASSES)


def _sequences_part(n: int, rng: np.random.Generator, timesteps: int, num_classes: int,
                    marker_window: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, num_classes, n)
    X = rng.normal(0.0, noise, (n, timesteps, num_classes))
    at = rng.integers(0, marker_window, n)
    X[np.arange(n), at, labels] += 1.0
    return X.astype(np.float32), labels.astype(np.int64)


def make_sequences(*, n: int = 3000, n_test: int = 1000, val_fraction: float = 0.2, timesteps: int = 20,
                   num_classes: int = 4, marker_window: int = 5, noise: float = 0.2,
                   seed: int = 0, heldout_seed: int = PUBLIC_HELDOUT_SEED) -> Split:
    """Generated sequences whose class is a marker seen early, followed only by noise.

    Each sequence has ``timesteps`` steps of ``num_classes`` features, all Gaussian noise of standard
    deviation ``noise``, except one marker: at a random step among the first ``marker_window`` the
    feature of the class gets +1. To classify, a model must notice the marker and remember it through
    the noisy steps that follow, so a model that looks only at the last step is at chance level
    (``1 / num_classes``).

    Args:
        n: examples generated from ``seed``, split into train and validation by ``val_fraction``.
        n_test: held-out examples generated from ``heldout_seed``.

    Returns:
        Split with ``X_*`` float32 ``(batch, timesteps, num_classes)`` and ``y_*`` int64 ``(batch,)``.

    >>> data = make_sequences(n=100, n_test=10)
    >>> data.X_train.shape, data.X_test.shape, data.num_classes
    ((80, 20, 4), (10, 20, 4), 4)
    """
    if not 1 <= marker_window <= timesteps:
        raise ValueError(f"marker_window must be in [1, timesteps={timesteps}], got {marker_window}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    n_train = _check_sizes(n, n_test, val_fraction)
    rng, rng_heldout = _streams(seed, heldout_seed)
    X, y = _sequences_part(n, rng, timesteps, num_classes, marker_window, noise)
    X_test, y_test = _sequences_part(n_test, rng_heldout, timesteps, num_classes, marker_window, noise)
    return Split(X[:n_train], y[:n_train], X[n_train:], y[n_train:], X_test, y_test,
                 name="sequences", classes=tuple(f"marker {k}" for k in range(num_classes)))
