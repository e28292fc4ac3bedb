"""What check authors hold: ``student``, a stand-in for the submission that lives in the sandbox.

``student.softmax(z)`` sends ``z`` to the worker, runs the student's ``softmax`` there and returns
the answer as plain data (NumPy arrays, numbers, lists, dicts). Objects that can't travel (a Keras
model, a generator) come back as :class:`Remote` handles whose methods and attributes work the same
way: ``model.predict(X)``, ``model.count_params()``, ``model.layers[0].get_config()``.

When a call does not give a value, it raises one of the :class:`StudentFailure` subclasses below;
the pytest plugin turns each into its outcome (not attempted, error, timeout, crashed, ...).
``student.last`` is the full :class:`CallResult` of the latest call (warnings, printed output).
"""

from __future__ import annotations

import contextlib
from typing import Any

from autograder.sandbox import wire
from autograder.sandbox.client import CallResult, Sandbox


class StudentFailure(Exception):
    """A call into student code that gave no value; ``status`` is the outcome it stands for."""

    status = "error"

    def __init__(self, message: str, result: CallResult | None = None, call: str = "") -> None:
        super().__init__(message)
        self.result = result
        self.call = call

    @property
    def traceback(self) -> str:
        return ((self.result.error or {}).get("traceback", "")) if self.result else ""


class NotAttempted(StudentFailure):
    status = "not_attempted"


class NotSubmitted(StudentFailure):
    status = "not_submitted"


class StudentError(StudentFailure):
    status = "error"


class StudentTimeout(StudentFailure):
    status = "timeout"


class StudentCrash(StudentFailure):
    status = "crashed"


class GraderFault(StudentFailure):
    """Not the student's failure: the grader could not run the call (the plugin records it as
    ``grader_error`` from the call's own status, whatever the check does with this exception)."""

    status = "grader_error"


_FAILURES = {
    "not_attempted": NotAttempted,
    "error": StudentError,
    "exit": StudentCrash,
    "crashed": StudentCrash,
    "timeout": StudentTimeout,
    "output_limit": StudentError,
    "grader_error": GraderFault,
}


def fn(name: str) -> wire.Ref:
    """A function to pass into student code, named ``"numpy:tanh"`` or ``"probe:quadratic"``.

    Functions can't cross into the sandbox; a name can, and the worker looks it up there.
    """
    if not name.startswith(("numpy:", "probe:", "student:")):
        raise ValueError(f"function references are 'numpy:NAME', 'probe:NAME' or 'student:MODULE.NAME', not {name!r}")
    return wire.Ref(name)


class Session:
    """One sandbox plus the bookkeeping shared by every ``student`` and handle made from it."""

    def __init__(self, sandbox: Sandbox, submitted: set[str], memory_mb: int = 3072) -> None:
        self.sandbox = sandbox
        self.submitted = submitted
        self.memory_mb = memory_mb
        self.last: CallResult | None = None
        self.history: list[CallResult] = []  # calls of the current check (the plugin resets it)
        self.memo: dict[str, object] = {}

    def run(self, message: dict, budget: float, call: str, seed: int | None = 0):
        result = self.sandbox.request(dict(message, seed=seed), budget)
        self.last = result
        self.history.append(result)
        if result.status == "ok":
            return self._wrap(result.value)
        err = result.error or {}
        text = f"{err.get('type', '')}: {err.get('message', '')}".strip(": ")
        if result.status == "not_attempted":
            text = f"not written yet (it still raises NotImplementedError: {err.get('message', '')})"
        if err.get("type") == "MemoryError":
            text = f"MemoryError: the code needed more than the memory limit of {self.memory_mb} MB"
        raise _FAILURES.get(result.status, StudentCrash)(text, result, call)

    def _wrap(self, value):
        """An answer with each handle made a :class:`Remote`."""
        generation = self.sandbox.generation
        return wire.map_items(value, lambda v: Remote(self, v, generation) if isinstance(v, wire.Handle) else v)

    def unwrap(self, value):
        """Arguments with each :class:`Remote` made its handle and each student function a reference."""
        return wire.map_items(value, self._unwrap_one)

    def _unwrap_one(self, value):
        if isinstance(value, Remote):
            if value._generation != self.sandbox.generation:
                raise StudentCrash("an object made by the student's code was lost when its sandbox restarted")
            return value._handle
        if isinstance(value, StudentFunction):
            return wire.Ref(f"student:{value._module}.{value._name}")
        return value


class Student:
    """The submission's module for one topic, as seen from a check."""

    def __init__(self, session: Session, module: str, call_budget: float, train_budget: float | None = None) -> None:
        self._session = session
        self._module = module
        self._call_budget = call_budget
        self._train_budget = train_budget or call_budget
        self._override: float | None = None
        self._global_seed = 0

    def __getattr__(self, name: str) -> "StudentFunction":
        if name.startswith("_"):
            raise AttributeError(name)
        return StudentFunction(self, self._module, name)

    @property
    def last(self) -> CallResult | None:
        return self._session.last

    @property
    def submitted(self) -> bool:
        return self._module in self._session.submitted

    @property
    def memory_limit_mb(self) -> int:
        return self._session.memory_mb

    def peak_memory(self) -> int | None:
        """The most memory (bytes) the sandbox's worker has used so far, measured from outside it
        (see :meth:`autograder.sandbox.client.Sandbox.peak_memory`); ``None`` when unknown."""
        return self._session.sandbox.peak_memory()

    def once(self, key: str, factory):
        """``factory()`` computed once per submission and shared by the checks that ask for ``key``
        (e.g. one training run judged by several checks). A failure is remembered too."""
        memo = self._session.memo
        if key not in memo:
            try:
                memo[key] = ("ok", factory())
            except StudentFailure as exc:
                memo[key] = ("fail", exc)
        kind, value = memo[key]
        if kind == "fail":
            raise value
        return value

    def budget_for(self, name: str) -> float:
        if self._override is not None:
            return self._override
        return self._train_budget if name.startswith("train") else self._call_budget

    @contextlib.contextmanager
    def budget(self, seconds: float):
        """Run the calls inside the block with another time budget."""
        old, self._override = self._override, seconds
        try:
            yield self
        finally:
            self._override = old

    def require(self, name: str | None, call: str) -> None:
        """Raise the right failure unless the module is submitted, imports, and defines ``name``."""
        s = self._session
        if self._module not in s.submitted:
            raise NotSubmitted(f"{self._module}.py is not in the submission", None, call)
        imported = s.sandbox.import_module(self._module, self._call_budget)
        if not imported.ok:
            err = imported.error or {}
            raise _FAILURES.get(imported.status, StudentCrash)(
                f"{self._module}.py could not be imported: {err.get('type', imported.status)}: {err.get('message', '')}", imported, call)
        if name is not None and name not in (imported.value or ()):
            raise NotAttempted(f"{self._module}.py defines no {name!r}", imported, call)

    @contextlib.contextmanager
    def global_seed(self, seed: int):
        """Seed the sandbox's global generators (random, NumPy, Keras) with ``seed`` instead of 0
        for the calls inside the block: a result that changes proves the code ignores its own seed."""
        old, self._global_seed = self._global_seed, seed
        try:
            yield self
        finally:
            self._global_seed = old

    def probe(self, name: str, *args, budget: float | None = None, seed: int | None = 0, **kwargs):
        """Run one of :mod:`autograder.sandbox.probes` in the sandbox, on student objects."""
        s = self._session
        functions = [v for v in list(args) + list(kwargs.values()) if isinstance(v, StudentFunction)]
        # Feedback names the student's function the probe exercises, not the probe.
        call = f"{functions[0]._name}(...)" if functions else f"probe {name}"
        for value in functions:
            self.require(value._name, call)
        message = {"op": "call", "target": {"probe": name}, "args": s.unwrap(list(args)), "kwargs": s.unwrap(kwargs)}
        return s.run(message, budget or self._train_budget, call, seed)


class StudentFunction:
    def __init__(self, student: Student, module: str, name: str) -> None:
        self._student, self._module, self._name = student, module, name

    def __call__(self, *args, **kwargs) -> Any:
        """Call the student's function with these arguments (all of them reach it, ``seed=`` too).

        The sandbox seeds Python's, NumPy's and Keras' generators before every call: with 0, or
        with the seed of a ``student.global_seed(n)`` block.
        """
        st = self._student
        s = st._session
        call = f"{self._name}({_short_args(args, kwargs)})"
        st.require(self._name, call)
        message = {"op": "call", "target": {"module": self._module, "attr": self._name}, "args": s.unwrap(list(args)), "kwargs": s.unwrap(kwargs)}
        return s.run(message, st.budget_for(self._name), call, st._global_seed)

    def __repr__(self) -> str:
        return f"{self._module}.{self._name}"


class Remote:
    """A handle on an object that stays in the sandbox (a model, a layer, a generator)."""

    def __init__(self, session: Session, handle: wire.Handle, generation: int) -> None:
        self._session, self._handle, self._generation = session, handle, generation

    def isa(self, qualname_suffix: str) -> bool:
        """True when the object's class or a base ends with e.g. ``"keras.Model"`` or ``".Conv2D"``."""
        return any(t.endswith(qualname_suffix) for t in self._handle.types)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        s = self._session
        message = {"op": "getattr", "target": {"handle": self._handle.id, "attr": name}}
        self._check_alive()
        try:
            return s.run(message, 30.0, f".{name}", None)
        except StudentError as exc:
            if exc.result is not None and (exc.result.error or {}).get("type") == "AttributeError":
                raise AttributeError(str(exc)) from None  # so hasattr() and getattr(..., default) work
            raise

    def __call__(self, *args, **kwargs):
        self._check_alive()
        s = self._session
        message = {"op": "call", "target": {"handle": self._handle.id}, "args": s.unwrap(list(args)), "kwargs": s.unwrap(kwargs)}
        return s.run(message, 120.0, f"{self._handle.repr[:40]}(...)", 0)

    def collect(self, limit: int = 10_000) -> list:
        """Iterate the remote object (e.g. a generator) and return up to ``limit`` items."""
        self._check_alive()
        message = {"op": "call", "target": {"probe": "take"}, "args": [self._handle, limit], "kwargs": {}}
        return self._session.run(message, 60.0, "iteration", None)

    def _check_alive(self) -> None:
        if self._generation != self._session.sandbox.generation:
            raise StudentCrash("an object made by the student's code was lost when its sandbox restarted")

    def __repr__(self) -> str:
        return f"<remote {self._handle.repr or self._handle.types[0]}>"


def _short_args(args, kwargs) -> str:
    def one(v):
        if isinstance(v, wire.Ref):
            return v.name.split(":", 1)[1]
        if isinstance(v, (Remote, StudentFunction)):
            return repr(v)
        text = repr(v).replace("\n", " ")
        if hasattr(v, "shape"):
            text = f"array of shape {tuple(v.shape)}" if v.size > 6 else text.replace("array(", "").rstrip(")")
        return text if len(text) <= 60 else text[:57] + "..."

    parts = [one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)
