"""The pytest plugin behind grading (autograder/plugin.py), pytester-style: small check files are
generated and run in-process with a :class:`GraderPlugin` over a stand-in session (no sandbox, no
TensorFlow); what each check ends as is read from ``plugin.results``. The same plugin grading real
submissions is covered end to end in test_grading.py and test_isolation.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from autograder import course as course_mod
from autograder.plugin import GraderPlugin

pytest_plugins = ["pytester"]

COURSE = course_mod.load()

HEADER = """
import pytest
from autograder.checking import Diagnosed, Misconception, fail
from autograder.sandbox.proxy import NotAttempted, NotSubmitted, StudentCrash, StudentTimeout
"""


class _Sticky(list):
    """A session history that a check's set-up does not clear (to plant a record before the run)."""

    def clear(self) -> None:
        pass


def _record(status: str = "ok", message: str = "", stdout: str = "", stderr: str = ""):
    return SimpleNamespace(status=status, message=message, stdout=stdout, stdout_bytes=len(stdout.encode()),
                           stderr=stderr, stderr_bytes=len(stderr.encode()))


def _grade(pytester, body: str, *, folder: str = "public", topic: str = "neurons", history=None):
    # under a folder of its own: the module's name (generated_checks.public.test_neurons) is not the
    # course's checks' (public.test_neurons), which an earlier test of the session may have imported
    checks = pytester.path / "generated_checks" / folder
    checks.mkdir(parents=True, exist_ok=True)
    path = checks / f"test_{topic}.py"
    path.write_text(HEADER + body, encoding="utf-8")
    plugin = GraderPlugin(COURSE, SimpleNamespace(history=history if history is not None else []))
    pytester.runpytest_inprocess(str(path), "-p", "no:cacheprovider", "--import-mode=importlib", plugins=[plugin])
    return plugin, {r.id.split("::")[1]: r for r in plugin.results}


def test_markers_docstring_and_public_flag(pytester):
    _, got = _grade(pytester, '''
@pytest.mark.points(2)
@pytest.mark.hint("Think about the bias.")
def test_weighted_sum():
    """the weighted sum of one neuron
    more text that is not the title"""
    assert 1 + 1 == 3, "neuron(x) returned 2; expected 3"

def test_plain_pass():
    pass
''')
    failed, passed = got["test_weighted_sum"], got["test_plain_pass"]
    assert (failed.status, failed.max_points, failed.hint, failed.name) == ("failed", 2.0, "Think about the bias.", "the weighted sum of one neuron")
    assert failed.feedback == "neuron(x) returned 2; expected 3" and failed.public and failed.topic == "neurons"
    assert (passed.status, passed.max_points, passed.hint, passed.name) == ("passed", 1.0, "", "plain pass")


def test_student_failures_become_their_outcome(pytester):
    _, got = _grade(pytester, '''
def test_stub():
    raise NotAttempted("TODO: write it", call="neuron(x)")

def test_missing():
    raise NotSubmitted("the module is missing")

def test_slow():
    raise StudentTimeout("more than 3 s", call="train()")

def test_dead():
    raise StudentCrash("killed by signal 9")

def test_checks_own_bug():
    {}["missing"]
''')
    assert {k: r.status for k, r in got.items()} == {"test_stub": "not_attempted", "test_missing": "not_submitted", "test_slow": "timeout",
                                                     "test_dead": "crashed", "test_checks_own_bug": "error"}
    assert got["test_stub"].feedback == "neuron(x): TODO: write it"
    assert got["test_checks_own_bug"].feedback.startswith("the result could not be checked: KeyError")


def test_a_diagnosed_failure_names_the_mistake_and_its_hint_wins(pytester):
    _, got = _grade(pytester, '''
@pytest.mark.hint("generic hint")
def test_axis():
    fail("softmax(z) returned the wrong values", Misconception("softmax along axis 0", None, "reduce along the last axis"))
''')
    r = got["test_axis"]
    assert (r.status, r.diagnosis, r.hint) == ("failed", "softmax along axis 0", "reduce along the last axis")


def test_a_grader_fault_in_the_calls_is_never_the_students(pytester):
    history = _Sticky([_record("grader_error", "the sandbox would not start")])
    _, got = _grade(pytester, '''
@pytest.mark.hint("never shown")
def test_anything():
    assert False, "looks like the student's failure"
''', history=history)
    r = got["test_anything"]
    assert r.status == "grader_error" and "the sandbox would not start" in r.feedback and r.hint == "" and r.diagnosis == ""


def test_printed_output_is_kept_without_library_logs(pytester):
    noise = "E0000 00:00:1700000000.1   42 node_def_util.cc:680] use_unbounded_threadpool\n"
    history = _Sticky([_record(stdout="hello from the student\n" + noise)])
    _, got = _grade(pytester, "def test_prints():\n    pass\n", history=history)
    assert got["test_prints"].output == "hello from the student\n"


def test_public_checks_may_not_use_the_reference_and_hidden_ones_are_not_public(pytester):
    _, got = _grade(pytester, "def test_peek(reference):\n    pass\n")
    assert got["test_peek"].status == "error" and "must not use the reference" in got["test_peek"].feedback
    _, hidden = _grade(pytester, "def test_secret():\n    pass\n", folder="hidden")
    assert hidden["test_secret"].public is False and hidden["test_secret"].status == "passed"


def test_a_check_file_that_does_not_import_is_a_collect_error(pytester):
    plugin, got = _grade(pytester, "def test_broken(:\n    pass\n")
    assert got == {} and len(plugin.collect_errors) == 1 and "test_neurons.py" in plugin.collect_errors[0]
