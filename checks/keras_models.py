"""What Keras checks use to judge a student's model: the judge, fed with the model as data.

A model never answers questions about itself: ``student.probe("model_data", model)`` brings its
config, weights and compile configuration out of the sandbox as data, and the judge process
(:mod:`autograder.sandbox.judge`) rebuilds it from Keras's built-in parts and computes the summary,
predictions and loss that the checks compare with expected values worked out here. A model that
can't be rebuilt that way fails the check with the judge's reason.
"""

from __future__ import annotations

import numpy as np
from keras_mistakes import RETURNS_HISTORY

from autograder.checking import fail

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


def trained(student, function, split):
    """``(split, (model, seconds))``: the student's ``function`` (``train_mlp``...) trained on
    ``split``'s train part with seed 0, computed once per submission and shared by the checks."""

    def train():
        model = getattr(student, function)(split.X_train, split.y_train, 0)
        return model, student.last.duration

    return split, student.once(function, train)
