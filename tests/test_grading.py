"""The grading engine end to end: reference 100 %, blanks all "not attempted", reproducible, reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from autograder import results as res
from autograder.course import load
from autograder.grading import grade_submission
from autograder.quiet import quiet_env

# End to end: grades in the sandbox (or with TensorFlow); run by the full suite, left out by -m "not slow".
pytestmark = pytest.mark.slow

COURSE = load()
NUMPY_TOPICS = [t.name for t in COURSE.topics if t.numpy_only]
ENV = quiet_env()


def _points_by_topic(result):
    return {name: t.points for name, t in result.by_topic().items()}


@pytest.fixture(scope="module")
def numpy_reference():
    return grade_submission(COURSE.solutions_dir, topics=NUMPY_TOPICS, name="reference")


@pytest.fixture(scope="module")
def blank():
    return grade_submission(COURSE.exercises_dir, name="blank")


def test_checks_add_up_to_the_manifest_points(blank):
    for topic in COURSE.topics:
        checks = blank.checks_of(topic.name)
        assert checks, f"no checks for {topic.name}"
        worth = sum(c.max_points for c in checks)
        assert worth == pytest.approx(topic.points), f"{topic.name}: checks are worth {worth}, course.toml says {topic.points}"


def test_reference_scores_full_marks_on_numpy_topics(numpy_reference):
    bad = [f"{c.id} [{c.status}] {c.feedback[:200]}" for c in numpy_reference.checks if c.status != "passed"]
    assert not bad
    assert numpy_reference.total == numpy_reference.possible == sum(COURSE.topic(t).points for t in NUMPY_TOPICS)


def test_blank_exercises_are_not_attempted_everywhere(blank):
    assert blank.checks
    assert {c.status for c in blank.checks} == {"not_attempted"}, [(c.id, c.status, c.feedback) for c in blank.checks if c.status != "not_attempted"]
    assert blank.total == 0


def test_grading_twice_gives_identical_results(numpy_reference, tmp_path):
    # a partly wrong submission, so both passes and failures must repeat
    for topic in NUMPY_TOPICS:
        shutil.copy(COURSE.solutions_dir / f"{topic}.py", tmp_path / f"{topic}.py")
    shutil.copy(COURSE.exercises_dir / "backprop.py", tmp_path / "backprop.py")
    first = grade_submission(tmp_path, topics=NUMPY_TOPICS)
    second = grade_submission(tmp_path, topics=NUMPY_TOPICS)
    strip = lambda r: [(c.id, c.status, c.points, c.feedback) for c in r.checks]  # noqa: E731
    assert strip(first) == strip(second)
    assert 0 < first.total < first.possible


def test_missing_modules_are_not_submitted(tmp_path):
    shutil.copy(COURSE.solutions_dir / "neurons.py", tmp_path / "neurons.py")
    result = grade_submission(tmp_path, topics=["neurons", "backprop"])
    by = _points_by_topic(result)
    assert by["neurons"] == COURSE.topic("neurons").points
    assert by["backprop"] == 0
    assert {c.status for c in result.checks_of("backprop")} == {"not_submitted"}


def test_syntax_error_is_an_error_with_the_line(tmp_path):
    (tmp_path / "neurons.py").write_text("def dense_forward(x, W, b, activation)\n    return 1\n")
    result = grade_submission(tmp_path, topics=["neurons"])
    assert {c.status for c in result.checks} == {"error"}
    assert "SyntaxError" in result.checks[0].feedback and "line 1" in result.checks[0].feedback


def test_missing_submission_folder_gives_a_zero_row_with_the_reason(tmp_path):
    result = grade_submission(tmp_path / "nope", topics=["neurons"])
    assert result.total == 0 and "does not exist" in result.error


def test_results_json_validates_against_the_gradescope_schema(numpy_reference):
    doc = res.to_gradescope_dict(numpy_reference)
    res.validate_gradescope(doc)
    assert doc["score"] == numpy_reference.total
    assert len(doc["tests"]) == len(numpy_reference.checks)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True, env=ENV, cwd=cwd, timeout=300)


def test_cli_grade_writes_reports_and_exits_zero_whatever_the_score(tmp_path):
    out = _cli("grade", str(COURSE.exercises_dir), "--topic", "neurons", "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "j.xml"), "--markdown", str(tmp_path / "f.md"))
    assert out.returncode == 0, out.stderr
    assert "not attempted" in out.stdout
    doc = json.loads((tmp_path / "r.json").read_text())
    res.validate_gradescope(doc)
    assert doc["score"] == 0
    assert (tmp_path / "j.xml").read_text().startswith("<?xml")
    assert "not attempted" in (tmp_path / "f.md").read_text().lower()


def test_cli_grade_fails_only_when_grading_cannot_run():
    out = _cli("grade", "somewhere", "--topic", "no_such_topic")
    assert out.returncode != 0
    assert "unknown topic" in out.stderr


def test_self_check_of_a_numpy_topic_never_imports_tensorflow():
    code = (
        "import sys; from autograder import check; "
        "r = check('neurons', folder=sys.argv[1]); "
        "assert 'tensorflow' not in sys.modules and 'keras.src' not in sys.modules, 'TensorFlow was imported'; "
        "print('TOTAL', r.total, r.possible)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(COURSE.solutions_dir)], capture_output=True, text=True, env=ENV, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "hidden checks decide the grade" in out.stdout
    total, possible = out.stdout.split("TOTAL")[1].split()
    assert float(total) == float(possible) > 0


def test_public_check_footer_never_says_all_passed():
    out = _cli("check", "neurons", "--folder", str(COURSE.exercises_dir))
    assert out.returncode == 0, out.stderr
    assert "public checks pass; hidden checks decide the grade" in out.stdout
    assert "All tests passed" not in out.stdout


KERAS_TOPICS = [t.name for t in COURSE.topics if t.train_budget]


@pytest.mark.slow
def test_reference_scores_full_marks_on_the_keras_topics_twice_the_same():
    first = grade_submission(COURSE.solutions_dir, topics=KERAS_TOPICS, name="reference")
    second = grade_submission(COURSE.solutions_dir, topics=KERAS_TOPICS, name="reference")
    bad = [f"{c.id} [{c.status}] {c.feedback[:200]}" for c in first.checks if c.status != "passed"]
    assert not bad
    assert first.total == first.possible == sum(COURSE.topic(t).points for t in KERAS_TOPICS)
    assert [(c.id, c.status, c.feedback) for c in first.checks] == [(c.id, c.status, c.feedback) for c in second.checks]
