"""The judge: a model is judged as data, rebuilt from Keras's built-in parts in a process that never
ran student code. Lying models earn nothing for their lies; correct alternatives are judged alike.

The first half feeds the judge process directly with ``probes.model_data`` of models built here;
the second grades hostile and alternative submissions of the real course (no training).
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from autograder import course as course_mod  # noqa: E402
from autograder.grading import grade_submission  # noqa: E402
from autograder.sandbox import probes  # noqa: E402
from autograder.sandbox.judge import JUDGE_UID, Judge, JudgeError, Refused, vet  # noqa: E402


@pytest.fixture(scope="module")
def judge():
    with Judge() as j:
        yield j


def _judge(judge, model, **kwargs):
    return judge.judge(probes.model_data(model), **kwargs)


def _seq(*layers, shape=(6,)):
    return keras.Sequential([keras.Input(shape), *layers])


# -- correct alternatives are judged alike ------------------------------------------------------------


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_sequential_and_functional_give_the_same_summary_and_predictions(judge):
    keras.utils.set_random_seed(1)
    seq = _seq(keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3, activation="softmax"))
    inputs = keras.Input((6,))
    func = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(5, activation="relu")(inputs)))
    func.set_weights(seq.get_weights())
    x = np.random.default_rng(0).normal(size=(40, 6)).astype("float32")
    a, b = _judge(judge, seq, x=x), _judge(judge, func, x=x)
    for verdict in (a, b):
        assert verdict["input_shape"] == [None, 6] and verdict["output_shape"] == [None, 3]
        assert verdict["params"] == 6 * 5 + 5 + 5 * 3 + 3 and verdict["last_activation"] == "softmax"
        assert [(layer["class"], layer.get("units")) for layer in verdict["layers"] if layer["class"] != "InputLayer"] == [("Dense", 5), ("Dense", 3)]
        assert verdict["compiled"] is False
    np.testing.assert_allclose(a["predictions"], seq.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b["predictions"], a["predictions"], rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_separate_activation_layers_and_dropout(judge):
    for last, expected in ((keras.layers.Activation("softmax"), "softmax"), (keras.layers.Softmax(), "softmax"),
                           (keras.layers.Activation("sigmoid"), "sigmoid")):
        model = _seq(keras.layers.Dense(4), keras.layers.Activation("relu"), keras.layers.Dropout(0.3), keras.layers.Dense(2), last)
        verdict = _judge(judge, model)
        assert verdict["last_activation"] == expected
        assert [layer["class"] for layer in verdict["layers"]] == ["Dense", "Activation", "Dropout", "Dense", type(last).__name__]
        assert verdict["layers"][2]["rate"] == pytest.approx(0.3)


def test_recurrent_layers_wrappers_count_as_what_they_wrap(judge):
    for layer, cls in ((keras.layers.SimpleRNN(3), "SimpleRNN"), (keras.layers.GRU(3), "GRU"), (keras.layers.LSTM(3), "LSTM"),
                       (keras.layers.Bidirectional(keras.layers.LSTM(3)), "LSTM"), (keras.layers.RNN(keras.layers.GRUCell(3)), "RNN")):
        verdict = _judge(judge, _seq(layer, keras.layers.Dense(2, activation="softmax"), shape=(5, 4)))
        info = verdict["layers"][0]
        assert info["class"] == cls
        assert info["cell"] == "GRUCell" if cls == "RNN" else info["units"] == 3
        if isinstance(layer, keras.layers.Bidirectional):
            assert info["wrapper"] == "Bidirectional" and verdict["params"] == 2 * 4 * (4 * 3 + 3 * 3 + 3) + 6 * 2 + 2
    td = _judge(judge, _seq(keras.layers.TimeDistributed(keras.layers.Dense(2)), keras.layers.Flatten(), shape=(5, 4)))
    assert td["layers"][0]["class"] == "Dense" and td["layers"][0]["wrapper"] == "TimeDistributed"


def test_strided_convolutions_and_global_pooling(judge):
    model = _seq(keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"), keras.layers.MaxPooling2D(2),
                 keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax"), shape=(12, 12, 1))
    x = np.random.default_rng(1).normal(size=(5, 12, 12, 1)).astype("float32")
    verdict = _judge(judge, model, x=x)
    conv = verdict["layers"][0]
    assert (conv["class"], conv["filters"], conv["kernel_size"], conv["strides"], conv["padding"]) == ("Conv2D", 4, [3, 3], [2, 2], "same")
    assert verdict["layers"][1]["pool_size"] == [2, 2] and verdict["layers"][2]["class"] == "GlobalAveragePooling2D"
    np.testing.assert_allclose(verdict["predictions"], model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_nested_model_is_judged_by_its_layers(judge):
    inner = _seq(keras.layers.Dense(4, activation="relu"))
    inputs = keras.Input((6,))
    outer = keras.Model(inputs, keras.layers.Dense(2, activation="sigmoid")(inner(inputs)))
    verdict = _judge(judge, outer)
    assert [layer["class"] for layer in verdict["layers"] if layer["class"] != "InputLayer"] == ["Dense", "Dense"]
    assert verdict["last_activation"] == "sigmoid"


def test_compile_configuration_and_the_compiled_loss_on_known_inputs(judge):
    y, p = np.array([0, 2]), np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    expected = float(np.mean(-np.log([0.7, 0.6])))
    for loss in ("sparse_categorical_crossentropy", keras.losses.SparseCategoricalCrossentropy(),
                 keras.losses.sparse_categorical_crossentropy):
        model = _seq(keras.layers.Dense(3, activation="softmax"))
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=["accuracy"])
        verdict = _judge(judge, model, loss_on=(y, p))
        assert verdict["compiled"] and verdict["optimizer"] == "Adam"
        assert verdict["learning_rate"] == pytest.approx(0.01) and verdict["metrics"] == ["accuracy"]
        assert verdict["loss_value"] == pytest.approx(expected, rel=1e-4)
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    verdict = _judge(judge, model, loss_on=(y, p))
    assert verdict["from_logits"] is True and verdict["loss_value"] != pytest.approx(expected, rel=1e-3)
    model.compile(optimizer="adam", loss="categorical_crossentropy")  # one-hot loss on integer labels: the loss fails
    assert "loss_error" in _judge(judge, model, loss_on=(y, p))


# -- lying models earn nothing ------------------------------------------------------------------------


def _lookup(x):
    return np.eye(3)[np.zeros(len(x), dtype=int)]


class LookupModel(keras.Sequential):
    """Lies about everything it is asked: predictions, parameters, summary."""

    def predict(self, x, **kwargs):
        return _lookup(x)

    def call(self, inputs, training=None):
        return keras.ops.ones((keras.ops.shape(inputs)[0], 3)) / 3

    def count_params(self):
        return 123

    def summary(self, *args, **kwargs):
        print("a perfect model")


def test_a_model_subclass_is_refused_by_name(judge):
    model = LookupModel([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
    verdict = _judge(judge, model, x=np.zeros((2, 6), "float32"))
    assert "predictions" not in verdict
    assert verdict["refused"] == f"build the model from Keras's built-in layers; `LookupModel` (defined in {__name__}) is not one"


def test_lambda_and_custom_layers_and_activations_are_refused(judge):
    cases = {
        "`Lambda` runs code of its own": _seq(keras.layers.Lambda(lambda t: t * 2)),
        "`MyLayer`": _seq(type("MyLayer", (keras.layers.Layer,), {"call": lambda self, t: t})()),
        "the function `_my_act`": _seq(keras.layers.Dense(2, activation=_my_act)),
        "`LyingLayers`": LyingLayers(),
    }
    for words, model in cases.items():
        refused = _judge(judge, model)["refused"]
        assert words in refused, refused


def _my_act(t):
    return t


class LyingLayers(keras.Model):
    """A subclassed model whose `layers` claim convolutions it does not have."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(3)

    def call(self, x):
        return self.dense(x)

    @property
    def layers(self):
        return [keras.layers.Conv2D(4, 3)]


def test_a_class_posing_under_a_builtin_name_is_refused():
    class Conv2D(keras.layers.Dense):
        pass

    model = _seq(Conv2D(3))
    with pytest.raises(Refused, match="`Conv2D` .*is not one"):
        vet(probes.model_data(model)["config"])


def test_a_spoofed_dense_with_honest_weights_is_judged_by_its_weights_not_its_call(judge):
    class Dense(keras.layers.Dense):
        def call(self, inputs):  # the lie: always the "right" answer
            return keras.ops.one_hot(keras.ops.zeros((keras.ops.shape(inputs)[0],), "int32"), 3)

    Dense.__module__ = "keras.layers"
    keras.utils.set_random_seed(3)
    model = _seq(Dense(3))
    data = probes.model_data(model)
    honest = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    honest.set_weights(model.get_weights())
    x = np.random.default_rng(2).normal(size=(8, 6)).astype("float32")
    verdict = judge.judge(data, x=x)
    if "refused" not in verdict:  # rebuilt as Keras's own Dense: the weights decide, not the overridden call
        np.testing.assert_allclose(verdict["predictions"], honest.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
        assert not np.allclose(verdict["predictions"], model.predict(x, verbose=0))
    # a config forged to look built-in is rebuilt as the built-in, whatever the worker claims
    forged = dict(data, config=keras.saving.serialize_keras_object(honest))
    verdict = judge.judge(forged, x=x)
    np.testing.assert_allclose(verdict["predictions"], honest.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("config, words", [
    ({"module": "keras", "class_name": "Sequential", "config": {"layers": "trust me"}, "registered_name": None}, "could not be rebuilt"),
    ({"module": "keras.layers", "class_name": "Dense", "config": {"units": 3}, "registered_name": "Dense>Evil"}, "`Dense`"),
    ({"module": "os", "class_name": "system", "config": "echo hi", "registered_name": None}, "`system` (defined in os)"),
    ({"module": "keras.src.utils", "class_name": "Progbar", "config": {}, "registered_name": None}, "`Progbar`"),
    ({"module": "keras.activations", "class_name": "function", "config": "__import__", "registered_name": "function"}, "`__import__`"),
    ({"module": "keras.src.utils.io_utils", "class_name": "function", "config": "relu", "registered_name": "function"}, "`relu`"),
    ({"module": "keras.layers", "class_name": "TFSMLayer", "config": {"filepath": "/etc"}, "registered_name": None}, "`TFSMLayer`"),
    ("a string", "described as a Keras model"),
])
def test_forged_descriptions_are_refused_with_a_reason(judge, config, words):
    verdict = judge.judge({"is_model": True, "type": "Sequential", "config": config, "weights": [], "compile": None})
    assert words in verdict["refused"], verdict["refused"]


def test_weights_that_do_not_fit_and_non_models_are_refused(judge):
    data = probes.model_data(_seq(keras.layers.Dense(3)))
    assert "weight arrays don't fit" in judge.judge(dict(data, weights=data["weights"][:1]))["refused"]
    assert "weight arrays don't fit" in judge.judge(dict(data, weights=[np.zeros((2, 2)), np.zeros(3)]))["refused"]
    verdict = judge.judge(probes.model_data("not a model"))
    assert verdict["not_a_model"] and verdict["refused"] == "returned a str, not a keras.Model"


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_the_judge_answers_only_with_its_nonce_and_restarts_when_it_dies():
    with Judge() as j:
        data = probes.model_data(_seq(keras.layers.Dense(2)))
        assert j.judge(data)["params"] == 14
        j.proc.kill()
        j.proc.wait()
        assert j.judge(data)["params"] == 14 and j.starts == 2  # restarted once, transparently
        j._ask = lambda message, timeout: (_ for _ in ()).throw(JudgeError("the judge answered out of turn"))
        with pytest.raises(JudgeError):
            j.judge(data)


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_the_judge_runs_confined_as_a_user_of_its_own_when_the_grader_is_root():
    import os

    from autograder.sandbox.client import bwrap_status

    with Judge() as j:
        j.judge({"is_model": False, "type": "int"})
        assert j.info["pid"] != os.getpid() and j.info["keras"] == keras.__version__
        # of this package, only the judge, the wire format, the process set-up helpers (limits) and the
        # package's two leaf modules (error classes, quiet TensorFlow): never the worker, the probes or a submission
        assert set(j.info["modules"]) <= {"autograder", "autograder.sandbox", "autograder.sandbox.judge", "autograder.sandbox.wire",
                                          "autograder.sandbox.limits", "autograder.errors", "autograder.quiet"}
        if os.geteuid() == 0:
            assert j.info["uid"] == JUDGE_UID != 65534  # not `nobody`, the students' workers' user
        if os.geteuid() == 0 and bwrap_status()[0] is not None:
            assert j.info["pid"] < 10  # its own process namespace


def test_a_model_judged_twice_is_rebuilt_once_and_judged_alike():
    from autograder.sandbox import judge as judge_mod

    judge_mod._REBUILT.clear()
    keras.utils.set_random_seed(3)
    model = _seq(keras.layers.Dense(4, activation="relu"), keras.layers.Dense(3, activation="softmax"))
    data = probes.model_data(model)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    structure = judge_mod.judge({"model": data})
    judged = judge_mod.judge({"model": data, "x": x})  # the same model, now with predictions: no second rebuild
    assert len(judge_mod._REBUILT) == 1 and structure["layers"] == judged["layers"] and structure["params"] == judged["params"] == 43
    np.testing.assert_allclose(judged["predictions"], np.asarray(model(x)), rtol=1e-5, atol=1e-6)
    # other weights are another model (the digest covers the weights, not only the config)
    other = judge_mod.judge({"model": dict(data, weights=[w + 0.5 for w in data["weights"]]), "x": x})
    assert len(judge_mod._REBUILT) == 2 and not np.allclose(other["predictions"], judged["predictions"])
    # another config with the same weights is another model too
    tanh_data = probes.model_data(_seq(keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(3, activation="softmax")))
    tanh = judge_mod.judge({"model": dict(tanh_data, weights=data["weights"]), "x": x})
    assert len(judge_mod._REBUILT) == 3 and tanh["layers"][0]["activation"] == "tanh"
    assert not np.allclose(tanh["predictions"], judged["predictions"])
    for i in range(judge_mod.REBUILT_KEPT + 2):  # a bounded cache
        judge_mod.judge({"model": dict(data, weights=[w + np.float32(i + 1) for w in data["weights"]])})
    assert len(judge_mod._REBUILT) == judge_mod.REBUILT_KEPT


def test_the_judge_is_forked_from_the_fork_server_only_where_it_gets_a_user_of_its_own(monkeypatch):
    import os

    from autograder.sandbox import client
    from autograder.sandbox.client import SandboxConfig, Zygote, bwrap_status

    config = SandboxConfig()
    assert not Judge(config).forks_from_zygote  # no fork server
    expected = os.geteuid() == 0 and bwrap_status()[0] is not None
    assert Judge(config, zygote=Zygote(config)).forks_from_zygote == expected
    monkeypatch.setattr(client, "bwrap_status", lambda: (None, "no bubblewrap here"))
    assert not Judge(config, zygote=Zygote(config)).forks_from_zygote  # no bubblewrap: a process of its own


# What a worker can try on a judge in its PID namespace, sharing its /tmp.
ATTACKER = """
import json, os, signal, sys

def uid():
    return os.getuid()

def plant():
    # settings and module files a judge started later (or importing Keras later) might read from /tmp
    planted = []
    try:  # the fork server's own Keras import made /tmp/.keras (its own) when Keras was preloaded
        os.makedirs("/tmp/.keras", exist_ok=True)
        with open("/tmp/.keras/keras.json", "w") as f:
            json.dump({"floatx": "float16", "epsilon": 0.5, "backend": "tensorflow", "image_data_format": "channels_first"}, f)
        planted.append("keras.json")
    except PermissionError:
        pass
    for name in ("keras", "numpy", "argparse", "colorsys", "h5py"):
        with open(f"/tmp/{name}.py", "w") as f:
            f.write("raise SystemExit('imported from /tmp')")
        planted.append(name)
    return planted

def attack(pid):
    out = {"cwd_on_path": "" in sys.path or "." in sys.path}
    tries = {"kill": lambda: os.kill(pid, signal.SIGKILL), "stop": lambda: os.kill(pid, signal.SIGSTOP),
             "mem": lambda: open(f"/proc/{pid}/mem", "rb").read(1), "environ": lambda: open(f"/proc/{pid}/environ", "rb").read(1),
             "fds": lambda: os.listdir(f"/proc/{pid}/fd"), "answer_pipe": lambda: open(f"/proc/{pid}/fd/4", "wb")}
    for name, act in tries.items():
        try:
            act()
            out[name] = "done"
        except OSError as exc:
            out[name] = type(exc).__name__
    return out
"""


def _root_under_bwrap() -> bool:
    import os

    from autograder.sandbox.client import bwrap_status

    return os.geteuid() == 0 and bwrap_status()[0] is not None


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
@pytest.mark.skipif(not _root_under_bwrap(), reason="the judge is forked from the fork server only as root under bubblewrap")
@pytest.mark.parametrize("preload", [("keras",), ()], ids=["keras-preloaded", "keras-lazy"])
def test_a_judge_forked_from_the_fork_server_is_out_of_the_workers_reach(preload):
    from autograder.sandbox.client import Sandbox, SandboxConfig, Zygote

    config = SandboxConfig(preload=preload)
    model = _seq(keras.layers.Dense(2, activation="softmax"))
    model.compile(loss="categorical_crossentropy")
    data = probes.model_data(model)
    x = np.ones((2, 6), "float32")
    known = (np.array([[1.0, 0.0]]), np.array([[0.99, 0.01]]))

    def call(box, name, *args):
        result = box.request({"op": "call", "target": {"module": "attacker", "attr": name}, "args": list(args)}, 60)
        assert result.ok, result.error
        return result.value

    with Zygote(config) as zygote, Judge(config, zygote=zygote) as j:
        assert j.forks_from_zygote
        box = Sandbox({"attacker.py": ATTACKER}, config, zygote=zygote)
        assert box.import_module("attacker").ok
        planted = call(box, "plant")  # a submission ran and left files in /tmp before the judge starts
        assert not preload or "keras.json" not in planted
        verdict = j.judge(data, x=x, loss_on=known)
        # Keras's settings are its own, not keras.json's from /tmp: float32, and the loss's epsilon 1e-7 (not 0.5)
        assert verdict["params"] == 14 and verdict["predictions"].dtype == np.float32
        assert verdict["loss_value"] == pytest.approx(-np.log(0.99), rel=1e-3)
        assert j.info["foreign_modules"] == [] and not {"", ".", "/tmp"} & set(j.info["path"])
        # of this package: what the fork server imported, never the probes (nor any submission module)
        assert "autograder.sandbox.probes" not in j.info["modules"] and "attacker" not in j.info["modules"]
        pid = j.info["pid"]
        assert j.info["uid"] == JUDGE_UID != call(box, "uid")  # not the workers' user
        assert j.info["dumpable"] == 0
        attempts = call(box, "attack", pid)
        assert not attempts.pop("cwd_on_path")  # the fork server dropped the current folder from sys.path
        assert set(attempts.values()) == {"PermissionError"}, attempts
        # it survives the attack and the fork server's reset after that submission, warm
        box.close()
        assert j.judge(data)["params"] == 14 and j.starts == 1 and j.info["pid"] == pid
        j.close()
        assert zygote.wait(pid, 10) is not None  # close ended it
        again = j.judge(data, x=x)
        assert j.starts == 2 and j.info["pid"] != pid
        np.testing.assert_allclose(again["predictions"], verdict["predictions"], rtol=1e-6)


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_numpy_only_grading_never_starts_the_judge(tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "neurons.py").write_text("")
    with Judge() as j:
        grade_submission(folder, course=course_mod.load(), topics=["neurons"], judge=j)
        assert not j.started and j.starts == 0


# -- graded for real: hostile and alternative submissions (no training) -------------------------------

HOSTILE_MLP = '''
import keras, numpy as np
from autograder.sandbox import probes, worker

def _lookup(x):
    from sklearn.datasets import load_digits
    d = load_digits()
    X = d.data / 16.0
    return np.eye(10)[d.target[[int(np.argmin(((X - row) ** 2).sum(1))) for row in np.asarray(x)]]]

# the old attack: rewrite the probes the checks used to believe
probes.model_summary = lambda model: {"is_model": True, "type": "Sequential", "layers": [], "input_shape": [None, 64],
                                      "output_shape": [None, 10], "params": 4810, "compiled": True, "loss": "sparse_categorical_crossentropy",
                                      "optimizer": "Adam", "learning_rate": 0.001, "metrics": ["accuracy"], "last_activation": "softmax"}
probes.predict = lambda model, x, batch_size=256: _lookup(x)

# a hooked worker that answers the model_data probe itself, for objects marked `forge`
_real = worker.Worker.op_call
def _op_call(self, req):
    target = req.get("target", {})
    if target.get("probe") == "model_data" and getattr(self._resolve(req["args"][0]), "forge", False):
        return {"is_model": True, "type": "Sequential", "weights": [], "compile": None,
                "config": {"module": "keras", "class_name": "Sequential", "config": {"layers": "trust me"}, "registered_name": None}}
    return _real(self, req)
worker.Worker.op_call = _op_call

class Forged:
    forge = True

class LookupModel(keras.Sequential):
    def predict(self, x, **kwargs):
        return _lookup(x)
    def count_params(self):
        return 4810
    def summary(self, *args, **kwargs):
        print("a perfect MLP")

class Sequential(keras.Sequential):  # posing as Keras's own: untrained, predicts by lookup
    def predict(self, x, **kwargs):
        return _lookup(x)
Sequential.__module__ = "keras"

def build_mlp(input_dim, num_classes, hidden_units=(64,), activation="relu"):
    return LookupModel([keras.Input((input_dim,)), keras.layers.Dense(num_classes, activation="softmax")])

def build_binary_classifier(input_dim, hidden_units=(16,)):
    return Forged()

def compile_model(model, learning_rate=1e-3):
    return model

def train_mlp(X_train, y_train, seed=0):
    return Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
'''

HOSTILE_CNN = '''
import keras
from autograder.sandbox import worker

class Conv2D(keras.layers.Dense):
    pass

# a hooked Worker.send that rewrites what the model_data probe sends back for a Functional model
_send = worker.Worker.send
def _forging_send(self, message):
    value = message.get("value")
    if isinstance(value, dict) and value.get("type") == "Functional":
        message = dict(message, value={"is_model": True, "type": "Functional", "summary": "a perfect CNN", "accuracy": 1.0})
    return _send(self, message)
worker.Worker.send = _forging_send

def train_cnn(X_train, y_train, seed=0):
    inputs = keras.Input(X_train.shape[1:])
    return keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(inputs)))

def build_cnn(input_shape, num_classes):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(), Conv2D(32, activation="relu"),
                             keras.layers.Dense(num_classes, activation="softmax")])
'''

HOSTILE_RNN = '''
import keras

def build_rnn(timesteps, features, num_classes, cell="lstm"):
    return keras.Sequential([keras.Input((timesteps, features)), keras.layers.Lambda(lambda t: t[:, -1]),
                             keras.layers.Dense(num_classes, activation="softmax")])
'''

ALT_MLP = '''
import keras

def build_mlp(input_dim, num_classes, hidden_units=(64,), activation="relu"):
    x = inputs = keras.Input((input_dim,))
    for units in hidden_units:
        x = keras.layers.Activation(activation)(keras.layers.Dense(units)(x))
        x = keras.layers.Dropout(0.1)(x)
    return keras.Model(inputs, keras.layers.Softmax()(keras.layers.Dense(num_classes)(x)))

def build_binary_classifier(input_dim, hidden_units=(16,)):
    layers = [keras.Input((input_dim,))]
    for units in hidden_units:
        layers += [keras.layers.Dense(units), keras.layers.ReLU()]
    return keras.Sequential(layers + [keras.layers.Dense(1), keras.layers.Activation("sigmoid")])

def compile_model(model, learning_rate=1e-3):
    binary = model.output_shape[-1] == 1
    loss = keras.losses.BinaryCrossentropy() if binary else keras.losses.SparseCategoricalCrossentropy()
    metric = keras.metrics.BinaryAccuracy() if binary else keras.metrics.SparseCategoricalAccuracy()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=[metric])
    return model
'''

ALT_CNN = '''
import keras

def build_cnn(input_shape, num_classes):
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
                             keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
                             keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(num_classes), keras.layers.Softmax()])
'''

ALT_RNN = '''
import keras

def build_rnn(timesteps, features, num_classes, cell="lstm"):
    layers = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
    if cell not in layers:
        raise ValueError(f"cell must be one of {sorted(layers)}")
    inputs = keras.Input((timesteps, features))
    h = keras.layers.Bidirectional(layers[cell](8))(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(h))
'''


@pytest.fixture(scope="module")
def warm_job():
    """A fork server and a judge for several submissions, as a batch job keeps them (the judge forked
    from the fork server where the grader is root under bubblewrap, else a process of its own)."""
    from autograder.grading import sandbox_config
    from autograder.sandbox.client import Zygote

    config = sandbox_config(course_mod.load(), preload=("keras",))
    with Zygote(config) as zygote, Judge(config, zygote=zygote) as judge:
        yield {"config": config, "zygote": zygote, "judge": judge}


@pytest.fixture(scope="module")
def warm_judge(warm_job):
    return warm_job["judge"]


def _grade(tmp_path, sources, judge=None, job=None):
    folder = tmp_path / "submission"
    folder.mkdir()
    for name, src in sources.items():
        (folder / f"{name}.py").write_text(src)
    warm = {"config": job["config"], "zygote": job["zygote"]} if job else {}
    return {c.id: c for c in grade_submission(folder, course=course_mod.load(), topics=list(sources), judge=judge, **warm).checks}


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_hostile_models_earn_nothing_for_what_they_forged(tmp_path, warm_job, warm_judge):
    checks = _grade(tmp_path, {"mlp": HOSTILE_MLP, "cnn": HOSTILE_CNN, "rnn": HOSTILE_RNN}, warm_judge, warm_job)
    assert warm_judge.starts == 1  # kept warm across submissions (and never restarted by a hostile one)
    model_checks = {k: c for k, c in checks.items() if any(w in k for w in ("build", "compile", "train"))}
    earned = {k: c.points for k, c in model_checks.items() if c.points}
    # Returning a real (if untrained) 10-way model of Keras's own layers is what that check asks; nothing else scores.
    assert set(earned) <= {"mlp::test_train_mlp_returns_model"}, earned
    for key in ("mlp::test_build_mlp_contract", "mlp::test_build_mlp_ends_in_softmax", "mlp::test_build_mlp_parameter_count"):
        assert checks[key].status == "failed" and "`LookupModel` (defined in mlp) is not one" in checks[key].feedback
        assert "build the model from Keras's built-in layers" in checks[key].feedback
    assert "could not be rebuilt" in checks["mlp::test_build_binary_classifier_contract"].feedback
    assert "not compiled" in checks["mlp::test_compile_model_softmax"].feedback
    accuracy = checks["mlp::test_train_mlp_heldout_accuracy"]
    assert accuracy.status == "failed" and ("the bar is" in accuracy.feedback or "is not one" in accuracy.feedback)
    for key in ("cnn::test_build_cnn_convolutional", "cnn::test_build_cnn_is_a_convolutional_classifier"):
        assert checks[key].status == "failed" and "`Conv2D` (defined in cnn) is not one" in checks[key].feedback
    for key in ("cnn::test_train_cnn_returns_model", "cnn::test_train_cnn_heldout_accuracy"):
        assert checks[key].status == "failed" and "could not be described as a Keras model" in checks[key].feedback
    assert "`Lambda` runs code of its own" in checks["rnn::test_build_rnn_cells"].feedback
    assert all(c.status != "error" for c in model_checks.values()), {k: c.feedback for k, c in model_checks.items() if c.status == "error"}


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_correct_alternatives_keep_full_marks(tmp_path, warm_job, warm_judge):
    checks = _grade(tmp_path, {"mlp": ALT_MLP, "cnn": ALT_CNN, "rnn": ALT_RNN}, warm_judge, warm_job)
    assert warm_judge.starts == 1  # the fork server's resets between submissions spared it
    judged = {k: c for k, c in checks.items() if any(w in k for w in ("build", "compile"))}
    assert len(judged) == 16
    assert all(c.status == "passed" for c in judged.values()), {k: c.feedback for k, c in judged.items() if c.status != "passed"}


class _BrokenJudge(Judge):
    """A judge whose process fails on every request (it crashed twice, the machine is out of memory)."""

    def judge(self, model, **kwargs):
        raise JudgeError("the judge stopped (exit code -9)")


@pytest.mark.slow  # trains the reference mlp once
def test_a_judge_that_fails_is_the_graders_fault_not_the_students(tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "mlp.py").write_text((course_mod.load().solutions_dir / "mlp.py").read_text())
    with _BrokenJudge() as broken:
        result = grade_submission(folder, course=course_mod.load(), topics=["mlp"], judge=broken)
    builders = [c for c in result.checks if "build" in c.id]
    assert builders and all(c.status == "grader_error" and c.points == 0 for c in builders), [(c.id, c.status) for c in builders]
    assert all("the judge stopped" in c.feedback and not c.hint for c in builders)
    assert result.incomplete and "not your code" in (result.error or "")
