"""The reference solutions, imported in the trusted process only (never in the sandbox).

Keras is made a lazy module first, so a reference module that does ``import keras`` at the top
(``cnn``, ``rnn``) costs nothing until a Keras function is really used: grading the NumPy parts
of a topic never pays TensorFlow's import. (The sandbox worker does the same for student modules.)
"""

from __future__ import annotations

import importlib
import importlib.abc
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


class _AlreadyLoaded(importlib.abc.Loader):
    def create_module(self, spec):
        return sys.modules[spec.name]

    def exec_module(self, module) -> None:
        pass


class _RealParentFirst(importlib.abc.MetaPathFinder):
    """``import keras.ops`` while ``keras`` is still a stand-in: import the real Keras first."""

    def find_spec(self, name, path, target=None):
        parent = sys.modules.get(name.partition(".")[0])
        if "." not in name or not isinstance(parent, _LazyModule):
            return None
        parent._load()
        if name in sys.modules:
            return importlib.util.spec_from_loader(name, _AlreadyLoaded())
        return None


def lazy_keras() -> None:
    """Put a lazily loading ``keras`` into ``sys.modules`` (no-op when Keras is already imported)."""
    if "keras" in sys.modules:
        return
    spec = importlib.util.find_spec("keras")
    if spec is None:
        return
    module = _LazyModule("keras")
    # The attributes inspect and the import system read must not trigger the real import.
    module.__spec__, module.__loader__, module.__file__ = spec, spec.loader, spec.origin
    module.__package__ = "keras"
    if spec.submodule_search_locations is not None:
        module.__path__ = list(spec.submodule_search_locations)
    if not any(isinstance(f, _RealParentFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _RealParentFirst())
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
