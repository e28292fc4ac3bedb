"""What every loader returns (`Split`), the seeds it takes, and the stratified splitter they share."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

#: The public held-out seed. Students and the public self-checks use it; the grader passes its own secret one.
PUBLIC_HELDOUT_SEED = 20240601

_SPLIT_ARRAYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


@dataclass(frozen=True, repr=False)
class Split:
    """One data set cut into train, validation and held-out test parts.

    ``X_*`` are float32 inputs, already preprocessed (scaled); ``y_*`` are int64 labels of shape
    ``(batch,)``. ``X_test``/``y_test`` is the held-out *grading* split: training code must only ever
    see ``X_train``/``y_train`` (and may use ``X_val``/``y_val`` for model selection).

    It reads like a small dict as well (``split["X_train"]``, ``dict(split)``), so code written for
    scikit-learn ``Bunch`` objects works unchanged.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str = ""
    classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for part in ("train", "val", "test"):
            X, y = getattr(self, f"X_{part}"), getattr(self, f"y_{part}")
            if len(X) != len(y):
                raise ValueError(f"{self.name}: X_{part} has {len(X)} rows but y_{part} has {len(y)}")

    def keys(self) -> tuple[str, ...]:
        return _SPLIT_ARRAYS

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in _SPLIT_ARRAYS:
            raise KeyError(f"{key!r}; a Split holds {', '.join(_SPLIT_ARRAYS)}")
        return getattr(self, key)

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_train, self.y_train

    @property
    def val(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_val, self.y_val

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X_test, self.y_test

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={getattr(self, k).shape}" for k in ("X_train", "X_val", "X_test"))
        return f"Split({self.name!r}, {shapes}, classes={len(self.classes)})"


def card(name: str) -> str:
    """The data-set card (Markdown) of ``name``: what it is, shapes, source, licence.

    >>> card("digits").splitlines()[0]
    '# digits'
    """
    path = resources.files(__package__).joinpath("cards", f"{name}.md")
    if not path.is_file():
        available = sorted(p.name.removesuffix(".md") for p in resources.files(__package__).joinpath("cards").iterdir()
                           if p.name.endswith(".md"))
        raise KeyError(f"no data-set card {name!r}; cards: {', '.join(available)}")
    return path.read_text(encoding="utf-8")


def stratified_split(y: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Indices ``(train, val, test)`` that keep each class's share in every part; deterministic in ``seed``."""
    _check_fraction("val_fraction", val_fraction)
    _check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    rng = np.random.default_rng(seed)
    parts: tuple[list, list, list] = ([], [], [])
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(test_fraction * len(idx)))
        n_val = int(round(val_fraction * len(idx)))
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test : n_test + n_val])
        parts[0].append(idx[n_test + n_val :])
    # Shuffle across classes too, so a batch of the train split is never one class.
    return tuple(rng.permutation(np.concatenate(p)) for p in parts)


def _check_fraction(name: str, value: float) -> None:
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")

