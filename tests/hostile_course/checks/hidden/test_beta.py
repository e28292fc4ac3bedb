"""A hidden check: its file must be invisible to the sandbox (the spy looks for it)."""

import numpy as np
import pytest


@pytest.mark.points(0)
def test_secret_hidden_check(student):
    """triple([0]) is [0] (hidden, worth nothing; here to be hidden from the sandbox)"""
    np.testing.assert_allclose(student.triple(np.array([0.0])), [0.0])
