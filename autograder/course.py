"""The course: where its files are and what its manifest (``course.toml``) says.

A course is a folder: ``course.toml``, ``solutions/``, ``checks/public/`` and ``checks/hidden/`` (with
the course's own check helpers in ``checks/conftest.py``), its data sets (or the engine's, from
``autograder.datasets``) and the generated ``exercises/``. The engine holds no course content; every
path of a course comes from its :class:`Course` object here.

Which course: the ``--course DIR`` of a verb (``load(DIR)``), else ``$AUTOGRADER_COURSE``, else the
current folder when it holds a ``course.toml`` (or the nearest folder above it that does: a notebook
in ``exercises/`` finds its course), else the Keras course next to this package (an editable install
or a release bundle).

The folders may be named otherwise in the manifest's ``[course]`` table (:data:`FOLDERS`: e.g.
``checks_dir = "grading"``), relative to the course folder and inside it. Every route (grading, the
release, the Gradescope and cluster bundles, the nbgrader export) reads them from :class:`Course`,
and a bundle keeps them at the same place, so its copy of ``course.toml`` still describes it.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath

from autograder.errors import AutograderError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MANIFEST = "course.toml"
PACKAGE_DIR = Path(__file__).resolve().parent
#: The pytest configuration the grader runs every course's checks with (the engine's, not a course's).
CHECKS_INI = PACKAGE_DIR / "checks.ini"
#: The course's folders: the manifest key that renames one, and its default name.
FOLDERS = {"solutions_dir": "solutions", "exercises_dir": "exercises", "checks_dir": "checks", "datasets_dir": "datasets"}


class CourseError(AutograderError):
    """The course files are missing or malformed; the message says which and where."""


@dataclass(frozen=True)
class Topic:
    name: str
    title: str
    points: float
    numpy_only: bool
    call_budget: float
    train_budget: float | None = None
    accuracy_bar: float | None = None
    #: the best trivial baseline's held-out accuracy (majority class, chance) plus twice its standard
    #: error: partial credit for
    #: accuracy is linear from it (nothing) to the bar (all); measured by ``autograder calibrate``
    accuracy_floor: float | None = None
    #: what ``autograder calibrate`` recorded beside them: ``reference_accuracy``, ``reference_seconds``
    #: and the band of the reference's learning curves (``reference_loss_low``/``_high``,
    #: ``reference_accuracy_low``/``_high``, per epoch)
    calibration: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Course:
    root: Path
    title: str
    topics: tuple[Topic, ...]
    memory_limit_mb: int = 3072
    extra: dict = field(default_factory=dict, compare=False)

    def _folder(self, key: str) -> Path:
        """``<root>/<name>``: the name the manifest's [course] table gives ``key``, else :data:`FOLDERS`'s."""
        return self.root.joinpath(*PurePosixPath(folder_name(self.extra.get("course", {}), key)).parts)

    def relative(self, path: Path) -> str:
        """``path`` (one of the course's files or folders) as a POSIX name inside the course folder:
        where a bundle puts it."""
        return path.relative_to(self.root).as_posix()

    @property
    def solutions_dir(self) -> Path:
        return self._folder("solutions_dir")

    @property
    def exercises_dir(self) -> Path:
        return self._folder("exercises_dir")

    @property
    def checks_dir(self) -> Path:
        return self._folder("checks_dir")

    @property
    def hidden_checks_dir(self) -> Path:
        return self.checks_dir / "hidden"

    def check_file(self, topic: str, folder: str) -> Path:
        """The check file of ``topic`` in ``folder`` (``"public"`` or ``"hidden"``), whether or not it exists."""
        return self.checks_dir / folder / f"test_{topic}.py"

    @property
    def datasets_dir(self) -> Path:
        """The course's own data sets (optional; the engine's loaders are in ``autograder.datasets``)."""
        return self._folder("datasets_dir")

    @property
    def secret_dirs(self) -> tuple[Path, Path]:
        """What only the grader may read: the reference solutions and the hidden checks."""
        return (self.solutions_dir, self.hidden_checks_dir)

    @property
    def project_file(self) -> Path:
        """The ``pyproject.toml`` a bundle installs: the course's own, else the engine's."""
        own = self.root / "pyproject.toml"
        return own if own.is_file() else PACKAGE_DIR.parent / "pyproject.toml"

    @property
    def topic_names(self) -> list[str]:
        return [t.name for t in self.topics]

    def topic(self, name: str) -> Topic:
        for t in self.topics:
            if t.name == name:
                return t
        known = ", ".join(self.topic_names)
        raise CourseError(f"unknown topic {name!r}; the course has: {known}")

    @property
    def max_points(self) -> float:
        return sum(t.points for t in self.topics)


def folder_name(head: dict, key: str) -> str:
    """The name of folder ``key`` (:data:`FOLDERS`) in a manifest's [course] table ``head``: a relative
    POSIX path inside the course folder, of letters, digits, ``_ . - /`` (a name a shell script of a
    bundle can use as it is), normalised; :class:`CourseError` for anything else."""
    raw = head.get(key, FOLDERS[key])
    if not isinstance(raw, str) or not re.fullmatch(r"[A-Za-z0-9_./-]+", raw.strip()):
        raise CourseError(f"[course] {key} must be a folder name (letters, digits, _ . - /), not {raw!r}")
    name = PurePosixPath(os.path.normpath(raw.strip()))
    if name.is_absolute() or name.parts[:1] == ("..",) or str(name) == ".":
        raise CourseError(f"[course] {key} = {raw!r}: a folder inside the course folder, relative to it")
    return name.as_posix()


def find_root(start: Path | None = None) -> Path:
    """Return the course root, or raise CourseError saying where it looked."""
    env = os.environ.get("AUTOGRADER_COURSE")
    if env:
        root = Path(env).resolve()
        if not (root / MANIFEST).is_file():
            raise CourseError(f"AUTOGRADER_COURSE={env} has no {MANIFEST}")
        return root
    here = (start or Path.cwd()).resolve()
    candidates = [here, *here.parents, PACKAGE_DIR.parent]  # the course one works in, else the Keras course
    for c in candidates:
        if (c / MANIFEST).is_file():
            return c
    raise CourseError(
        f"no {MANIFEST} in {here} or above, nor next to the autograder package; "
        "run from the course folder, pass --course DIR or set AUTOGRADER_COURSE"
    )


def parse(root: Path) -> Course:
    path = root / MANIFEST
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(f"{path}: {exc}") from exc
    head = data.get("course", {})
    default_budget = float(head.get("call_budget", 10))
    topics = []
    for i, t in enumerate(data.get("topics", [])):
        try:
            topics.append(
                Topic(
                    name=t["name"],
                    title=t["title"],
                    points=float(t["points"]),
                    numpy_only=bool(t.get("numpy_only", False)),
                    call_budget=float(t.get("call_budget", default_budget)),
                    train_budget=float(t["train_budget"]) if "train_budget" in t else None,
                    accuracy_bar=float(t["accuracy_bar"]) if "accuracy_bar" in t else None,
                    accuracy_floor=float(t["accuracy_floor"]) if "accuracy_floor" in t else None,
                    calibration={k: v for k, v in t.items() if k.startswith("reference_")},
                )
            )
        except KeyError as exc:
            raise CourseError(f"{path}: topic #{i + 1} lacks {exc}") from exc
    if not topics:
        raise CourseError(f"{path}: no [[topics]]")
    try:
        names = {key: folder_name(head, key) for key in FOLDERS}
    except CourseError as exc:
        raise CourseError(f"{path}: {exc}") from exc
    for a, name in names.items():
        for b, other in names.items():
            if a != b and (name == other or PurePosixPath(name) in PurePosixPath(other).parents):
                raise CourseError(f"{path}: {b} = {other!r} is {'' if name == other else 'inside '}{a} = {name!r}; "
                                  "the course's folders must be apart")
    for t in topics:
        if t.accuracy_floor is not None and (t.accuracy_bar is None or not t.accuracy_floor < t.accuracy_bar):
            raise CourseError(f"{path}: topic {t.name!r}: accuracy_floor ({t.accuracy_floor}) must lie below "
                              f"its accuracy_bar ({t.accuracy_bar})")
    return Course(
        root=root,
        title=head.get("title", "course"),
        topics=tuple(topics),
        memory_limit_mb=int(head.get("memory_limit_mb", 3072)),
        extra=data,
    )


@lru_cache(maxsize=None)
def _load_cached(root: Path) -> Course:
    return parse(root)


def load(root: Path | str | None = None) -> Course:
    """The course at ``root`` (default: :func:`find_root`)."""
    return _load_cached(Path(root).resolve() if root else find_root())
