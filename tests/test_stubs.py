"""exercises/ is generated from solutions/: markers are strict, stubs keep everything but the answers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder.course import load
from autograder.stubs import MarkerError, find_regions, generate, make_stub, solution_lines

COURSE = load()
CURRICULUM = {
    "neurons": ["dense_forward", "count_parameters", "init_params", "mlp_forward"],
    "activations": ["sigmoid", "sigmoid_derivative", "relu", "relu_derivative", "softmax", "sigmoid_keras", "softmax_keras"],
    "losses": ["mean_squared_error", "mean_absolute_error", "binary_crossentropy", "categorical_crossentropy",
               "sparse_categorical_crossentropy", "cost", "categorical_crossentropy_keras"],
    "gradient_descent": ["numerical_gradient", "gradient_descent", "sgd_update", "momentum_update", "minibatches",
                         "train_logistic_regression"],
    "backprop": ["forward", "backward", "train_step"],
    "mlp": ["build_mlp", "build_binary_classifier", "compile_model", "train_mlp"],
    "cnn": ["conv2d_output_size", "conv2d_forward", "max_pool2d", "build_cnn", "train_cnn"],
    "rnn": ["rnn_cell_forward", "rnn_forward", "build_rnn", "train_rnn"],
}

GOOD = '''def f(x):
    """Doc."""
    ### BEGIN SOLUTION think about shapes
    y = x + 1
    return y
    ### END SOLUTION


def g():
    if True:
        ### BEGIN SOLUTION
        return 2
        ### END SOLUTION
'''


def test_manifest_lists_every_curriculum_topic_in_order():
    assert COURSE.topic_names == list(CURRICULUM)


@pytest.mark.parametrize("topic", list(CURRICULUM))
def test_every_curriculum_name_exists_in_solutions_and_exercises(topic):
    for folder in (COURSE.solutions_dir, COURSE.exercises_dir):
        tree = ast.parse((folder / f"{topic}.py").read_text(encoding="utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert set(CURRICULUM[topic]) <= defined, f"{folder.name}/{topic}.py lacks {set(CURRICULUM[topic]) - defined}"


@pytest.mark.parametrize("topic", list(CURRICULUM))
def test_exercises_hold_no_line_of_solution_code(topic):
    solution = (COURSE.solutions_dir / f"{topic}.py").read_text(encoding="utf-8")
    stub_lines = {line.strip() for line in (COURSE.exercises_dir / f"{topic}.py").read_text(encoding="utf-8").splitlines()}
    secret = solution_lines(solution, topic)
    assert secret, f"{topic}: no solution region found"
    leaked = sorted(secret & stub_lines)
    assert not leaked, f"{topic}: solution lines in the stub: {leaked[:5]}"


def test_exercises_do_not_drift_from_solutions():
    drift = generate(COURSE.solutions_dir, COURSE.exercises_dir, check=True, titles={t.name: t.title for t in COURSE.topics})
    assert drift == [], f"run `autograder stubs`: out of date: {drift}"


def test_stub_keeps_docstrings_signatures_and_indentation():
    stub = make_stub(GOOD, "good.py")
    assert '"""Doc."""' in stub and "def f(x):" in stub
    assert '    raise NotImplementedError(\'TODO: think about shapes\')' in stub
    assert "        raise NotImplementedError('TODO: implement g')" in stub
    assert "x + 1" not in stub and "return 2" not in stub
    ast.parse(stub)


def test_generate_writes_and_then_reports_no_drift(tmp_path):
    sol, ex = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir()
    (sol / "t.py").write_text(GOOD)
    assert generate(sol, ex) == [ex / "t.py", ex / "t.ipynb"]
    assert generate(sol, ex, check=True) == []
    (ex / "t.py").write_text("edited by hand\n")
    (ex / "t.ipynb").write_text("{}\n")
    assert generate(sol, ex, check=True) == [ex / "t.py", ex / "t.ipynb"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n", r"bad\.py:3: nested"),
        ("def f():\n    ### END SOLUTION\n", r"bad\.py:2: .*without a matching"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", r"bad\.py:2: .*never closed"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", r"bad\.py:1: .*module level"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n  ### END SOLUTION\n", r"bad\.py:4: .*indentation"),
        ("def f():\n    ## BEGIN SOLUTION\n    return 1\n", r"bad\.py:2: misspelt"),
    ],
)
def test_malformed_markers_name_file_and_line(text, message):
    with pytest.raises(MarkerError, match=message):
        find_regions(text, "bad.py")


def test_cli_stubs_check_is_clean():
    from click.testing import CliRunner

    from autograder.cli import main

    result = CliRunner().invoke(main, ["stubs", "--check"])
    assert result.exit_code == 0, result.output
