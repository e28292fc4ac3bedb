"""Realistic student mistakes lose points on the right checks with the right hint; correct
alternatives get full marks. Each case is a whole module in ``tests/corpus/<topic>/<case>.py``
whose first lines say what to expect::

    # expect-fail: test_softmax_large_inputs test_softmax_no_warning
    # expect-hint: maximum
    # slow            (optional: trains Keras models)

A case without ``expect-fail`` is a correct alternative and must pass every check of its topic.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.course import load
from autograder.grading import grade_submission, sandbox_config
from autograder.sandbox.client import Zygote

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="module")
def zygote():
    """One warm fork server for the whole corpus, as batch grading keeps one per job."""
    with Zygote(sandbox_config(load(), preload=("keras",))) as z:
        yield z


def _header(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line.lstrip("# ").partition(":")
        out[key.strip()] = value.strip()
    return out


def _cases():
    for path in sorted(CORPUS.glob("*/*.py")):
        marks = [pytest.mark.slow] if "slow" in _header(path) else []
        yield pytest.param(path, id=f"{path.parent.name}/{path.stem}", marks=marks)


@pytest.mark.parametrize("case", list(_cases()))
def test_corpus_case(case: Path, tmp_path: Path, zygote: Zygote) -> None:
    topic = case.parent.name
    head = _header(case)
    shutil.copy(case, tmp_path / f"{topic}.py")
    result = grade_submission(tmp_path, topics=[topic], zygote=zygote)
    assert result.checks, f"no checks ran for {topic}"
    not_passed = {c.id.split("::")[1]: c for c in result.checks if c.status != "passed"}
    if "expect-fail" not in head:
        assert not not_passed, "a correct alternative lost points: " + "; ".join(
            f"{k} [{c.status}] {c.feedback[:300]}" for k, c in not_passed.items())
        return
    expected = set(head["expect-fail"].split())
    missing = expected - set(not_passed)
    assert not missing, f"the mistake was not caught by {sorted(missing)}"
    assert result.total < result.possible
    if head.get("expect-hint"):
        hints = " ".join(not_passed[k].hint + " " + not_passed[k].feedback for k in expected).lower()
        assert head["expect-hint"].lower() in hints, f"no hint mentions {head['expect-hint']!r}: {hints[:500]}"


def test_corpus_has_two_mistakes_per_topic() -> None:
    for topic in load().topic_names:
        mistakes = [p for p in (CORPUS / topic).glob("*.py") if "expect-fail" in _header(p)]
        assert len(mistakes) >= 2, f"the corpus needs at least two realistic mistakes for {topic}"
