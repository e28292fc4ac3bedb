"""What Keras checks use to judge a student's model: the judge, fed with the model as data.

A model never answers questions about itself: ``student.probe("model_data", model)`` brings its
config, weights and compile configuration out of the sandbox as data, and the judge process
(:mod:`autograder.sandbox.judge`) rebuilds it from Keras's built-in parts and computes the summary,
predictions and loss that the checks compare with expected values worked out here. A model that
can't be rebuilt that way fails the check with the judge's reason.
"""

from __future__ import annotations

import time

import numpy as np
from keras_mistakes import RETURNS_HISTORY, training_error

from autograder.checking import fail
from autograder.sandbox.proxy import StudentError

_ACTIVATION_LAYERS = {"Softmax": "softmax", "ReLU": "relu"}


def model_data(student, model) -> dict:
    """The model's description, fetched from the sandbox once per model object."""
    key = getattr(model, "_handle", None)
    if key is None:
        return student.probe("model_data", model)
    return student.once(f"model_data:{model._generation}:{key.id}", lambda: student.probe("model_data", model))


def judged(student, judge, model, call: str, *, x=None, loss_on=None) -> dict:
    """The judge's summary of ``model`` (what ``call`` returned); a failed assertion when it was
    not a model of Keras's built-in parts. ``x``: also predict on it (``predictions``);
    ``loss_on=(y_true, y_pred)``: also evaluate the compiled loss on them (``loss_value``)."""
    verdict = judge.judge(model_data(student, model), x=x, loss_on=loss_on)
    if "refused" in verdict:
        message = f"{call} {verdict['refused']}" if verdict.get("not_a_model") else f"{call}: {verdict['refused']}"
        fail(message, RETURNS_HISTORY if verdict.get("not_a_model") and "a History" in verdict["refused"] else None)
    return verdict


def predictions(student, judge, model, x, call: str) -> np.ndarray:
    """The rebuilt model's outputs on ``x`` (batched, inference mode), computed by the judge."""
    return np.asarray(judged(student, judge, model, call, x=x)["predictions"], dtype=float)


def dense_stack(summary) -> list[tuple]:
    """``[(units, activation), ...]`` of the Dense layers in order; a linear Dense followed by an
    Activation/Softmax/ReLU layer counts with that activation (both spellings are correct)."""
    stack = []
    for layer in summary["layers"]:
        kind = layer["class"]
        if kind == "Dense":
            stack.append([layer["units"], layer["activation"]])
        elif stack and stack[-1][1] == "linear" and kind in ("Activation", *_ACTIVATION_LAYERS):
            stack[-1][1] = _ACTIVATION_LAYERS.get(kind) or layer["activation"]
    return [tuple(item) for item in stack]


def layer_kinds(summary) -> list[str]:
    """The layers' classes in order, without the InputLayer (a wrapper counts as what it wraps)."""
    return [layer["class"] for layer in summary["layers"] if layer["class"] != "InputLayer"]


def recurrent_kinds(summary, kinds=("SimpleRNN", "LSTM", "GRU")) -> list[str]:
    """The recurrent layers' kinds, from the layer class or (for ``keras.layers.RNN``) the cell class."""
    found = []
    for layer in summary["layers"]:
        cell = (layer.get("cell") or "").removesuffix("Cell")
        if layer["class"] in kinds:
            found.append(layer["class"])
        elif cell in kinds:
            found.append(cell)
    return found


def accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(pred.argmax(axis=1) == labels))


def keras_budget(student, topic):
    """Building and compiling Keras models takes longer than a NumPy call (the sandbox's first Keras
    call may import TensorFlow), most of all on a busy machine: the training budget instead."""
    return student.budget(topic.train_budget)


def trained(student, function, split, key=None):
    """``(split, (model, seconds))``: the student's ``function`` (``train_mlp``...) trained on
    ``split``'s train part with seed 0, computed once per submission (per ``key``, default the
    function's name) and shared by the checks. The seconds are timed here, around the call: the
    duration the worker reports is its own word."""

    def train():
        start = time.monotonic()
        model = getattr(student, function)(split.X_train, split.y_train, 0)
        return model, time.monotonic() - start

    try:
        return split, student.once(key or function, train)
    except StudentError as exc:  # a fit that could not even start names the mistake behind it
        found = training_error(str(exc))
        if found is None:
            raise
        fail(f"{exc.call or function}: {exc}\n{exc.traceback}".rstrip(), found)


def learning_curve(model, topic) -> dict:
    """Loss and accuracy per epoch as the model's History (``model.history``, set by ``fit``) holds
    them, with the reference's band from ``course.toml`` (``autograder calibrate``). The History is
    the student's claim: it is drawn as feedback and never scored. ``{}`` when there is none."""
    try:
        history = model.history.history
    except Exception:  # no History, or not one that answers: no curve, which is no fault
        return {}
    if not isinstance(history, dict):
        return {}
    acc = next((k for k in ("accuracy", "acc", "sparse_categorical_accuracy") if k in history), None)
    curve = {"loss": history.get("loss"), "accuracy": history.get(acc) if acc else None}
    ref = topic.calibration
    for key in ("loss", "accuracy"):
        low, high = ref.get(f"reference_{key}_low"), ref.get(f"reference_{key}_high")
        if low and high:
            curve[f"{key}_band"] = [low, high]
    return curve


def report_training(student, topic, notes, model, seconds, summary) -> None:
    """Tell the student what their training run cost: seconds against the budget, the model's size,
    the worker's peak memory (measured from outside it), and its learning curve."""
    notes.add(f"training took {seconds:.1f} s of a {topic.train_budget:g} s budget "
              f"({seconds / topic.train_budget:.0%})")
    notes.add(f"the model has {summary['params']:,} parameters")
    peak = student.peak_memory()
    if peak:
        notes.add(f"peak memory of the process running your code: {peak / 2**20:,.0f} MB beyond the libraries "
                  f"loaded for it in advance (the limit is {student.memory_limit_mb:,} MB)")
    notes.curve = learning_curve(model, topic)
    if not notes.curve:
        notes.add("no learning curve: the model holds no History (model.fit records one as model.history)")


def accuracy_line(acc: float, n: int, what: str, topic) -> str:
    """``accuracy 97.2 % on 539 validation digits: 2.2 points above the bar of 95 %``."""
    margin = 100 * (acc - topic.accuracy_bar)
    side = "above" if margin >= 0 else "below"
    return f"accuracy {acc:.1%} on {n} {what}: {abs(margin):.1f} points {side} the bar of {topic.accuracy_bar:.0%}"


def selfcheck_training(student, judge, topic, notes, function, split, what):
    """A self-check's one short training run on public data: ``function`` trained on ``split``'s
    train part, its accuracy on the public held-out part computed here from the judge's predictions,
    reported against the bar with the margin, with the time, size, memory and learning curve."""
    _, (model, seconds) = trained(student, function, split, key=f"public:{function}")
    n = len(split.X_test)
    call = f"{function}(X_train, y_train, 0)"
    summary = judged(student, judge, model, call, x=split.X_test)
    pred = np.asarray(summary["predictions"], dtype=float)
    report_training(student, topic, notes, model, seconds, summary)
    expected = (n, len(split.classes))
    assert pred.shape == expected, f"predicting {n} public {what} gave shape {pred.shape}; expected {expected}"
    acc = accuracy(pred, split.y_test)
    notes.lines.insert(0, accuracy_line(acc, n, f"public {what} it never trained on", topic))
    assert acc >= topic.accuracy_bar, \
        f"{call} classifies {acc:.1%} of {n} public {what} correctly; the bar is {topic.accuracy_bar:.0%}"
