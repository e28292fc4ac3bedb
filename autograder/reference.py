"""The reference solutions, imported in the trusted process only (never in the sandbox).

Keras is made a lazy module first, so a reference module that does ``import keras`` at the top
(``cnn``, ``rnn``) costs nothing until a Keras function is really used: grading the NumPy parts
of a topic never pays TensorFlow's import. (The sandbox worker does the same for student modules.)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

from autograder.course import Course, CourseError

_loaded: dict[tuple[str, str], ModuleType] = {}


class _LazyModule(ModuleType):
    """Stands in for a module until an attribute is asked for, then imports it for real.

    Unlike ``importlib.util.LazyLoader``, a later ``import keras`` statement does not load it
    (that statement reads ``__spec__``, which lives in this object's ``__dict__``).
    """

    def __getattr__(self, name: str):
        return getattr(self._load(), name)

    def _load(self) -> ModuleType:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return real


def lazy_keras() -> None:
    """Put a lazily loading ``keras`` into ``sys.modules`` (no-op when Keras is already imported)."""
    if "keras" in sys.modules:
        return
    spec = importlib.util.find_spec("keras")
    if spec is None:
        return
    module = _LazyModule("keras")
    module.__spec__ = spec
    sys.modules["keras"] = module


def load(topic: str, course: Course) -> ModuleType:
    """The reference module of ``topic`` from ``solutions/``."""
    key = (str(course.root), topic)
    if key in _loaded:
        return _loaded[key]
    path = course.solutions_dir / f"{topic}.py"
    if not path.is_file():
        raise CourseError(f"no reference solution {path} (the hidden checks need it; a student release has none)")
    lazy_keras()
    spec = importlib.util.spec_from_file_location(f"_autograder_reference_{topic}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _loaded[key] = module
    return module
