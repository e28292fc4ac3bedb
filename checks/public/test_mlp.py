"""Self-checks for ``mlp``: the builders' output layers and the loss ``compile_model`` picks.

Cheap (no training); the hidden checks also grade the hidden layers, parameter counts and
``train_mlp`` on held-out digits.
"""

import pytest
from keras_helpers import keras_budget as _keras_budget, model_summary as _model


@pytest.mark.points(1)
@pytest.mark.hint("A one-of-K classifier ends in Dense(num_classes) with a softmax: one probability per class, rows summing to 1.")
def test_build_mlp_ends_in_softmax(student, topic):
    """build_mlp(64, 10) maps (batch, 64) to (batch, 10) softmax probabilities"""
    with _keras_budget(student, topic):
        call = "build_mlp(64, 10)"
        summary = _model(student, student.build_mlp(64, 10), call)
        assert summary["input_shape"] == [None, 64], f"{call} takes input of shape {summary['input_shape']}; expected [None, 64]"
        assert summary["output_shape"] == [None, 10], f"{call} gives output of shape {summary['output_shape']}; expected [None, 10]"
        assert summary["last_activation"] == "softmax", f"{call} ends in activation {summary['last_activation']!r}; expected 'softmax'"


@pytest.mark.points(1)
@pytest.mark.hint("A binary classifier outputs one number, P(class 1): a single unit squashed into (0, 1).")
def test_build_binary_classifier_ends_in_sigmoid(student, topic):
    """build_binary_classifier(30) maps (batch, 30) to (batch, 1) sigmoid probabilities"""
    with _keras_budget(student, topic):
        call = "build_binary_classifier(30)"
        summary = _model(student, student.build_binary_classifier(30), call)
        assert summary["output_shape"] == [None, 1], f"{call} gives output of shape {summary['output_shape']}; expected [None, 1]"
        assert summary["last_activation"] == "sigmoid", f"{call} ends in activation {summary['last_activation']!r}; expected 'sigmoid'"


@pytest.mark.points(1)
@pytest.mark.hint("Integer labels of shape (batch,) with a softmax over several classes call for the *sparse* categorical cross-entropy.")
def test_compile_model_softmax_loss(student, topic):
    """compile_model(a softmax model) uses sparse categorical cross-entropy"""
    with _keras_budget(student, topic):
        model = student.compile_model(student.probe("plain_model", 64, 10, "softmax"))
        call = "compile_model(<a 64 -> 10 softmax model>)"
        summary = _model(student, model, call)
        assert summary["compiled"], f"{call} returned a model that is not compiled (return the model after model.compile(...))"
        loss = str(summary["loss"])
        assert loss.replace("_", "").lower() == "sparsecategoricalcrossentropy", \
            f"{call} compiled with loss {loss!r}; expected 'sparse_categorical_crossentropy'"
