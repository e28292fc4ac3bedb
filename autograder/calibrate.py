"""Measure a course's training topics once, and propose their accuracy bars, floors and budgets.

``autograder calibrate`` trains the reference ``train_<topic>`` of every topic with an
``accuracy_bar`` over several seeds, on the topic's public data set (``autograder.datasets``: the
grading data is drawn the same way from secret seeds), and measures the trivial baselines. From
these numbers it proposes:

- ``accuracy_floor``: the best trivial baseline's held-out accuracy (majority class or chance) plus
  twice its standard error on the held-out examples (a guesser that is lucky on this sample earns
  nothing); partial credit for accuracy is linear from it (nothing) to the bar (all);
- ``accuracy_bar``: the highest bar outside the reference's own noise, the ``quantile`` of its
  accuracies less ``noise`` standard deviations, rounded down to a hundredth, so that a correct
  submission unlucky with its seed still reaches it. A bar the course already sets lower is kept
  (the course author's choice, and safe); one set higher is lowered to it;
- ``train_budget``: the slowest reference training times ``budget_factor`` (a busier or slower
  grading machine), rounded up to 5 s; a larger budget the course already sets is kept;

and records the reference's accuracies, seconds and learning curves (the band the students' curves
are drawn against) beside them in ``course.toml``. Nothing is written unless asked (``--write``):
the edit replaces or adds those keys in each topic's ``[[topics]]`` table and leaves every other
line, comment included, as it was.

The numbers never change while grading: bars come from ``course.toml``, never from training the
reference at grading time.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from autograder.course import MANIFEST, Course, CourseError

__all__ = ["Calibration", "baselines", "calibrate", "calibrate_topic", "guess_floor", "propose", "to_toml", "write_manifest"]

#: The keys ``calibrate`` owns in a ``[[topics]]`` table, in the order it writes them.
KEYS = ("accuracy_bar", "accuracy_floor", "train_budget", "reference_accuracy", "reference_seconds",
        "reference_loss_low", "reference_loss_high", "reference_accuracy_low", "reference_accuracy_high")


@dataclass
class Calibration:
    """What the reference and the baselines did on one topic, and the settings proposed from it."""

    topic: str
    accuracies: list[float]
    seconds: list[float]
    baselines: dict[str, float]
    curves: list[dict[str, list[float]]] = field(default_factory=list)  # per seed: {"loss": [...], "accuracy": [...]}
    accuracy_bar: float = 0.0
    accuracy_floor: float = 0.0
    train_budget: float = 0.0
    highest_bar: float = 0.0  # the proposal before a lower bar of the course was kept
    least_budget: float = 0.0  # the proposal before a larger budget of the course was kept

    def settle(self, bar: float | None, budget: float | None) -> "Calibration":
        """Keep the course's ``bar`` when it lies at or below the proposal (outside the noise), and
        its ``budget`` when it is at least the proposal."""
        self.highest_bar, self.least_budget = self.highest_bar or self.accuracy_bar, self.least_budget or self.train_budget
        self.accuracy_bar = min(bar, self.highest_bar) if bar is not None and bar > self.accuracy_floor else self.highest_bar
        self.train_budget = max(budget, self.least_budget) if budget is not None else self.least_budget
        return self

    def band(self, metric: str) -> tuple[list[float], list[float]]:
        """Per epoch, the lowest and highest value of ``metric`` over the seeds (as long as the shortest curve)."""
        runs = [c[metric] for c in self.curves if c.get(metric)]
        if not runs:
            return [], []
        n = min(len(r) for r in runs)
        stacked = np.array([r[:n] for r in runs], dtype=float)
        return [round(float(v), 4) for v in stacked.min(axis=0)], [round(float(v), 4) for v in stacked.max(axis=0)]

    def values(self) -> dict[str, object]:
        """The keys to record in the topic's table (see :data:`KEYS`)."""
        loss_low, loss_high = self.band("loss")
        acc_low, acc_high = self.band("accuracy")
        return {
            "accuracy_bar": self.accuracy_bar,
            "accuracy_floor": self.accuracy_floor,
            "train_budget": self.train_budget,
            "reference_accuracy": [round(a, 4) for a in self.accuracies],
            "reference_seconds": [round(s, 2) for s in self.seconds],
            "reference_loss_low": loss_low,
            "reference_loss_high": loss_high,
            "reference_accuracy_low": acc_low,
            "reference_accuracy_high": acc_high,
        }


def baselines(y_train: np.ndarray, y_test: np.ndarray, num_classes: int | None = None) -> dict[str, float]:
    """Held-out accuracy of the trivial classifiers: always the training set's majority class, and
    chance (one class of ``num_classes`` at random, in expectation).

    >>> baselines(np.array([0, 0, 1]), np.array([0, 1, 1, 1]), 2)
    {'majority class': 0.25, 'chance': 0.5}
    """
    k = num_classes or int(max(y_train.max(), y_test.max())) + 1
    majority = int(np.bincount(y_train).argmax())
    return {"majority class": float(np.mean(y_test == majority)), "chance": 1.0 / k}


def guess_floor(best: float, n: int) -> float:
    """The accuracy a trivial guesser (held-out accuracy ``best``) stays below on ``n`` examples but
    for bad luck: ``best`` plus twice its binomial standard error, rounded up to a thousandth.

    >>> guess_floor(0.1, 900)
    0.12
    """
    return math.ceil(1000 * (best + 2 * math.sqrt(best * (1 - best) / n)) - 1e-9) / 1000


def propose(accuracies: list[float], seconds: list[float], floor: float, *, quantile: float = 0.05,
            noise: float = 2.0, budget_factor: float = 4.0) -> tuple[float, float]:
    """``(accuracy_bar, train_budget)`` from the reference's accuracies and seconds (see the module).

    >>> propose([0.97, 0.98, 0.975], [10.0, 12.0, 11.0], 0.1)
    (0.96, 50.0)
    """
    low = float(np.quantile(accuracies, quantile))
    spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    bar = math.floor(100 * (low - noise * spread) + 1e-9) / 100
    if bar <= floor:
        raise CourseError(f"the reference's accuracies {accuracies} leave no room for a bar above the trivial "
                          f"baseline {floor:.3f}: the reference is too noisy, or no better than guessing")
    budget = max(10.0, 5.0 * math.ceil(budget_factor * max(seconds) / 5.0))
    return bar, budget


def _history(model) -> dict[str, list[float]]:
    """Loss and accuracy per epoch from the model's own History (Keras sets ``model.history`` in ``fit``)."""
    history = getattr(getattr(model, "history", None), "history", None) or {}
    acc_key = next((k for k in history if k in ("accuracy", "acc", "sparse_categorical_accuracy")), None)
    return {"loss": [float(v) for v in history.get("loss", [])],
            "accuracy": [float(v) for v in history.get(acc_key, [])] if acc_key else []}


def calibrate_topic(train: Callable, split, topic: str, *, seeds: int = 5, quantile: float = 0.05,
                    noise: float = 2.0, budget_factor: float = 4.0, log: Callable[[str], None] = lambda _: None) -> Calibration:
    """Train ``train(X, y, seed)`` for seeds 0 .. seeds-1 on ``split``; measure, then propose."""
    accuracies, seconds, curves = [], [], []
    for seed in range(seeds):
        start = time.perf_counter()
        model = train(split.X_train, split.y_train, seed)
        seconds.append(time.perf_counter() - start)
        pred = np.asarray(model.predict(split.X_test, verbose=0, batch_size=512))
        accuracies.append(float(np.mean(pred.argmax(axis=-1) == split.y_test)))
        curves.append(_history(model))
        log(f"{topic}: seed {seed}: accuracy {accuracies[-1]:.4f} in {seconds[-1]:.1f} s")
    base = baselines(split.y_train, split.y_test, split.num_classes or None)
    floor = guess_floor(max(base.values()), len(split.y_test))
    bar, budget = propose(accuracies, seconds, floor, quantile=quantile, noise=noise, budget_factor=budget_factor)
    return Calibration(topic, accuracies, seconds, base, curves, bar, floor, budget, bar, budget)


def calibrate(course: Course, topics: list[str] | None = None, *, seeds: int = 5, data: dict | None = None,
              log: Callable[[str], None] = lambda _: None, **settings) -> list[Calibration]:
    """Calibrate every topic of ``course`` with an ``accuracy_bar`` (or the ``topics`` named), training
    its reference ``train_<topic>``; ``data`` maps a topic to its :class:`~autograder.datasets.Split`
    (default: the topic's public data set)."""
    from autograder import reference
    from autograder.datasets import load_topic

    chosen = topics or [t.name for t in course.topics if t.accuracy_bar is not None]
    if not chosen:
        raise CourseError(f"{course.root / MANIFEST}: no topic has an accuracy_bar to calibrate")
    out = []
    for name in chosen:
        course.topic(name)  # an unknown name is a CourseError
        module = reference.load(name, course)
        train = getattr(module, f"train_{name}", None)
        if train is None:
            raise CourseError(f"{course.solutions_dir / (name + '.py')} defines no train_{name} to calibrate")
        split = (data or {}).get(name) or load_topic(name)
        found = calibrate_topic(train, split, name, seeds=seeds, log=log, **settings)
        out.append(found.settle(course.topic(name).accuracy_bar, course.topic(name).train_budget))
    return out


def _toml_value(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) >= 1 else repr(round(value, 4))
    return repr(value)


def to_toml(calibrations: list[Calibration]) -> str:
    """The proposed keys, one ``[[topics]]`` table per topic, as they would be written."""
    blocks = []
    for c in calibrations:
        lines = ["[[topics]]", f'name = "{c.topic}"']
        lines += [f"{k} = {_toml_value(v)}" for k, v in c.values().items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


_HEADER = re.compile(r"^\s*\[")


def write_manifest(path: Path, calibrations: list[Calibration]) -> str:
    """Record the calibrations in the manifest at ``path``: in each topic's ``[[topics]]`` table, the
    line of every key of :data:`KEYS` is replaced (or added after the table's last key); every other
    line stays as it was. Returns the new text (also written)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for c in calibrations:
        start = next((i for i, line in enumerate(lines) if line.strip() == "[[topics]]"
                      and _table_name(lines, i) == c.topic), None)
        if start is None:
            raise CourseError(f"{path}: no [[topics]] table with name = {c.topic!r}")
        end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
        for key, value in c.values().items():
            text = f"{key} = {_toml_value(value)}"
            at = next((i for i in range(start + 1, end) if re.match(rf"\s*{key}\s*=", lines[i])), None)
            if at is not None:
                lines[at] = text
                continue
            last = max(i for i in range(start, end) if lines[i].strip() and not lines[i].lstrip().startswith("#"))
            lines.insert(last + 1, text)
            end += 1
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def _table_name(lines: list[str], start: int) -> str | None:
    for line in lines[start + 1:]:
        if _HEADER.match(line):
            return None
        m = re.match(r'\s*name\s*=\s*"([^"]*)"', line)
        if m:
            return m.group(1)
    return None
