"""The judge: rebuilds a student's Keras model from data, in a process that never ran student code.

A model leaves the sandbox worker only as data (probe ``model_data``): its architecture config, its
weights as arrays and its compile configuration. The worker runs beside student code, so that data
is the student's to make up; it is believed only as a description to rebuild. This module's server
(:func:`become_judge`) never imports a submission and never receives source. It accepts a
model only if every class its config names is one of Keras's own (layers, models, activations,
initializers, regularizers, constraints, optimizers, losses, metrics), rebuilds it with
``safe_mode=True`` and no custom objects, sets the weights, and computes what the checks judge:
layers and their settings, shapes, parameter counts, the activation applied last, predictions and
the compiled loss on known inputs.

:class:`Judge` is the trusted grader's side: it starts the server, keeps it warm for a grading job,
and talks to it over two pipes in :mod:`autograder.sandbox.wire` frames, each request with a fresh
nonce. As root under bubblewrap the server is forked from the fork server (Keras already imported
there, no student code ever run there), inside the workers' confinement but as the unprivileged
user :data:`JUDGE_UID` (never ``nobody`` nor a leased worker uid, whose processes are the
students'); elsewhere it is a process of its own, in its own bubblewrap where available.
"""

from __future__ import annotations

import hashlib
import math
import os
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from autograder.sandbox import wire

#: The public Keras namespaces a config may name a class from (the module field of a serialized object).
ALLOWED_MODULES = ("keras", "keras.layers", "keras.models", "keras.initializers", "keras.regularizers",
                   "keras.constraints", "keras.optimizers", "keras.optimizers.schedules", "keras.losses",
                   "keras.metrics", "keras.activations", "keras.dtype_policies")
#: Built-in classes that run code or read files of their own: never rebuilt.
REFUSED_CLASSES = {"Lambda", "TFSMLayer", "JaxLayer", "FlaxLayer", "TorchModuleWrapper"}
#: Where Keras records a built-in function as coming from (it writes ``builtins`` for its own).
_FUNCTION_MODULES = (None, "builtins", "keras.activations", "keras.losses", "keras.metrics")
#: Bookkeeping records of Keras's own serialization format, not classes.
_RECORDS = {"__keras_tensor__", "__tuple__"}
#: Layers whose settings the checks read, and the attributes read.
SETTINGS = ("units", "filters", "kernel_size", "strides", "padding", "pool_size", "return_sequences", "rate")
WRAPPERS = {"Bidirectional", "TimeDistributed"}
#: The judge's own unprivileged user when the grader is root: not ``nobody``, so student workers
#: (``nobody``) can neither signal nor trace it, and its threads don't count against their process limit.
JUDGE_UID = 65533
STARTUP_TIMEOUT = 120.0
REQUEST_TIMEOUT = 120.0
MAX_CONFIG_NODES = 200_000
#: Where the judge's libraries look for settings (``keras.json``...): a path nobody can create, so
#: nothing a worker writes in the shared ``/tmp`` is ever read as the judge's configuration.
_NO_HOME = "/nonexistent-autograder-judge"
PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4


class Refused(ValueError):
    """The data does not describe a model of Keras's built-in parts (a student-facing reason)."""


class JudgeError(RuntimeError):
    """The judge process failed (a grader problem, never charged to the student)."""


# ================================================================================================
# server side: runs in its own process, never sees student code
# ================================================================================================


def _is_plain(node, budget: list[int]) -> bool:
    budget[0] -= 1
    if budget[0] < 0:
        return False
    if node is None or isinstance(node, (bool, int, float, str)):
        return True
    if isinstance(node, np.ndarray):
        return True
    if isinstance(node, (list, tuple)):
        return all(_is_plain(v, budget) for v in node)
    if isinstance(node, dict):
        return all(isinstance(k, str) and _is_plain(v, budget) for k, v in node.items())
    return False


def _public(module: str):
    import importlib

    return importlib.import_module(module)


def _builtin_class(module, class_name: str):
    """The class ``module.class_name`` if it is one of Keras's own, else None."""
    if module not in ALLOWED_MODULES or not isinstance(class_name, str) or not class_name.isidentifier():
        return None
    obj = getattr(_public(module), class_name, None)
    if not isinstance(obj, type) or not (obj.__module__ or "").startswith("keras.src."):
        return None
    return obj


def _builtin_function(name) -> bool:
    """True when ``name`` is a built-in activation, loss or metric function. (Keras records a
    function's module unreliably, e.g. ``builtins``; it rebuilds one by name from its own tables.)"""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        return False
    for module in ("keras.activations", "keras.losses", "keras.metrics"):
        obj = getattr(_public(module), name, None)
        if callable(obj) and not isinstance(obj, type) and (getattr(obj, "__module__", "") or "").startswith("keras.src."):
            return True
    return False


def vet(config) -> None:
    """Raise :class:`Refused` unless every class ``config`` names is a built-in Keras one."""
    if not _is_plain(config, [MAX_CONFIG_NODES]):
        raise Refused("the model's description is not plain data of a reasonable size")
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "class_name" in node:
                _vet_one(node)
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)


def _vet_one(node: dict) -> None:
    module, name, registered = node.get("module"), node.get("class_name"), node.get("registered_name")
    shown = (name if isinstance(name, str) else repr(name))[:60]
    if name in _RECORDS and module is None:
        return
    if name in REFUSED_CLASSES:
        raise Refused(f"build the model from Keras's built-in layers; `{shown}` runs code of its own, which the grader does not run")
    if name == "Functional" and module == "keras.src.models.functional" and registered in (None, "Functional"):
        return
    if name == "function":
        if registered == "function" and module in _FUNCTION_MODULES and _builtin_function(node.get("config")):
            return
        raise Refused(f"use Keras's built-in activations and losses by name; the function `{node.get('config')}` is not one of them")
    if registered is not None or _builtin_class(module, name) is None:
        if isinstance(module, str) and module.startswith("keras"):
            where = " (a class of the submission's own, under a Keras name)" if _builtin_class(module, name) else ""
        else:
            where = f" (defined in {str(module)[:60]})" if module else " (a class of the submission's own)"
        raise Refused(f"build the model from Keras's built-in layers; `{shown}`{where} is not one")


def _strip_compile(config):
    """The model config without its compile section (compile data is judged on its own)."""
    if isinstance(config, dict):
        config = dict(config)
        config.pop("compile_config", None)
    return config


def rebuild(data: dict):
    """A Keras model from ``{"config", "weights"}``, built-in parts only; raise :class:`Refused` otherwise."""
    import keras

    config = _strip_compile(data.get("config"))
    if not isinstance(config, dict):
        raise Refused("the model could not be described as a Keras model")
    vet(config)
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - whatever Keras says about a bad config, it is the student's model
        raise Refused(f"the model could not be rebuilt from its config ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(model, keras.Model):
        raise Refused("the model's config does not describe a keras.Model")
    for layer in _all_layers(model):
        if not type(layer).__module__.startswith("keras.src."):
            raise Refused(f"build the model from Keras's built-in layers; `{type(layer).__name__}` is not one")
    weights = data.get("weights")
    if not isinstance(weights, list) or not all(isinstance(w, np.ndarray) and w.dtype.kind in "biuf" for w in weights):
        raise Refused("the model's weights are not a list of numeric arrays")
    expected = [tuple(w.shape) for w in model.weights]
    if [tuple(w.shape) for w in weights] != expected:
        raise Refused(f"the model's {len(weights)} weight arrays don't fit its layers (which need {len(expected)}, of shapes {expected[:4]}...)")
    try:
        model.set_weights(weights)
    except Exception as exc:  # noqa: BLE001 - weights that Keras can't take are the student's
        raise Refused(f"the model's weights could not be set ({type(exc).__name__}: {str(exc)[:200]})") from None
    return model


def _all_layers(model):
    """Every layer, nested models and wrapped layers included."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layers") and layer is not model:
            out += _all_layers(layer)
        inner = getattr(layer, "layer", None) or getattr(layer, "forward_layer", None)
        if inner is not None:
            out.append(inner)
    return out


def _activation_name(layer):
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    return getattr(act, "__name__", type(act).__name__)


def _plain_value(value):
    if isinstance(value, tuple):
        return [_plain_value(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value if isinstance(value, (int, float, str, bool, type(None), list)) else str(value)


def _layer_info(layer) -> dict:
    """One layer as the checks see it; a wrapper is reported as what it wraps (``wrapper`` names it)."""
    kind = type(layer).__name__
    info = {"class": kind, "name": layer.name, "params": int(layer.count_params())}
    inner = layer
    if kind in WRAPPERS:
        inner = layer.forward_layer if kind == "Bidirectional" else layer.layer
        info["class"] = type(inner).__name__
        info["wrapper"] = kind
    info["activation"] = _activation_name(inner)
    for attr in SETTINGS:
        if hasattr(inner, attr):
            info[attr] = _plain_value(getattr(inner, attr))
    if hasattr(inner, "cell"):
        info["cell"] = type(inner.cell).__name__
    return info


def _flat_layers(model) -> list:
    """Top-level layers, a nested model's layers in its place."""
    import keras

    out = []
    for layer in model.layers:
        out += _flat_layers(layer) if isinstance(layer, keras.Model) else [layer]
    return out


def _last_activation(layers) -> str | None:
    """The activation applied last: the last layer's own, or a trailing Activation/Softmax layer."""
    for layer in reversed(layers):
        kind = layer["class"]
        if kind == "Softmax":
            return "softmax"
        if kind in ("ReLU", "ELU", "LeakyReLU"):
            return kind.lower()
        act = layer.get("activation")
        if kind == "Activation":
            return act
        if act is not None and act != "linear":
            return act
        if act == "linear" or "units" in layer or "filters" in layer:
            return act
    return None


def _shape(tensors):
    return [None if d is None else int(d) for d in tensors[0].shape] if tensors else None


def summarize(model) -> dict:
    layers = [_layer_info(layer) for layer in _flat_layers(model)]
    return {
        "is_model": True,
        "type": type(model).__name__,
        "layers": layers,
        "input_shape": _shape(model.inputs),
        "output_shape": _shape(model.outputs),
        "params": int(model.count_params()),
        "last_activation": _last_activation(layers),
    }


def _loss_name(loss) -> str | None:
    if isinstance(loss, str):
        return loss
    if isinstance(loss, dict):
        if loss.get("class_name") == "function":
            return str(loss.get("config"))
        return str((loss.get("config") or {}).get("name") or loss.get("class_name"))
    return None


def judge_compile(compile_config) -> dict:
    """What ``model.compile`` was given, rebuilt from Keras's own losses, optimizers and metrics only."""
    import keras

    if compile_config is None:
        return {"compiled": False}
    if not isinstance(compile_config, dict):
        raise Refused("the model's compile configuration is not one Keras gives")
    vet(compile_config)
    out = {"compiled": True, "loss": _loss_name(compile_config.get("loss")), "from_logits": None}
    loss_config = compile_config.get("loss")
    if isinstance(loss_config, dict) and isinstance(loss_config.get("config"), dict):
        out["from_logits"] = loss_config["config"].get("from_logits")
    opt = compile_config.get("optimizer")
    out["optimizer"], out["learning_rate"] = None, None
    if isinstance(opt, str):
        out["optimizer"] = opt
    elif isinstance(opt, dict):
        out["optimizer"] = str(opt.get("class_name"))
        lr = (opt.get("config") or {}).get("learning_rate")
        if isinstance(lr, (int, float)) and not isinstance(lr, bool) and math.isfinite(lr):
            out["learning_rate"] = float(lr)
    metrics = compile_config.get("metrics") or []
    if not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    names = []
    for m in metrics:
        if isinstance(m, str):
            names.append(m)
        elif isinstance(m, dict):
            names.append(str((m.get("config") or {}).get("name") if m.get("class_name") != "function" else m.get("config")))
    out["metrics"] = names
    out["_loss"] = keras.losses.get(loss_config) if loss_config is not None else None
    return out


#: Models rebuilt lately, by the digest of their description (config and weights): a model that
#: several checks judge (its structure, then its predictions) is rebuilt once. Only what this
#: process rebuilt and summarized itself is kept, so a hit gives exactly what a rebuild would.
_REBUILT: OrderedDict[str, tuple[Any, dict]] = OrderedDict()
REBUILT_KEPT = 4


def _digest(data: dict) -> str | None:
    try:
        described = wire.encode({"config": _strip_compile(data.get("config")), "weights": data.get("weights")})
    except (wire.WireError, ValueError, TypeError, RecursionError):
        return None  # not something to rebuild either: rebuild() says why
    return hashlib.sha256(described).hexdigest()


def rebuilt(data: dict) -> tuple[Any, dict]:
    """``(model, summary)`` of the described model: :func:`rebuild` and :func:`summarize`, or the
    same from :data:`_REBUILT` when this very description was rebuilt lately."""
    key = _digest(data)
    if key is not None and key in _REBUILT:
        _REBUILT.move_to_end(key)
        return _REBUILT[key]
    model = rebuild(data)
    entry = (model, summarize(model))
    if key is not None:
        _REBUILT[key] = entry
        while len(_REBUILT) > REBUILT_KEPT:
            _REBUILT.popitem(last=False)
    return entry


def judge(request: dict) -> dict:
    """The answer to one ``judge`` request (see :meth:`Judge.judge`)."""
    data = request.get("model")
    if not isinstance(data, dict) or not data.get("is_model"):
        kind = data.get("type") if isinstance(data, dict) else None
        return {"refused": f"returned a {kind or 'value'}, not a keras.Model", "not_a_model": True}
    try:
        model, summary = rebuilt(data)
        out = dict(summary)
        compiled = judge_compile(data.get("compile"))
        loss = compiled.pop("_loss", None)
        out.update(compiled)
        x = request.get("x")
        if isinstance(x, np.ndarray):
            out["predictions"] = _predict(model, x)
        known = request.get("loss_on")
        if isinstance(known, (list, tuple)) and len(known) == 2 and loss is not None:
            try:
                value = loss(np.asarray(known[0], "float32"), np.asarray(known[1], "float32"))
                out["loss_value"] = float(np.mean(np.asarray(value)))
            except Exception as exc:  # noqa: BLE001 - a loss that does not fit the labels is the student's choice
                out["loss_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return out
    except Refused as exc:
        return {"refused": str(exc)}
    except MemoryError:
        return {"refused": "the model needs more memory than the grader allows to rebuild it"}


def _predict(model, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    """The model's outputs in inference mode, in large batches, as one array."""
    x = np.asarray(x, dtype="float32")
    parts = [np.asarray(model(x[i : i + batch], training=False)) for i in range(0, len(x), batch)]
    return np.concatenate(parts) if parts else np.zeros((0,))


def _read_exact(fd: int, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _write_frame(fd: int, message) -> None:
    frame = wire.encode(message)
    view = memoryview(struct.pack(">Q", len(frame)) + frame)
    while view:
        view = view[os.write(fd, view[: 1 << 20]):]


def _limit_memory() -> None:
    """Cap the address space (after Keras's import): a model too large to rebuild is refused, not a crash."""
    import resource

    spec = os.environ.get("AUTOGRADER_LIMITS", "")
    if not spec:
        return
    memory_mb = int(spec.split(",")[0]) + 2048  # headroom: TensorFlow's own reservations are already made
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    value = memory_mb << 20 if hard == resource.RLIM_INFINITY else min(memory_mb << 20, hard)
    resource.setrlimit(resource.RLIMIT_AS, (value, value))


def _foreign_modules() -> list[str]:
    """Files of loaded modules from anywhere but the Python installation and this package (a
    submission's, or one left in a shared folder): none, ever."""
    import sys

    own = (sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.abspath(wire.__file__))))
    files = (getattr(m, "__file__", None) for m in list(sys.modules.values()))
    return sorted(f for f in files if isinstance(f, str) and not os.path.abspath(f).startswith(own))


def _dumpable() -> int | None:
    import ctypes

    try:
        return int(ctypes.CDLL(None, use_errno=True).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
    except (OSError, AttributeError):
        return None


#: A one-Dense model, in Keras's own serialization format, for :func:`_warm_up`.
_WARM_UP_CONFIG = {"module": "keras", "class_name": "Sequential", "registered_name": None, "config": {
    "name": "warm_up", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None, "config": {"batch_shape": [None, 2], "dtype": "float32", "name": "input"}},
        {"module": "keras.layers", "class_name": "Dense", "registered_name": None, "config": {"units": 1, "name": "dense"}}]}}


def _warm_up() -> None:
    """Rebuild and run a tiny model once: TensorFlow sets up its runtime on its first operation
    (about 0.5 s), here while the grader's first checks run rather than in the first request."""
    judge({"model": {"is_model": True, "config": _WARM_UP_CONFIG, "weights": [np.zeros((2, 1), "float32"), np.zeros(1, "float32")]},
           "x": np.zeros((1, 2), "float32"), "loss_on": None})
    _REBUILT.clear()


def serve(fd_in: int, fd_out: int) -> None:
    import keras

    _limit_memory()
    _warm_up()
    import sys

    ours = sorted(name for name in sys.modules if name.split(".")[0] == "autograder")  # no probes, no submission
    _write_frame(fd_out, {"id": None, "status": "ready", "value": {
        "pid": os.getpid(), "uid": os.getuid(), "keras": keras.__version__, "modules": ours,
        "foreign_modules": _foreign_modules(), "path": list(sys.path), "dumpable": _dumpable()}})
    served = 0
    while True:
        try:
            req = wire.decode(_read_exact(fd_in, wire.frame_length_from_prefix(_read_exact(fd_in, 8))))
        except EOFError:
            return
        if not isinstance(req, dict) or req.get("op") == "exit":
            return
        try:
            if req.get("op") != "judge":
                raise ValueError(f"unknown operation {req.get('op')!r}")
            answer = {"id": req.get("id"), "status": "ok", "value": judge(req)}
        except Exception as exc:  # noqa: BLE001 - reported to the grader as its own failure
            answer = {"id": req.get("id"), "status": "error", "error": {"type": type(exc).__name__, "message": str(exc)[:1000]}}
        try:
            _write_frame(fd_out, answer)
        except wire.WireError as exc:
            _write_frame(fd_out, {"id": req.get("id"), "status": "error", "error": {"type": "WireError", "message": str(exc)}})
        served += 1
        if served % 16 == 0:
            _REBUILT.clear()
            keras.backend.clear_session()


def become_judge(fd_in: int, fd_out: int, drop_to: int | None) -> None:
    """Leave root, seal this process off, and serve the grader on the two pipe ends until told to
    stop. Called in a fresh process (:func:`main`) or in a child of the fork server
    (:mod:`autograder.sandbox.zygote`), which has imported Keras but never runs student code; either
    way before any request is read.

    * ``sys.path`` loses its current-folder entry and the process moves to ``/``: a module file a
      worker left in the shared ``/tmp`` is never imported;
    * a user of its own (``drop_to``, :data:`JUDGE_UID`): the workers (``nobody`` or a leased uid)
      can neither signal nor trace it, and none of its threads counts toward their process limits;
    * not dumpable: its memory and descriptors (``/proc/<pid>/mem``, ``/fd``) are closed to others
      even of its own user;
    * its settings folders point nowhere: nothing in a shared folder is read as Keras's settings.
    """
    import sys

    from autograder.sandbox import limits

    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    os.chdir("/")
    os.environ.update(HOME=_NO_HOME, KERAS_HOME=os.path.join(_NO_HOME, ".keras"), MPLCONFIGDIR=os.path.join(_NO_HOME, ".matplotlib"))
    if drop_to is not None:
        limits.leave_root(drop_to)
    limits.set_process_flag(PR_SET_DUMPABLE, 0)
    limits.silence_standard_streams()
    serve(fd_in, fd_out)
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd-in", type=int, required=True)
    parser.add_argument("--fd-out", type=int, required=True)
    args = parser.parse_args(argv)
    drop = os.environ.get("AUTOGRADER_DROP_TO")
    become_judge(args.fd_in, args.fd_out, int(drop) if drop and os.getuid() == 0 else None)


# ================================================================================================
# trusted side
# ================================================================================================


class _ForkedJudge:
    """A judge forked by a fork server, with the bits of ``Popen``'s interface :class:`Judge` uses.
    It dies with that fork server; a restarted fork server knows nothing of it."""

    def __init__(self, zygote, pid: int) -> None:
        self.zygote, self.pid, self.server = zygote, pid, zygote.proc
        self.returncode: int | None = None

    def _server_alive(self) -> bool:
        return self.zygote.proc is self.server and self.zygote.alive()

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.wait(self.pid, 0) if self._server_alive() else -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        return self.poll()

    def kill(self) -> None:
        if self.returncode is None:
            code = self.zygote.end_judge(self.pid) if self._server_alive() else None
            self.returncode = -signal.SIGKILL if code is None else code


class Judge:
    """The trusted grader's handle on one judge process, started on first use and kept warm.

    Where the grader is root and its fork server (``zygote``, a :class:`~autograder.sandbox.client.Zygote`)
    runs under bubblewrap, the judge is forked from that fork server: Keras is already imported there,
    so the judge is ready at once, and it shares the workers' confinement but not their user
    (:data:`JUDGE_UID`, not dumpable; see :func:`become_judge`). Otherwise (no bubblewrap, not root,
    no fork server) it is a process of its own in its own bubblewrap where there is one, and imports
    Keras in the background: :meth:`start` returns at once, :meth:`judge` waits for it.
    A judge that dies or stops answering is restarted once per request; if that fails too, the
    request raises :class:`JudgeError` (a grader failure, never charged to the student).
    """

    def __init__(self, config=None, *, zygote=None) -> None:
        from autograder.sandbox.client import SandboxConfig

        self.config = config or SandboxConfig()
        self.zygote = zygote
        self.proc: subprocess.Popen | _ForkedJudge | None = None
        self._fd_w = self._fd_r = -1
        self._ready = False
        self._scratch: str | None = None
        self.token = os.urandom(8).hex()
        self.starts = 0
        self.requests = 0
        self.info: dict | None = None  # what the judge said when it started: pid, uid, Keras version

    def __enter__(self) -> "Judge":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def started(self) -> bool:
        return self.proc is not None

    @property
    def forks_from_zygote(self) -> bool:
        """Whether :meth:`start` forks the judge from the fork server: only where that keeps the
        judge out of the workers' reach, i.e. as root (a user of its own) under bubblewrap."""
        from autograder.sandbox import client

        return self.zygote is not None and client._is_root() and self.zygote.confined

    def start(self) -> "Judge":
        self.close()
        if self.forks_from_zygote:
            self._fork()
        else:
            self._spawn()
        self._ready = False
        self.starts += 1
        return self

    def _fork(self) -> None:
        from autograder.sandbox.client import ZygoteError

        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        try:
            pid = self.zygote.fork_judge(req_r, resp_w)
        except ZygoteError as exc:
            os.close(req_w)
            os.close(resp_r)
            raise JudgeError(f"the fork server could not start the judge: {exc}") from exc
        finally:
            os.close(req_r)
            os.close(resp_w)
        self.proc = _ForkedJudge(self.zygote, pid)
        self._fd_w, self._fd_r = req_w, resp_r

    def _spawn(self) -> None:
        from autograder.sandbox import client

        client.ISSUED_TOKENS.append(self.token)
        confined = client.Sandbox.will_confine(self.config)
        if confined:
            scratch = "/tmp"
        else:
            self._scratch = scratch = tempfile.mkdtemp(prefix="autograder-judge-")
            os.chmod(scratch, 0o1777)
        env = client.sandbox_environment(self.config, scratch, self.token)
        popen_drop = {}
        if client._is_root():
            if confined:
                env["AUTOGRADER_DROP_TO"] = str(JUDGE_UID)
            elif client._unconfined_drop_possible():
                popen_drop = {"user": JUDGE_UID, "group": JUDGE_UID, "extra_groups": []}
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        cmd = [*client._python("judge"), "--fd-in", str(req_r), "--fd-out", str(resp_w)]
        if confined:
            cmd = [client.bwrap_status()[0], *client._bwrap_options(self.config.masks), "--", *cmd]
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         pass_fds=(req_r, resp_w), env=env, cwd=scratch, start_new_session=True,
                                         close_fds=True, **popen_drop)
        finally:
            os.close(req_r)
            os.close(resp_w)
        self._fd_w, self._fd_r = req_w, resp_r

    def close(self) -> None:
        from autograder.sandbox.client import close_pipes, end_group, sweep

        proc, self.proc = self.proc, None
        close_pipes(self._fd_w, self._fd_r)  # a judge reading its next request ends on EOF
        self._fd_w = self._fd_r = -1
        if isinstance(proc, _ForkedJudge):
            proc.kill()
        elif proc is not None:
            end_group(proc)
            sweep(self.token)  # anything of the judge's that outlived its process group
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # -- framing -------------------------------------------------------------------------------
    def _read_exact(self, n: int, deadline: float) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise JudgeError("the judge did not answer in time")
            ready, _, _ = select.select([self._fd_r], [], [], min(remaining, 0.5))
            if not ready:
                if self.proc is not None and self.proc.poll() is not None:
                    raise JudgeError(f"the judge stopped (exit code {self.proc.returncode})")
                continue
            chunk = os.read(self._fd_r, min(n - len(buf), 1 << 20))
            if not chunk:
                raise JudgeError("the judge stopped")
            buf += chunk
        return bytes(buf)

    def _receive(self, deadline: float):
        try:
            prefix = self._read_exact(8, deadline)
            return wire.decode(self._read_exact(wire.frame_length_from_prefix(prefix), deadline))
        except wire.WireError as exc:
            raise JudgeError(f"the judge sent a malformed answer ({exc})") from exc

    def _ask(self, message: dict, timeout: float) -> Any:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        if not self._ready:
            ready = self._receive(time.monotonic() + STARTUP_TIMEOUT)
            if not isinstance(ready, dict) or ready.get("status") != "ready":
                raise JudgeError("the judge did not start")
            self._ready = True
            self.info = ready.get("value")
        nonce = os.urandom(16).hex()
        try:
            _write_frame(self._fd_w, dict(message, id=nonce))
        except OSError as exc:
            raise JudgeError(f"the judge is gone ({exc})") from exc
        answer = self._receive(time.monotonic() + timeout)
        if not isinstance(answer, dict) or answer.get("id") != nonce:
            raise JudgeError("the judge answered out of turn")
        if answer.get("status") != "ok":
            raise JudgeError(f"the judge failed: {(answer.get('error') or {}).get('message', answer.get('status'))}")
        return answer.get("value")

    def judge(self, model: dict, *, x: np.ndarray | None = None, loss_on: tuple | None = None,
              timeout: float = REQUEST_TIMEOUT) -> dict:
        """Rebuild ``model`` (the data of probe ``model_data``) and judge it.

        Returns the summary (``layers``, ``input_shape``, ``output_shape``, ``params``,
        ``last_activation``, ``compiled`` and, when compiled, ``loss``, ``from_logits``,
        ``optimizer``, ``learning_rate``, ``metrics``), plus ``predictions`` on ``x`` and
        ``loss_value``, the compiled loss of ``loss_on = (y_true, y_pred)``; or ``{"refused": why}``.
        """
        message = {"op": "judge", "model": model, "x": x, "loss_on": loss_on}
        self.requests += 1
        for attempt in (1, 2):
            try:
                return self._ask(message, timeout)
            except JudgeError:
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


if __name__ == "__main__":
    main()
