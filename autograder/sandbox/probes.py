"""Helpers that checks run *inside* the sandbox, next to the student's objects.

Checks call them with ``student.probe("name", ...)`` or pass them into student code with
``fn("probe:name")``. They run beside student code, which can patch them, so what they return is
the student's own answer, like any return value: the checks compute every expected value on the
trusted side, and a model is judged only by the judge process, rebuilt from ``model_data``.
"""

from __future__ import annotations

import numpy as np

# -- plain functions to hand to student code ------------------------------------------------------


def sigmoid(z):
    """A stable logistic function, for ``dense_forward(..., activation=fn("probe:sigmoid"))``."""
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def identity(z):
    return np.asarray(z)


def quadratic(x):
    """f(x) = sum((x - 3)^2), minimum at x = 3."""
    x = np.asarray(x, dtype=float)
    return float(np.sum((x - 3.0) ** 2))


def quadratic_grad(x):
    return 2.0 * (np.asarray(x, dtype=float) - 3.0)


def cubic_mix(x):
    """f(x) = sum(x^3 + 2 x0 x1 ...): a function with a non-constant gradient."""
    x = np.asarray(x, dtype=float)
    return float(np.sum(x**3) + np.sum(np.sin(x)) + x.ravel()[0] * x.ravel()[-1])


def mean_squared(y_true, y_pred):
    """A per-example L2 loss, to hand to ``cost``."""
    return np.mean((np.asarray(y_true, float) - np.asarray(y_pred, float)) ** 2, axis=-1)


def call_and_inputs(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and the arguments as they are afterwards (to catch in-place changes)."""
    result = fn(*args, **kwargs)
    return result, list(args), kwargs


def take(iterable, limit: int = 10_000):
    """The first ``limit`` items of an iterable the student returned (e.g. ``minibatches``)."""
    out = []
    for item in iterable:
        out.append(item)
        if len(out) >= limit:
            break
    return out


def docstring_examples(fn, limit: int = 200) -> list[dict]:
    """Run the docstring examples (doctests) of the module that defines ``fn``, the student's module.

    One record per docstring: ``name``, ``status`` (``passed``; ``failed``; ``not_attempted`` when
    an example raised NotImplementedError, the rest of that docstring then left unjudged), ``examples``
    run, and the first wrong example as ``source``, ``want``, ``got``. At most ``limit`` examples.
    """
    import doctest
    import sys

    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    if module is None:
        return []

    class Checker(doctest.OutputChecker):
        """Also accepts output that differs only in how numbers are written (np.int64(3) for 3,
        a float32 array for a float64 one): a correct alternative must not fail an example."""

        def check_output(self, want, got, optionflags):
            if super().check_output(want, got, optionflags | doctest.NORMALIZE_WHITESPACE):
                return True
            try:
                return _same_numbers(_literal(want), _literal(got))
            except Exception:  # noqa: BLE001 - not numbers: the text comparison stands
                return False

    class Recorder(doctest.DocTestRunner):
        def __init__(self):
            super().__init__(checker=Checker(), verbose=False)
            self.record = {"status": "passed", "examples": 0}

        def report_start(self, out, test, example):
            self.record["examples"] += 1

        def _wrong(self, example, got, status="failed"):
            if self.record["status"] == "passed":
                self.record.update(status=status, source=example.source.strip(), want=example.want.strip(), got=got)

        def report_failure(self, out, test, example, got):
            self._wrong(example, got.strip())

        def report_unexpected_exception(self, out, test, example, exc_info):
            exc = exc_info[1]
            status = "not_attempted" if isinstance(exc, NotImplementedError) else "failed"
            self._wrong(example, f"{type(exc).__name__}: {exc}", status)

    records, seen = [], 0
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__):
        if seen >= limit or not test.examples:
            continue
        runner = Recorder()
        runner.run(test, out=lambda text: None, clear_globs=True)
        seen += runner.record["examples"]
        records.append({"name": test.name.removeprefix(module.__name__ + "."), **runner.record})
    return records


_LITERAL_NAMES = {"array": np.array, "np": np, "nan": np.nan, "inf": np.inf, "True": True, "False": False,
                  "None": None, **{t: getattr(np, t) for t in ("float16", "float32", "float64", "int8", "int16",
                                                               "int32", "int64", "uint8", "bool_")}}


def _literal(text: str):
    """A printed value (``array([[1., 0.]], dtype=float32)``, ``np.int64(3)``, tuples, lists) read back."""
    text = text.strip()
    if not text or "__" in text or len(text) > 20_000:
        raise ValueError("not a printed value")
    return eval(compile(text, "<output>", "eval"), {"__builtins__": {}}, dict(_LITERAL_NAMES))  # noqa: S307


def _same_numbers(a, b) -> bool:
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(_same_numbers(x, y) for x, y in zip(a, b)))
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(_same_numbers(a[k], b[k]) for k in a))
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape or x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        return False
    return bool(np.allclose(x.astype(float), y.astype(float), rtol=1e-4, atol=1e-6, equal_nan=True))


# -- Keras probes ----------------------------------------------------------------------------------


def keras_value_and_grad(fn, x):
    """``fn(x)`` on a Keras tensor and the gradient of its sum with respect to ``x`` (the student's
    answer: it runs beside their code; the check compares it with values computed on the trusted side)."""
    import tensorflow as tf

    xv = tf.Variable(np.asarray(x, dtype="float32"))
    with tf.GradientTape() as tape:
        y = fn(xv)
        total = tf.reduce_sum(y)
    grad = tape.gradient(total, xv)
    return np.asarray(y), None if grad is None else np.asarray(grad)


def keras_dense_output(activation, x, W, b):
    """The output of ``Dense(activation=activation)`` with weights ``W, b`` on ``x``, inside a model."""
    import keras

    x = np.asarray(x, dtype="float32")
    inputs = keras.Input(shape=(x.shape[1],))
    layer = keras.layers.Dense(W.shape[1], activation=activation)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([np.asarray(W, "float32"), np.asarray(b, "float32")])
    return np.asarray(model.predict(x, verbose=0))


def keras_compiled_loss(loss, x, y_onehot, W, b):
    """The loss ``model.evaluate`` reports for a softmax Dense model compiled with ``loss``,
    and the loss after one training step (so it must also be differentiable)."""
    import keras

    x = np.asarray(x, dtype="float32")
    inputs = keras.Input(shape=(x.shape[1],))
    layer = keras.layers.Dense(W.shape[1], activation="softmax")
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([np.asarray(W, "float32"), np.asarray(b, "float32")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    before = float(model.evaluate(x, y_onehot, verbose=0, batch_size=len(x)))
    model.train_on_batch(x, y_onehot)
    after = float(model.evaluate(x, y_onehot, verbose=0, batch_size=len(x)))
    return before, after


def plain_model(input_dim: int, units: int, activation: str):
    """A small uncompiled Keras model built here, not by the student: for judging ``compile_model``
    on its own, whatever the student's builders do."""
    import keras

    return keras.Sequential([keras.Input(shape=(input_dim,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(units, activation=activation)])


def model_data(model) -> dict:
    """A model as data for the judge (:mod:`autograder.sandbox.judge`): its Keras config, its weights
    as arrays and its compile configuration. This runs beside student code, so it is the student's
    to lie about: the judge believes it only as a description to rebuild from Keras's own parts."""
    import keras

    if not isinstance(model, keras.Model):
        return {"is_model": False, "type": type(model).__name__}
    data = {"is_model": True, "type": type(model).__name__}
    try:
        data["config"] = keras.saving.serialize_keras_object(model)
        data["weights"] = [np.asarray(w) for w in model.get_weights()]
        data["compile"] = model.get_compile_config() if getattr(model, "compiled", False) else None
    except Exception as exc:  # noqa: BLE001 - a model Keras can't describe is judged as "not built-in"
        data["config"] = {"module": type(model).__module__, "class_name": type(model).__name__, "registered_name": "?",
                          "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        data["weights"], data["compile"] = [], None
    return data
