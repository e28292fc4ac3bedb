import numpy as np
import pytest


@pytest.mark.points(2)
def test_triple(student):
    """triple([1, 2]) is [3, 6]"""
    np.testing.assert_allclose(student.triple(np.array([1.0, 2.0])), [3.0, 6.0])
