"""Assertions for check authors whose failure messages teach: the call, what was expected, what came.

A check fails with ``AssertionError``; its message is the feedback the student reads, so it names
the call and its (small) input, the expected and received values, never the reference code.
"""

from __future__ import annotations

import numpy as np

MAX_SHOWN = 8


def show(value) -> str:
    """A short, readable rendering of a value for feedback."""
    if isinstance(value, (np.ndarray, np.generic)) or (isinstance(value, (list, tuple)) and value and isinstance(value[0], (int, float, np.number))):
        arr = np.asarray(value)
        if arr.ndim == 0:
            return repr(arr.item())
        if arr.dtype.kind in "fc" or arr.dtype.kind in "iub":
            flat = arr.ravel()
            body = np.array2string(flat[:MAX_SHOWN], precision=4, separator=", ", suppress_small=True)
            more = f" ... ({arr.size} values)" if arr.size > MAX_SHOWN else ""
            shape = f"shape {arr.shape}: " if arr.ndim != 1 or arr.size > MAX_SHOWN else ""
            return f"{shape}{body}{more}"
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def as_number(value, kinds: str = "iuf"):
    """``value`` as a Python number when it is a single number (Python, NumPy scalar or 0-d array)
    whose dtype kind is in ``kinds`` (``"iu"`` integers, ``"f"`` floats); else ``None``.

    >>> as_number(3), as_number(np.float32(1.5)), as_number(np.array([1.0])), as_number(2.5, "iu")
    (3, 1.5, None, None)
    """
    if isinstance(value, bool):
        return None
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return arr.item() if arr.ndim == 0 and arr.dtype.kind in kinds else None


def assert_close(got, expected, call: str, *, rtol: float = 1e-5, atol: float = 1e-7, what: str = "returned") -> None:
    """``got`` must match ``expected`` in shape and value (NaN never matches)."""
    exp = np.asarray(expected)
    try:
        arr = np.asarray(got, dtype=float) if exp.dtype.kind in "fc" else np.asarray(got)
    except (TypeError, ValueError):
        raise AssertionError(f"{call} {what} {show(got)}, which is not an array of numbers; expected {show(expected)}") from None
    if arr.shape != exp.shape:
        raise AssertionError(f"{call} {what} an array of shape {arr.shape}; expected shape {exp.shape}")
    if not np.all(np.isfinite(arr[np.isfinite(exp)])) if exp.dtype.kind in "fc" else False:
        raise AssertionError(f"{call} {what} {show(arr)}, which holds nan or inf; expected {show(exp)}")
    if not np.allclose(arr, exp, rtol=rtol, atol=atol, equal_nan=False):
        worst = np.unravel_index(np.argmax(np.abs(arr - exp)), arr.shape) if arr.ndim else ()
        where = f" (largest difference at index {tuple(int(i) for i in worst)})" if arr.ndim else ""
        raise AssertionError(f"{call} {what} {show(arr)}; expected {show(exp)}{where}")


def assert_shape(got, shape: tuple, call: str) -> None:
    actual = np.shape(got)
    if tuple(actual) != tuple(shape):
        raise AssertionError(f"{call} returned shape {tuple(actual)}; expected shape {tuple(shape)}")


def assert_finite(got, call: str) -> None:
    arr = np.asarray(got, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise AssertionError(f"{call} returned {show(arr)}, which holds nan or inf")


def assert_no_warnings(student, call: str) -> None:
    """The latest call into student code raised no warning (e.g. RuntimeWarning: overflow in exp)."""
    caught = (student.last.warnings if student.last else []) or []
    if caught:
        w = caught[0]
        raise AssertionError(f"{call} raised {w['category']}: {w['message']} (line {w['lineno']} of {w['filename']})")


def assert_unchanged(before, after, name: str, call: str) -> None:
    """An input must not be modified in place (compare a copy taken before the call)."""
    if not np.array_equal(np.asarray(before), np.asarray(after)):
        raise AssertionError(f"{call} modified its input {name} in place; compute a new array instead")
