"""The nbgrader export, through the real nbgrader: generate_assignment, autograde --force, export.

Submissions are put where nbgrader collects them (``submitted/<student>/<assignment>/``): the
released notebooks filled with the reference solutions, the released blank notebooks, and a mutant
whose mistakes only the hidden tests catch. Scores come from nbgrader's own gradebook and CSV, and
are compared with ``autograder grade`` on the same code (the notebooks' code cells as modules).
"""

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import course as course_mod
from autograder.grading import grade_submission
from autograder.nbgrader_export import CELL_TIMEOUT, HIDDEN_BEGIN, HIDDEN_END, export, notebook_module
from autograder.stubs import BEGIN, END

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader")

COURSE = course_mod.load()
ASSIGNMENT = "ps1"
NUMPY_TOPICS = ["neurons", "backprop"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _env(tmp: Path) -> dict:
    """nbgrader and its kernels run with the venv's Python, and keep their files under ``tmp``."""
    env = dict(os.environ)
    for name in ("HOME", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR"):
        (tmp / name.lower()).mkdir(parents=True, exist_ok=True)
        env[name] = str(tmp / name.lower())
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader calls alembic
    env.update(TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0", KERAS_HOME=str(tmp / "keras"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("AUTOGRADER_COURSE", None)
    return env


def _ensure_kernel(env: dict) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" not in KernelSpecManager().find_kernel_specs():
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix"], env=env, check=True, capture_output=True)


def _nbgrader(course_dir: Path, env: dict, *args: str, timeout: int = 600) -> str:
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-5000:]}"
    return run.stdout + run.stderr


def _nbgrader_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _submit(course_dir: Path, student: str, topics: list[str], fill) -> None:
    """Copy the released notebooks to submitted/<student>/<assignment>/, solution cells from ``fill``."""
    folder = course_dir / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    for topic in topics:
        nb = nbformat.read(str(course_dir / "release" / ASSIGNMENT / f"{topic}.ipynb"), as_version=4)
        source = nbformat.read(str(course_dir / "source" / ASSIGNMENT / f"{topic}.ipynb"), as_version=4)
        reference = {_nbgrader_id(c): c.source for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")}
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = fill(topic, _nbgrader_id(cell), cell.source, reference[_nbgrader_id(cell)])
        nbformat.write(nb, str(folder / f"{topic}.ipynb"))


def _reference(topic, grade_id, blank, solution):
    return solution


def _blank(topic, grade_id, blank, solution):
    return blank


#: Two mistakes: the bias left out (the visible examples catch it) and the seed ignored (only the
#: hidden tests call init_params with another seed).
MUTATIONS = {
    "neurons_dense_forward": ("return activation(x @ W + b)", "return activation(x @ W)"),
    "neurons_init_params": ("rng = np.random.default_rng(seed)", "rng = np.random.default_rng(0)"),
}


def _mutant(topic, grade_id, blank, solution):
    if grade_id in MUTATIONS:
        old, new = MUTATIONS[grade_id]
        assert old in solution, f"the mutation of {grade_id} no longer applies; update MUTATIONS"
        return solution.replace(old, new)
    return solution


def _gradebook_scores(course_dir: Path, students: list[str], topics: list[str]) -> dict:
    """{student: {topic: (score, max_score, {grade_id: score})}} from nbgrader's database."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        for student in students:
            scores[student] = {}
            for topic in topics:
                nb = gb.find_submission_notebook(topic, ASSIGNMENT, student)
                scores[student][topic] = (nb.score, nb.max_score, {g.name: g.score for g in nb.grades})
    return scores


def _our_scores(course_dir: Path, student: str, topics: list[str], tmp: Path) -> dict:
    """``autograder grade`` on the same code: each submitted notebook's code cells as ``<topic>.py``."""
    folder = tmp / f"modules-{student}"
    folder.mkdir()
    for topic in topics:
        notebook = course_dir / "submitted" / student / ASSIGNMENT / f"{topic}.ipynb"
        (folder / f"{topic}.py").write_text(notebook_module(notebook), encoding="utf-8")
    result = grade_submission(folder, course=COURSE, topics=topics)
    return {name: summary.points for name, summary in result.by_topic().items()}


def _secret_lines(source_dir: Path) -> set[str]:
    """Lines inside solution regions or hidden tests of the source notebooks, and nowhere else in them."""
    inside, outside = set(), set()
    for path in source_dir.glob("*.ipynb"):
        for cell in nbformat.read(str(path), as_version=4).cells:
            hidden = False
            for line in cell.source.splitlines():
                s = line.strip()
                if s.startswith((BEGIN, HIDDEN_BEGIN)):
                    hidden = True
                elif s.startswith((END, HIDDEN_END)):
                    hidden = False
                elif s and not s.startswith("#"):
                    (inside if hidden else outside).add(s)
    return {s for s in inside - outside if len(s) > 3}


def _error_text(notebook: Path) -> str:
    nb = nbformat.read(str(notebook), as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                parts += [ANSI.sub("", line) for line in out.get("traceback", [])]
            elif "text" in out:
                parts.append(out["text"])
    return "\n".join(parts)


@pytest.fixture(scope="module")
def numpy_round_trip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    env = _env(tmp)
    _ensure_kernel(env)
    course_dir = export(tmp / "course", course=COURSE, assignment=ASSIGNMENT, topics=NUMPY_TOPICS)
    _nbgrader(course_dir, env, "generate_assignment", ASSIGNMENT, "--force")
    for student, fill in (("reference", _reference), ("blank", _blank), ("mutant", _mutant)):
        _submit(course_dir, student, NUMPY_TOPICS, fill)
    _nbgrader(course_dir, env, "autograde", ASSIGNMENT, "--force")
    _nbgrader(course_dir, env, "export")
    _nbgrader(course_dir, env, "generate_feedback", ASSIGNMENT, "--force")
    return course_dir, tmp


def test_released_notebooks_hold_no_solution_and_no_hidden_test(numpy_round_trip):
    course_dir, _ = numpy_round_trip
    secrets = _secret_lines(course_dir / "source" / ASSIGNMENT)
    assert len(secrets) > 50
    for path in (course_dir / "release" / ASSIGNMENT).glob("*.ipynb"):
        text = path.read_text(encoding="utf-8")
        assert BEGIN not in text and HIDDEN_BEGIN not in text
        lines = {line.strip() for cell in nbformat.read(str(path), as_version=4).cells for line in cell.source.splitlines()}
        assert not secrets & lines, f"{path.name}: {sorted(secrets & lines)[:5]}"


def test_reference_gets_full_marks_and_blank_gets_zero(numpy_round_trip):
    course_dir, _ = numpy_round_trip
    with open(course_dir / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    total = sum(COURSE.topic(t).points for t in NUMPY_TOPICS)
    assert float(rows["reference"]["score"]) == float(rows["reference"]["max_score"]) == total
    assert float(rows["blank"]["score"]) == 0
    scores = _gradebook_scores(course_dir, ["reference", "blank"], NUMPY_TOPICS)
    for topic in NUMPY_TOPICS:
        points = COURSE.topic(topic).points
        assert scores["reference"][topic][:2] == (points, points), topic
        assert scores["blank"][topic][:2] == (0, points), topic


def test_only_the_hidden_tests_catch_the_ignored_seed(numpy_round_trip):
    course_dir, _ = numpy_round_trip
    scores = _gradebook_scores(course_dir, ["mutant"], NUMPY_TOPICS)["mutant"]
    cells = scores["neurons"][2]
    assert cells["test_neurons_dense_forward"] == 0
    assert cells["test_neurons_init_params"] == 0
    assert cells["test_neurons_count_parameters"] > 0 and cells["test_neurons_mlp_forward"] > 0
    assert scores["backprop"][0] == COURSE.topic("backprop").points
    # the seed mistake passes the visible examples: the student's own run of the released cell is clean
    autograded = nbformat.read(str(course_dir / "autograded" / "mutant" / ASSIGNMENT / "neurons.ipynb"), as_version=4)
    cell = next(c for c in autograded.cells if _nbgrader_id(c) == "test_neurons_init_params")
    error = "".join(ANSI.sub("", "\n".join(o.get("traceback", []))) for o in cell.outputs if o.output_type == "error")
    assert "_hidden_init_params" in error and "seed" in error


def test_points_equal_autograder_grade_on_the_same_code(numpy_round_trip):
    course_dir, tmp = numpy_round_trip
    scores = _gradebook_scores(course_dir, ["reference", "blank", "mutant"], NUMPY_TOPICS)
    for student in ("reference", "blank"):
        ours = _our_scores(course_dir, student, NUMPY_TOPICS, tmp)
        assert ours == {t: scores[student][t][0] for t in NUMPY_TOPICS}, student
    mutant = _our_scores(course_dir, "mutant", NUMPY_TOPICS, tmp)
    assert mutant["neurons"] < COURSE.topic("neurons").points and scores["mutant"]["neurons"][0] < COURSE.topic("neurons").points
    assert mutant["backprop"] == scores["mutant"]["backprop"][0] == COURSE.topic("backprop").points


def test_feedback_and_outputs_never_show_the_reference(numpy_round_trip):
    course_dir, _ = numpy_round_trip
    secrets = _secret_lines(course_dir / "source" / ASSIGNMENT)
    for topic in NUMPY_TOPICS:
        shown = _error_text(course_dir / "autograded" / "blank" / ASSIGNMENT / f"{topic}.ipynb")
        assert "NotImplementedError" in shown
        lines = {re.sub(r"^(-+>\s*)?\d+\s", "", line.strip()).strip() for line in shown.splitlines()}
        assert not secrets & lines, f"{topic}: {sorted(secrets & lines)[:5]}"
        feedback = (course_dir / "feedback" / "blank" / ASSIGNMENT / f"{topic}.html").read_text(encoding="utf-8")
        assert HIDDEN_BEGIN not in feedback and "def _reference_" not in feedback


def test_config_raises_the_time_limit_of_training_cells(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader

    course_dir = export(tmp_path / "course", course=COURSE, assignment=ASSIGNMENT, topics=["mlp"])
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()  # as nbgrader reads it
    timeout = config.Execute.timeout_func
    nb = nbformat.read(str(course_dir / "source" / ASSIGNMENT / "mlp.ipynb"), as_version=4)
    train = next(c for c in nb.cells if _nbgrader_id(c) == "test_mlp_train_mlp")
    build = next(c for c in nb.cells if _nbgrader_id(c) == "test_mlp_build_mlp")
    assert timeout(train) == 3 * COURSE.topic("mlp").train_budget + 60
    assert timeout(build) == config.Execute.timeout == CELL_TIMEOUT
    assert config.Execute.interrupt_on_timeout is True


def _run_notebook(nb, env: dict) -> dict:
    """Execute ``nb`` in a fresh kernel; {grade_id of each code cell: the error it ended with, or None}."""
    from nbclient import NotebookClient

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=600, allow_errors=True, kernel_name="python3").execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {_nbgrader_id(c): next((f"{o.ename}: {o.evalue}"[:300] for o in c.outputs if o.output_type == "error"), None)
            for c in nb.cells if c.cell_type == "code"}


@pytest.mark.parametrize("topic", [pytest.param(t.name, marks=() if t.numpy_only else pytest.mark.slow) for t in COURSE.topics])
def test_every_test_cell_passes_for_the_reference_and_fails_for_the_blank(topic, tmp_path):
    """Each topic's notebook run as is (the reference) and with nbgrader's stubs (hidden tests kept)."""
    from nbgrader.preprocessors import ClearSolutions

    env = _env(tmp_path)
    env.pop("PATH")
    _ensure_kernel(env)
    course_dir = export(tmp_path / "course", course=COURSE, assignment=ASSIGNMENT, topics=[topic])
    source = nbformat.read(str(course_dir / "source" / ASSIGNMENT / f"{topic}.ipynb"), as_version=4)
    tests = [_nbgrader_id(c) for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests
    errors = _run_notebook(nbformat.from_dict(source), env)
    assert {k: v for k, v in errors.items() if v} == {}
    blank, _ = ClearSolutions().preprocess(nbformat.from_dict(source), {})
    errors = _run_notebook(blank, env)
    assert [t for t in tests if not errors[t]] == [], "these test cells pass on the blank notebook"
    assert {k: v for k, v in errors.items() if v and k not in tests} == {}


@pytest.mark.slow
def test_keras_topic_round_trip(tmp_path):
    """One Keras topic with training: the reference reaches the bar within the budget; blank gets zero."""
    env = _env(tmp_path)
    _ensure_kernel(env)
    course_dir = export(tmp_path / "course", course=COURSE, assignment=ASSIGNMENT, topics=["mlp"])
    _nbgrader(course_dir, env, "generate_assignment", ASSIGNMENT, "--force")
    _submit(course_dir, "reference", ["mlp"], _reference)
    _submit(course_dir, "blank", ["mlp"], _blank)
    _nbgrader(course_dir, env, "autograde", ASSIGNMENT, "--force")
    _nbgrader(course_dir, env, "export")
    scores = _gradebook_scores(course_dir, ["reference", "blank"], ["mlp"])
    points = COURSE.topic("mlp").points
    assert scores["reference"]["mlp"][:2] == (points, points), scores["reference"]["mlp"][2]
    assert scores["blank"]["mlp"][:2] == (0, points)
    for student in ("reference", "blank"):
        assert _our_scores(course_dir, student, ["mlp"], tmp_path) == {"mlp": scores[student]["mlp"][0]}, student
