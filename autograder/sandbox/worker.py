"""The sandbox worker: imports one submission and answers calls from the trusted grader.

It is forked by the fork server (:mod:`autograder.sandbox.zygote`, under bubblewrap where available)
and speaks :mod:`autograder.sandbox.wire` over two pipe ends the grader sent along with the request. Everything
here runs next to student code and may be tampered with by it: the grader treats every answer as
untrusted data and computes every expected value on its own side.
"""

from __future__ import annotations

import importlib
import logging
import os
import random
import re
import struct
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from autograder.quiet import QUIET_TENSORFLOW
from autograder.sandbox import limits as own_limits  # imported once in the fork server, not per worker
from autograder.sandbox import wire

KEEP_BYTES = 64 * 1024  # captured output kept per stream and call
# Modules whose namespaces the worker's own protocol code relies on. Student code may patch them
# (builtins.len, numpy.asarray, json.dumps...); they are put back after every operation, so a patch
# only ever affects the student's own calls, never how answers travel back.
GUARDED = ("builtins", "os", "sys", "io", "struct", "json", "json.encoder", "json.decoder", "time", "warnings",
           "traceback", "threading", "importlib", "numpy", "autograder.sandbox.wire", "autograder.sandbox.worker")
_MISSING = object()
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TENSOR_MODULES = ("tensorflow", "keras", "jax", "torch")


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(text: str) -> str:
    """Error text without terminal colour codes (Keras decorates its messages with them)."""
    return _ANSI.sub("", text)


class _Capture:
    """Redirects fds 1 and 2 into pipes drained by threads; keeps a bounded prefix per call."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token = os.urandom(8).hex().encode()
        self.synced = {"stdout": threading.Event(), "stderr": threading.Event()}
        self.streams = {}
        for fd, name in ((1, "stdout"), (2, "stderr")):
            r, w = os.pipe()
            os.dup2(w, fd)
            os.close(w)
            self.streams[name] = {"kept": bytearray(), "total": 0}
            threading.Thread(target=self._drain, args=(r, name), daemon=True).start()

    def _drain(self, fd: int, name: str) -> None:
        marker = b"\0" + self.token + b"\0"
        tail = b""
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            data = tail + chunk
            found = marker in data
            if found:  # everything before the marker is this call's output: count it all, hold nothing back
                data, tail = data.replace(marker, b""), b""
            else:  # hold back a possible partial marker at the end of the chunk
                keep_back = len(marker) - 1
                tail, data = (data[-keep_back:], data[:-keep_back]) if len(data) > keep_back else (data, b"")
            with self.lock:
                s = self.streams[name]
                room = KEEP_BYTES - len(s["kept"])
                if room > 0:
                    s["kept"] += data[:room]
                s["total"] += len(data)
            if found:
                self.synced[name].set()

    def reset(self) -> None:
        with self.lock:
            for s in self.streams.values():
                s["kept"].clear()
                s["total"] = 0

    def collect(self) -> dict:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        for fd, name in ((1, "stdout"), (2, "stderr")):
            self.synced[name].clear()
            try:
                os.write(fd, b"\0" + self.token + b"\0")
            except OSError:
                pass
        for event in self.synced.values():
            event.wait(1.0)
        with self.lock:
            out = {}
            for name, s in self.streams.items():
                out[name] = s["kept"].decode("utf-8", "replace")
                out[name + "_bytes"] = s["total"]
            return out


class Worker:
    def __init__(self, fd_in: int, fd_out: int, scratch: Path) -> None:
        self.fin = os.fdopen(fd_in, "rb", buffering=0)
        self.fout = os.fdopen(fd_out, "wb", buffering=0)
        self.scratch = scratch
        self.subdir = scratch / "submission"
        self.subdir.mkdir(parents=True, exist_ok=True)
        self.modules: dict[str, object] = {}
        self.objects: dict[int, object] = {}
        self.next_id = 1
        self.deterministic = False
        self.capture = _Capture()
        self.guarded = [(name, sys.modules[name], dict(vars(sys.modules[name]))) for name in GUARDED if name in sys.modules]

    def restore(self) -> None:
        """Undo student patches of the guarded modules (see GUARDED)."""
        for name, module, saved in self.guarded:
            sys.modules[name] = module
            namespace = vars(module)
            for key, value in saved.items():
                if namespace.get(key, _MISSING) is not value:
                    namespace[key] = value

    # -- framing -------------------------------------------------------------------------------
    def _read_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.fin.read(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def receive(self):
        n = wire.frame_length_from_prefix(self._read_exact(8))
        return wire.decode(self._read_exact(n))

    def send(self, message: dict) -> None:
        try:
            frame = wire.encode(message, to_handle=self._to_handle)
        except (wire.WireError, ValueError, TypeError, RecursionError) as exc:
            frame = wire.encode({"id": message.get("id"), "status": "error", "error": {
                "type": "WireError", "message": f"the result could not be sent back: {exc}", "traceback": ""}})
        self.fout.write(struct.pack(">Q", len(frame)) + frame)

    # -- values --------------------------------------------------------------------------------
    def _to_handle(self, obj):
        mod = type(obj).__module__ or ""
        if mod.split(".")[0] in _TENSOR_MODULES and hasattr(obj, "__array__") and hasattr(obj, "shape"):
            try:
                return np.asarray(obj)
            except Exception:  # noqa: BLE001 - a broken tensor becomes a handle instead
                pass
        hid = self.next_id
        self.next_id += 1
        self.objects[hid] = obj
        types = tuple(f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__)
        try:
            text = repr(obj)[:200]
        except Exception:  # noqa: BLE001 - student __repr__ may raise anything
            text = f"<{type(obj).__name__}>"
        return wire.Handle(hid, types, callable(obj), text)

    def _resolve(self, value):
        """Arguments with each handle and reference made the object it names."""
        return wire.map_items(value, self._resolve_one)

    def _resolve_one(self, value):
        if isinstance(value, wire.Handle):
            if value.id not in self.objects:
                raise LookupError(f"object #{value.id} no longer exists in the sandbox")
            return self.objects[value.id]
        if isinstance(value, wire.Ref):
            return self._lookup_ref(value.name)
        return value

    def _lookup_ref(self, name: str):
        space, _, path = name.partition(":")
        if space == "student":
            module, _, attr = path.partition(".")
            return getattr(self._module(module), attr)
        if space == "numpy":
            return getattr(np, path)
        if space == "probe":
            from autograder.sandbox import probes

            return getattr(probes, path)
        raise LookupError(f"unknown function reference {name!r}")

    def _module(self, name: str):
        if name not in self.modules:
            raise LookupError(f"module {name!r} is not loaded in the sandbox")
        return self.modules[name]

    def _target(self, target: dict):
        if "probe" in target:
            return self._lookup_ref("probe:" + target["probe"])
        if "module" in target:
            obj = self._module(target["module"])
        else:
            obj = self._resolve(wire.Handle(target["handle"]))
        attr = target.get("attr")
        return getattr(obj, attr) if attr else obj

    # -- operations ----------------------------------------------------------------------------
    def op_write(self, req):
        for fname, source in req["files"].items():
            if not fname.endswith(".py") or not _MODULE_NAME.match(fname[:-3]):
                raise ValueError(f"refusing file name {fname!r}")
            (self.subdir / fname).write_text(source, encoding="utf-8")
        if str(self.subdir) not in sys.path:
            sys.path.insert(0, str(self.subdir))
        from autograder.reference import lazy_keras

        lazy_keras()  # `import keras` in a NumPy-only function's module costs nothing until used
        importlib.invalidate_caches()
        return None

    def op_import(self, req):
        name = req["module"]
        if not _MODULE_NAME.match(name):
            raise ValueError(f"refusing module name {name!r}")
        module = importlib.import_module(name)
        self.modules[name] = module
        return sorted(k for k in vars(module) if not k.startswith("_"))

    def op_call(self, req):
        fn = self._target(req["target"])
        return fn(*self._resolve(req.get("args", [])), **self._resolve(req.get("kwargs", {})))

    def op_getattr(self, req):
        obj = self._target({"handle": req["target"]["handle"]})
        value = getattr(obj, req["target"]["attr"])
        return self._to_handle(value) if callable(value) else value

    def _seed(self, seed) -> None:
        if seed is None:
            return
        random.seed(seed)
        np.random.seed(seed)
        if "keras.src" in sys.modules:  # really imported, not just the lazy placeholder
            try:
                sys.modules["keras"].utils.set_random_seed(seed)
                if not self.deterministic and "tensorflow" in sys.modules:
                    sys.modules["tensorflow"].config.experimental.enable_op_determinism()
                    self.deterministic = True
            except AttributeError:
                pass

    def handle(self, req) -> dict:
        op = req.get("op")
        method = getattr(self, f"op_{op}", None)
        response = {"id": req.get("id"), "status": "ok"}
        self.capture.reset()
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if method is None:
                    raise ValueError(f"unknown operation {op!r}")
                self._seed(req.get("seed"))
                response["value"] = method(req)
            except NotImplementedError as exc:
                # The stub's own `raise NotImplementedError` means "not attempted"; one raised inside a
                # library (TensorFlow refusing a NumPy call on a symbolic tensor) is an ordinary error.
                mine = self._raised_in_submission(exc)
                response.update(status="not_attempted" if mine else "error", error=self._describe(exc))
            except SystemExit as exc:
                response.update(status="exit", error={"type": "SystemExit", "message": f"the code called sys.exit({exc.code!r})", "traceback": self._trim(exc)})
            except BaseException as exc:  # noqa: BLE001 - everything student code raises is reported
                response.update(status="error", error=self._describe(exc))
            finally:
                self.restore()
        response["duration"] = time.perf_counter() - start
        response["warnings"] = [
            {"category": w.category.__name__, "message": str(w.message)[:500], "filename": os.path.basename(str(w.filename)), "lineno": w.lineno}
            for w in caught[:50]
        ]
        response.update(self.capture.collect())
        return response

    def _raised_in_submission(self, exc: BaseException) -> bool:
        frames = traceback.extract_tb(exc.__traceback__)
        return bool(frames) and frames[-1].filename.startswith(str(self.subdir))

    def _describe(self, exc: BaseException) -> dict:
        kind = "MemoryError" if isinstance(exc, MemoryError) else type(exc).__name__  # numpy's _ArrayMemoryError too
        return {"type": kind, "message": _plain(str(exc))[:2000], "traceback": self._trim(exc)}

    def _trim(self, exc: BaseException) -> str:
        """The traceback cut down to the frames in submission files (or the last frame if none)."""
        frames = traceback.extract_tb(exc.__traceback__)
        mine = [f for f in frames if f.filename.startswith(str(self.subdir))]
        shown = mine or frames[-1:]
        lines = [f'  File "{os.path.basename(f.filename)}", line {f.lineno}, in {f.name}\n    {f.line or ""}' for f in shown]
        lines.append(f"{type(exc).__name__}: {_plain(str(exc))[:500]}")
        return "\n".join(lines)

    def serve(self) -> None:
        while True:
            try:
                req = self.receive()
            except EOFError:
                return
            if req.get("op") == "exit":
                return
            self.send(self.handle(req))


def apply_limits(spec: str, dedicated_user: bool) -> None:
    """Lower this process's resource limits (memory MB, file size MB, processes) for good.

    The process limit (``RLIMIT_NPROC``) counts every process of the user, so it is set only for a
    user that is the worker's alone (``dedicated_user``), never for a developer's account, and only
    when the grader asks for it (``0``: a cgroup of the worker's own holds ``pids.max`` instead).
    """
    import resource
    import signal

    memory_mb, file_mb, nproc = (int(x) for x in spec.split(","))
    limits = [(resource.RLIMIT_AS, memory_mb << 20), (resource.RLIMIT_FSIZE, file_mb << 20), (resource.RLIMIT_CORE, 0)]
    if dedicated_user and nproc > 0:
        limits.append((resource.RLIMIT_NPROC, nproc))
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large file fails the write, not the worker


# TensorFlow's and absl's own log lines are the grader's business, never the student's output.
QUIET_LOGS = QUIET_TENSORFLOW


def quiet_libraries() -> None:
    """Silence the libraries' own logging before student code runs (their C++ reads the environment
    when it logs; the Python loggers are set if already imported)."""
    os.environ.update(QUIET_LOGS)
    for name in ("tensorflow", "absl", "keras", "h5py", "jax"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if "tensorflow" in sys.modules:
        try:
            sys.modules["tensorflow"].get_logger().setLevel(logging.CRITICAL)
            sys.modules["tensorflow"].autograph.set_verbosity(0)
        except AttributeError:
            pass


def become_worker(fd_in: int, fd_out: int, scratch: str, drop_to: int | None) -> None:
    """Lower the limits, leave root, load the seccomp filter, and serve the grader on the two pipe
    ends until told to stop. All of it happens before any student code is read."""
    if os.environ.get("AUTOGRADER_LIMITS"):
        apply_limits(os.environ["AUTOGRADER_LIMITS"], drop_to is not None)
    if drop_to is not None:
        own_limits.leave_root(drop_to)
    if os.environ.get("AUTOGRADER_SECCOMP") == "1":
        why = own_limits.load_seccomp()
        if why:
            raise SystemExit(f"could not load the seccomp filter: {why}")
    quiet_libraries()
    os.makedirs(scratch, exist_ok=True)
    os.chdir(scratch)
    os.environ.update(HOME=scratch, KERAS_HOME=os.path.join(scratch, ".keras"), MPLCONFIGDIR=os.path.join(scratch, ".matplotlib"))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    worker = Worker(fd_in, fd_out, Path(scratch))
    worker.send({"id": 0, "status": "ready", "value": {"pid": os.getpid(), "uid": os.getuid(),
                                                       "seccomp": os.environ.get("AUTOGRADER_SECCOMP") == "1"}})
    worker.serve()
    os._exit(0)

