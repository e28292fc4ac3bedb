"""The student release: nothing that grades leaks into it, and a new user can self-check from it alone."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import course as course_mod
from autograder.release import ReleaseError, build_release, find_leaks, secret_lines
from autograder.quiet import QUIET_TENSORFLOW
from autograder.stubs import make_stub, solution_lines, student_stub

COURSE = course_mod.load()


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return build_release(tmp_path_factory.mktemp("release") / "course", course=COURSE)


def test_release_holds_the_student_files_only(release):
    assert (release / "course.toml").is_file() and (release / "pyproject.toml").is_file()
    assert (release / "README.md").is_file()
    assert sorted(p.stem for p in (release / "exercises").glob("*.py")) == sorted(COURSE.topic_names)
    assert sorted(p.stem for p in (release / "exercises").glob("*.ipynb")) == sorted(COURSE.topic_names)
    assert (release / "checks" / "public").is_dir()
    assert not (release / "autograder" / "checks").exists()  # the engine holds no course content
    assert (release / "autograder" / "datasets" / "__init__.py").is_file()
    assert not (release / "solutions").exists()
    assert not (release / "checks" / "hidden").exists()
    assert not (release / "autograder" / "nbgrader_export.py").exists()  # an instructor's tool
    assert not list(release.rglob("__pycache__")) and not list(release.rglob("*.pyc"))


def test_release_exercises_are_the_stubs(release):
    for topic in COURSE.topic_names:
        src = COURSE.solutions_dir / f"{topic}.py"
        released = (release / "exercises" / src.name).read_text(encoding="utf-8")
        assert released == student_stub(src.read_text(encoding="utf-8"), str(src))
        assert "edit the solution" not in released  # no instruction meant for authors
        assert released in make_stub(src.read_text(encoding="utf-8"), str(src))


def _lines(path: Path) -> set[str]:
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}


def test_every_solution_and_hidden_line_is_scanned_for_unless_the_course_publishes_it():
    """The scan looks for every line of every solution region and hidden check, except lines the course
    shows students on purpose elsewhere (given helpers of an exercise, public checks, package code)."""
    secrets = secret_lines(COURSE)
    published = set()
    for path in [*(COURSE.root / "autograder").rglob("*.py"), *COURSE.checks_dir.rglob("*.py")]:
        if "hidden" not in path.parts and path.name != "nbgrader_export.py":
            published |= _lines(path)
    for src in COURSE.solutions_dir.glob("*.py"):
        published |= {line.strip() for line in make_stub(src.read_text(encoding="utf-8"), str(src)).splitlines()}
    wanted = set()
    for src in COURSE.solutions_dir.glob("*.py"):
        wanted |= solution_lines(src.read_text(encoding="utf-8"), str(src))
    hidden = sorted((COURSE.checks_dir / "hidden").glob("*.py"))
    assert hidden, "the course has no hidden checks to keep out of the release"
    for path in hidden:
        wanted |= {s for s in _lines(path) if s and not s.startswith("#")}
    missing = {s for s in wanted - secrets if len(s) > 3 and s not in published}
    assert not missing, f"lines not scanned for: {sorted(missing)[:10]}"
    assert len(secrets) > 500


def test_release_scan_finds_nothing(release):
    assert find_leaks(release, COURSE) == []


def test_release_scan_finds_a_planted_solution_and_hidden_check(release, tmp_path):
    """The scan can fail: a solution file or a hidden check copied anywhere, even as notebook JSON, is found."""
    import json

    spoiled = tmp_path / "spoiled"
    shutil.copytree(release, spoiled)
    hidden = sorted((COURSE.checks_dir / "hidden").glob("test_*.py"))[0]
    shutil.copy(hidden, spoiled / "exercises" / "notes.py")
    solution = COURSE.solutions_dir / f"{COURSE.topic_names[0]}.py"
    cell = {"cell_type": "code", "source": solution.read_text(encoding="utf-8").splitlines(keepends=True)}
    (spoiled / "extra.ipynb").write_text(json.dumps({"cells": [cell]}), encoding="utf-8")
    leaks = find_leaks(spoiled, COURSE)
    assert any(leak.startswith("exercises/notes.py: ") for leak in leaks)
    assert any(leak.startswith("extra.ipynb: ") for leak in leaks)
    assert not any(leak.split(":")[0] not in ("exercises/notes.py", "extra.ipynb") for leak in leaks)


def _student_env(release: Path, home: Path) -> dict:
    """A new user's shell: the venv's Python, the release on the path, no course variables, empty home."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    env.update(HOME=str(home), PYTHONPATH=str(release), COLUMNS="160", PYTHONDONTWRITEBYTECODE="1",
               KERAS_HOME=str(home / ".keras"), **QUIET_TENSORFLOW)
    return env


def _topic_with_public_checks(release: Path) -> str:
    public = {p.stem.removeprefix("test_") for p in (release / "checks" / "public").glob("test_*.py")}
    for topic in ["neurons", *COURSE.topic_names]:
        if topic in public:
            return topic
    pytest.skip("no topic has public checks yet")


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_new_user_self_checks_from_the_release_alone(release, tmp_path):
    """As the README says: from the release folder, `python -m autograder check TOPIC` on the blank exercises."""
    topic = _topic_with_public_checks(release)
    readme = (release / "README.md").read_text(encoding="utf-8")
    assert f"autograder check {COURSE.topic_names[0]}" in readme and "hidden checks decide the grade" in readme
    home = tmp_path / "home"
    home.mkdir()
    env = _student_env(release, home)
    where = subprocess.run([sys.executable, "-c", "import autograder; print(autograder.__file__)"],
                           cwd=release, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).parent == release / "autograder", "the check must run the release's own package"
    run = subprocess.run([sys.executable, "-m", "autograder", "check", topic], cwd=release, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "not attempted" in run.stdout
    assert "public checks pass; hidden checks decide the grade" in run.stdout
    assert "Traceback" not in run.stderr


def test_release_refuses_to_overwrite_what_it_did_not_build(tmp_path):
    with pytest.raises(ReleaseError, match="refusing"):
        build_release(COURSE.root, course=COURSE, force=True)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ReleaseError, match="already exists"):
        build_release(other, course=COURSE)
    with pytest.raises(ReleaseError, match="does not look like"):
        build_release(other, course=COURSE, force=True)
    assert (other / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_release_command_scans_what_it_built(tmp_path):
    from click.testing import CliRunner

    from autograder.cli import main

    result = CliRunner().invoke(main, ["release", str(tmp_path / "student")])
    assert result.exit_code == 0, result.output
    assert "none found" in result.output and (tmp_path / "student" / "exercises").is_dir()
    again = CliRunner().invoke(main, ["release", str(tmp_path / "student")])
    assert again.exit_code != 0 and "--force" in again.output
