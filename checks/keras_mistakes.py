"""The known mistakes of the Keras parts of the course, and how a check recognises them.

Every diagnosis here is worked out on the trusted side: from the judge's summary of a model (its
layers, activations, loss and ``from_logits`` as rebuilt from data, ``keras_models.judged``) or from
the values a check has already compared, never from what the student's process says about itself
(an exception's text, read by ``keras_ops_only``, only chooses the hint of a check that fails anyway).
A check calls ``fail(message, misconception)`` (``autograder.checking``) with what it found, so the
feedback names the mistake and gives its own hint instead of the check's generic one.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from autograder.checking import Misconception, fail
from autograder.sandbox.proxy import NotAttempted

# -- the `_keras` functions (activations, losses) ----------------------------------------------------

NUMPY_ON_KERAS_TENSORS = Misconception(
    "NumPy called on Keras tensors", None,
    "Inside a layer or a loss the values are symbolic Keras tensors: NumPy can neither compute on them nor "
    "differentiate through them. Write every step with keras.ops (exp, max, sum, clip, log...).")
NAN_GRADIENT = Misconception(
    "an exp that overflows inside the graph: its gradient is inf * 0 = nan", None,
    "The value may look fine, but the gradient goes through every operation: exp of a large positive "
    "number is inf, and inf * 0 = nan. Arrange the formula so that no exponent is ever large and positive.")
ABS_SLOPE_AT_ZERO = Misconception(
    "abs (or sign) of x in the formula: its slope at exactly 0 is taken as 0", None,
    "The backends give abs a slope of 0 at exactly 0, so σ'(0) comes out 0 instead of 1/4: choose the "
    "branch with keras.ops.where on the sign of x, each branch written with exp of a non-positive number.")
LOSS_RETURNS_MEAN = Misconception(
    "one number for the batch instead of one loss per example", None,
    "A Keras loss returns one loss per example, shape (batch,): Keras averages them into the cost itself.")
LOSS_UNCLIPPED = Misconception(
    "probabilities not clipped before the log", None,
    "log(0) = -inf: clip y_pred to [epsilon, 1 - epsilon] (keras.config.epsilon()) before the log.")


@contextmanager
def keras_ops_only(call: str):
    """Turn TensorFlow's "can't convert a symbolic tensor to a NumPy array" (a NotImplementedError,
    which would read as *not attempted*) into a failure that names the mistake."""
    try:
        yield
    except NotAttempted as exc:
        text = str(exc)
        if "TODO:" in text or ("symbolic" not in text and "numpy" not in text.lower()):
            raise  # the stub's own NotImplementedError("TODO: ...") (its hint may say "numpy"): not attempted
        fail(f"{call}: {text[:300]}", NUMPY_ON_KERAS_TENSORS)


def gradient_mistake(grad, expected) -> Misconception | None:
    """What a wrong gradient of an activation says, compared with the right one: nan/inf where the
    right one is finite (an overflow inside the graph), or wrong only where x = 0 (abs's slope)."""
    try:
        g, e = np.asarray(grad, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return None
    if g.shape != e.shape:
        return None
    if not np.all(np.isfinite(g)):
        return NAN_GRADIENT
    wrong = ~np.isclose(g, e, rtol=1e-4, atol=1e-6)
    if wrong.any() and np.allclose(e[wrong], 0.25):
        return ABS_SLOPE_AT_ZERO
    return None


# -- models: the output layer, the loss, the hidden layers --------------------------------------------

NO_OUTPUT_ACTIVATION = Misconception(
    "no activation on the last layer (it outputs logits)", None,
    "A Dense layer is linear unless given an activation: the output layer needs the softmax (one-of-K) or "
    "sigmoid (binary) that turns its numbers into probabilities.")
SIGMOID_FOR_ONE_OF_K = Misconception(
    "a sigmoid on a one-of-K output", None,
    "Independent sigmoids don't sum to 1: a one-of-K classifier ends in a softmax over its num_classes units.")
SOFTMAX_FOR_BINARY = Misconception(
    "two softmax units for a binary classifier", None,
    "A binary classifier outputs one number, P(class 1): a single unit with a sigmoid (softmax over two "
    "logits would say the same thing twice, and binary_crossentropy expects one column).")
HIDDEN_ACTIVATION_ON_OUTPUT = Misconception(
    "the hidden activation on the output layer", None,
    "The hidden layers take `activation`; the output layer always takes the activation its outputs mean "
    "(softmax for one-of-K, sigmoid for binary).")
WRONG_OUTPUT_UNITS = Misconception(
    "the wrong number of output units", None,
    "The output layer has one unit per class (num_classes), or a single unit for a binary classifier.")
WRONG_INPUT_SHAPE = Misconception(
    "the wrong input shape", None,
    "The model takes (batch, input_dim): keras.Input(shape=(input_dim,)), without the batch axis.")
BUILDER_COMPILES = Misconception(
    "the builder compiles the model", None,
    "Building and compiling are separate steps: a build_* function returns the model before model.compile.")
ACTIVATION_ARGUMENT_IGNORED = Misconception(
    "the activation argument ignored in the hidden layers", None,
    "Pass the function's `activation` argument to every hidden Dense layer instead of a fixed one.")
NO_HIDDEN_NONLINEARITY = Misconception(
    "no nonlinearity in the hidden layers", None,
    "Without an activation, stacked Dense layers compose into one linear map: the hidden layers need "
    "`activation` to learn anything a single layer could not.")
HIDDEN_UNITS_IGNORED = Misconception(
    "hidden_units not followed (one Dense layer per entry, in order)", None,
    "Make one hidden Dense layer per entry of hidden_units, with that width, in order; none when it is empty.")
FROM_LOGITS_ON_PROBABILITIES = Misconception(
    "from_logits=True on a model that outputs probabilities", None,
    "from_logits=True tells the loss to apply the softmax (or sigmoid) itself: on an output that already "
    "has one, it is applied twice. Use from_logits=True only for a linear (logits) output.")
CATEGORICAL_FOR_INTEGER_LABELS = Misconception(
    "categorical_crossentropy (one-hot labels) for integer labels", None,
    "categorical_crossentropy expects one-hot labels (batch, K); integer labels (batch,) call for "
    "sparse_categorical_crossentropy.")
CATEGORICAL_ON_ONE_UNIT = Misconception(
    "a categorical cross-entropy on a single sigmoid unit", None,
    "With one output column the categorical cross-entropies see a single class and learn nothing: one "
    "sigmoid unit calls for binary cross-entropy (choose the loss from the model's output).")
WRONG_LOSS_FOR_OUTPUT = Misconception(
    "a loss that does not fit the output layer", None,
    "The loss follows the output: several softmax units with integer labels -> sparse categorical "
    "cross-entropy; one sigmoid unit -> binary cross-entropy.")
MODEL_NOT_COMPILED = Misconception(
    "compile_model returns a model that is not compiled", None,
    "Call model.compile(optimizer=..., loss=..., metrics=[...]) and return the model.")
RETURNS_HISTORY = Misconception(
    "the History returned instead of the model", None,
    "model.fit(...) returns a History (the losses per epoch); the trained model is the object you called "
    "fit on: return the model.")
OUTPUT_NOT_ONE_VECTOR = Misconception(
    "fit failed: the model gives more than one vector per example", None,
    "The sparse loss pairs each integer label with one vector of class probabilities, (batch, K); this "
    "model's output has more axes (no Flatten or global pooling before the Dense layers, or "
    "return_sequences=True on the last recurrent layer). Fix the model first: the builder's checks say how.")


def training_error(message: str) -> Misconception | None:
    """What a training call that raised says, from Keras's message: a loss that can't pair the model's
    output with the labels names the model or the loss, not the training function's own hint."""
    if "same rank" in message and "target" in message:  # a categorical (one-hot) loss given integer labels
        return CATEGORICAL_FOR_INTEGER_LABELS
    if "target.ndim - 1" in message:  # the sparse loss given an output with extra axes
        return OUTPUT_NOT_ONE_VECTOR
    return None


WRONG_OPTIMIZER = Misconception(
    "the wrong optimizer or learning rate", None,
    "compile_model uses keras.optimizers.Adam(learning_rate=learning_rate), with the argument it is given.")


def output_mistake(summary: dict, units: int, activation: str, *, hidden_activation: str | None = None
                   ) -> Misconception | None:
    """What is wrong with a model's output layer (judge's summary), or None: expected ``units`` outputs
    with ``activation`` ("softmax" or "sigmoid")."""
    shape, last = summary.get("output_shape"), summary.get("last_activation")
    if last == "softmax" and activation == "sigmoid" and shape == [None, 2]:
        return SOFTMAX_FOR_BINARY
    if isinstance(shape, list) and len(shape) in (3, 4) and shape[-1] == units:
        return RETURN_SEQUENCES_AT_THE_END if len(shape) == 3 else NO_FLATTEN
    if shape != [None, units]:
        return WRONG_OUTPUT_UNITS
    if last in (None, "linear"):
        return NO_OUTPUT_ACTIVATION
    if last == "sigmoid" and activation == "softmax":
        return SIGMOID_FOR_ONE_OF_K
    if last != activation and last == hidden_activation:
        return HIDDEN_ACTIVATION_ON_OUTPUT
    return None


def assert_output(summary: dict, call: str, *, input_shape: list | None, units: int, activation: str,
                  hidden_activation: str | None = None, uncompiled: bool = True) -> None:
    """The model's input shape, its output layer and (for a builder) that it is not compiled, each
    failure naming its mistake."""
    if input_shape is not None and summary.get("input_shape") != input_shape:
        fail(f"{call} takes input of shape {summary.get('input_shape')}; expected {input_shape}", WRONG_INPUT_SHAPE)
    mistake = output_mistake(summary, units, activation, hidden_activation=hidden_activation)
    if summary.get("output_shape") != [None, units]:
        fail(f"{call} gives output of shape {summary.get('output_shape')}; expected [None, {units}]", mistake)
    if summary.get("last_activation") != activation:
        meaning = "probabilities that sum to 1" if activation == "softmax" else "the probability of class 1"
        fail(f"{call} ends in activation {summary.get('last_activation')!r}; expected {activation!r} ({meaning})", mistake)
    if uncompiled and summary.get("compiled"):
        fail(f"{call} returned a compiled model; compiling is compile_model's job", BUILDER_COMPILES)


def hidden_mistake(stack: list[tuple], widths: list[int], activation: str) -> Misconception | None:
    """What is wrong with the hidden Dense layers ``stack[:-1]`` (``[(units, activation)]``)."""
    got_widths = [units for units, _ in stack[:-1]]
    if got_widths != widths:
        return HIDDEN_UNITS_IGNORED
    acts = {act for _, act in stack[:-1]}
    if acts == {"linear"}:
        return NO_HIDDEN_NONLINEARITY
    if acts and activation not in acts:
        return ACTIVATION_ARGUMENT_IGNORED
    return None


def loss_mistake(summary: dict, expected_loss: str) -> Misconception | None:
    """What is wrong with a compiled model's loss (judge's summary), the output being right."""
    if not summary.get("compiled"):
        return MODEL_NOT_COMPILED
    if summary.get("from_logits"):
        return FROM_LOGITS_ON_PROBABILITIES
    name = str(summary.get("loss") or "").lower().replace("_", "")
    if expected_loss == "sparse_categorical_crossentropy" and "categorical" in name and "sparse" not in name:
        return CATEGORICAL_FOR_INTEGER_LABELS
    if expected_loss == "binary_crossentropy" and "categorical" in name:
        return CATEGORICAL_ON_ONE_UNIT
    return WRONG_LOSS_FOR_OUTPUT


#: Layers that may sit between the Dense layers of an MLP without changing what it is: their own
#: parameters (BatchNormalization's scale, offset and moving statistics) are not the Dense layers'.
NORMALISING_LAYERS = ("BatchNormalization", "LayerNormalization")
EXTRA_WEIGHTS = Misconception(
    "layers with weights of their own besides the Dense layers", None,
    "An MLP is Dense layers only (BatchNormalization, Dropout and activation layers may sit between them).")


def dense_params(summary: dict) -> int:
    """The parameters of the model's Dense layers (weights and biases), from the judge's summary."""
    return sum(int(layer.get("params") or 0) for layer in summary.get("layers", []) if layer.get("class") == "Dense")


def unexpected_weights(summary: dict, call: str) -> None:
    """Fail when a layer other than Dense or a normalisation layer holds parameters."""
    for layer in summary.get("layers", []):
        if layer.get("params") and layer.get("class") not in ("Dense", *NORMALISING_LAYERS):
            fail(f"{call} has a {layer.get('class')} layer with {layer.get('params')} parameters of its own; "
                 f"expected Dense layers only (BatchNormalization and Dropout may sit between them)", EXTRA_WEIGHTS)


# -- cnn: the NumPy convolution and pooling, and the model ---------------------------------------------

def _flipped(reference):
    return lambda image, kernel, stride=1, padding="valid": reference.conv2d_forward(
        image, np.asarray(kernel)[::-1, ::-1], stride, padding)


def _same_top_left(reference):
    def variant(image, kernel, stride=1, padding="valid"):
        if padding != "same":
            raise ValueError("only 'same' padding has an extra zero to misplace")
        image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
        pads = []
        for n, k in zip(image.shape, kernel.shape):
            total = max((-(-n // stride) - 1) * stride + k - n, 0)
            pads.append((total - total // 2, total // 2))
        return reference.conv2d_forward(np.pad(image, pads), kernel, stride, "valid")
    return variant


def conv_mistakes(reference) -> tuple:
    """The known wrong ways to write ``conv2d_forward``, as variants of the reference."""
    return (
        Misconception("the kernel flipped (the textbook convolution)", _flipped(reference),
                      "Keras's Conv2D computes a cross-correlation: multiply each patch by the kernel as given, "
                      "without flipping it."),
        Misconception("the extra zero of an odd 'same' padding at the top/left", _same_top_left(reference),
                      "When the total padding is odd, Keras puts the extra zero at the bottom/right: "
                      "total // 2 before, the rest after."),
    )


def _pool_stride_one(image, pool_size=2):
    image = np.asarray(image, dtype=float)
    p = pool_size
    return np.array([[image[i : i + p, j : j + p].max() for j in range(image.shape[1] - p + 1)]
                     for i in range(image.shape[0] - p + 1)])


def _pool_from_zero(image, pool_size=2):
    image = np.asarray(image, dtype=float)
    p = pool_size
    h, w = image.shape[0] // p * p, image.shape[1] // p * p
    return np.maximum(image[:h, :w].reshape(h // p, p, w // p, p).max(axis=(1, 3)), 0.0)


POOL_MISTAKES = (
    Misconception("overlapping windows (stride 1 instead of the pool size)", _pool_stride_one,
                  "MaxPooling2D's stride is the pool size by default: the p x p blocks don't overlap, so the "
                  "output is about p times smaller along each side."),
    Misconception("each block's maximum started at 0", _pool_from_zero,
                  "A block of negative numbers has a negative maximum: start from the block's first value "
                  "(or use block.max()), not from 0."),
)
VALID_SIZE_NO_PLUS_ONE = Misconception(
    "the first position not counted: (n - k) // s without the + 1", None,
    "The kernel fits first at position 0, then once per stride step: floor((n - k) / s) + 1 positions.")
FLOAT_SIZE = Misconception(
    "a size returned as a float", None,
    "np.floor and np.ceil return floats: a size is an int (use // for the floor, and -(-n // s) for the ceiling).")
SAME_SIZE_FROM_HALF_KERNEL = Misconception(
    "the 'same' size worked out from a padding of k // 2 on each side", None,
    "'same' gives ceil(n / s) outputs whatever the kernel: Keras pads as much as that needs "
    "(for an even kernel or a stride, not k // 2 on each side).")
SAME_SIZE_IGNORES_STRIDE = Misconception(
    "the 'same' size without the stride (n instead of ceil(n / s))", None,
    "'same' keeps the size only at stride 1: with stride s the kernel moves s pixels at a time, so there is one "
    "output per stride step, ceil(n / s).")
NO_CONVOLUTION = Misconception(
    "no Conv2D layers (a Dense-only network)", None,
    "A CNN learns small kernels shared across the image with Conv2D layers (and pooling) before flattening "
    "into Dense layers; a Dense-only network must learn every position separately.")


def size_mistake(got, n: int, k: int, s: int, padding: str) -> Misconception | None:
    """What a wrong ``conv2d_output_size(n, k, s, padding)`` is, from its value."""
    value = np.asarray(got)
    if value.shape == () and value.dtype.kind == "f":
        return FLOAT_SIZE
    if padding == "same" and value.shape == () and value == (n + 2 * (k // 2) - k) // s + 1:
        return SAME_SIZE_FROM_HALF_KERNEL
    if padding == "valid" and value.shape == () and value == (n - k) // s:
        return VALID_SIZE_NO_PLUS_ONE
    if padding == "same" and s > 1 and value.shape == () and value == n:
        return SAME_SIZE_IGNORES_STRIDE
    return None


# -- rnn: the NumPy cell and unrolled network, and the model --------------------------------------------

def rnn_mistakes(reference) -> tuple:
    """The known wrong ways to write ``rnn_cell_forward`` / ``rnn_forward`` (``args`` = their inputs)."""
    def transposed(*args):
        *head, Wh, b = args
        fn = reference.rnn_forward if np.ndim(head[0]) == 3 else reference.rnn_cell_forward
        return fn(*head, np.asarray(Wh).T, b)

    def time_first(X, h0, Wx, Wh, b):
        return np.swapaxes(reference.rnn_forward(X, h0, Wx, Wh, b), 0, 1)

    def from_h0(X, h0, Wx, Wh, b):
        return np.stack([reference.rnn_cell_forward(X[:, t], h0, Wx, Wh, b) for t in range(np.shape(X)[1])], axis=1)

    def zeros_h0(X, h0, Wx, Wh, b):
        return reference.rnn_forward(X, np.zeros_like(np.asarray(h0, dtype=float)), Wx, Wh, b)

    return (
        Misconception("the recurrent kernel transposed (h_prev @ Wh.T)", transposed,
                      "Keras's layout: row i of Wh holds the weights from previous unit i, so h_prev multiplies "
                      "Wh from the left (h_prev @ Wh), like x_t @ Wx."),
        Misconception(STATES_TIME_FIRST.name, time_first, STATES_TIME_FIRST.hint),
        Misconception("every step started from h0 (the state not carried)", from_h0,
                      "The memory of an RNN is its state: feed each step's new h into the next step "
                      "(h = cell(x_t, h)), starting from h0 only at t = 0."),
        Misconception("the initial state h0 ignored (started from zeros)", zeros_h0,
                      "Start the loop from the h0 you are given (h = h0), not from zeros: Keras starts from zeros "
                      "only when no initial_state is passed."),
    )


STATES_TIME_FIRST = Misconception(
    "the states stacked time-first, (timesteps, batch, units)", None,
    "Keras keeps the batch axis first: stack the states along axis 1, (batch, timesteps, units).")
TANH_OVERFLOWS = Misconception(
    "tanh written with exp, which overflows at large |z|", None,
    "e^z overflows to inf once |z| is large, and (e^z - e^-z) / (e^z + e^-z) becomes inf / inf = nan: np.tanh "
    "is stable for any input.")
CELL_IGNORED = Misconception(
    "the cell argument not mapped to its layer", None,
    "Each cell name has its own Keras layer: 'simple' -> SimpleRNN, 'lstm' -> LSTM, 'gru' -> GRU.")
UNKNOWN_CELL_ACCEPTED = Misconception(
    "an unknown cell name accepted silently", None,
    "A name you don't know is the caller's mistake: raise ValueError naming the allowed cells, rather than "
    "quietly building something else.")
RETURN_SEQUENCES_AT_THE_END = Misconception(
    "return_sequences=True on the last recurrent layer", None,
    "The classifier needs one vector per sequence: the last recurrent layer returns its final state only "
    "(return_sequences=False, the default); return_sequences=True is for feeding another recurrent layer.")
NO_FLATTEN = Misconception(
    "no Flatten (or global pooling) before the Dense layers", None,
    "A Dense layer acts on the last axis only: flatten the feature maps (Flatten or GlobalAveragePooling2D) "
    "before the Dense classifier, so each image gives one vector of class probabilities.")


# -- training (the held-out accuracy checks) ---------------------------------------------------------

UNDERFIT = Misconception(
    "too little training: the model does not fit even its own training data", None,
    "Look at the learning curve: if the loss is still falling at the last epoch, training stopped too early. "
    "Train for more epochs, or with a larger learning rate; a model that can't fit its training data can't "
    "do better on new examples.")
OVERFIT = Misconception(
    "overfitting: the model fits its training data but not new examples", None,
    "It has memorised the training examples. Hold out a validation split and stop where its accuracy stops "
    "rising; a smaller network or Dropout helps too.")


def fit_mistake(train_accuracy: float, heldout_accuracy: float, bar: float) -> Misconception | None:
    """Why a trained model falls short of ``bar`` on held-out data, from two accuracies the judge computed:
    below the bar on its own training data too (underfit), or well above it there (overfit)."""
    if train_accuracy < bar:
        return UNDERFIT
    if train_accuracy - heldout_accuracy > 0.05:
        return OVERFIT
    return None
