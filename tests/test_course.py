"""A course is a folder, and the engine grades any course.

The Keras course's paths all come from its :class:`~autograder.course.Course`; the engine holds no
course content; a worker can't read a course's hidden checks or solutions even with no mask at all;
and a second, small course (two NumPy topics, made with ``autograder new-course`` and grown by hand)
passes every verb, run from inside its folder as a course author would.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import course as course_mod
from autograder.batch import grader_fingerprint
from autograder.sandbox.client import Sandbox, SandboxConfig, Zygote, bwrap_status
from autograder.scaffold import ScaffoldError, new_course

ROOT = Path(__file__).resolve().parent.parent
KERAS = course_mod.load(ROOT)
needs_bwrap = pytest.mark.skipif(bwrap_status()[0] is None, reason=f"needs bubblewrap: {bwrap_status()[1]}")

CENTER_TOML = '''
[[topics]]
name = "center"
title = "Centring data"
points = 3
numpy_only = true
'''

CENTER_SOLUTION = '''"""Centring: subtract each column's mean, so every feature averages zero."""

from __future__ import annotations

import numpy as np


def center(X: np.ndarray) -> np.ndarray:
    """``X`` minus the mean of each column; ``X`` itself is left unchanged.

    Example:
        >>> center(np.array([[1.0, 2.0], [3.0, 6.0]]))
        array([[-1., -2.],
               [ 1.,  2.]])
    """
    ### BEGIN SOLUTION the mean of each column is X.mean(axis=0)
    return X - X.mean(axis=0)
    ### END SOLUTION
'''

CENTER_PUBLIC = '''import numpy as np
import pytest

from autograder.checking import assert_close


@pytest.mark.points(1)
@pytest.mark.hint("Subtract the mean of each column (axis=0), not of the whole array.")
def test_center_small(student):
    """center of a 2 x 2 array"""
    X = np.array([[1.0, 2.0], [3.0, 6.0]])
    assert_close(student.center(X), np.array([[-1.0, -2.0], [1.0, 2.0]]), "center([[1, 2], [3, 6]])")
'''

CENTER_HIDDEN = '''import numpy as np
import pytest

from autograder.checking import assert_close


@pytest.mark.points(2)
@pytest.mark.hint("Subtract the mean of each column (axis=0); return a new array.")
def test_center_matches_reference(student, reference, rng):
    """center matches the reference on random data of several shapes"""
    for shape in ((7, 3), (1, 4), (50, 1)):
        X = rng.normal(size=shape) * 10
        assert_close(student.center(X), reference.center(X), f"center(X of shape {shape})")
'''


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_COURSE"}
    env.update(PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1", COLUMNS="160")
    return env


def _cli(cwd: Path, *args: str, code: int = 0, env: dict | None = None) -> str:
    run = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, env=env or _env(),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == code, f"autograder {' '.join(args)} exited {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout + run.stderr


def _run_gradescope(gs: Path, source: Path, answers: Path) -> dict:
    """Run an unpacked bundle's ``run_autograder`` on the two topics' files from ``answers``, as
    Gradescope would; its ``results.json``."""
    (gs / "submission").mkdir()
    for topic in ("normalize", "center"):
        (gs / "submission" / f"{topic}.py").write_bytes((answers / f"{topic}.py").read_bytes())
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TMPDIR")}
    env.update(AUTOGRADER_GS_ROOT=str(gs), AUTOGRADER_GS_PYTHON=sys.executable, HOME=str(gs))
    run = subprocess.run([str(source / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads((gs / "results" / "results.json").read_text(encoding="utf-8"))


def _unpack_gradescope(bundle: Path, folder: Path) -> set[str]:
    """Unpack a Gradescope bundle as Gradescope does (file modes kept); the names it holds."""
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            zf.extract(info, folder)
            os.chmod(folder / info.filename, (info.external_attr >> 16) & 0o777)
        return set(zf.namelist())


@pytest.fixture(scope="module")
def second(tmp_path_factory) -> Path:
    """A second course: the scaffold's topic plus a topic written by hand, exercises regenerated."""
    root = tmp_path_factory.mktemp("courses") / "second"
    _cli(root.parent, "new-course", str(root), "--title", "Second course")
    with open(root / "course.toml", "a", encoding="utf-8") as f:
        f.write(CENTER_TOML)
    (root / "solutions" / "center.py").write_text(CENTER_SOLUTION, encoding="utf-8")
    (root / "checks" / "public" / "test_center.py").write_text(CENTER_PUBLIC, encoding="utf-8")
    (root / "checks" / "hidden" / "test_center.py").write_text(CENTER_HIDDEN, encoding="utf-8")
    _cli(root, "stubs")  # exercises/ for the new topic too, so each test below stands alone
    return root


# -- the Keras course is one folder; the engine holds no course content -------------------------------


def test_the_engine_holds_no_course_content():
    package = course_mod.PACKAGE_DIR
    assert not (package / "checks").exists()
    assert not [p for p in package.rglob("test_*.py")], "check files inside the engine"
    assert KERAS.checks_dir == ROOT / "checks"
    for topic in KERAS.topic_names:
        assert KERAS.check_file(topic, "public").is_file() and KERAS.check_file(topic, "hidden").is_file()
    assert KERAS.secret_dirs == (ROOT / "solutions", ROOT / "checks" / "hidden")


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_the_default_course_is_the_current_folders_else_the_keras_course(second, tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOGRADER_COURSE", raising=False)
    assert course_mod.find_root(second) == second
    assert course_mod.find_root(second / "exercises") == second  # a notebook in exercises/ finds its course
    assert course_mod.find_root(tmp_path) == ROOT


def test_new_course_refuses_a_folder_that_holds_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ScaffoldError, match="not an empty folder"):
        new_course(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_the_fingerprint_covers_the_course_checks_and_their_helpers(second):
    course = course_mod.parse(second)
    before = grader_fingerprint(course, course.topic_names)
    conftest = second / "checks" / "conftest.py"
    text = conftest.read_text(encoding="utf-8")
    try:
        conftest.write_text(text + "\n# changed\n", encoding="utf-8")
        assert grader_fingerprint(course, course.topic_names) != before
    finally:
        conftest.write_text(text, encoding="utf-8")
    assert grader_fingerprint(course, course.topic_names) == before


@needs_bwrap
def test_a_worker_cannot_read_hidden_checks_or_solutions_even_unmasked(second):
    """The sandbox's view holds the system, Python and the engine package only: with no mask at all,
    the course folders (hidden checks, solutions) are absent, while the package stays readable (so
    this check can fail)."""
    secret = [KERAS.check_file("neurons", "hidden"), KERAS.solutions_dir / "neurons.py",
              second / "checks" / "hidden" / "test_normalize.py", second / "solutions" / "normalize.py"]
    control = course_mod.PACKAGE_DIR / "course.py"
    src = ("def read(paths):\n    out = []\n    for p in paths:\n        try:\n            with open(p, 'rb') as f:\n"
           "                out.append(len(f.read()))\n        except OSError:\n            out.append(-1)\n    return out\n")
    with Zygote(SandboxConfig(masks=())) as zygote, Sandbox({"m.py": src}, zygote=zygote) as box:
        assert box.import_module("m").ok
        result = box.request({"op": "call", "target": {"module": "m", "attr": "read"}, "args": [[str(p) for p in [*secret, control]]]})
    assert result.status == "ok", result
    *hidden, package = result.value
    assert hidden == [-1] * len(secret), dict(zip(map(str, secret), hidden))
    assert package > 0


# -- a second course passes every verb, from inside its folder ---------------------------------------


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_second_course_stubs(second):
    _cli(second, "stubs")
    assert sorted(p.name for p in (second / "exercises").iterdir()) == ["center.ipynb", "center.py", "normalize.ipynb", "normalize.py"]
    _cli(second, "stubs", "--check")
    assert "NotImplementedError" in (second / "exercises" / "center.py").read_text(encoding="utf-8")


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_second_course_check(second):
    out = _cli(second, "check")
    assert "0 of 2 public checks pass" in out
    out = _cli(second, "check", "center", "--folder", "solutions")
    assert "1 of 1 public checks pass" in out


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_second_course_grade(second, tmp_path):
    _cli(second, "grade", "solutions", "--json", str(tmp_path / "ref.json"))
    ref = json.loads((tmp_path / "ref.json").read_text(encoding="utf-8"))
    assert ref["score"] == 5 and len(ref["tests"]) == 4  # 2 + 3 points, a public and a hidden check each
    _cli(second, "grade", "exercises", "--json", str(tmp_path / "blank.json"))
    assert json.loads((tmp_path / "blank.json").read_text(encoding="utf-8"))["score"] == 0
    # the same from anywhere with --course; the Keras course's topics are unknown there
    _cli(tmp_path, "grade", "--course", str(second), str(second / "solutions"), "--json", str(tmp_path / "again.json"))
    assert json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))["score"] == 5
    assert "unknown topic" in _cli(second, "grade", "solutions", "--topic", "neurons", code=5)
    assert "no course.toml there" in _cli(tmp_path, "grade", "--course", str(tmp_path), str(second / "solutions"), code=5)


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_second_course_grade_all(second, tmp_path):
    subs = tmp_path / "subs"
    for name, folder in (("ada", "solutions"), ("bob", "exercises")):
        (subs / name).mkdir(parents=True)
        for topic in ("normalize", "center"):
            (subs / name / f"{topic}.py").write_bytes((second / folder / f"{topic}.py").read_bytes())
    _cli(second, "grade-all", str(subs), "--out", str(tmp_path / "out"), "--jobs", "1", "--no-progress")
    with open(tmp_path / "out" / "gradebook.csv", encoding="utf-8", newline="") as f:
        rows = {r["submission"]: r for r in csv.DictReader(f)}
    assert float(rows["ada"]["raw"]) == 5 and float(rows["bob"]["raw"]) == 0


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_second_course_release(second, tmp_path):
    release = tmp_path / "release"
    _cli(second, "release", str(release))
    assert (release / "checks" / "public" / "test_center.py").is_file() and (release / "checks" / "conftest.py").is_file()
    assert not (release / "checks" / "hidden").exists() and not (release / "solutions").exists()
    assert sorted(p.name for p in (release / "exercises").glob("*.py")) == ["center.py", "normalize.py"]
    # the release works alone: its own package, its own course
    env = {**_env(), "PYTHONPATH": str(release)}
    out = _cli(release, "check", "center", "--folder", str(second / "solutions"), env=env)
    assert "1 of 1 public checks pass" in out


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_second_course_gradescope(second, tmp_path):
    bundle = tmp_path / "autograder.zip"
    _cli(second, "gradescope", str(bundle))
    gs, source = tmp_path / "gs", tmp_path / "gs" / "source"
    names = _unpack_gradescope(bundle, source)
    assert {"checks/hidden/test_center.py", "checks/public/test_normalize.py", "checks/conftest.py", "solutions/center.py"} <= names
    assert '"$SOURCE/checks/hidden"' in (source / "setup.sh").read_text(encoding="utf-8")
    doc = _run_gradescope(gs, source, second / "solutions")
    assert doc["score"] == 5 and len(doc["tests"]) == 4, doc


@pytest.mark.parametrize("value, why", [("../elsewhere", "inside the course folder"), ("/abs", "inside the course folder"),
                                        (".", "inside the course folder"), ("a b", "letters, digits"), (7, "letters, digits")])
def test_a_course_folder_outside_the_course_or_with_an_odd_name_is_refused(tmp_path, value, why):
    (tmp_path / "course.toml").write_text(f'[course]\ntitle = "t"\nchecks_dir = {json.dumps(value)}\n'
                                          '[[topics]]\nname = "a"\ntitle = "A"\npoints = 1\n', encoding="utf-8")
    with pytest.raises(course_mod.CourseError, match=why):
        course_mod.parse(tmp_path)


def test_course_folders_must_be_apart(tmp_path):
    (tmp_path / "course.toml").write_text('[course]\ntitle = "t"\nsolutions_dir = "grading/answers"\nchecks_dir = "grading"\n'
                                          '[[topics]]\nname = "a"\ntitle = "A"\npoints = 1\n', encoding="utf-8")
    with pytest.raises(course_mod.CourseError, match="inside checks_dir"):
        course_mod.parse(tmp_path)  # the hidden checks' folder would ship the solutions with the public checks


@pytest.fixture(scope="module")
def moved(second, tmp_path_factory) -> Path:
    """The second course with its checks in ``grading/`` and its solutions in ``answers/ref/`` (course.toml says so)."""
    import shutil

    root = tmp_path_factory.mktemp("moved") / "moved"
    shutil.copytree(second, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "checks").rename(root / "grading")
    (root / "answers").mkdir()
    (root / "solutions").rename(root / "answers" / "ref")
    manifest = (root / "course.toml").read_text(encoding="utf-8")
    (root / "course.toml").write_text(manifest.replace("[course]\n", '[course]\nchecks_dir = "grading"\nsolutions_dir = "answers/ref"\n', 1),
                                      encoding="utf-8")
    course = course_mod.parse(root)
    assert course.checks_dir == root / "grading" and course.solutions_dir == root / "answers" / "ref"
    return root


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_every_route_uses_the_folders_course_toml_names(moved, tmp_path):
    """The release and the Gradescope and cluster bundles keep the course's own layout (so their copy
    of course.toml still describes them), and each works from it; nothing is written to or read from
    ``checks/`` or ``solutions/``."""
    from autograder.cluster import _unpack, course_bundle

    # grading, from inside the course
    _cli(moved, "grade", "answers/ref", "--json", str(tmp_path / "ref.json"))
    assert json.loads((tmp_path / "ref.json").read_text(encoding="utf-8"))["score"] == 5

    # the student release: public checks and helpers in grading/, no hidden checks, no solutions; it self-checks alone
    release = tmp_path / "release"
    _cli(moved, "release", str(release))
    assert (release / "grading" / "public" / "test_center.py").is_file() and (release / "grading" / "conftest.py").is_file()
    assert not (release / "grading" / "hidden").exists() and not (release / "answers").exists()
    assert not (release / "checks").exists() and not (release / "solutions").exists()
    env = {**_env(), "PYTHONPATH": str(release)}
    assert "1 of 1 public checks pass" in _cli(release, "check", "center", "--folder", str(moved / "answers" / "ref"), env=env)
    _cli(moved, "release", str(release), "--force")  # an earlier release is recognised with the course's own names too

    # the Gradescope bundle: hidden checks and solutions where course.toml says, locked down there, and it grades
    bundle = tmp_path / "autograder.zip"
    _cli(moved, "gradescope", str(bundle))
    gs, source = tmp_path / "gs", tmp_path / "gs" / "source"
    names = _unpack_gradescope(bundle, source)
    assert {"grading/hidden/test_center.py", "grading/public/test_normalize.py", "grading/conftest.py", "answers/ref/center.py"} <= names
    assert not [n for n in names if n.startswith(("checks/", "solutions/"))], names
    setup = (source / "setup.sh").read_text(encoding="utf-8")
    assert '"$SOURCE/answers/ref" "$SOURCE/grading/hidden"' in setup and "$SOURCE/checks" not in setup
    doc = _run_gradescope(gs, source, moved / "answers" / "ref")
    assert doc["score"] == 5 and len(doc["tests"]) == 4, doc

    # the cluster's course bundle unpacks to the same layout
    unpacked = _unpack(course_bundle(course_mod.parse(moved)), tmp_path / "cluster")
    assert unpacked.check_file("center", "hidden").is_file() and (unpacked.solutions_dir / "center.py").is_file()
    assert not (tmp_path / "cluster" / "checks").exists()


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_second_course_nbgrader_export(second, tmp_path):
    out = tmp_path / "nb"
    _cli(second, "nbgrader", str(out), "--assignment", "ps1")
    assert sorted(p.name for p in (out / "source" / "ps1").iterdir()) == ["center.ipynb", "normalize.ipynb"]
    assert f"os.environ[\"AUTOGRADER_COURSE\"] = {str(second)!r}" in (out / "nbgrader_config.py").read_text(encoding="utf-8")
    grade_cell = nbformat.read(str(out / "source" / "ps1" / "center.ipynb"), as_version=4).cells[-1]
    assert grade_cell.metadata["nbgrader"]["points"] == 3


@pytest.mark.slow
def test_second_course_nbgrader_round_trip(second, tmp_path):
    """nbgrader autogrades the second course's notebooks with the second course's checks."""
    out = tmp_path / "nb"
    _cli(second, "nbgrader", str(out), "--assignment", "ps1")
    env = _env()
    for name in ("HOME", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR"):
        (tmp_path / name.lower()).mkdir()
        env[name] = str(tmp_path / name.lower())
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    def nbgrader(*args):
        run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=out, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    nbgrader("generate_assignment", "ps1", "--force")
    folder = out / "submitted" / "ada" / "ps1"
    folder.mkdir(parents=True)
    for topic in ("normalize", "center"):
        nb = nbformat.read(str(out / "release" / "ps1" / f"{topic}.ipynb"), as_version=4)
        solution = (second / "solutions" / f"{topic}.py").read_text(encoding="utf-8")
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = solution.replace("### BEGIN SOLUTION", "# ").replace("### END SOLUTION", "")
        nbformat.write(nb, str(folder / f"{topic}.ipynb"))
    nbgrader("autograde", "ps1", "--force")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        scores = {t: gb.find_submission_notebook(t, "ps1", "ada").score for t in ("normalize", "center")}
    assert scores == {"normalize": 2, "center": 3}
