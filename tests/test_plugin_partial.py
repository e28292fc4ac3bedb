"""The plugin's partial credit and the ``notes`` fixture, pytester-style (no sandbox)."""

from __future__ import annotations

from types import SimpleNamespace

from autograder import course as course_mod
from autograder.plugin import GraderPlugin

pytest_plugins = ["pytester"]

COURSE = course_mod.load()

HEADER = """
import pytest
from autograder.checking import assert_at_least
"""


def _grade(pytester, body: str, history=None):
    checks = pytester.path / "partial_checks" / "hidden"  # a module name of its own (see test_plugin.py)
    checks.mkdir(parents=True, exist_ok=True)
    path = checks / "test_mlp.py"
    path.write_text(HEADER + body, encoding="utf-8")
    plugin = GraderPlugin(COURSE, SimpleNamespace(history=history if history is not None else []))
    pytester.runpytest_inprocess(str(path), "-p", "no:cacheprovider", "--import-mode=importlib", plugins=[plugin])
    return {r.id.split("::")[1]: r for r in plugin.results}


def test_accuracy_between_floor_and_bar_earns_its_share(pytester):
    got = _grade(pytester, """
@pytest.mark.points(2)
@pytest.mark.hint("train longer")
def test_half():
    assert_at_least(0.55, 0.9, "accuracy 55%", floor=0.2)

@pytest.mark.points(2)
def test_just_under():
    assert_at_least(0.8999, 0.9, "accuracy 89.99%", floor=0.2)

@pytest.mark.points(2)
def test_at_the_floor():
    assert_at_least(0.2, 0.9, "accuracy 20%", floor=0.2)

@pytest.mark.points(2)
def test_at_the_bar():
    assert_at_least(0.9, 0.9, "accuracy 90%", floor=0.2)

@pytest.mark.points(0)
def test_worth_nothing():
    assert_at_least(0.55, 0.9, "accuracy 55%", floor=0.2)
""")
    half = got["test_half"]
    assert (half.status, half.points, half.hint) == ("partial", 1.0, "train longer")
    assert "accuracy 55% (partial credit: 50% of the points" in half.feedback
    assert (got["test_just_under"].status, got["test_just_under"].points) == ("partial", 1.99)  # never all of them
    assert (got["test_at_the_floor"].status, got["test_at_the_floor"].points) == ("failed", 0.0)
    assert (got["test_at_the_bar"].status, got["test_at_the_bar"].points) == ("passed", 2.0)
    assert got["test_worth_nothing"].status == "failed"  # a share of 0 points is no credit


def test_notes_are_reported_whether_or_not_the_check_passes(pytester):
    got = _grade(pytester, """
def test_reports(notes):
    notes.add("training took 3.0 s of a 60 s budget")
    notes.curve = {"loss": [2.0, 1.0], "accuracy": [0.5, float("nan")]}

def test_reports_then_fails(notes):
    notes.add("the model has 10 parameters")
    assert False, "accuracy 10%"
""")
    ok, bad = got["test_reports"], got["test_reports_then_fails"]
    assert ok.passed and ok.notes == "training took 3.0 s of a 60 s budget" and ok.learning_curve == {"loss": [2.0, 1.0]}
    assert ok.feedback == ""  # measurements vary from run to run; the feedback does not
    assert (bad.status, bad.notes, bad.feedback) == ("failed", "the model has 10 parameters", "accuracy 10%")
    assert bad.message().startswith("the model has 10 parameters\n\naccuracy 10%")


def test_a_grader_fault_takes_back_a_partial_share(pytester):
    history = type("Sticky", (list,), {"clear": lambda self: None})(
        [SimpleNamespace(status="grader_error", message="the judge died", stdout="", stdout_bytes=0, stderr="", stderr_bytes=0)])
    got = _grade(pytester, """
@pytest.mark.points(2)
def test_half():
    assert_at_least(0.55, 0.9, "accuracy 55%", floor=0.2)
""", history=history)
    assert (got["test_half"].status, got["test_half"].points) == ("grader_error", 0.0)


def test_a_shortfall_the_check_can_explain_names_its_misconception(pytester):
    got = _grade(pytester, """
from autograder.checking import Misconception

UNDERFIT = Misconception("too little training", None, "train for more epochs")
asked = []

def why():
    asked.append(1)
    return UNDERFIT

@pytest.mark.points(2)
@pytest.mark.hint("generic")
def test_partial_named():
    assert_at_least(0.55, 0.9, "accuracy 55%", floor=0.2, why=why)

@pytest.mark.points(2)
@pytest.mark.hint("generic")
def test_nothing_named():
    assert_at_least(0.1, 0.9, "accuracy 10%", floor=0.2, why=why)

@pytest.mark.points(2)
@pytest.mark.hint("generic")
def test_unexplained():
    assert_at_least(0.55, 0.9, "accuracy 55%", floor=0.2, why=lambda: None)

@pytest.mark.points(2)
def test_above_the_bar_asks_nothing():
    assert_at_least(0.95, 0.9, "accuracy 95%", floor=0.2, why=lambda: 1 / 0)
""")
    named, nothing, unexplained = got["test_partial_named"], got["test_nothing_named"], got["test_unexplained"]
    assert (named.status, named.points, named.diagnosis, named.hint) == ("partial", 1.0, "too little training", "train for more epochs")
    assert (nothing.status, nothing.points, nothing.diagnosis, nothing.hint) == ("failed", 0.0, "too little training", "train for more epochs")
    assert (unexplained.status, unexplained.diagnosis, unexplained.hint) == ("partial", "", "generic")
    assert got["test_above_the_bar_asks_nothing"].status == "passed"  # why() is asked only below the bar
