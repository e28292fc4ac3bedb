"""Everything a hostile submission may try; the isolation tests grade it for real."""

import builtins
import ctypes
import glob
import os
import subprocess
import sys

import numpy as np
import numpy.testing
import pytest

# Patch the comparison tools at import time, hoping the grader uses them in the same process.
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
numpy.testing.assert_almost_equal = lambda *a, **k: None
pytest.approx = lambda *a, **k: a[0]
builtins.len = lambda obj: 0
builtins.__import__ = builtins.__import__  # keep importing working for the rest of this module

FAKE = '{"score": 100, "tests": []}'


def double(x):
    return 2 * x


def spin():
    while True:
        pass


def leave():
    sys.exit(0)


def hard_exit():
    os._exit(0)


def segfault():
    ctypes.string_at(0)


def memory():
    hog = []
    while True:
        hog.append(np.empty(2**27))  # 1 GiB at a time


def flood():
    line = "x" * 1023
    for _ in range(100 * 1024):  # 100 MB
        print(line)
    return 6


def spy(roots=()):
    """Look for the course's solutions and hidden checks on disk, and try to import them."""
    found = []
    roots = {*roots, os.getcwd(), "/", "/work", "/autograder", os.path.expanduser("~")}
    for root in filter(None, roots):
        for pattern in ("solutions/*.py", "*/solutions/*.py", "*/*/solutions/*.py", "checks/hidden/*.py", "*/checks/hidden/*.py", "*/*/checks/hidden/*.py"):
            for path in glob.glob(os.path.join(root, pattern)):
                try:
                    with open(path, encoding="utf-8") as f:
                        text = f.read()
                    if "BEGIN SOLUTION" in text or "def test_" in text:
                        found.append(path)
                except OSError:
                    pass
    try:
        import solutions.activations  # noqa: F401

        found.append("import solutions.activations")
    except ImportError:
        pass
    return sorted(set(found))


def scribble(targets=()):
    """Write fake results wherever possible."""
    for folder in {*targets, os.getcwd(), os.path.expanduser("~"), "/autograder/results"}:
        for name in ("results.json", "gradebook.csv", "FAKE_RESULT"):
            try:
                with open(os.path.join(folder, name), "w") as f:
                    f.write(FAKE)
            except OSError:
                pass
    return 8


def fork():
    for _ in range(200):
        try:
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        except OSError:
            break
    return 9


def close():
    return np.array([1.0, 2.0])  # wrong (the check wants [1, 2.5]); the patched tools would say "close"
