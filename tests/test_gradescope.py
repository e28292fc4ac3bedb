"""The Gradescope bundle, run for real: unzip it into Gradescope's layout and run ``run_autograder``."""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from autograder import course as course_mod
from autograder.gradescope import build_bundle, find_submission, pinned_requirements
from autograder.results import validate_gradescope

COURSE = course_mod.load()
NUMPY_TOPICS = [t.name for t in COURSE.topics if t.numpy_only]
NUMPY_POINTS = sum(t.points for t in COURSE.topics if t.numpy_only)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("gs") / "autograder.zip", course=COURSE, topics=NUMPY_TOPICS)


def _unzip(bundle: Path, root: Path) -> Path:
    """What Gradescope does with the upload: unzip into <root>/source, keeping the executable bits."""
    source = root / "source"
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            zf.extract(info, source)
            os.chmod(source / info.filename, (info.external_attr >> 16) & 0o777)
    (root / "submission").mkdir(parents=True)
    return source


def _run_autograder(root: Path, source: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TMPDIR")}
    env.update(AUTOGRADER_GS_ROOT=str(root), AUTOGRADER_GS_PYTHON=sys.executable, HOME=str(root))
    run = subprocess.run([str(source / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    doc = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    validate_gradescope(doc)
    return doc


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_bundle_layout(bundle):
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        config = json.loads(zf.read("gradescope.json"))
        requirements = zf.read("requirements.txt").decode().splitlines()
    assert {"setup.sh", "run_autograder", "requirements.txt", "course.toml", "pyproject.toml", "README.md"} <= names
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert {f"solutions/{t}.py" for t in COURSE.topic_names} <= names
    assert {f"checks/hidden/test_{t}.py" for t in NUMPY_TOPICS} <= names
    assert not any(n.startswith("autograder/checks/") for n in names)  # the engine holds no course content
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert config["topics"] == NUMPY_TOPICS


def test_requirements_are_pinned_to_this_environment():
    pins = pinned_requirements(COURSE)
    exact = dict(p.split("==") for p in pins if "==" in p)
    for name in ("numpy", "keras", "scipy", "scikit-learn", "pytest", "rich", "click"):
        key = next(k for k in exact if k.lower().replace("_", "-") == name)
        assert exact[key] == metadata.version(name), name
    assert any(k.lower().startswith("tensorflow") for k in exact)
    assert all("==" in p or "python_version" in p for p in pins)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_reference_submission_gets_full_marks(bundle, tmp_path):
    root = tmp_path / "autograder"
    source = _unzip(bundle, root)
    for topic in NUMPY_TOPICS:
        shutil.copy(COURSE.solutions_dir / f"{topic}.py", root / "submission")
    doc = _run_autograder(root, source)
    assert doc["score"] == NUMPY_POINTS
    assert doc["extra_data"]["max_score"] == NUMPY_POINTS
    assert sum(t["max_score"] for t in doc["tests"]) == NUMPY_POINTS
    assert {t["tags"][0] for t in doc["tests"]} == set(NUMPY_TOPICS)
    assert all(t["status"] == "passed" for t in doc["tests"])
    if os.geteuid() == 0:  # as on Gradescope: the reference is locked away from the unprivileged worker
        assert not (source / "solutions").stat().st_mode & 0o077


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_blank_submission_in_a_folder_gets_zero(bundle, tmp_path):
    root = tmp_path / "autograder"
    source = _unzip(bundle, root)
    folder = root / "submission" / "exercises"  # a zip holding a folder, as students often upload
    folder.mkdir()
    for topic in NUMPY_TOPICS:
        shutil.copy(COURSE.exercises_dir / f"{topic}.py", folder)
    doc = _run_autograder(root, source)
    assert doc["score"] == 0
    assert doc["extra_data"]["max_score"] == NUMPY_POINTS
    assert doc["tests"] and all(t["score"] == 0 and t["status"] == "failed" for t in doc["tests"])
    assert "not attempted" in doc["tests"][0]["output"]


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_a_broken_bundle_still_writes_results(bundle, tmp_path):
    root = tmp_path / "autograder"
    source = _unzip(bundle, root)
    (source / "course.toml").unlink()
    doc = _run_autograder(root, source)
    assert doc["score"] == 0 and doc["tests"] == []
    assert "could not grade" in doc["output"]


def test_find_submission_picks_the_folder_with_the_modules(tmp_path):
    (tmp_path / "__MACOSX" / "x").mkdir(parents=True)
    (tmp_path / "__MACOSX" / "x" / "neurons.py").write_text("", encoding="utf-8")
    (tmp_path / "hw" / "exercises").mkdir(parents=True)
    for name in ("neurons.py", "backprop.py"):
        (tmp_path / "hw" / "exercises" / name).write_text("", encoding="utf-8")
    (tmp_path / "readme.txt").write_text("", encoding="utf-8")
    assert find_submission(tmp_path, ["neurons", "backprop"]) == tmp_path / "hw" / "exercises"
    (tmp_path / "neurons.py").write_text("", encoding="utf-8")
    (tmp_path / "backprop.py").write_text("", encoding="utf-8")
    assert find_submission(tmp_path, ["neurons", "backprop"]) == tmp_path


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_gradescope_command_writes_the_zip(tmp_path):
    from click.testing import CliRunner

    from autograder.cli import main

    result = CliRunner().invoke(main, ["gradescope", str(tmp_path / "gs.zip"), "--topic", "neurons"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "gs.zip") as zf:
        assert json.loads(zf.read("gradescope.json"))["topics"] == ["neurons"]
    bad = CliRunner().invoke(main, ["gradescope", str(tmp_path / "gs.tar")])
    assert bad.exit_code != 0 and ".zip" in bad.output
