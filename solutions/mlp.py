"""Multilayer perceptrons in Keras.

Lesson
------
A multilayer perceptron (MLP) is the network of the first lessons, built from library layers: a stack
of fully connected ``Dense`` layers, each computing ``activation(x @ W + b)`` with ``W`` of shape
``(n_in, n_out)``. Between the input and the output sit *hidden* layers (``relu`` is the usual
activation); the output layer's activation says what the numbers mean:

- one-of-K classification: ``Dense(K, activation="softmax")``, a probability per class, rows sum to 1;
  the loss is ``sparse_categorical_crossentropy`` when labels are integers ``(batch,)`` (use
  ``categorical_crossentropy`` only for one-hot labels ``(batch, K)``);
- binary classification: ``Dense(1, activation="sigmoid")``, the probability of class 1, with
  ``binary_crossentropy``.

Shapes: a batch of inputs is ``(batch, n_features)``; every Dense layer maps ``(batch, n_in)`` to
``(batch, n_out)``; the softmax output is ``(batch, K)``.

Keras offers two ways to wire layers. ``keras.Sequential([...])`` is a plain stack, enough for an MLP.
The *Functional* API calls layers on tensors, ``x = keras.Input((64,)); h = Dense(32)(x); ...;
keras.Model(x, out)``, and also allows branches and several inputs or outputs. Both give a
``keras.Model``; ``model.summary()`` prints every layer's output shape and parameter count (compare
with ``count_parameters`` of the ``neurons`` lesson).

Building is separate from *compiling*: ``model.compile(optimizer, loss, metrics)`` chooses what to
minimise (the loss, averaged over a batch into the cost) and how to move the weights (the optimizer,
here Adam: momentum plus a step size adapted to each weight, see the ``gradient_descent`` lesson).
``model.fit(X, y, epochs, batch_size)`` then updates the weights after every mini-batch; an epoch is
one pass over the training data.

The output layer and the loss must agree. The losses named above expect *probabilities*, so the
model ends in a softmax (or sigmoid). A model may instead end in a linear layer that outputs logits,
and then the loss must be told, e.g. ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``;
``from_logits=True`` on a softmax output applies the softmax twice (see the ``losses`` lesson).

**Overfitting and validation.** Accuracy is judged on data the model never trained on. A big enough
network can memorise its training set: the training loss keeps falling while the accuracy on new
data stalls or drops. That is *overfitting*. To see it before grading, hold some training data out:
``model.fit(X, y, validation_split=0.2, ...)`` trains on the first 80 % and reports ``val_loss`` and
``val_accuracy`` on the last 20 % after every epoch (in the returned ``History``). Watch the
validation accuracy: when it stops improving while the training accuracy still climbs, more epochs
only memorise. Choose the size, epochs and learning rate by the validation accuracy, never by the
test data. Remedies: fewer epochs (or ``keras.callbacks.EarlyStopping``), a smaller network, or
**Dropout**: ``keras.layers.Dropout(0.2)`` after a hidden layer sets a random 20 % of its outputs
to zero at each training step (and scales the rest up by 1/0.8), so no unit can rely on one
particular other unit; at prediction time it does nothing.
"""

from __future__ import annotations

import keras
import numpy as np


def build_mlp(input_dim, num_classes, hidden_units=(64,), activation="relu"):
    """An uncompiled MLP classifier: ``input_dim`` features -> hidden Dense layers -> softmax over classes.

    Args:
        input_dim: number of input features; the model takes ``(batch, input_dim)``.
        num_classes: number of classes K; the model returns ``(batch, K)`` probabilities.
        hidden_units: the width of each hidden Dense layer, in order (may be empty).
        activation: the activation of the hidden layers.

    The Dense layers are exactly these; ``BatchNormalization`` and ``Dropout`` layers between them are
    allowed (the grader counts the parameters of the Dense layers only, and every layer must be one of
    Keras's built-in layers).

    >>> model = build_mlp(64, 10, hidden_units=(32, 16))
    >>> model.output_shape, model.layers[-1].activation.__name__
    ((None, 10), 'softmax')
    >>> sum(layer.count_params() for layer in model.layers if isinstance(layer, keras.layers.Dense))
    2778
    """
    ### BEGIN SOLUTION a Sequential stack: an Input, one Dense per hidden width, then a softmax Dense
    layers = [keras.Input(shape=(input_dim,))]
    layers += [keras.layers.Dense(units, activation=activation) for units in hidden_units]
    layers.append(keras.layers.Dense(num_classes, activation="softmax"))
    return keras.Sequential(layers)
    ### END SOLUTION


def build_binary_classifier(input_dim, hidden_units=(16,)):
    """An uncompiled binary classifier whose single sigmoid unit outputs P(class 1), shape ``(batch, 1)``.

    >>> model = build_binary_classifier(30)
    >>> model.output_shape, model.layers[-1].activation.__name__
    ((None, 1), 'sigmoid')
    """
    ### BEGIN SOLUTION like build_mlp, but the output layer is one unit with a sigmoid
    layers = [keras.Input(shape=(input_dim,))]
    layers += [keras.layers.Dense(units, activation="relu") for units in hidden_units]
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    return keras.Sequential(layers)
    ### END SOLUTION


def compile_model(model, learning_rate=1e-3):
    """Compile ``model`` with Adam, accuracy, and the loss that fits its output layer; return it.

    One output unit (a sigmoid probability) -> ``binary_crossentropy``; several units (a softmax over
    classes, integer labels) -> ``sparse_categorical_crossentropy``.

    >>> compile_model(build_binary_classifier(4)).loss
    'binary_crossentropy'
    >>> compile_model(build_mlp(4, 3), learning_rate=0.01).loss
    'sparse_categorical_crossentropy'
    """
    ### BEGIN SOLUTION choose the loss from the number of output units, then model.compile(...)
    units = model.output_shape[-1]
    loss = "binary_crossentropy" if units == 1 else "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=loss, metrics=["accuracy"])
    return model
    ### END SOLUTION


def train_mlp(X_train, y_train, seed=0):
    """Train an MLP on the course's digits data (``(batch, 64)`` floats in [0, 1], labels 0..9); return it.

    Reproducible: ``keras.utils.set_random_seed(seed)`` fixes the initial weights and the shuffling.
    Graded on held-out digits against an accuracy bar and a time budget, so keep it small and quick.
    The grader's digits have their 64 pixels shuffled by a secret permutation, the same for every
    image (scikit-learn ships every digit, so plain ones can't be held out): Dense layers don't
    depend on the order of their inputs, so treat ``X_train`` as 64 features, not as an 8x8 image.
    """
    ### BEGIN SOLUTION seed everything, build a two-hidden-layer MLP (dropout helps), compile, fit a few dozen epochs
    keras.utils.set_random_seed(seed)
    num_classes = int(np.max(y_train)) + 1
    # The Functional API: call each layer on the tensor before it. Dropout zeroes a random 20 % of
    # the hidden units at each training step, so no single unit can memorise the small training set.
    inputs = keras.Input(shape=(X_train.shape[1],))
    h = keras.layers.Dense(256, activation="relu")(inputs)
    h = keras.layers.Dropout(0.2)(h)
    h = keras.layers.Dense(128, activation="relu")(h)
    h = keras.layers.Dropout(0.2)(h)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(h)
    model = compile_model(keras.Model(inputs, outputs), learning_rate=1e-3)
    model.fit(X_train, y_train, epochs=50, batch_size=32, verbose=0)
    return model
    ### END SOLUTION
