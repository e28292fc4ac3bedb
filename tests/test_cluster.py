"""Grading a class on Dask (``grade-all --cluster``): the same per-check results as the local path,
a worker killed mid-submission that loses no row and charges no student, an interrupted client
that resumes, an unreachable scheduler that is a clear error, and what travels to the workers.

Real ``distributed`` clusters on loopback only (127.0.0.1), two worker processes, the NumPy
topics ``neurons`` and ``backprop`` (no TensorFlow). The expected results come from the local
``grade_all`` (job processes) on the same class.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import psutil
import pytest

distributed = pytest.importorskip("distributed")  # declared in the `test` extra; absent only outside CI

from autograder import course as course_mod  # noqa: E402
from autograder.batch import BatchError, Entry, _Job, _Task, _with_content, grade_all, read_gradebook  # noqa: E402
from autograder.cluster import CourseMismatch, CoursePlugin, course_bundle, package_fingerprint  # noqa: E402
from autograder.quiet import quiet_env  # noqa: E402
from autograder.stubs import make_stub  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOPICS = ["neurons", "backprop"]
CALL_BUDGET = 3  # seconds; the endless loop of the hostile entry costs this per call
SLEEP = 6  # seconds the sleeper's first call takes (less than the kill test's call budget)

HOSTILE = '''

def mlp_forward(x, params, hidden_activation, output_activation):
    while True:
        pass


def count_parameters(layer_sizes):
    import os
    os._exit(3)
'''

WRONG_COUNT = '''

def count_parameters(layer_sizes):
    return sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))  # forgets the biases
'''

SLEEPER = f'''

_slept = []
_dense_forward = dense_forward


def dense_forward(x, W, b, activation):
    if not _slept:  # the first call is slow: the test kills the Dask worker grading it meanwhile
        _slept.append(1)
        import time
        time.sleep({SLEEP})
    return _dense_forward(x, W, b, activation)
'''


def _solution(topic: str) -> str:
    return (REPO / "solutions" / f"{topic}.py").read_text(encoding="utf-8")


def _folder(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def _course_copy(root: Path, call_budget: float) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    manifest = (REPO / "course.toml").read_text(encoding="utf-8")
    manifest, n = re.subn(r"(?m)^call_budget\s*=.*$", f"call_budget = {call_budget}", manifest, count=1)
    assert n == 1
    (root / "course.toml").write_text(manifest, encoding="utf-8")
    shutil.copytree(REPO / "solutions", root / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "checks", root / "checks", ignore=shutil.ignore_patterns("__pycache__"))  # the course's checks travel with it
    return root


@pytest.fixture(scope="module")
def course_root(tmp_path_factory):
    return _course_copy(tmp_path_factory.mktemp("course"), CALL_BUDGET)


@pytest.fixture(scope="module")
def course(course_root):
    return course_mod.load(course_root)


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """Correct, partial, blank, wrong and hostile work, a syntax error, a zip, a corrupt zip, a stray file."""
    root = tmp_path_factory.mktemp("class") / "submissions"
    correct = {f"{t}.py": _solution(t) for t in TOPICS}
    blank = {f"{t}.py": make_stub(_solution(t), f"{t}.py") for t in TOPICS}
    _folder(root / "correct", correct)
    _folder(root / "partial", {"neurons.py": correct["neurons.py"], "backprop.py": blank["backprop.py"]})
    _folder(root / "blank", blank)
    _folder(root / "wrong", {"neurons.py": correct["neurons.py"] + WRONG_COUNT})
    _folder(root / "syntax", {"neurons.py": correct["neurons.py"], "backprop.py": "def forward(X, params)\n    return X\n"})
    _folder(root / "hostile", {"neurons.py": correct["neurons.py"] + HOSTILE, "backprop.py": correct["backprop.py"]})
    with zipfile.ZipFile(root / "zipped.zip", "w") as zf:
        zf.writestr("hw/neurons.py", correct["neurons.py"])
    good = (root / "zipped.zip").read_bytes()
    (root / "corrupt.zip").write_bytes(good[: len(good) // 2])
    (root / "notes.txt").write_text("not a submission", encoding="utf-8")
    return root


def _env(course_root: Path) -> dict[str, str]:
    return quiet_env(AUTOGRADER_COURSE=str(course_root))


def _cli(root: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade-all", str(root), "--out", str(out), "--no-progress",
            *[a for t in TOPICS for a in ("--topic", t)], *extra]


def _records(out: Path) -> dict[str, dict]:
    """Each stored record without its timings: key, result, checks (status, points, feedback...)."""
    found = {}
    for path in sorted(out.glob("submissions/*/result.json")):
        record = json.loads(path.read_text())
        result = record["result"]
        result.pop("duration", None)
        for c in result["checks"]:
            c.pop("duration", None)
        found[path.parent.name] = {"key": record["key"], "result": result}
    return found


class Tree:
    """A command plus every process seen below it, polled until it ends."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.seen: dict[int, float] = {}
        self.listening: set[str] = set()  # addresses the process tree listened on
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        try:
            me = psutil.Process(self.proc.pid)
        except psutil.Error:
            return
        while not self._stop.is_set() and self.proc.poll() is None:
            try:
                for p in [me, *me.children(recursive=True)]:
                    self.seen.setdefault(p.pid, p.create_time())
                    self.listening |= {c.laddr.ip for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
            except psutil.Error:
                pass
            time.sleep(0.05)

    def wait(self, timeout: float = 600) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        self._stop.set()
        self._thread.join()
        return self.proc.returncode, out, err


def _alive(seen: dict[int, float]) -> list[str]:
    left = []
    for pid, started in seen.items():
        try:
            p = psutil.Process(pid)
            if p.create_time() == started and p.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{pid} {' '.join(p.cmdline())[:120]}")
        except psutil.Error:
            continue
    return left


def _none_left(seen: dict[int, float], grace: float = 20.0) -> None:
    deadline = time.monotonic() + grace
    while _alive(seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(seen), "processes left running:\n" + "\n".join(_alive(seen))


@pytest.fixture(scope="module")
def local_run(klass, course, tmp_path_factory):
    """The class graded by the local path (two job processes): the expected records."""
    out = tmp_path_factory.mktemp("local") / "out"
    grade_all(klass, out, jobs=2, topics=TOPICS, course=course, progress=False)
    return out


# --------------------------------------------------------------------------------------------------
# The cluster path grades exactly like the local path
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cluster_gives_the_per_check_results_of_a_local_run(klass, course_root, local_run, tmp_path):
    out = tmp_path / "out"
    run = Tree(_cli(klass, out, "--cluster", "local:2"), _env(course_root))
    code, stdout, stderr = run.wait()
    assert code == 0, f"{stdout}\n{stderr}"
    expected, got = _records(local_run), _records(out)
    assert set(got) == set(expected) == {"blank", "correct", "corrupt", "hostile", "partial", "syntax", "wrong", "zipped"}  # notes.txt: no row
    for name in expected:
        assert got[name] == expected[name], name  # same key, same checks, statuses, points and feedback
    assert (out / "gradebook.csv").read_text() == (local_run / "gradebook.csv").read_text()
    assert "zip" in got["corrupt"]["result"]["error"]  # unreadable entries: read on the client, the reason kept
    for name in expected:  # the student's feedback too
        assert (out / "submissions" / name / "feedback.md").read_text() == (local_run / "submissions" / name / "feedback.md").read_text()
    statuses = {c["status"] for c in got["hostile"]["result"]["checks"]}
    assert {"timeout", "crashed", "passed"} <= statuses  # the hostile entry really ran on the workers
    assert (out / "report.html").is_file()
    assert run.listening == {"127.0.0.1"}, f"the local cluster listened beyond loopback: {run.listening}"
    _none_left(run.seen)


@pytest.mark.slow
def test_interrupted_client_resumes_to_the_same_gradebook(klass, course_root, local_run, tmp_path):
    out = tmp_path / "out"
    run = Tree(_cli(klass, out, "--cluster", "local:2"), _env(course_root))
    deadline = time.monotonic() + 300
    while not list(out.glob("submissions/*/result.json")) and time.monotonic() < deadline and run.proc.poll() is None:
        time.sleep(0.05)
    assert run.proc.poll() is None, "the run finished before it could be killed"
    run.proc.kill()  # SIGKILL: no clean-up in the client; its LocalCluster goes with it
    run.wait()
    kept = {p.parent.name: p.read_text() for p in out.glob("submissions/*/result.json")}
    assert 0 < len(kept) < 9 and not (out / "gradebook.csv").exists()
    _none_left(run.seen)

    again = Tree(_cli(klass, out, "--cluster", "local:2"), _env(course_root))
    code, stdout, stderr = again.wait()
    assert code == 0, f"{stdout}\n{stderr}"
    done = {p.parent.name: p.read_text() for p in out.glob("submissions/*/result.json")}
    assert all(done[name] == text for name, text in kept.items()), "a finished submission was graded again"
    assert f"{len(kept)} unchanged since an earlier run" in stdout
    assert (out / "gradebook.csv").read_text() == (local_run / "gradebook.csv").read_text()
    _none_left(again.seen)


# --------------------------------------------------------------------------------------------------
# A worker killed mid-submission, on a scheduler this test runs (the --cluster ADDRESS path)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                                  memory_limit=0, scheduler_kwargs={"allowed_failures": 2, "dashboard_address": "127.0.0.1:0"}) as c:
        yield c


def _sleeper_class(root: Path, others: int) -> Path:
    correct = _solution("neurons")
    _folder(root / "aa_sleeper", {"neurons.py": correct + SLEEPER})
    for i in range(others):
        _folder(root / f"student_{i}", {"neurons.py": correct})
    return root


def _grade_and_kill_the_sleepers_worker(cluster, root: Path, out: Path, course) -> tuple[dict, dict[int, float]]:
    """Grade ``root`` on ``cluster`` in a thread; SIGKILL the Dask worker process while it runs the
    sleeper's slow call. Returns the outcome (``summary`` or ``error``) and the processes that were
    below the killed worker."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["summary"] = grade_all(root, out, cluster=cluster.scheduler_address, topics=["neurons"], course=course, progress=False)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        thread.start()
        victim, deadline = None, time.monotonic() + 120
        while victim is None and time.monotonic() < deadline and thread.is_alive():
            executing = client.run(lambda dask_worker: [str(ts.key) for ts in dask_worker.state.executing])
            victim = next((w for w, keys in executing.items() if any(k.startswith("grade-aa_sleeper-") for k in keys)), None)
            time.sleep(0.1)
        assert victim is not None, "the sleeper was never seen grading"
        time.sleep(2)  # well inside the sleeper's slow first call
        worker = psutil.Process(pids[victim])
        below = {p.pid: p.create_time() for p in worker.children(recursive=True)}
        assert below, "the worker has no fork server"
        worker.kill()
        thread.join(timeout=300)
    assert not thread.is_alive() and "error" not in outcome, outcome
    assert not psutil.pid_exists(pids[victim]) or psutil.Process(pids[victim]).status() == psutil.STATUS_ZOMBIE
    return outcome, below


@pytest.mark.slow
def test_a_worker_killed_mid_submission_loses_no_row_and_charges_no_student(cluster, tmp_path):
    course = course_mod.load(_course_copy(tmp_path / "course", call_budget=SLEEP + 6))
    root = _sleeper_class(tmp_path / "class", others=3)
    out = tmp_path / "out"
    outcome, below = _grade_and_kill_the_sleepers_worker(cluster, root, out, course)
    rows = {r["submission"]: r for r in read_gradebook(out / "gradebook.csv")}
    assert sorted(rows) == ["aa_sleeper", "student_0", "student_1", "student_2"]
    full = course.topic("neurons").points
    for name, row in rows.items():
        assert float(row["score"]) == full and not row["error"], (name, row)
    sleeper = json.loads((out / "submissions" / "aa_sleeper" / "result.json").read_text())["result"]
    assert {c["status"] for c in sleeper["checks"]} == {"passed"}, "the student was charged for the dead worker"
    assert outcome["summary"].failed == 0
    _none_left(below)


@pytest.mark.slow
def test_when_retries_run_out_the_row_says_grading_failed_and_a_rerun_grades_it(cluster, tmp_path):
    """No retry allowed: the killed worker's submission is "grading failed", not stored; the next run grades it."""
    course = course_mod.load(_course_copy(tmp_path / "course", call_budget=SLEEP + 6))
    root = _sleeper_class(tmp_path / "class", others=1)
    out = tmp_path / "out"
    allowed, cluster.scheduler.allowed_failures = cluster.scheduler.allowed_failures, 0
    try:
        outcome, _ = _grade_and_kill_the_sleepers_worker(cluster, root, out, course)
    finally:
        cluster.scheduler.allowed_failures = allowed
    rows = {r["submission"]: r for r in read_gradebook(out / "gradebook.csv")}
    assert rows["aa_sleeper"]["error"].startswith("grading failed: the Dask workers grading it died"), rows["aa_sleeper"]
    assert rows["aa_sleeper"]["score"] == "incomplete" and not rows["student_0"]["error"]  # the grader's fault: no score
    assert not (out / "submissions" / "aa_sleeper" / "result.json").exists(), "a grader failure was stored as the grade"
    assert outcome["summary"].failed == 1

    again = grade_all(root, out, cluster=cluster.scheduler_address, topics=["neurons"], course=course, progress=False)
    assert (again.graded, again.skipped, again.failed) == (1, 1, 0)
    rows = {r["submission"]: r for r in read_gradebook(out / "gradebook.csv")}
    assert float(rows["aa_sleeper"]["score"]) == course.topic("neurons").points and not rows["aa_sleeper"]["error"]


@pytest.mark.slow
def test_ctrl_c_stops_the_cluster_run_and_cleans_up(klass, course_root, tmp_path):
    out = tmp_path / "out"
    run = Tree(_cli(klass, out, "--cluster", "local:2"), _env(course_root))
    deadline = time.monotonic() + 300
    while not list(out.glob("submissions/*/result.json")) and time.monotonic() < deadline and run.proc.poll() is None:
        time.sleep(0.05)
    assert run.proc.poll() is None, "the run finished before it could be interrupted"
    run.proc.send_signal(signal.SIGINT)
    code, _, stderr = run.wait(timeout=120)
    assert code == 130, stderr
    assert "interrupted" in stderr
    _none_left(run.seen)


@pytest.mark.slow
def test_a_worker_running_another_package_refuses_to_grade(cluster, klass, course, tmp_path, monkeypatch):
    import autograder.cluster as cluster_mod

    monkeypatch.setattr(cluster_mod, "package_fingerprint", lambda: "0.0.0:not-this-one")
    with pytest.raises(BatchError, match="could not set up the course: this Dask worker runs autograder .* the client 0.0.0:not-this-one"):
        grade_all(klass, tmp_path / "out", cluster=cluster.scheduler_address, topics=TOPICS, course=course, progress=False)
    assert not (tmp_path / "out" / "gradebook.csv").exists()


# --------------------------------------------------------------------------------------------------
# No scheduler; no distributed
# --------------------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_an_unreachable_scheduler_is_one_clear_error(klass, course_root, tmp_path, monkeypatch):
    from click.testing import CliRunner

    import autograder.cluster as cluster_mod
    from autograder.cli import main

    monkeypatch.setattr(cluster_mod, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setenv("AUTOGRADER_COURSE", str(course_root))
    address = f"tcp://127.0.0.1:{_closed_port()}"
    result = CliRunner().invoke(main, ["grade-all", str(klass), "--out", str(tmp_path / "out"), "--cluster", address, "--topic", "neurons", "--no-progress"])
    assert result.exit_code == 7, result.output  # a BatchError: see autograder.errors.EXIT_CODES
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"autograder: error: cannot reach the Dask scheduler at {address} within 1 s"), result.output
    assert not list((tmp_path / "out").glob("submissions/*"))


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_cluster_and_jobs_exclude_each_other(klass, tmp_path):
    from click.testing import CliRunner

    from autograder.cli import main

    result = CliRunner().invoke(main, ["grade-all", str(klass), "--out", str(tmp_path / "o"), "--cluster", "local:2", "--jobs", "2"])
    assert result.exit_code == 2 and "exclude each other" in result.output


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_a_bad_local_cluster_size_is_an_error(klass, course, tmp_path):
    with pytest.raises(BatchError, match="local:N with N >= 1"):
        grade_all(klass, tmp_path / "out", cluster="local:zero", topics=TOPICS, course=course, progress=False)


def test_without_distributed_the_error_says_what_to_install(monkeypatch):
    import autograder.cluster as cluster_mod

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    with pytest.raises(BatchError, match=r"pip install 'keras-course-autograder\[cluster\]'"):
        cluster_mod._distributed()


# --------------------------------------------------------------------------------------------------
# What travels: the course once, checked by hash; submissions as content
# --------------------------------------------------------------------------------------------------


def test_course_bundle_holds_the_course_and_is_reproducible(course):
    bundle = course_bundle(course)
    assert bundle == course_bundle(course), "the same course must give the same bytes (and hash)"
    names = set(zipfile.ZipFile(io.BytesIO(bundle)).namelist())
    assert {"course.toml", "solutions/neurons.py", "checks/hidden/test_neurons.py", "checks/public/test_neurons.py", "checks/keras_models.py"} <= names
    assert not any("__pycache__" in n for n in names)


def _plugin(course, **changes) -> CoursePlugin:
    bundle = course_bundle(course)
    args = {"bundle": bundle, "digest": hashlib.sha256(bundle).hexdigest(), "package": package_fingerprint(), "topics": ["neurons"], "masks": ()}
    return CoursePlugin(**{**args, **changes})


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@pytest.mark.parametrize("change, message", [
    ("digest", "the course arrived with sha256"),
    ("package", "this Dask worker runs autograder"),
])
def test_a_course_or_package_mismatch_grades_nothing(course, change, message):
    plugin = _plugin(course, **{change: "0" * 64 if change == "digest" else "0.0.0:other"})
    with pytest.raises(CourseMismatch, match=message):
        plugin.setup()
    assert plugin.job is None and plugin.folder is None or not Path(plugin.folder).exists()
    task = _Task(Entry("ada", Path("/nonexistent"), "folder", "ada"), "k", {}, "", "")
    with pytest.raises(CourseMismatch, match=message):
        plugin.grade(task)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_the_plugin_grades_content_without_the_class_folder(course, tmp_path):
    """A worker sees only the bytes: the entry's path does not exist on it. Its course is the
    bundle's, unpacked privately, with its hidden checks and solutions masked."""
    plugin = _plugin(course)
    travelled = pickle.loads(pickle.dumps(plugin))  # as Dask sends it
    assert travelled.job is None and travelled.bundle == plugin.bundle
    travelled.setup()
    try:
        job = travelled.job
        folder = Path(travelled.folder)
        assert job.course.root == folder and job.course.checks_dir == folder / "checks"
        assert (folder / "checks" / "hidden" / "test_neurons.py").read_bytes() == (course.checks_dir / "hidden" / "test_neurons.py").read_bytes()
        assert folder / "checks" / "hidden" in job.config.masks
        assert folder / "solutions" in job.config.masks

        student = _folder(tmp_path / "ada", {"neurons.py": _solution("neurons")})
        local = Entry("ada", student, "folder", "ada")
        task = _with_content(_Task(local, "key"), course.topic_names)
        assert set(task.files) == {"neurons.py"} and task.digest and not task.unreadable
        shutil.rmtree(student)  # the worker has no access to the class folder
        done = travelled.grade(task)
        assert done["stored"] and done["result"]["error"] is None
        assert {c["status"] for c in done["result"]["checks"]} == {"passed"}

        forged = _Task(local, "key", {"neurons.py": b"x = 1\n"}, task.digest, "")  # bytes changed on the way
        done = travelled.grade(forged)
        assert not done["stored"] and "hash mismatch" in done["result"]["error"]
        unreadable = _with_content(_Task(Entry("bob", tmp_path / "bob.txt", "unsupported", "bob"), "key"), course.topic_names)
        done = travelled.grade(unreadable)
        assert done["stored"] and "not a folder or a .zip" in done["result"]["error"]
    finally:
        travelled.teardown()
    assert not folder.exists()


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_the_local_job_still_reads_the_entry_itself(course, tmp_path):
    """The local path sends paths, not bytes (the class folder is on this machine)."""
    student = _folder(tmp_path / "ada", {"neurons.py": _solution("neurons")})
    job = _Job(str(course.root), ["neurons"], ())
    try:
        done = job.grade(_Task(Entry("ada", student, "folder", "ada"), "key"))
    finally:
        job.close()
    assert done.stored and {c["status"] for c in done.result["checks"]} == {"passed"}


def test_the_plugin_quiets_the_worker_while_it_grades(course):
    """Dask samples running tasks' stacks every 10 ms and checks its event loop every 20 ms; each
    wake-up takes the GIL from the grading thread. While the plugin grades, the profiler is stopped
    and the tick runs every second; all restored after. (The heap is frozen only in a real Dask
    worker: see the fork-server test.)"""
    import gc

    from autograder.cluster import TICK_MS

    class Callback:
        def __init__(self, ms=100):
            self.running = True
            self.callback_time = ms

        def stop(self):
            self.running = False

        def start(self):
            self.running = True

    callbacks = {"profile": Callback(), "profile-cycle": Callback(), "heartbeat": Callback(), "tick": Callback(20)}
    worker = type("FakeWorker", (), {"periodic_callbacks": dict(callbacks)})()
    plugin = _plugin(course)
    frozen = gc.get_freeze_count()
    plugin.setup(worker)
    try:
        assert set(worker.periodic_callbacks) == {"heartbeat", "tick"}
        assert not callbacks["profile"].running and not callbacks["profile-cycle"].running and callbacks["heartbeat"].running
        assert callbacks["tick"].callback_time == TICK_MS and callbacks["tick"].running
        assert callbacks["heartbeat"].callback_time == 100
        assert gc.get_freeze_count() == frozen, "froze the heap of a process that is no Dask worker"
    finally:
        plugin.teardown(worker)
    assert worker.periodic_callbacks == callbacks and all(c.running for c in callbacks.values())
    assert callbacks["tick"].callback_time == 20


def test_the_local_cluster_certificate_is_a_fresh_elliptic_curve_one():
    """local:N's throw-away certificate: a P-256 key (made in a millisecond; an RSA-2048 one took up
    to a second on a busy machine), fresh for every run, every role, encryption required."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    from autograder.cluster import _throwaway_security

    one, two = _throwaway_security(), _throwaway_security()
    assert one.require_encryption
    cert = x509.load_pem_x509_certificate(one.tls_scheduler_cert.encode())
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert one.tls_ca_file == one.tls_worker_cert == one.tls_client_cert == one.tls_scheduler_cert
    assert one.tls_worker_key == one.tls_client_key == one.tls_scheduler_key != two.tls_scheduler_key


@pytest.mark.slow
def test_a_local_cluster_talks_only_to_this_run(tmp_path):
    """local:N uses mutual TLS with a throw-away certificate: a client without it is refused, so
    code that reaches loopback (an unconfined sandbox) can't submit tasks to the workers."""
    from autograder.cluster import _connect

    with _connect("local:1") as client:
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        assert client.submit(sum, [1, 2], pure=False).result() == 3
        for attempt in (address, address.replace("tls://", "tcp://")):
            with pytest.raises((OSError, TypeError, ValueError)):
                distributed.Client(attempt, timeout=2)


@pytest.mark.slow
def test_local_cluster_workers_are_forked_from_the_preloaded_fork_server(course):
    """local:N's worker processes come from this process's multiprocessing fork server, which has
    imported Dask and the grader once for all of them (the course plugin is not installed here:
    the grader's modules are there from the preload). It ends with the run; the next starts another."""
    from autograder.batch import FORKSERVER_PRELOAD
    from autograder.cluster import _connect

    def where_from():
        import sys

        import psutil

        return " ".join(psutil.Process().parent().cmdline()), [m for m in ("distributed", "autograder.cluster") if m in sys.modules]

    def servers() -> list[int]:
        found = []
        for p in psutil.Process().children():
            try:
                if "multiprocessing.forkserver" in " ".join(p.cmdline()) and p.status() != psutil.STATUS_ZOMBIE:
                    found.append(p.pid)
            except psutil.Error:  # a zombie (an ended server, not reaped until the next starts)
                continue
        return found

    with _connect("local:2") as client:
        found = client.run(where_from)
        assert len(servers()) == 1
        # the course plugin freezes a real worker's start-up heap (pytest's gc.collect per submission skips it)
        import gc

        client.register_plugin(_plugin(course), name="frozen-heap")
        assert all(n > 0 for n in client.run(gc.get_freeze_count).values())
        client.unregister_worker_plugin("frozen-heap")
        assert all(n == 0 for n in client.run(gc.get_freeze_count).values())
    assert len(found) == 2
    for parent, modules in found.values():
        assert "multiprocessing.forkserver" in parent, parent
        assert modules == list(FORKSERVER_PRELOAD)
    assert not servers(), "the fork server outlived the run (it would hold the command's stdout until it ends)"
    with _connect("local:1") as client:  # the next run starts another
        assert client.submit(sum, [1, 2], pure=False).result() == 3
        assert len(servers()) == 1
    assert not servers()
