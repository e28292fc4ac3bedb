"""Gradescope: build the autograder bundle, and grade inside Gradescope's container.

``build_bundle("autograder.zip")`` writes the zip Gradescope asks for ("Configure Autograder", zip
upload): ``setup.sh`` and ``run_autograder`` at the top, ``requirements.txt`` pinned to this
environment's versions, and the course itself (``course.toml``, ``solutions/``, ``checks/`` with the
public and hidden checks, ``datasets/`` if the course has one; each where ``course.toml`` names it)
with the ``autograder`` package. Gradescope unzips it into ``/autograder/source`` and
runs ``setup.sh`` once, then ``run_autograder`` for every submission; that calls :func:`run`, which
grades ``/autograder/submission`` with student code in the sandbox (Gradescope runs as root, so the
worker drops to ``nobody``) and writes ``/autograder/results/results.json``.

Every path moves with ``AUTOGRADER_GS_ROOT`` (default ``/autograder``), so a test, or an instructor
before uploading, can run the bundle against a folder with the same layout.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import zipfile
from pathlib import Path

from autograder import course as course_mod
from autograder.atomic import atomic_write, replacing
from autograder.course import PACKAGE_DIR, Course
from autograder.errors import AutograderError
from autograder.results import GRADER_FAULT

DEFAULT_ROOT = "/autograder"
BUNDLE_CONFIG = "gradescope.json"
DISTRIBUTION = "keras-course-autograder"


class GradescopeError(AutograderError, RuntimeError):
    """The bundle can't be built, or the container's layout is wrong; the message says what."""


# --------------------------------------------------------------------------------------------------
# Building the bundle (instructor's machine)
# --------------------------------------------------------------------------------------------------

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu base image).
# It installs bubblewrap (the sandbox's file-system and network confinement), a Python
# virtual environment with the pinned requirements, and this course's package.
set -euo pipefail
SOURCE="${{AUTOGRADER_GS_SOURCE:-${{AUTOGRADER_GS_ROOT:-/autograder}}/source}}"
VENV="${{AUTOGRADER_GS_VENV:-${{AUTOGRADER_GS_ROOT:-/autograder}}/venv}}"
PY="python{python}"  # the Python the requirements were pinned with

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends bubblewrap ca-certificates python3 python3-venv python3-pip
if ! command -v "$PY" >/dev/null 2>&1; then
    apt-get install -y --no-install-recommends "$PY" "$PY-venv" || {{
        echo "setup.sh: $PY is not packaged on this image; trying python3 ($(python3 -V))" >&2
        PY=python3
    }}
fi
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --no-cache-dir --upgrade pip
"$VENV/bin/pip" install --no-cache-dir -r "$SOURCE/requirements.txt"
"$VENV/bin/pip" install --no-cache-dir --no-deps -e "$SOURCE"
# Only root (the grader) may read the reference solutions and the hidden checks.
chmod -R go-rwx {secrets}
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this, as root, for every submission: grade /autograder/submission with the
# public and hidden checks (student code in the sandbox, as `nobody`) and write
# /autograder/results/results.json. AUTOGRADER_GS_ROOT moves the whole layout (for a local test);
# AUTOGRADER_GS_PYTHON picks another interpreter.
set -euo pipefail
ROOT="${AUTOGRADER_GS_ROOT:-/autograder}"
SOURCE="${AUTOGRADER_GS_SOURCE:-$ROOT/source}"
PYTHON="${AUTOGRADER_GS_PYTHON:-$ROOT/venv/bin/python}"
mkdir -p "$ROOT/results"
cd "$SOURCE"  # python -m puts the working folder first on the path: make it the bundle
# (TensorFlow's log lines are turned off by the package itself: autograder.quiet)
export AUTOGRADER_COURSE="$SOURCE" PYTHONPATH="$SOURCE" PYTHONDONTWRITEBYTECODE=1 MPLBACKEND=Agg \\
       KERAS_HOME="${KERAS_HOME:-$ROOT/.keras}"
exec "$PYTHON" -m autograder.gradescope run --root "$ROOT" --source "$SOURCE"
"""

README = """# Gradescope autograder bundle: {title}

Made by `autograder gradescope`. Upload the zip as a Gradescope "Programming Assignment"
autograder (Ubuntu 22.04 or 24.04 base image). Topics graded: {topics}; {points:g} points.

- `setup.sh`: installs bubblewrap, Python {python} and `requirements.txt` (pinned to the versions
  the course was tested with) in `/autograder/venv`.
- `run_autograder`: grades `/autograder/submission` (the student's `<topic>.py` or `<topic>.ipynb` files, loose or in
  one folder of a zip) and writes `/autograder/results/results.json`.
- Set the assignment's total to {points:g} points. Each check is one Gradescope test with its
  feedback; failed checks name their hint, never the check's code.

Try it before uploading (same layout under another root):

    mkdir -p /tmp/gs/source /tmp/gs/submission && unzip autograder.zip -d /tmp/gs/source
    cp my_solution/*.py /tmp/gs/submission/
    AUTOGRADER_GS_ROOT=/tmp/gs AUTOGRADER_GS_PYTHON=$(which python) bash /tmp/gs/source/run_autograder
    cat /tmp/gs/results/results.json
"""


def _project_dependencies(path: Path) -> list[str]:
    """The ``[project] dependencies`` of ``path`` (a ``pyproject.toml``: the course's own, else the engine's)."""
    try:
        data = course_mod.tomllib.loads(path.read_text(encoding="utf-8"))
        return list(data["project"]["dependencies"])
    except (OSError, KeyError, course_mod.tomllib.TOMLDecodeError) as exc:
        raise GradescopeError(f"{path}: can't read [project] dependencies ({exc})") from exc


def pinned_requirements(course: Course | None = None) -> list[str]:
    """``name==version`` for the package's runtime dependencies and theirs, as installed here.

    Environment markers are evaluated for this machine (Linux x86-64 here and on Gradescope), so
    the pins are the set that was really tested together.
    """
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    course = course or course_mod.load()
    pins: dict[str, str] = {}
    extras_seen: dict[str, set[str]] = {}
    top = list(map(Requirement, _project_dependencies(course.project_file)))
    queue = [r for r in top if r.marker is None or r.marker.evaluate({"extra": ""})]
    # Dependencies of other Python versions stay as written (e.g. tomli on 3.10): the image's Python may differ.
    other_python = [str(r) for r in top if r not in queue and "python_version" in str(r.marker)]
    while queue:
        req = queue.pop()
        name = canonicalize_name(req.name)
        first = name not in extras_seen
        new_extras = set(req.extras) - extras_seen.setdefault(name, set())
        if not first and not new_extras:
            continue
        extras_seen[name] |= new_extras
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise GradescopeError(f"{req.name} (needed by the course) is not installed here, so it can't be pinned") from None
        pins[name] = f"{dist.metadata['Name']}=={dist.version}"
        for dep in map(Requirement, dist.requires or []):
            base = dep.marker is None or dep.marker.evaluate({"extra": ""})
            if (first and base) or (not base and any(dep.marker.evaluate({"extra": e}) for e in new_extras)):
                queue.append(dep)
    return sorted(pins.values(), key=str.lower) + other_python


def _zip_write(zf: zipfile.ZipFile, name: str, data: bytes, *, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_bundle(out: str | Path, *, course: Course | None = None, topics: list[str] | None = None) -> Path:
    """Write the Gradescope autograder zip ``out``; ``topics`` limits what it grades (default: all)."""
    from autograder.release import course_checks, course_data, package_files

    course = course or course_mod.load()
    chosen = [course.topic(t).name for t in topics] if topics else course.topic_names
    out = Path(out).resolve()
    if out.suffix != ".zip":
        raise GradescopeError(f"{out}: Gradescope wants a .zip file")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    reqs = pinned_requirements(course)
    points = sum(course.topic(t).points for t in chosen)
    header = f"# Pinned by `autograder gradescope` from a working Python {python} environment.\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        secrets = " ".join(f'"$SOURCE/{course.relative(d)}"' for d in course.secret_dirs)  # plain names (course.folder_name)
        _zip_write(zf, "setup.sh", SETUP_SH.format(python=python, secrets=secrets).encode(), executable=True)
        _zip_write(zf, "run_autograder", RUN_AUTOGRADER.encode(), executable=True)
        _zip_write(zf, "requirements.txt", (header + "\n".join(reqs) + "\n").encode())
        _zip_write(zf, BUNDLE_CONFIG, json.dumps({"topics": chosen, "python": python}, indent=2).encode())
        _zip_write(zf, "README.md", README.format(title=course.title, topics=", ".join(chosen), points=points, python=python).encode())
        for name, src in (("course.toml", course.root / "course.toml"), ("pyproject.toml", course.project_file)):
            _zip_write(zf, name, src.read_bytes())
        for topic in course.topic_names:
            src = course.solutions_dir / f"{topic}.py"
            if not src.is_file():
                raise GradescopeError(f"no reference solution {src}: the hidden checks need it")
            _zip_write(zf, course.relative(src), src.read_bytes())
        for path, name in [*package_files(hidden=True), *course_checks(course, hidden=True), *course_data(course)]:
            _zip_write(zf, name.as_posix(), path.read_bytes())
    return out


# --------------------------------------------------------------------------------------------------
# Grading (inside Gradescope's container)
# --------------------------------------------------------------------------------------------------


def find_submission(folder: Path, topics: list[str]) -> Path:
    """The folder of the submission that holds the course's modules (loose files, or a folder of a zip),
    found as every route finds it (:func:`autograder.intake.module_folder`)."""
    from autograder.intake import SubmissionError, module_folder

    if not folder.is_dir():
        raise GradescopeError(f"{folder} does not exist; is AUTOGRADER_GS_ROOT right?")
    try:
        return module_folder(folder, topics)
    except SubmissionError:
        return folder  # grading names the problem in the results


def _lock_down(course: Course) -> None:
    """As root, make the solutions and hidden checks unreadable to anyone else (also without bubblewrap)."""
    for top in course.secret_dirs:
        if not top.exists():
            continue
        for path in [top, *top.rglob("*")]:
            os.chmod(path, stat.S_IMODE(path.stat().st_mode) & 0o700)


def _student_name(root: Path) -> str:
    try:
        meta = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        return ", ".join(u["name"] for u in meta.get("users", []) if u.get("name")) or "submission"
    except (OSError, ValueError, KeyError, TypeError):
        return "submission"


def failure_results(message: str) -> dict:
    """A ``results.json`` for a submission that could not be graded at all (the reason is shown)."""
    return {
        "score": 0,
        "output": f"The autograder could not grade this submission ({GRADER_FAULT}): {message}\n"
                  "This is not a judgement of your code; tell your instructor.",
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def run(root: str | Path | None = None, *, source: str | Path | None = None) -> dict:
    """Grade ``<root>/submission`` and write ``<root>/results/results.json``; return what was written."""
    from autograder.grading import grade_submission, sandbox_config
    from autograder.results import to_gradescope_dict, validate_gradescope

    root = Path(root or os.environ.get("AUTOGRADER_GS_ROOT", DEFAULT_ROOT)).resolve()
    source = Path(source or os.environ.get("AUTOGRADER_GS_SOURCE", root / "source")).resolve()
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    try:
        if PACKAGE_DIR.parent != source:
            raise GradescopeError(f"the autograder package was imported from {PACKAGE_DIR}, not from {source}; "
                                  "run it through run_autograder (it sets PYTHONPATH)")
        course = course_mod.load(source)
        config_path = source / BUNDLE_CONFIG
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
        topics = config.get("topics") or course.topic_names
        if os.geteuid() == 0:
            _lock_down(course)
        submission = root / "submission"
        print(f"autograder: grading {find_submission(submission, topics)} ({', '.join(topics)})", flush=True)
        box = sandbox_config(course, masks=(results.parent,))
        result = grade_submission(submission, course=course, topics=topics, config=box, name=_student_name(root))
        doc = to_gradescope_dict(result)
        print(f"autograder: {result.total:g} / {result.possible:g} in {result.duration:.1f} s", flush=True)
    except AutograderError as exc:
        print(f"autograder: grading failed: {exc}", file=sys.stderr, flush=True)
        doc = failure_results(str(exc))
    validate_gradescope(doc)
    atomic_write(results, json.dumps(doc, indent=2))
    return doc


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.gradescope run [--root DIR]``: what ``run_autograder`` calls."""
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="grade <root>/submission into <root>/results/results.json")
    p_run.add_argument("--root", help=f"the Gradescope root (default $AUTOGRADER_GS_ROOT or {DEFAULT_ROOT})")
    p_run.add_argument("--source", help="the unzipped bundle (default <root>/source)")
    args = parser.parse_args(argv)
    run(args.root, source=args.source)
    return 0  # results.json is written either way; a failure is explained in it


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
