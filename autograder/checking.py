"""Assertions for check authors whose failure messages teach: the call, what was expected, what came.

A check fails with ``AssertionError``; its message is the feedback the student reads, so it names
the call and its (small) input, the expected and received values, never the reference code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

MAX_SHOWN = 8


@dataclass(frozen=True)
class Misconception:
    """A known wrong way to write a function, and what to tell a student who wrote it.

    ``variant`` is the reference with that one mistake, called on the trusted side with the check's
    own inputs; when its result matches the student's (and differs from the right answer), the
    check's feedback names the misconception (``name``) and gives its ``hint`` instead of the generic one.
    ``variant`` is ``None`` for a mistake the check recognises by itself (a warning, a changed input).
    """

    name: str
    variant: Callable[..., Any] | None
    hint: str


class Diagnosed(AssertionError):
    """A failed check whose wrong answer matches a known :class:`Misconception`."""

    def __init__(self, message: str, misconception: Misconception):
        super().__init__(message)
        self.diagnosis = misconception.name
        self.hint = misconception.hint


def _matches(got, value, expected, rtol: float, atol: float) -> bool:
    try:
        g = np.asarray(got, dtype=float)
        v = np.asarray(value, dtype=float)
        e = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    if g.shape != v.shape:
        return False
    if e.shape == v.shape and np.allclose(v, e, rtol=rtol, atol=atol, equal_nan=True):
        return False  # on this input the mistake gives the right answer: it explains nothing
    return bool(np.allclose(g, v, rtol=rtol, atol=atol, equal_nan=True))


def diagnose(got, expected, misconceptions: Iterable[Misconception], args: tuple = (), kwargs: dict | None = None,
             *, rtol: float = 1e-5, atol: float = 1e-7) -> Misconception | None:
    """The first misconception whose variant, called as ``variant(*args, **kwargs)``, gives ``got``
    (where the right answer is ``expected``); ``None`` when none does. A variant that raises or
    gives something else is skipped.

    >>> wrong_axis = Misconception("summed down the columns", lambda a: a.sum(axis=0), "sum each row")
    >>> a = np.array([[1.0, 2.0], [3.0, 5.0]])
    >>> diagnose(np.array([4.0, 7.0]), a.sum(axis=1), [wrong_axis], (a,)).name
    'summed down the columns'
    >>> diagnose(np.array([3.0, 8.0]), a.sum(axis=1), [wrong_axis], (a,)) is None
    True
    """
    for m in misconceptions:
        if m.variant is None:
            continue
        try:
            with np.errstate(all="ignore"):
                value = m.variant(*args, **(kwargs or {}))
        except Exception:  # noqa: BLE001 - a variant that does not apply to this input explains nothing
            continue
        if _matches(got, value, expected, rtol, atol):
            return m
    return None


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


def assert_close(got, expected, call: str, *, rtol: float = 1e-5, atol: float = 1e-7, what: str = "returned",
                 misconceptions: Iterable[Misconception] = (), args: tuple = (), kwargs: dict | None = None) -> None:
    """``got`` must match ``expected`` in shape and value (NaN never matches).

    When it does not and ``misconceptions`` are given, each variant is called with ``args`` and
    ``kwargs`` (the inputs of the student's call); the first that gives ``got`` turns the failure
    into a :class:`Diagnosed` one, which names the mistake and carries its own hint.
    """
    try:
        _assert_close(got, expected, call, rtol=rtol, atol=atol, what=what)
    except AssertionError as exc:
        found = diagnose(got, expected, misconceptions, args, kwargs, rtol=rtol, atol=atol) if misconceptions else None
        if found is None:
            raise
        raise Diagnosed(str(exc), found) from None


def _assert_close(got, expected, call: str, *, rtol: float, atol: float, what: str) -> None:
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


def assert_no_warnings(student, call: str, misconception: Misconception | None = None) -> None:
    """The latest call into student code raised no warning (e.g. RuntimeWarning: overflow in exp).

    ``misconception``: what a warning here means (its ``variant`` is not called); the failure then
    names it and gives its hint.
    """
    caught = (student.last.warnings if student.last else []) or []
    if caught:
        w = caught[0]
        fail(f"{call} raised {w['category']}: {w['message']} (line {w['lineno']} of {w['filename']})", misconception)


def assert_unchanged(before, after, name: str, call: str, misconception: Misconception | None = None) -> None:
    """An input must not be modified in place (compare a copy taken before the call)."""
    if not np.array_equal(np.asarray(before), np.asarray(after)):
        fail(f"{call} modified its input {name} in place; compute a new array instead", misconception)


def fail(message: str, misconception: Misconception | None = None):
    """Fail the check with ``message``, naming ``misconception`` when the check has recognised one."""
    if misconception is not None:
        raise Diagnosed(message, misconception)
    raise AssertionError(message)


class PartialCredit(AssertionError):
    """A check that earns a share of its points: ``fraction`` strictly between 0 and 1, naming
    ``misconception`` when the check has recognised why the rest was lost."""

    def __init__(self, message: str, fraction: float, misconception: Misconception | None = None):
        super().__init__(message)
        self.fraction = fraction
        self.diagnosis = misconception.name if misconception else ""
        self.hint = misconception.hint if misconception else ""


def linear_credit(value: float, floor: float, bar: float) -> float:
    """The share of the points ``value`` earns: 0 at or below ``floor``, 1 at or above ``bar``, linear
    in between (a held-out accuracy between the best trivial baseline and the bar).

    >>> linear_credit(0.95, 0.1, 0.95), linear_credit(0.1, 0.1, 0.95), round(linear_credit(0.525, 0.1, 0.95), 3)
    (1.0, 0.0, 0.5)
    """
    if bar <= floor:
        raise ValueError(f"the bar ({bar}) must lie above the floor ({floor})")
    return float(min(1.0, max(0.0, (value - floor) / (bar - floor))))


def assert_at_least(value: float, bar: float, message: str, *, floor: float | None = None,
                    why: Callable[[], Misconception | None] | None = None) -> None:
    """Pass when ``value >= bar``; else fail with ``message``, or, given a ``floor``, earn the linear
    share of the points between the floor and the bar (:func:`linear_credit`): nothing at the floor.
    ``why``, called only below the bar, names the misconception behind the shortfall (or ``None``)."""
    if value >= bar:
        return
    share = linear_credit(value, floor, bar) if floor is not None else 0.0
    misconception = why() if why is not None else None
    if share <= 0:
        fail(message, misconception)
    raise PartialCredit(f"{message} (partial credit: {share:.0%} of the points, linear from the trivial "
                        f"baseline {floor:.1%} to the bar {bar:.1%})", share, misconception)


def _cut(text, width: int = 300) -> str:
    text = str(text).strip()
    return text if len(text) <= width else text[: width - 3] + "..."


def assert_docstring_examples(student, anchor: str, *, budget: float | None = None) -> None:
    """The examples in the docstrings of the student's module (``>>>`` lines) give what they show.

    They run in the sandbox (probe ``docstring_examples``), in the module that defines the student's
    function ``anchor``; docstrings whose functions are not written yet are left out, and when none
    is written the check is *not attempted*. What comes back is untrusted data, read defensively.
    """
    from autograder.sandbox.proxy import NotAttempted

    records = student.probe("docstring_examples", getattr(student, anchor), budget=budget)
    if not isinstance(records, (list, tuple)) or not all(isinstance(r, dict) for r in records):
        raise AssertionError(f"the docstring examples of the module could not be run: got {show(records)}")
    judged = [r for r in records if r.get("status") in ("passed", "failed")]
    if not judged:
        raise NotAttempted("no docstring example ran: the functions they use still raise NotImplementedError")
    wrong = [r for r in judged if r.get("status") == "failed"]
    if wrong:
        first = wrong[0]
        raise AssertionError(
            f"{len(wrong)} of {len(judged)} docstrings with examples give something else than they show. "
            f"In the docstring of {_cut(first.get('name'), 80)}:\n>>> {_cut(first.get('source'))}\n"
            f"gave:\n{_cut(first.get('got'))}\nwhere the docstring shows:\n{_cut(first.get('want'))}")
