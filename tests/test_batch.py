"""Batch grading of a generated class: one row per entry, the scores of single grading, feedback,
the class report, an interrupted run that resumes, and no process left behind.

The class has every kind of entry the instructor meets: correct, partial, blank and wrong work,
a zip, a zip with nested folders, a corrupt zip, a zip-slip attempt, an empty folder, a syntax
error, a stray file and a hostile submission (an endless loop, ``os._exit`` and modules that start
processes, one of them a daemon that leaves its process group). The class is graded on the NumPy
topics ``neurons`` and ``backprop`` (no TensorFlow, no training), with a small call budget so the
endless loop costs little. The expected scores come from :func:`grade_submission` on each submission alone,
on folders this file makes itself (zips are opened here with ``zipfile``, not with the batch code).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from autograder import course as course_mod
from autograder.batch import Entry, discover, grade_all, materialize, read_gradebook
from autograder.grading import SubmissionError, grade_submission
from autograder.quiet import quiet_env
from autograder.report import check_stats, weakest_table
from autograder.results import validate_gradescope
from autograder.sandbox import limits
from autograder.stubs import make_stub

REPO = Path(__file__).resolve().parents[1]
TOPICS = ["neurons", "backprop"]  # NumPy topics: no TensorFlow anywhere, so the class grades fast
KERAS_TOPICS = ["activations"]  # the warm path with Keras preloaded (marked slow)
CALL_BUDGET = 3  # seconds; each call into the endless loop costs this

SPAWNER = '''

import os as _os
import subprocess as _subprocess
import time as _time

_subprocess.Popen(["sleep", "300"])  # a plain child
if _os.fork() == 0:  # a daemon: new session, outside the worker's process group
    _os.setsid()
    if _os.fork() == 0:
        _time.sleep(300)
    _os._exit(0)
'''

HOSTILE_NEURONS = '''

def mlp_forward(x, params, hidden_activation, output_activation):
    while True:
        pass


def count_parameters(layer_sizes):
    import os
    os._exit(3)
'''

HOSTILE_ACTIVATIONS = '''

def sigmoid_derivative(z):
    while True:
        pass


def relu_derivative(z):
    import os
    os._exit(3)
'''

WRONG_COUNT = '''

def count_parameters(layer_sizes):
    return sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))  # forgets the biases
'''


# --------------------------------------------------------------------------------------------------
# The class
# --------------------------------------------------------------------------------------------------


def _solution(topic: str) -> str:
    return (REPO / "solutions" / f"{topic}.py").read_text(encoding="utf-8")


def _stub(topic: str) -> str:
    return make_stub(_solution(topic), f"{topic}.py")


def _folder(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


@pytest.fixture(scope="module")
def course_root(tmp_path_factory):
    """A copy of the course folder with a small call budget."""
    root = tmp_path_factory.mktemp("course")
    manifest = (REPO / "course.toml").read_text(encoding="utf-8")
    manifest, n = re.subn(r"(?m)^call_budget\s*=.*$", f"call_budget = {CALL_BUDGET}", manifest, count=1)
    assert n == 1, "course.toml has no [course] call_budget"
    (root / "course.toml").write_text(manifest, encoding="utf-8")
    shutil.copytree(REPO / "solutions", root / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "checks", root / "checks", ignore=shutil.ignore_patterns("__pycache__"))  # the course's checks travel with it
    return root


@pytest.fixture(scope="module")
def course(course_root):
    return course_mod.load(course_root)


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """The class folder, and for each expected row the folder that single grading gets (or None)."""
    base = tmp_path_factory.mktemp("class")
    root = base / "submissions"
    oracle = base / "oracle"
    correct = {f"{t}.py": _solution(t) for t in TOPICS}
    blank = {f"{t}.py": _stub(t) for t in TOPICS}
    expect: dict[str, Path | None] = {}

    expect["correct"] = _folder(root / "correct", correct)
    expect["partial"] = _folder(root / "partial", {"neurons.py": correct["neurons.py"], "backprop.py": blank["backprop.py"]})
    expect["blank"] = _folder(root / "blank", blank)
    expect["wrong"] = _folder(root / "wrong", {"neurons.py": correct["neurons.py"] + WRONG_COUNT})
    expect["syntax"] = _folder(root / "syntax", {"neurons.py": correct["neurons.py"], "backprop.py": "def forward(X, params)\n    return X\n"})
    expect["empty"] = _folder(root / "empty", {})
    expect["hostile"] = _folder(root / "hostile", {
        "neurons.py": correct["neurons.py"] + HOSTILE_NEURONS,
        "backprop.py": correct["backprop.py"] + SPAWNER,
    })
    _folder(root / "dave" / "Homework 1", {"neurons.py": correct["neurons.py"], "README.txt": "hi"})
    expect["dave"] = _folder(oracle / "dave", {"neurons.py": correct["neurons.py"]})

    _zip(root / "zipped.zip", correct)
    expect["zipped"] = _folder(oracle / "zipped", correct)
    _zip(root / "nested_zip.zip", {"hw1/submission/backprop.py": correct["backprop.py"],
                                   "hw1/submission/neurons.py": blank["neurons.py"],
                                   "__MACOSX/hw1/._neurons.py": "junk"})
    expect["nested_zip"] = _folder(oracle / "nested_zip", {"backprop.py": correct["backprop.py"], "neurons.py": blank["neurons.py"]})
    _zip(root / "zipslip.zip", {"../escaped/neurons.py": correct["neurons.py"], "/tmp/abs_neurons/neurons.py": correct["neurons.py"],
                                "backprop.py": correct["backprop.py"]})
    expect["zipslip"] = _folder(oracle / "zipslip", {"backprop.py": correct["backprop.py"]})
    good = (root / "zipped.zip").read_bytes()
    (root / "corrupt.zip").write_bytes(good[: len(good) // 2])
    expect["corrupt"] = None
    (root / "notes.txt").write_text("not a submission", encoding="utf-8")  # no row: named once in the output
    (root / ".DS_Store").write_text("ignored", encoding="utf-8")
    return root, dict(sorted(expect.items(), key=lambda kv: kv[0].lower()))


# --------------------------------------------------------------------------------------------------
# Running the command and watching its processes
# --------------------------------------------------------------------------------------------------


class Watched:
    """A ``grade-all`` subprocess plus every process seen below it (polled until it ends)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade-all", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        try:
            me = psutil.Process(self.proc.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                for p in [me, *me.children(recursive=True)]:
                    self.seen.setdefault(p.pid, p.create_time())
            except psutil.Error:
                pass
            if self.proc.poll() is not None:
                return
            time.sleep(0.05)

    def wait(self, timeout: float = 900) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        self._stop.set()
        self._thread.join()
        return self.proc.returncode, out, err

    def kill(self) -> None:
        self.proc.kill()
        self.wait()


def _alive(seen: dict[int, float], marker: str = "") -> list[str]:
    """Processes from ``seen`` (same pid and start time) still running, plus any whose command
    line names ``marker`` (the sandboxes' bubblewrap lists the folders it hides)."""
    left = []
    for p in psutil.process_iter(["pid", "create_time", "status", "cmdline"]):
        try:
            if p.info["status"] == psutil.STATUS_ZOMBIE or p.pid == os.getpid():
                continue
            ours = seen.get(p.pid) == p.info["create_time"]
            named = bool(marker) and marker in " ".join(p.info["cmdline"] or [])
            if ours or named:
                left.append(f"{p.pid} {' '.join(p.info['cmdline'] or [])[:120]}")
        except psutil.Error:
            continue
    return left


def _none_left(seen: dict[int, float], marker: str, grace: float = 15.0) -> None:
    deadline = time.monotonic() + grace
    while _alive(seen, marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(seen, marker), "processes left running:\n" + "\n".join(_alive(seen, marker))


def _env(course_root: Path) -> dict[str, str]:
    return quiet_env(AUTOGRADER_COURSE=str(course_root))


def _args(root: Path, out: Path, jobs: int = 2, topics: list[str] = TOPICS) -> list[str]:
    return [str(root), "--out", str(out), "--jobs", str(jobs), "--no-progress", *[a for t in topics for a in ("--topic", t)]]


@pytest.fixture(scope="module")
def batch(klass, course_root, tmp_path_factory):
    """One uninterrupted ``grade-all`` run: (output folder, stdout, processes seen)."""
    root, _ = klass
    out = tmp_path_factory.mktemp("out") / "run"
    run = Watched(_args(root, out), _env(course_root))
    code, stdout, stderr = run.wait()
    assert code == 0, f"grade-all failed ({code}):\n{stdout}\n{stderr}"
    return out, stdout, run.seen


@pytest.fixture(scope="module")
def single(klass, course):
    """Each entry graded alone, in this process, the way ``autograder grade`` does it."""
    _, expect = klass
    out = {}
    for name, folder in expect.items():
        out[name] = grade_submission(folder, course=course, topics=TOPICS, name=name) if folder else None
    sandboxes = [p for p in psutil.Process().children(recursive=True) if "AUTOGRADER_SANDBOX" in _environ(p)]
    assert not sandboxes, f"single grading left sandboxes running: {sandboxes}"
    return out


def _environ(p: psutil.Process) -> dict:
    try:
        return p.environ()
    except psutil.Error:
        return {}


def _rows(out: Path) -> dict[str, dict[str, str]]:
    return {r["submission"]: r for r in read_gradebook(out / "gradebook.csv")}


# --------------------------------------------------------------------------------------------------
# The uninterrupted run
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_one_row_per_entry_in_order(batch, klass):
    out, _, _ = batch
    rows = read_gradebook(out / "gradebook.csv")
    assert [r["submission"] for r in rows] == list(klass[1])
    from autograder.term import GRADEBOOK_COLUMNS

    assert list(rows[0]) == ["submission", "score", "max_score", *TOPICS, "error", *GRADEBOOK_COLUMNS]
    assert all(r["raw"] == r["score"] == r["final"] and r["penalty"] == "0.0" for r in rows)  # no policy, no overrides


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_scores_equal_single_grading(batch, single, course):
    out, _, _ = batch
    rows = _rows(out)
    for name, result in single.items():
        row = rows[name]
        if result is None:
            assert float(row["score"]) == 0 and row["error"], f"{name}: an unreadable entry needs a zero and a reason"
            continue
        assert float(row["score"]) == result.total, name
        assert float(row["max_score"]) == result.possible == sum(course.topic(t).points for t in TOPICS), name
        for topic in TOPICS:
            assert float(row[topic]) == result.by_topic()[topic].points, (name, topic)
        stored = json.loads((out / "submissions" / name / "result.json").read_text())["result"]
        assert [(c["id"], c["status"]) for c in stored["checks"]] == [(c.id, c.status) for c in result.checks], name


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_scores_mean_what_they_should(single, batch):
    """Independent of the batch code: what each kind of entry must score."""
    out, _, _ = batch
    rows = _rows(out)
    full = {t: sum(c.max_points for c in single["correct"].checks_of(t)) for t in TOPICS}
    assert all(full.values()), "the course has no checks for a graded topic"
    assert single["correct"].total == sum(full.values())
    for name in ("zipped",):
        assert single[name].total == single["correct"].total
    assert single["partial"].by_topic()["neurons"].points == full["neurons"]
    assert single["partial"].by_topic()["backprop"].points == 0
    assert single["blank"].total == 0 and {c.status for c in single["blank"].checks} == {"not_attempted"}
    assert single["empty"].total == 0 and {c.status for c in single["empty"].checks} == {"not_submitted"}
    assert single["syntax"].by_topic()["backprop"].points == 0
    assert single["syntax"].by_topic()["neurons"].points == full["neurons"]
    assert 0 < single["wrong"].total < full["neurons"]
    assert single["dave"].total == full["neurons"]
    assert single["nested_zip"].total == full["backprop"]
    assert single["zipslip"].total == full["backprop"]
    hostile = {c.id: c.status for c in single["hostile"].checks}
    assert "timeout" in hostile.values() and "crashed" in hostile.values(), hostile
    assert single["hostile"].by_topic()["neurons"].points < full["neurons"]
    assert single["hostile"].by_topic()["backprop"].points == full["backprop"], "starting processes is not an error"
    assert "zip" in rows["corrupt"]["error"] and "notes.txt" not in rows
    assert rows["empty"]["error"].startswith("nothing to grade"), rows["empty"]


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_summary_counts_add_up_and_the_stray_file_is_named_once(batch, klass):
    """Graded now + unchanged = scored + nothing gradable + unfinished = the entries; notes.txt: no row, one line."""
    _, stdout, _ = batch
    n = len(klass[1])
    assert f"{n} submissions: {n} graded in this run, 0 unchanged since an earlier run" in stdout, stdout
    assert f"of the {n}: {n - 2} scored, 2 with nothing gradable" in stdout and "0 unfinished" in stdout, stdout  # corrupt.zip, empty/
    assert stdout.count("notes.txt") == 1 and "notes.txt: not a folder or a .zip" in stdout, stdout


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_zip_slip_writes_nothing_outside(batch, klass):
    root, _ = klass
    assert not (root.parent / "escaped").exists()
    assert not Path("/tmp/abs_neurons").exists()


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_feedback_and_gradescope_files(batch, single):
    out, _, _ = batch
    for name, result in single.items():
        folder = out / "submissions" / name
        doc = json.loads((folder / "results.json").read_text())
        validate_gradescope(doc)
        feedback = (folder / "feedback.md").read_text()
        if result is None:
            assert doc["score"] == 0 and "could not be graded" in feedback
            continue
        assert doc["score"] == result.total
        assert sum(t["max_score"] for t in doc["tests"]) == sum(c.max_points for c in result.checks)
        total, possible = f"{result.total:g}", f"{result.possible:g}"
        assert f"Score: {total} / {possible} points" in feedback, name


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_class_report(batch, single):
    out, stdout, _ = batch
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    results = [r for r in single.values() if r is not None]
    totals = sorted([r.total for r in results] + [0.0])  # + corrupt
    cells = re.search(r'<table id="scores">.*?</tr>\s*<tr>(.*?)</tr>', page, re.S).group(1)
    numbers = [float(x) for x in re.findall(r'<td class="n">([\d.]+)</td>', cells)]
    assert numbers[0] == len(totals) and numbers[1] == 2
    assert numbers[3] == pytest.approx(sum(totals) / len(totals), abs=0.01)
    assert numbers[5:] == [totals[0], totals[-1]]
    table = weakest_table(check_stats(results))
    assert html.escape(table) in page
    assert table.splitlines()[2] in stdout  # the weakest check is printed at the end too


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_no_process_left(batch):
    out, _, seen = batch
    assert len(seen) > 3, "the run was not watched"
    _none_left(seen, str(out))


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_rerun_skips_unchanged_and_regrades_changed(batch, klass, course, tmp_path):
    """In process: the same API as the command; an unchanged class costs no worker at all."""
    root, _ = klass
    out, _, _ = batch
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    before = (copy / "gradebook.csv").read_text()
    summary = grade_all(root, copy, jobs=1, topics=TOPICS, course=course, progress=False)
    assert (summary.graded, summary.skipped) == (0, len(klass[1]))
    assert (copy / "gradebook.csv").read_text() == before
    # the blank student hands in the correct neurons: only that row is graded again
    changed = tmp_path / "class"
    shutil.copytree(root, changed)
    shutil.copy(REPO / "solutions" / "neurons.py", changed / "blank" / "neurons.py")
    summary = grade_all(changed, copy, jobs=1, topics=TOPICS, course=course, progress=False)
    assert (summary.graded, summary.skipped) == (1, len(klass[1]) - 1)
    rows = _rows(copy)
    assert float(rows["blank"]["neurons"]) == float(_rows(out)["correct"]["neurons"])


# --------------------------------------------------------------------------------------------------
# Killed mid-way, then resumed
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_killed_run_resumes_to_the_same_gradebook(batch, klass, course_root, tmp_path):
    root, expect = klass
    out = tmp_path / "out"
    run = Watched(_args(root, out), _env(course_root))
    deadline = time.monotonic() + 600
    while not list(out.glob("submissions/*/result.json")) and time.monotonic() < deadline and run.proc.poll() is None:
        time.sleep(0.05)
    assert run.proc.poll() is None, "the run finished before it could be killed"
    run.kill()  # SIGKILL: the main process gets no chance to clean up
    kept = {p.parent.name: p.read_text() for p in out.glob("submissions/*/result.json")}
    assert 0 < len(kept) < len(expect)
    assert not (out / "gradebook.csv").exists()
    _none_left(run.seen, str(out))
    for text in kept.values():  # every record there is whole (written atomically)
        assert json.loads(text)["result"]["submission"]

    again = Watched(_args(root, out), _env(course_root))
    code, stdout, stderr = again.wait()
    assert code == 0, stderr
    done = {p.parent.name: p.read_text() for p in out.glob("submissions/*/result.json")}
    assert all(done[name] == text for name, text in kept.items()), "a finished submission was graded again"
    assert f"{len(kept)} unchanged since an earlier run" in stdout
    assert (out / "gradebook.csv").read_text() == (batch[0] / "gradebook.csv").read_text()
    _none_left(again.seen, str(out))


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_ctrl_c_stops_at_once_and_cleans_up(klass, course_root, tmp_path):
    root, _ = klass
    out = tmp_path / "out"
    run = Watched(_args(root, out), _env(course_root))
    deadline = time.monotonic() + 600
    while not list(out.glob("submissions/*/result.json")) and time.monotonic() < deadline and run.proc.poll() is None:
        time.sleep(0.05)
    assert run.proc.poll() is None, "the run finished before it could be interrupted"
    run.proc.send_signal(signal.SIGINT)
    code, _, stderr = run.wait(timeout=60)
    assert code == 130, stderr
    assert "interrupted" in stderr
    _none_left(run.seen, str(out))
    # the job processes, stopped mid-submission, removed the worker cgroups they held (limits.remove_all)
    support = limits.cgroup_support()
    held = [c for parent in support.parents.values() for c in parent.glob(limits.PREFIX + "*")
            if c.name[len(limits.PREFIX):].partition("-")[0] in {str(pid) for pid in run.seen}]
    assert not held, f"worker cgroups left by the interrupted run: {held}"


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_a_job_process_killed_mid_run_loses_no_row(batch, klass, course_root, tmp_path):
    """The pool breaks; the submissions it held are graded again in a fresh pool."""
    root, _ = klass
    out = tmp_path / "out"
    run = Watched(_args(root, out), _env(course_root))
    jobs: list[psutil.Process] = []
    deadline = time.monotonic() + 600
    while not jobs and time.monotonic() < deadline and run.proc.poll() is None:
        try:
            jobs = [p for p in psutil.Process(run.proc.pid).children() if "spawn_main" in " ".join(p.cmdline())]
        except psutil.Error:
            pass
        time.sleep(0.05)
    while not list(out.glob("submissions/*/result.json")) and time.monotonic() < deadline and run.proc.poll() is None:
        time.sleep(0.05)
    jobs[0].kill()
    code, stdout, stderr = run.wait()
    assert code == 0, stderr
    assert (out / "gradebook.csv").read_text() == (batch[0] / "gradebook.csv").read_text()
    _none_left(run.seen, str(out))


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_one_run_at_a_time_per_output_folder(klass, course, tmp_path):
    from autograder.batch import BatchError, _lock

    out = tmp_path / "out"
    out.mkdir()
    with _lock(out), pytest.raises(BatchError, match="another grade-all"):
        grade_all(klass[0], out, topics=TOPICS, course=course, progress=False)
    with pytest.raises(BatchError, match="inside the class folder"):
        grade_all(klass[0], klass[0] / "results", topics=TOPICS, course=course, progress=False)


@pytest.mark.slow
def test_keras_topic_with_warm_workers_scores_as_single_grading(course, course_root, tmp_path):
    """Each job's fork server has Keras imported; the scores are those of single grading."""
    root = tmp_path / "class"
    entries = {
        "blank": {"activations.py": _stub("activations")},
        "correct": {"activations.py": _solution("activations")},
        "hostile": {"activations.py": _solution("activations") + HOSTILE_ACTIVATIONS},
    }
    for name, files in entries.items():
        _folder(root / name, files)
    out = tmp_path / "out"
    run = Watched(_args(root, out, topics=KERAS_TOPICS), _env(course_root))
    code, stdout, stderr = run.wait()
    assert code == 0, f"{stdout}\n{stderr}"
    rows = _rows(out)
    assert list(rows) == list(entries)
    for name in entries:
        single = grade_submission(root / name, course=course, topics=KERAS_TOPICS, name=name)
        stored = json.loads((out / "submissions" / name / "result.json").read_text())["result"]
        assert float(rows[name]["score"]) == single.total, name
        assert [(c["id"], c["status"]) for c in stored["checks"]] == [(c.id, c.status) for c in single.checks], name
        if name == "correct":
            assert single.total == sum(c.max_points for c in single.checks) > 0
    statuses = {c["status"] for c in json.loads((out / "submissions" / "hostile" / "result.json").read_text())["result"]["checks"]}
    assert {"timeout", "crashed", "passed"} <= statuses
    _none_left(run.seen, str(out))


# --------------------------------------------------------------------------------------------------
# Finding and reading entries (no grading)
# --------------------------------------------------------------------------------------------------


def test_nbgrader_layout(tmp_path):
    for student, assignments in {"ada": ["ps1"], "bob": ["ps1", "ps2"]}.items():
        for a in assignments:
            _folder(tmp_path / "submitted" / student / a, {"neurons.py": "x = 1\n", "timestamp.txt": "2024"})
    _folder(tmp_path / "source" / "ps1", {"neurons.py": "solution"})
    entries = discover(tmp_path)
    assert [(e.name, e.source.relative_to(tmp_path).as_posix()) for e in entries] == [
        ("ada-ps1", "submitted/ada/ps1"), ("bob-ps1", "submitted/bob/ps1"), ("bob-ps2", "submitted/bob/ps2")]
    (tmp_path / "submitted" / "cy").mkdir()  # nothing handed in: still a row
    shutil.rmtree(tmp_path / "submitted" / "bob" / "ps2")
    assert [e.name for e in discover(tmp_path / "submitted")] == ["ada", "bob", "cy"]


def test_gradescope_export_layout(tmp_path):
    (tmp_path / "submission_metadata.yml").write_text("submission_1:\n  :submitters: []\n")
    _folder(tmp_path / "submission_1", {"neurons.py": "x = 1\n"})
    _folder(tmp_path / "submission_2", {})
    assert [(e.name, e.kind) for e in discover(tmp_path)] == [("submission_1", "folder"), ("submission_2", "folder")]


def test_names_are_unique_and_safe(tmp_path):
    _folder(tmp_path / "alice", {})
    _zip(tmp_path / "alice.zip", {})
    _folder(tmp_path / "=cmd", {})
    entries = discover(tmp_path)
    assert [e.name for e in entries] == ["=cmd", "alice", "alice.zip"]
    assert len({e.slug for e in entries}) == 3 and all("/" not in e.slug for e in entries)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_materialize_limits_and_ambiguity(tmp_path):
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("neurons.py", "#" * (3 * 2**20))  # compresses to a few KiB
    folder = materialize(Entry("big", big, "zip", "big"), tmp_path / "big", TOPICS)
    assert (folder / "neurons.py").stat().st_size == 2**20 + 1  # read no further than needed
    result = grade_submission(folder, topics=["neurons"], name="big")
    assert result.total == 0 and [n for n in result.notes if "larger than" in n] == result.notes != []  # named once
    assert not any("larger than" in c.feedback for c in result.checks)
    two = _zip(tmp_path / "two.zip", {"a/neurons.py": "", "b/backprop.py": ""})
    with pytest.raises(SubmissionError, match="several folders"):
        materialize(Entry("two", two, "zip", "two"), tmp_path / "two", TOPICS)
    link = _folder(tmp_path / "linked", {})
    (link / "neurons.py").symlink_to(REPO / "solutions" / "neurons.py")
    assert not list(materialize(Entry("l", link, "folder", "l"), tmp_path / "l", TOPICS).iterdir())
