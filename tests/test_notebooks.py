"""Notebooks as submissions: what is graded of a notebook, bad notebooks, and every route accepting them."""

import json
import zipfile
from pathlib import Path

import nbformat
import nbformat.v4 as nbf
import pytest

from autograder import course as course_mod
from autograder.batch import discover, materialize
from autograder import intake
from autograder.grading import grade_submission
from autograder.notebooks import ANSWER_TAG, NotebookError, cells_to_module, choose, notebook_to_module
from autograder.quiet import QUIET_TENSORFLOW
from autograder.stubs import make_stub

COURSE = course_mod.load()
SOLUTION = (COURSE.solutions_dir / "backprop.py").read_text(encoding="utf-8")
STUB = make_stub(SOLUTION, "backprop.py")


def _notebook(*cells, tags=None) -> str:
    nb = nbf.new_notebook(cells=[nbf.new_code_cell(c, metadata={"tags": tags or [ANSWER_TAG]}) for c in cells])
    return nbformat.writes(nb)


def test_only_imports_definitions_and_simple_constants_run():
    out = cells_to_module([
        "import numpy as np\n%matplotlib inline\n!pip install x\nN = 3\nSIZES = [2, 3]\n",
        "def f(x):\n    return x + N\n",
        "model = train(X)\nprint(f(1))\nname = input()\nW = np.zeros(3)\nplt.plot([1])",
        "%%time\nwhile True: pass",
        "def broken(:\n",
        "@decorator\nclass C:\n    pass\n",
    ])
    assert "import numpy as np" in out.source and "N = 3" in out.source and "SIZES = [2, 3]" in out.source
    assert "def f(x)" in out.source and "@decorator\nclass C" in out.source
    for gone in ("train(", "print(", "input(", "np.zeros", "plt.", "while True", "pip", "matplotlib"):
        assert gone not in out.source, gone
    assert out.notes == ["cell 5 does not parse (line 1: invalid syntax); it was left out"]
    compile(out.source, "x.py", "exec")


def test_grader_cells_are_skipped_and_empty_notebooks_are_named():
    nb = nbf.new_notebook(cells=[
        nbf.new_code_cell("def f():\n    return 1", metadata={"nbgrader": {"solution": True, "grade": False}}),
        nbf.new_code_cell("def f():\n    return 2", metadata={"nbgrader": {"grade": True, "solution": False}}),
        nbf.new_code_cell("def g():\n    pass", metadata={"tags": ["self-check"]}),
    ])
    assert notebook_to_module(nbformat.writes(nb)).source.strip() == "def f():\n    return 1"
    with pytest.raises(NotebookError, match="x.ipynb is not a valid notebook"):
        notebook_to_module("{not json", "x.ipynb")
    with pytest.raises(NotebookError, match="no list of cells"):
        notebook_to_module("[]", "x.ipynb")
    with pytest.raises(NotebookError, match="holds no function"):
        notebook_to_module(_notebook("print('hi')"), "x.ipynb")


def test_hostile_notebooks_are_an_outcome_not_a_crash():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(NotebookError, match="not a valid notebook"):
        notebook_to_module(deep, "x.ipynb")
    doc = {"cells": [
        {"cell_type": "code", "metadata": [], "source": [1, 2]},
        {"cell_type": "code", "metadata": {"tags": "answer", "nbgrader": 3}, "source": "x = (" * 10_000 + ")" * 10_000},
        {"cell_type": "code", "metadata": {}, "source": "def f():\n    return 1\x00"},
        {"cell_type": "code", "metadata": {}, "source": ["def g():\n", "    return 2\n"]},
        "not a cell",
    ]}
    out = notebook_to_module(json.dumps(doc), "x.ipynb")
    assert out.source.strip() == "def g():\n    return 2"
    assert [n.split(" (")[0] for n in out.notes] == ["x.ipynb cell 2 does not parse", "x.ipynb cell 3 does not parse"]


def test_choose_grades_the_py_unless_it_is_the_untouched_stub():
    assert choose("t", "code", None, None) == ("py", None)
    assert choose("t", None, "{}", None) == ("ipynb", None)
    kind, note = choose("backprop", STUB, "{}", STUB)
    assert kind == "ipynb" and "backprop.py next to it is the unchanged exercise stub" in note
    kind, note = choose("backprop", SOLUTION, "{}", STUB)
    assert kind == "py" and "backprop.ipynb next to it was not graded" in note


def test_the_intake_reports_bad_notebooks_per_topic_once(tmp_path):
    (tmp_path / "neurons.ipynb").write_text("{oops", encoding="utf-8")
    (tmp_path / "backprop.ipynb").write_text(_notebook(SOLUTION), encoding="utf-8")
    sub = intake.read(tmp_path, ["neurons", "backprop", "gradient_descent"])
    assert set(sub.files) == {"backprop.py"} and sub.files["backprop.py"].count("\ndef ") >= 2
    assert "neurons.ipynb is not a valid notebook" in sub.unusable["neurons"]
    assert "gradient_descent" not in sub.unusable
    assert len(sub.notes) == 1 and sub.notes[0].startswith("neurons: neurons.ipynb is not a valid notebook")


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_a_folder_holding_only_a_notebook_is_graded(tmp_path):
    """The new user's case: not 0 "not submitted"; full marks for the reference in a notebook."""
    (tmp_path / "backprop.ipynb").write_text(_notebook(SOLUTION, "model = fit(X)\n%time backward(1)"), encoding="utf-8")
    result = grade_submission(tmp_path, course=COURSE, topics=["backprop"])
    assert result.total == COURSE.topic("backprop").points, [(c.name, c.feedback) for c in result.checks if c.points < c.max_points]
    # next to the untouched stub, the notebook is graded and the note says so
    (tmp_path / "backprop.py").write_text(STUB, encoding="utf-8")
    result = grade_submission(tmp_path, course=COURSE, topics=["backprop"])
    assert result.total == COURSE.topic("backprop").points
    assert result.notes == ["backprop: graded backprop.ipynb; backprop.py next to it is the unchanged exercise stub"]
    assert result.to_dict()["notes"] == result.notes


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_invalid_notebook_is_that_topics_outcome_not_a_crash(tmp_path):
    """Named once, in the notes (shown above the table, in the gradebook's error column), not once per check."""
    (tmp_path / "backprop.ipynb").write_text("{oops", encoding="utf-8")
    result = grade_submission(tmp_path, course=COURSE, topics=["backprop"])
    assert result.total == 0 and result.error is None and result.checks
    assert [n for n in result.notes if "backprop.ipynb is not a valid notebook" in n] == result.notes and len(result.notes) == 1
    assert {c.status for c in result.checks} == {"not_submitted"}
    assert not any("not a valid notebook" in c.feedback for c in result.checks)


def test_batch_materializes_notebooks_from_folders_zips_and_nbgrader(tmp_path):
    text = _notebook(SOLUTION)
    root = tmp_path / "class"
    (root / "alice" / "work").mkdir(parents=True)
    (root / "alice" / "work" / "backprop.ipynb").write_text(text, encoding="utf-8")
    with zipfile.ZipFile(root / "bob.zip", "w") as zf:
        zf.writestr("bob/backprop.ipynb", text + " " * 2_000_000)  # larger than a .py may be
    entries = {e.name: e for e in discover(root)}
    for name in ("alice", "bob"):
        folder = materialize(entries[name], tmp_path / name, COURSE.topic_names)
        assert json.loads((folder / "backprop.ipynb").read_text(encoding="utf-8"))["cells"], name
    nbg = tmp_path / "course" / "submitted" / "carol" / "ps1"
    nbg.mkdir(parents=True)
    (nbg / "backprop.ipynb").write_text(text, encoding="utf-8")
    [entry] = discover(tmp_path / "course")
    assert (materialize(entry, tmp_path / "carol", COURSE.topic_names) / "backprop.ipynb").is_file()


def test_gradescope_finds_a_notebook_submission(tmp_path):
    from autograder.gradescope import find_submission

    (tmp_path / "sub" / "inner").mkdir(parents=True)
    (tmp_path / "sub" / "inner" / "backprop.ipynb").write_text(_notebook(SOLUTION), encoding="utf-8")
    assert find_submission(tmp_path / "sub", COURSE.topic_names) == tmp_path / "sub" / "inner"


def _public_hint(topic: str, check: str) -> str:
    import ast

    tree = ast.parse((COURSE.checks_dir / "public" / f"test_{topic}.py").read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == check)
    deco = next(d for d in node.decorator_list if isinstance(d, ast.Call) and ast.unparse(d.func).endswith("mark.hint"))
    return ast.literal_eval(deco.args[0])


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_a_student_fills_one_function_of_a_released_notebook_and_checks_it(tmp_path):
    """Headless, as a new user: the release's notebook, one function written (with a mistake), run all.

    The kernel imports the release's own package (no hidden checks there); the check cell grades the
    code the kernel has run (never saved to disk) and shows the table and the hint; a wrong topic name
    is one line.
    """
    import os
    import re

    from nbclient import NotebookClient

    from autograder.release import build_release

    release = build_release(tmp_path / "release", course=COURSE)
    nb = nbformat.read(str(release / "exercises" / "neurons.ipynb"), as_version=4)
    answers = [c for c in nb.cells if ANSWER_TAG in c.metadata.get("tags", [])]
    target = next(i for i, c in enumerate(nb.cells) if c in answers and "def count_parameters" in c.source)
    nb.cells[target].source = "def count_parameters(layer_sizes):\n    return sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:]))\n"
    nb.cells.append(nbf.new_code_cell("from autograder import check\ncheck('no_such_topic')"))
    env = {"PYTHONPATH": str(release), "HOME": str(tmp_path), "IPYTHONDIR": str(tmp_path / "ipython"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), **QUIET_TENSORFLOW}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(release / "exercises")}}).execute()
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    check_cell = nb.cells[target + 1]
    assert "check(" in check_cell.source
    assert not [o for o in check_cell.outputs if o.output_type == "error"], check_cell.outputs
    [shown] = [o for o in check_cell.outputs if o.output_type == "execute_result"]
    text, page = shown.data["text/plain"], shown.data["text/html"]
    assert "SubmissionResult(" not in text and "count_parameters" in text and "<pre" in page
    flat = " ".join(text.split())
    hint = " ".join(_public_hint("neurons", "test_count_parameters_digit_network").split())
    assert hint[:60] in flat, text
    assert re.search(r"failed", flat)
    wrong = nb.cells[-1]
    assert not [o for o in wrong.outputs if o.output_type == "error"]
    [line] = [o.data["text/plain"] for o in wrong.outputs if o.output_type == "execute_result"]
    assert line.startswith("check: ") and "no_such_topic" in line and "\n" not in line


def test_similarity_compares_the_graded_code_of_notebook_submissions(tmp_path):
    """A copy handed in as a notebook is compared with one handed in as a module (the term's report)."""
    from types import SimpleNamespace

    from autograder.results import SubmissionResult
    from autograder.term import finish, load_inputs

    solution = (COURSE.solutions_dir / "neurons.py").read_text(encoding="utf-8")
    root, out = tmp_path / "class", tmp_path / "out"
    for name in ("alice", "bob", "carol"):
        (root / name).mkdir(parents=True)
    (root / "alice" / "neurons.ipynb").write_text(_notebook(solution, "print('exploring')"), encoding="utf-8")
    (root / "bob" / "neurons.py").write_text(solution, encoding="utf-8")
    (root / "carol" / "neurons.py").write_text(make_stub(solution, "neurons.py"), encoding="utf-8")
    entries = discover(root)
    results = [SubmissionResult(e.name) for e in entries]
    finish(SimpleNamespace(entries=entries, results=results, out=out, topics=["neurons"]), COURSE, load_inputs(course=COURSE))
    rows = (out / "similarity.csv").read_text(encoding="utf-8").splitlines()
    assert rows[1].startswith("neurons,alice,bob,"), rows
    assert float(rows[1].rsplit(",", 1)[1]) > 0.9
