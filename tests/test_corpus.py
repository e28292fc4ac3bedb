"""Realistic student mistakes lose points on exactly the right checks, with the right hint; correct
alternatives get full marks.

The corpus is one file per topic, ``tests/corpus/<topic>.toml``, listing its cases as data. A case
gives only the functions it changes; it is applied onto the reference ``solutions/<topic>.py`` (each
top-level function of its ``source`` replaces the reference's function of that name; new helpers
and imports are added after the reference's imports)::

    [[case]]
    name = "wrong_softmax_no_max_shift"
    about = "Exponentiates the raw logits: inf / inf = nan at z = 1000."
    fail = ["test_softmax_large_inputs"]      # the exact set of checks that must not pass
    hint = "maximum"                          # optional: a word of their hint or feedback
    diagnosis = "exp of the raw logits (no max shift)"   # the misconception the checks name (or a list)
    slow = true                               # optional: trains Keras models
    source = '''
    def softmax(z, axis=-1):
        ...
    '''

A case with ``fail = []`` is a correct alternative and must pass every check of its topic. The set
is exact, so a check that fails too much (punishes a correct part of the work) is caught too; so is
the set of diagnoses (``autograder.checking.Misconception``) the failed checks name: none when the
case gives no ``diagnosis``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from autograder.course import load
from autograder.grading import grade_submission, sandbox_config
from autograder.sandbox.client import Zygote
from autograder.sandbox.judge import Judge

CORPUS = Path(__file__).parent / "corpus"
COURSE = load()
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Case:
    topic: str
    name: str
    about: str
    fail: frozenset[str]
    source: str
    hint: str = ""
    slow: bool = False
    diagnoses: frozenset[str] = frozenset()

    @property
    def correct(self) -> bool:
        return not self.fail


def load_cases(topic: str) -> list[Case]:
    path = CORPUS / f"{topic}.toml"
    if not path.is_file():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Case(topic=topic, name=c["name"], about=c.get("about", ""), fail=frozenset(c.get("fail", [])),
                 source=c["source"], hint=c.get("hint", ""), slow=bool(c.get("slow", False)),
                 diagnoses=frozenset([c["diagnosis"]] if isinstance(c.get("diagnosis"), str) else c.get("diagnosis", [])))
            for c in data.get("case", [])]


def _span(node: ast.stmt) -> tuple[int, int]:
    """1-based first and last line of a top-level statement, decorators included."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]), node.end_lineno


def _docstring(node: ast.AST) -> ast.Expr | None:
    body = getattr(node, "body", None)
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def _with_docstring(lines: list[str], node: ast.stmt, ref_lines: list[str], ref_node: ast.stmt) -> list[str]:
    """The lines of ``node`` (a def), given the docstring of ``ref_node`` when it has none of its own:
    a student keeps the docstrings (and their examples) of the functions they rewrite."""
    doc = _docstring(ref_node)
    if _docstring(node) is not None or doc is None or node.body[0].lineno == node.lineno:
        return lines
    first = _span(node)[0]
    at = node.body[0].lineno - first
    body_indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    doc_lines = ref_lines[doc.lineno - 1 : doc.end_lineno]
    ref_indent = doc_lines[0][: len(doc_lines[0]) - len(doc_lines[0].lstrip())]
    moved = [body_indent + ln[len(ref_indent):] if ln.startswith(ref_indent) else ln for ln in doc_lines]
    return lines[:at] + moved + lines[at:]


def apply_overrides(reference: str, overrides: str) -> str:
    """``reference`` with each top-level function (or class) of ``overrides`` put in place of the one
    of the same name (keeping the reference's docstring when the override has none); the other
    statements of ``overrides`` (helpers, imports) go after the reference's last top-level import."""
    ref_lines = reference.splitlines(keepends=True)
    ref_tree = ast.parse(reference)
    ref_defs = {n.name: n for n in ref_tree.body if isinstance(n, _DEFS)}
    over_lines = overrides.splitlines(keepends=True)
    replace: dict[str, str] = {}
    extra: list[str] = []
    for node in ast.parse(overrides).body:
        first, last = _span(node)
        lines = over_lines[first - 1 : last]
        if isinstance(node, _DEFS) and node.name in ref_defs:
            lines = _with_docstring(lines, node, ref_lines, ref_defs[node.name])
        text = "".join(lines).rstrip("\n") + "\n"
        if isinstance(node, _DEFS) and node.name in ref_defs:
            replace[node.name] = text
        else:
            extra.append(text)
    out = list(ref_lines)
    for name in sorted(replace, key=lambda n: -ref_defs[n].lineno):  # bottom-up: line numbers stay valid
        first, last = _span(ref_defs[name])
        out[first - 1 : last] = [replace[name]]
    if extra:
        imports = [n for n in ref_tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        out.insert(imports[-1].end_lineno if imports else 0, "\n" + "\n\n".join(extra))
    return "".join(out)


def _all_cases() -> list[Case]:
    return [case for topic in COURSE.topic_names for case in load_cases(topic)]


@pytest.fixture(scope="module")
def zygote():
    """One warm fork server for the whole corpus, as batch grading keeps one per job."""
    with Zygote(sandbox_config(COURSE, preload=("keras",))) as z:
        yield z


@pytest.fixture(scope="module")
def judge(zygote):
    """One warm judge for the Keras topics' cases, forked from the fork server as batch grading keeps
    one per job (started by the first check that judges a model)."""
    with Judge(zygote.config, zygote=zygote) as j:
        yield j


def _params():
    for case in _all_cases():
        yield pytest.param(case, id=f"{case.topic}/{case.name}", marks=[pytest.mark.slow] if case.slow else [])


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@pytest.mark.parametrize("case", list(_params()))
def test_corpus_case(case: Case, tmp_path: Path, zygote: Zygote, judge: Judge) -> None:
    reference = (COURSE.solutions_dir / f"{case.topic}.py").read_text(encoding="utf-8")
    (tmp_path / f"{case.topic}.py").write_text(apply_overrides(reference, case.source), encoding="utf-8")
    result = grade_submission(tmp_path, topics=[case.topic], zygote=zygote, judge=judge)
    assert result.checks, f"no checks ran for {case.topic}"
    not_passed = {c.id.split("::")[1]: c for c in result.checks if c.status != "passed"}
    if case.correct:
        assert not not_passed, "a correct alternative lost points: " + "; ".join(
            f"{k} [{c.status}] {c.feedback[:300]}" for k, c in not_passed.items())
        return
    missing, extra = case.fail - set(not_passed), set(not_passed) - case.fail
    assert not missing and not extra, (
        f"the mistake was not caught by {sorted(missing)}; checks that failed beyond the expected set: "
        + "; ".join(f"{k} [{not_passed[k].status}] {not_passed[k].feedback[:200]}" for k in sorted(extra)))
    if case.hint:
        hints = " ".join(not_passed[k].hint + " " + not_passed[k].feedback for k in case.fail).lower()
        assert case.hint.lower() in hints, f"no hint mentions {case.hint!r}: {hints[:500]}"
    named = {c.diagnosis for c in not_passed.values() if c.diagnosis}
    assert named == case.diagnoses, f"diagnosed as {sorted(named)}; expected {sorted(case.diagnoses)}"


# -- the corpus itself ------------------------------------------------------------------------------


def test_corpus_has_two_mistakes_per_topic() -> None:
    for topic in COURSE.topic_names:
        mistakes = [c for c in load_cases(topic) if not c.correct]
        assert len(mistakes) >= 2, f"the corpus needs at least two realistic mistakes for {topic}"


def test_corpus_files_are_course_topics_and_cases_are_well_formed() -> None:
    assert {p.stem for p in CORPUS.glob("*.toml")} <= set(COURSE.topic_names)
    assert not list(CORPUS.glob("*/*.py")), "cases are overrides in <topic>.toml, not whole modules"
    for topic in COURSE.topic_names:
        cases = load_cases(topic)
        names = [c.name for c in cases]
        assert len(names) == len(set(names)), f"{topic}: duplicate case names"
        reference = (COURSE.solutions_dir / f"{topic}.py").read_text(encoding="utf-8")
        ref_defs = {n.name for n in ast.parse(reference).body if isinstance(n, _DEFS)}
        check_names = _check_names(topic)
        for c in cases:
            changed = {n.name for n in ast.parse(c.source).body if isinstance(n, _DEFS)} & ref_defs
            assert changed, f"{topic}/{c.name} changes no function of the reference"
            unknown = c.fail - check_names
            assert not unknown, f"{topic}/{c.name} expects checks that do not exist: {sorted(unknown)}"
            assert c.about, f"{topic}/{c.name} says nothing about what it is"


# Mistakes whose checks name no misconception yet: each case here is a known gap, to be emptied,
# never grown (too little training is named from the model's accuracy on its own training data).
UNDIAGNOSED: set[str] = set()


def test_every_mistake_names_its_misconception() -> None:
    lacking = [f"{c.topic}/{c.name}" for c in _all_cases() if not c.correct and not c.diagnoses]
    assert sorted(lacking) == sorted(UNDIAGNOSED), "mistakes without an expected diagnosis: " + ", ".join(
        sorted(set(lacking) - UNDIAGNOSED))


def _check_names(topic: str) -> set[str]:
    names = set()
    for folder in ("public", "hidden"):
        path = COURSE.checks_dir / folder / f"test_{topic}.py"
        if path.is_file():
            names |= {n.name for n in ast.parse(path.read_text(encoding="utf-8")).body
                      if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    return names


# -- applying overrides -----------------------------------------------------------------------------

REFERENCE = '''"""Doc."""

from __future__ import annotations

import numpy as np

LIMIT = 3


@staticmethod
def f(x):
    """f's doc."""
    return x + 1


def g(x):
    return f(x) * 2
'''


def test_apply_overrides_replaces_only_the_named_functions_and_adds_helpers() -> None:
    out = apply_overrides(REFERENCE, "import math\n\n\ndef _helper(x):\n    return math.floor(x)\n\n\n"
                                     "def f(x):\n    return _helper(x) - 1\n")
    tree = ast.parse(out)
    defs = {n.name: ast.unparse(n) for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert defs["f"] == "def f(x):\n    \"\"\"f's doc.\"\"\"\n    return _helper(x) - 1"  # the decorator went, the docstring stays
    assert defs["g"] == "def g(x):\n    return f(x) * 2"
    assert "_helper" in defs and "LIMIT = 3" in out and out.startswith('"""Doc."""\n\nfrom __future__')
    names = [type(n).__name__ for n in tree.body]
    assert names.index("Import") < names.index("Assign")  # the new import sits with the others
    namespace: dict = {}
    exec(compile(out, "m", "exec"), namespace)
    assert namespace["g"](2.5) == 2.0


def test_apply_overrides_keeps_an_own_docstring_and_reindents_the_reference_one() -> None:
    out = apply_overrides(REFERENCE, 'def f(x):\n    """mine"""\n    return 0\n\n\ndef g(x):\n  return 1\n')
    defs = {n.name: n for n in ast.parse(out).body if isinstance(n, ast.FunctionDef)}
    assert ast.get_docstring(defs["f"]) == "mine" and ast.get_docstring(defs["g"]) is None
    out = apply_overrides(REFERENCE.replace("def g(x):\n", 'def g(x):\n    """g\'s doc,\n    two lines."""\n'),
                          "def g(x):\n  return 1\n")
    g = next(n for n in ast.parse(out).body if getattr(n, "name", "") == "g")
    assert ast.get_docstring(g) == "g's doc,\ntwo lines." and "\n  return 1\n" in out


def test_apply_overrides_keeps_the_reference_when_nothing_is_overridden() -> None:
    assert apply_overrides(REFERENCE, "") == REFERENCE


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_self_check_runs_the_selfcheck_checks_and_grading_leaves_them_out(tmp_path: Path, zygote: Zygote) -> None:
    """A naive softmax passes the graded public checks; only the self-check's docstring examples and its
    ±1000 check (0 points) tell the student before they submit."""
    case = next(c for c in load_cases("activations") if c.name == "wrong_softmax_no_max_shift")
    reference = (COURSE.solutions_dir / "activations.py").read_text(encoding="utf-8")
    (tmp_path / "activations.py").write_text(apply_overrides(reference, case.source), encoding="utf-8")
    mine = grade_submission(tmp_path, topics=["activations"], public_only=True, zygote=zygote)
    failed = {c.id.split("::")[1] for c in mine.checks if not c.passed}
    assert failed == {"test_docstring_examples", "test_selfcheck_stable_at_plus_minus_1000"}
    assert mine.possible == sum(c.max_points for c in mine.checks) == 3  # self-checks earn nothing
    graded = grade_submission(tmp_path, topics=["activations"], zygote=zygote)
    assert not {c.id for c in graded.checks if "docstring" in c.id or "selfcheck" in c.id}
