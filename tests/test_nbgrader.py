"""nbgrader grades with the course's own checks, and every route gives the same per-topic points.

The real nbgrader runs: generate_assignment, autograde --force, export, generate_feedback. Each case
is a module text (the reference, the blank stub, a mutant with mistakes, a correct alternative);
it is graded four ways: as ``<topic>.py``, as ``<topic>.ipynb`` (the exercise notebook with the
answer cells filled in), through nbgrader (the released notebook's solution cells filled in), and by
the Gradescope bundle (the ``.ipynb`` submitted). NumPy topics keep it affordable.
"""

import ast
import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import course as course_mod
from autograder.grading import grade_submission
from autograder.nbgrader_export import CELL_TIMEOUT, check_points, export, grade_timeout
from autograder.notebooks import ANSWER_TAG, exercise_notebook, notebook_text
from autograder.quiet import QUIET_TENSORFLOW
from autograder.stubs import BEGIN, make_stub, solution_lines

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader")

COURSE = course_mod.load()
ASSIGNMENT = "ps1"
NUMPY_TOPICS = ["neurons", "backprop"]
ROOT = Path(__file__).resolve().parents[1]


def _solution(topic: str) -> str:
    return (COURSE.solutions_dir / f"{topic}.py").read_text(encoding="utf-8")


def _mutate(topic: str, pairs) -> str:
    text = _solution(topic)
    for old, new in pairs:
        assert old in text, f"the mutation {old!r} of {topic} no longer applies; update the case"
        text = text.replace(old, new)
    return text


#: {student: {topic: module text}}. The mutant drops the bias and ignores the seed (neurons) and
#: forgets the 1/N of the output gradient (backprop); the alternative writes count_parameters and
#: the backprop sigmoid another, correct, way.
CASES = {
    "reference": {t: _solution(t) for t in NUMPY_TOPICS},
    "blank": {t: make_stub(_solution(t), f"{t}.py") for t in NUMPY_TOPICS},
    "mutant": {
        "neurons": _mutate("neurons", [("return activation(x @ W + b)", "return activation(x @ W)"),
                                       ("rng = np.random.default_rng(seed)", "rng = np.random.default_rng(0)")]),
        "backprop": _mutate("backprop", [("dz2 = (p - np.asarray(y_onehot, dtype=float)) / len(X)", "dz2 = p - np.asarray(y_onehot, dtype=float)")]),
    },
    "alternative": {
        "neurons": _mutate("neurons", [(
            "return int(sum(n_in * n_out + n_out for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:])))",
            "total = 0\n    for i in range(len(layer_sizes) - 1):\n        total += (layer_sizes[i] + 1) * layer_sizes[i + 1]\n    return total")]),
        "backprop": _solution("backprop"),
    },
}


def _functions(text: str) -> dict[str, str]:
    """Top-level functions of a module text, by name, as source."""
    return {n.name: ast.get_source_segment(text, n) for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}


def _env(tmp: Path) -> dict:
    """nbgrader and its kernels run with the venv's Python and this checkout, and keep their files under ``tmp``."""
    env = dict(os.environ)
    for name in ("HOME", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR"):
        (tmp / name.lower()).mkdir(parents=True, exist_ok=True)
        env[name] = str(tmp / name.lower())
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader calls alembic
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.update(QUIET_TENSORFLOW, KERAS_HOME=str(tmp / "keras"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("AUTOGRADER_COURSE", None)
    return env


def _ensure_kernel(env: dict) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" not in KernelSpecManager().find_kernel_specs():
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix"], env=env, check=True, capture_output=True)


def _nbgrader(course_dir: Path, env: dict, *args: str, timeout: int = 900) -> str:
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-5000:]}"
    return run.stdout + run.stderr


def _nbgrader_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _submit_nbgrader(course_dir: Path, student: str, modules: dict[str, str]) -> None:
    """The released notebooks, each solution cell replaced by the case's function of that name."""
    folder = course_dir / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    for topic, text in modules.items():
        functions = _functions(text)
        nb = nbformat.read(str(course_dir / "release" / ASSIGNMENT / f"{topic}.ipynb"), as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = functions[_nbgrader_id(cell)[len(topic) + 1:]]
        nbformat.write(nb, str(folder / f"{topic}.ipynb"))


def _exercise_notebook(topic: str, text: str) -> str:
    """The exercise notebook with each answer cell holding the case's function, plus exploratory code."""
    nb = exercise_notebook(_solution(topic), topic, topic)
    functions = _functions(text)
    for cell in nb.cells:
        if ANSWER_TAG in cell.metadata.get("tags", []):
            cell.source = functions[_functions(cell.source).popitem()[0]]
    nb.cells.append(nbformat.v4.new_code_cell("%matplotlib inline\nresult = forward(X)\nprint(input())"))
    return notebook_text(nb)


def _gradebook_scores(course_dir: Path, students, topics) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        return {s: {t: (gb.find_submission_notebook(t, ASSIGNMENT, s).score, gb.find_submission_notebook(t, ASSIGNMENT, s).max_score)
                    for t in topics} for s in students}


STATUSES: dict = {}


def _graded(folder: Path, topics) -> dict:
    result = grade_submission(folder, course=COURSE, topics=topics)
    STATUSES[str(folder)] = [(c.id, c.status, c.feedback[:120]) for c in result.checks if c.status != "passed"]
    return {name: summary.points for name, summary in result.by_topic().items()}


def _gradescope(bundle: Path, root: Path, files: dict[str, str]) -> dict:
    source = root / "source"
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            zf.extract(info, source)
            os.chmod(source / info.filename, (info.external_attr >> 16) & 0o777)
    (root / "submission").mkdir(parents=True)
    for name, text in files.items():
        (root / "submission" / name).write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TMPDIR")}
    env.update(AUTOGRADER_GS_ROOT=str(root), AUTOGRADER_GS_PYTHON=sys.executable, HOME=str(root))
    run = subprocess.run([str(source / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    doc = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    points = {}
    for test in doc["tests"]:
        topic = test["tags"][0]
        points[topic] = points.get(topic, 0) + test["score"]
    return points


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    env = _env(tmp)
    _ensure_kernel(env)
    course_dir = export(tmp / "course", course=COURSE, assignment=ASSIGNMENT, topics=NUMPY_TOPICS)
    _nbgrader(course_dir, env, "generate_assignment", ASSIGNMENT, "--force")
    for student, modules in CASES.items():
        _submit_nbgrader(course_dir, student, modules)
    _nbgrader(course_dir, env, "autograde", ASSIGNMENT, "--force")
    _nbgrader(course_dir, env, "export")
    _nbgrader(course_dir, env, "generate_feedback", ASSIGNMENT, "--force")
    return course_dir, tmp


def test_notebooks_hold_no_test_code_and_points_come_from_the_check_markers(tmp_path):
    course_dir = export(tmp_path / "course", course=COURSE, assignment=ASSIGNMENT, topics=["neurons", "mlp"])
    for topic in ("neurons", "mlp"):
        nb = nbformat.read(str(course_dir / "source" / ASSIGNMENT / f"{topic}.ipynb"), as_version=4)
        grades = [c for c in nb.cells if c.metadata["nbgrader"]["grade"]]
        assert len(grades) == 1 and "grade_cell(" in grades[0].source
        assert grades[0].metadata["nbgrader"]["points"] == check_points(COURSE, topic) == COURSE.topic(topic).points
        text = json.dumps(nb)
        assert "assert" not in text and "HIDDEN" not in text and "default_rng(1" not in text
    assert grade_timeout(COURSE.topic("neurons")) == CELL_TIMEOUT
    assert grade_timeout(COURSE.topic("mlp")) > CELL_TIMEOUT


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_released_notebooks_hold_no_solution(round_trip):
    course_dir, _ = round_trip
    for topic in NUMPY_TOPICS:
        secrets = {s for s in solution_lines(_solution(topic)) if len(s) > 3}
        text = (course_dir / "release" / ASSIGNMENT / f"{topic}.ipynb").read_text(encoding="utf-8")
        assert BEGIN not in text
        lines = {line.strip() for cell in nbformat.reads(text, as_version=4).cells for line in cell.source.splitlines()}
        assert not secrets & lines, f"{topic}: {sorted(secrets & lines)[:5]}"


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_nbgrader_gives_full_marks_zero_and_partial_credit(round_trip):
    course_dir, _ = round_trip
    with open(course_dir / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    total = sum(COURSE.topic(t).points for t in NUMPY_TOPICS)
    assert float(rows["reference"]["score"]) == float(rows["reference"]["max_score"]) == total
    assert float(rows["alternative"]["score"]) == total
    assert float(rows["blank"]["score"]) == 0
    mutant = _gradebook_scores(course_dir, ["mutant"], NUMPY_TOPICS)["mutant"]
    for topic in NUMPY_TOPICS:
        assert 0 < mutant[topic][0] < COURSE.topic(topic).points, (topic, mutant[topic])


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_every_route_gives_the_same_points_per_topic(round_trip, tmp_path):
    """.py, .ipynb, nbgrader and the Gradescope bundle agree, case by case and topic by topic."""
    from autograder.gradescope import build_bundle

    course_dir, _ = round_trip
    nbgrader = _gradebook_scores(course_dir, list(CASES), NUMPY_TOPICS)
    bundle = build_bundle(tmp_path / "autograder.zip", course=COURSE, topics=NUMPY_TOPICS)
    for student, modules in CASES.items():
        py, ipynb = tmp_path / student / "py", tmp_path / student / "ipynb"
        py.mkdir(parents=True)
        ipynb.mkdir(parents=True)
        notebooks = {}
        for topic, text in modules.items():
            (py / f"{topic}.py").write_text(text, encoding="utf-8")
            notebooks[f"{topic}.ipynb"] = _exercise_notebook(topic, text)
            (ipynb / f"{topic}.ipynb").write_text(notebooks[f"{topic}.ipynb"], encoding="utf-8")
        routes = {
            ".py": _graded(py, NUMPY_TOPICS),
            ".ipynb": _graded(ipynb, NUMPY_TOPICS),
            "nbgrader": {t: nbgrader[student][t][0] for t in NUMPY_TOPICS},
            "gradescope": _gradescope(bundle, tmp_path / student / "gs", notebooks),
        }
        assert len({json.dumps(r, sort_keys=True) for r in routes.values()}) == 1, (student, routes, STATUSES)


def _hidden_check_lines() -> set[str]:
    """Code lines of the hidden checks (not their docstrings, which are the checks' titles, nor hints)."""
    lines = set()
    for topic in NUMPY_TOPICS:
        text = (COURSE.checks_dir / "hidden" / f"test_{topic}.py").read_text(encoding="utf-8")
        shown = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.Module)) and ast.get_docstring(node):
                first = node.body[0]
                shown |= set(range(first.lineno, first.end_lineno + 1))
            if isinstance(node, ast.FunctionDef):
                for deco in node.decorator_list:
                    shown |= set(range(deco.lineno, deco.end_lineno + 1))
        for no, line in enumerate(text.splitlines(), start=1):
            s = line.strip()
            if no not in shown and len(s) > 12 and not s.startswith(("#", "import ", "from ", "def ", "return ", '"')):
                lines.add(s)
    return lines


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_feedback_never_shows_hidden_check_code(round_trip):
    course_dir, _ = round_trip
    secrets = _hidden_check_lines()
    assert len(secrets) > 20 and any("default_rng(" in line for line in secrets)  # seeded inputs are looked for
    seen_table = False
    for student in ("blank", "mutant"):
        for topic in NUMPY_TOPICS:
            html = (course_dir / "feedback" / student / ASSIGNMENT / f"{topic}.html").read_text(encoding="utf-8")
            import html as html_mod

            text = html_mod.unescape(re.sub(r"<[^>]+>", "", html))
            own = {line.strip() for line in CASES[student][topic].splitlines()}  # the student's code is theirs to see
            leaked = [s for s in secrets - own if s in text]
            assert not leaked, f"{student}/{topic}: {leaked[:5]}"
            seen_table = seen_table or ("Check" in text and "Points" in text)
    assert seen_table, "the feedback shows the table of checks"


@pytest.mark.slow
def test_keras_topic_round_trip_equals_autograder_grade(tmp_path):
    """One Keras topic with training: nbgrader's grade cell gives what ``autograder grade`` gives."""
    env = _env(tmp_path)
    _ensure_kernel(env)
    course_dir = export(tmp_path / "course", course=COURSE, assignment=ASSIGNMENT, topics=["mlp"])
    _nbgrader(course_dir, env, "generate_assignment", ASSIGNMENT, "--force")
    cases = {"reference": _solution("mlp"), "blank": make_stub(_solution("mlp"), "mlp.py")}
    for student, text in cases.items():
        _submit_nbgrader(course_dir, student, {"mlp": text})
    _nbgrader(course_dir, env, "autograde", ASSIGNMENT, "--force")
    scores = _gradebook_scores(course_dir, list(cases), ["mlp"])
    points = COURSE.topic("mlp").points
    assert scores["reference"]["mlp"] == (points, points)
    assert scores["blank"]["mlp"] == (0, points)
    folder = tmp_path / "py"
    folder.mkdir()
    (folder / "mlp.py").write_text(cases["reference"], encoding="utf-8")
    assert _graded(folder, ["mlp"]) == {"mlp": points}
