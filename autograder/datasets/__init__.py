"""The course's data sets: offline, deterministic, each with a card.

Every loader is keyword-only and returns a `Split` (``X_train, y_train, X_val, y_val, X_test,
y_test``): float32 inputs already preprocessed, int64 labels of shape ``(batch,)``. The test part is
the held-out *grading* split. Generated sets take ``heldout_seed`` for that part: the public default
is `PUBLIC_HELDOUT_SEED`, the grader passes its own secret seed.

>>> from autograder.datasets import DATASETS, load_topic
>>> sorted(DATASETS)
['cnn', 'mlp', 'rnn']
>>> load_topic("rnn").X_train.shape
(2400, 20, 4)

Nothing here downloads: scikit-learn ships digits and breast cancer, the CNN and RNN sets are
generated, and `load_mnist` reads an ``mnist.npz`` you already have.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from ._base import PUBLIC_HELDOUT_SEED, Split, card
from ._bundled import load_breast_cancer, load_digits, load_mnist
from ._generated import SHAPE_CLASSES, make_sequences, make_shapes

#: topic -> loader of the data set its ``train_*`` function is graded on.
DATASETS: dict[str, Callable[..., Split]] = {
    "mlp": load_digits,
    "cnn": make_shapes,
    "rnn": make_sequences,
}


def load_topic(topic: str, *, heldout_seed: int | None = None) -> Split:
    """The data set of a Keras topic, with the held-out split drawn from ``heldout_seed`` where it is generated.

    A fixed real data set (digits) has a fixed held-out split, so ``heldout_seed`` does not apply to it.
    """
    try:
        loader = DATASETS[topic]
    except KeyError:
        raise KeyError(f"no data set for topic {topic!r}; topics with data: {', '.join(sorted(DATASETS))}") from None
    if heldout_seed is not None and "heldout_seed" in inspect.signature(loader).parameters:
        return loader(heldout_seed=heldout_seed)
    return loader()


__all__ = [
    "DATASETS",
    "PUBLIC_HELDOUT_SEED",
    "SHAPE_CLASSES",
    "Split",
    "card",
    "load_breast_cancer",
    "load_digits",
    "load_mnist",
    "load_topic",
    "make_sequences",
    "make_shapes",
]
