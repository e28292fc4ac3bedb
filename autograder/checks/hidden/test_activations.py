import numpy as np
import pytest

from autograder.checking import assert_close, assert_no_warnings


@pytest.mark.points(2)
@pytest.mark.hint("Subtract the row maximum before exp: softmax(z) equals softmax(z - c).")
def test_softmax_large_inputs(student, reference):
    """softmax stays finite for z = ±1000"""
    z = np.array([[1000.0, 0.0, -1000.0]])
    assert_close(student.softmax(z), reference.softmax(z), "softmax([[1000, 0, -1000]])")
    assert_no_warnings(student, "softmax([[1000, 0, -1000]])")
