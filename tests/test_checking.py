"""checking: assertions whose failures teach, and the diagnosis of known mistakes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from autograder.checking import Diagnosed, Misconception, assert_close, assert_no_warnings, assert_unchanged, diagnose

Z = np.array([[1.0, 2.0, 3.0], [0.0, 5.0, -1.0]])


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


AXIS0 = Misconception("along axis 0", lambda z, axis=-1: _softmax(z, 0), "reduce along axis")
TWICE = Misconception("softmax twice", lambda z, axis=-1: _softmax(_softmax(z, axis), axis), "once")
BROKEN = Misconception("raises", lambda z, axis=-1: 1 / 0, "never")
RIGHT = Misconception("right on this input", lambda z, axis=-1: _softmax(z, axis), "never named")


def test_diagnose_names_the_first_variant_that_gives_the_answer():
    got = _softmax(_softmax(Z))
    assert diagnose(got, _softmax(Z), [BROKEN, AXIS0, TWICE], (Z,)) is TWICE
    assert diagnose(_softmax(Z, 0), _softmax(Z), [BROKEN, TWICE, AXIS0], (Z,)) is AXIS0
    assert diagnose(Z, _softmax(Z), [AXIS0, TWICE], (Z,)) is None  # an unknown mistake: no name


def test_a_variant_that_is_right_on_the_input_explains_nothing():
    assert diagnose(_softmax(Z), _softmax(Z), [RIGHT], (Z,)) is None
    assert diagnose(_softmax(Z), _softmax(Z) + 1, [RIGHT], (Z,)) is RIGHT


def test_diagnose_matches_shapes_and_nan_exactly():
    z = np.array([[1000.0, 0.0]])
    naive = Misconception("no shift", lambda z: np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True), "shift")
    with np.errstate(all="ignore"):
        got = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    assert diagnose(got, _softmax(z), [naive], (z,)) is naive  # nan where the variant has nan
    assert diagnose(got.ravel(), _softmax(z), [naive], (z,)) is None  # another shape


def test_assert_close_raises_diagnosed_with_the_misconception_and_keeps_the_message():
    with pytest.raises(Diagnosed) as info:
        assert_close(_softmax(Z, 0), _softmax(Z), "softmax(z)", misconceptions=[TWICE, AXIS0], args=(Z,))
    assert info.value.diagnosis == "along axis 0" and info.value.hint == "reduce along axis"
    assert str(info.value).startswith("softmax(z) returned")
    with pytest.raises(AssertionError) as plain:
        assert_close(Z, _softmax(Z), "softmax(z)", misconceptions=[AXIS0], args=(Z,))
    assert not isinstance(plain.value, Diagnosed)
    assert_close(_softmax(Z), _softmax(Z), "softmax(z)", misconceptions=[AXIS0], args=(Z,))  # passes: no call


def test_assert_close_passes_keyword_inputs_to_the_variants():
    axis_kw = Misconception("ignores axis", lambda z, axis=-1: _softmax(z, -1), "pass axis on")
    with pytest.raises(Diagnosed, match="softmax"):
        assert_close(_softmax(Z, -1), _softmax(Z, 0), "softmax(z, axis=0)", misconceptions=[axis_kw], args=(Z,),
                     kwargs={"axis": 0})


def test_warnings_and_in_place_changes_can_name_their_misconception():
    student = SimpleNamespace(last=SimpleNamespace(warnings=[{"category": "RuntimeWarning", "message": "overflow",
                                                              "lineno": 3, "filename": "a.py"}]))
    overflow = Misconception("exp overflows", None, "use e^(-|z|)")
    with pytest.raises(Diagnosed) as info:
        assert_no_warnings(student, "sigmoid(z)", overflow)
    assert info.value.diagnosis == "exp overflows" and "RuntimeWarning: overflow" in str(info.value)
    with pytest.raises(AssertionError) as plain:
        assert_no_warnings(student, "sigmoid(z)")
    assert not isinstance(plain.value, Diagnosed)
    with pytest.raises(Diagnosed, match="in place"):
        assert_unchanged(Z, Z + 1, "z", "relu(z)", Misconception("in place", None, "copy"))


# -- docstring examples -----------------------------------------------------------------------------

MODULE = '''
import numpy as np


def good(x):
    """
    >>> good(2)
    4
    >>> np.arange(3) * 1.0
    array([0., 1., 2.])
    """
    return x * 2


def count():
    """
    >>> count()
    13002
    """
    return np.int64(13002)


def wrong(z):
    """
    >>> wrong(np.array([1000.0, 0.0]))
    array([1., 0.])
    """
    e = np.exp(z)
    return e / e.sum()


def todo(x):
    """
    >>> y = todo(1)
    >>> y
    2
    """
    raise NotImplementedError("TODO")
'''


@pytest.fixture
def student_module():
    import sys
    import types

    module = types.ModuleType("doc_student")
    exec(compile(MODULE, "doc_student.py", "exec"), module.__dict__)
    sys.modules["doc_student"] = module
    yield module
    del sys.modules["doc_student"]


def test_docstring_examples_probe_judges_each_docstring(student_module):
    from autograder.sandbox.probes import docstring_examples

    with np.errstate(all="ignore"):
        records = {r["name"]: r for r in docstring_examples(student_module.good)}
    assert records["good"] == {"name": "good", "status": "passed", "examples": 2}
    assert records["count"]["status"] == "passed"  # np.int64(13002) prints differently but is the same number
    assert records["wrong"]["status"] == "failed" and "nan" in records["wrong"]["got"]
    assert records["wrong"]["source"] == "wrong(np.array([1000.0, 0.0]))" and records["wrong"]["want"] == "array([1., 0.])"
    assert records["todo"]["status"] == "not_attempted" and "NotImplementedError" in records["todo"]["got"]


def _fake(records):
    return SimpleNamespace(probe=lambda name, *args, **kw: records, good=object())


def test_assert_docstring_examples_reports_the_first_wrong_example():
    from autograder.checking import assert_docstring_examples
    from autograder.sandbox.proxy import NotAttempted

    ok = {"name": "good", "status": "passed", "examples": 2}
    bad = {"name": "wrong", "status": "failed", "examples": 1, "source": "wrong(z)", "want": "[1, 0]", "got": "[nan, 0]"}
    todo = {"name": "todo", "status": "not_attempted", "examples": 1}
    assert_docstring_examples(_fake([ok, todo]), "good")
    with pytest.raises(AssertionError) as info:
        assert_docstring_examples(_fake([ok, bad, todo]), "good")
    assert "1 of 2 docstrings" in str(info.value) and ">>> wrong(z)" in str(info.value) and "[nan, 0]" in str(info.value)
    with pytest.raises(NotAttempted):
        assert_docstring_examples(_fake([todo]), "good")
    with pytest.raises(AssertionError, match="could not be run"):
        assert_docstring_examples(_fake("forged"), "good")


# -- the plain assertions and renderings -------------------------------------------------------------


def test_show_keeps_feedback_short_and_readable():
    from autograder.checking import MAX_SHOWN, show

    assert show(np.float64(0.5)) == "0.5" and show([1.0, 2.0]) == "[1., 2.]"
    long = show(np.arange(100.0))
    assert long.startswith("shape (100,): [0., 1.,") and long.endswith("... (100 values)") and long.count(",") < MAX_SHOWN + 2
    assert len(show("x" * 1000)) == 160


def test_shape_finite_and_fail_messages_name_the_call():
    from autograder.checking import assert_finite, assert_shape, fail

    assert_shape(np.zeros((2, 3)), (2, 3), "f(x)")
    with pytest.raises(AssertionError, match=r"f\(x\) returned shape \(3, 2\); expected shape \(2, 3\)"):
        assert_shape(np.zeros((3, 2)), (2, 3), "f(x)")
    assert_finite([1.0, 2.0], "g(x)")
    with pytest.raises(AssertionError, match=r"g\(x\) returned .*nan or inf"):
        assert_finite([1.0, np.inf], "g(x)")
    with pytest.raises(AssertionError) as plain:
        fail("wrong")
    assert not isinstance(plain.value, Diagnosed) and str(plain.value) == "wrong"


def test_assert_close_messages_say_what_differs():
    with pytest.raises(AssertionError, match=r"expected shape \(2,\)"):
        assert_close(np.zeros(3), np.zeros(2), "h(x)")
    with pytest.raises(AssertionError, match="not an array of numbers"):
        assert_close("text", np.zeros(2), "h(x)")
    with pytest.raises(AssertionError, match=r"largest difference at index \(1,\)"):
        assert_close(np.array([0.0, 5.0]), np.zeros(2), "h(x)")
    assert_close(np.array([1.0, 2.0 + 1e-9]), np.array([1.0, 2.0]), "h(x)")
