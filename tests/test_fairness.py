"""A grade depends only on the student's code: per-worker limits, grader faults, hostile bytes.

Each sandbox gets limits no other sandbox shares (a cgroup, a seccomp filter, or a uid of its own);
a fault of the grader is a ``grader_error``, retried and never charged to the student; the trusted
side decodes and prints hostile text within a budget. NumPy only: no TensorFlow is imported here.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import struct
import threading
import time
import zipfile
from pathlib import Path

import pytest

from autograder import results as R
from autograder.results import CheckResult, SubmissionResult, TopicSummary
from autograder.sandbox import limits
from autograder.sandbox.client import Sandbox, SandboxConfig, SandboxStartError, Zygote, bwrap_status, missing_protections

REPO = Path(__file__).resolve().parents[1]
needs_bwrap = pytest.mark.skipif(bwrap_status()[0] is None, reason=f"needs bubblewrap: {bwrap_status()[1]}")
needs_cgroups = pytest.mark.skipif(not limits.cgroup_support().version, reason=f"needs cgroups: {limits.cgroup_support().reason}")
needs_seccomp = pytest.mark.skipif(bool(limits.seccomp_status()), reason=f"needs libseccomp: {limits.seccomp_status()}")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (workers drop to another user)")

PROBE = '''
import ctypes, errno, os, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)

def cgroup():
    return open("/proc/self/cgroup").read()

def park(n):
    """Start up to n sleeping children; stop at the first refusal. (started, refused?)"""
    kids = []
    for _ in range(n):
        try:
            kids.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]))
        except OSError:
            return len(kids), True
    return len(kids), False

def spawn_one():
    return subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True).stdout.strip()

def sysv():
    out = {}
    for name, call in (("shmget", lambda: libc.shmget(0, 1 << 20, 0o1000 | 0o666)),
                       ("semget", lambda: libc.semget(0, 1, 0o1000 | 0o666)),
                       ("msgget", lambda: libc.msgget(0, 0o1000 | 0o666)),
                       ("ptrace", lambda: libc.ptrace(16, os.getppid(), None, None)),
                       ("process_vm_readv", lambda: libc.process_vm_readv(os.getppid(), None, 0, None, 0, 0))):
        ctypes.set_errno(0)
        rc = call()
        out[name] = (rc, ctypes.get_errno())
    return out

def leave_shm():
    ids = [libc.shmget(0, 1 << 20, 0o1000 | 0o666) for _ in range(3)]
    return ids, open("/proc/sysvipc/shm").read().count("\\n") - 1

def count_shm():
    return open("/proc/sysvipc/shm").read().count("\\n") - 1

def fill_shm(mb):
    block = b"x" * (8 << 20)
    for i in range(mb // 8):
        with open(f"/dev/shm/fill{i}", "wb") as f:
            f.write(block)
    return mb

def sleep(s):
    time.sleep(s)
    return os.getpid()

def echo(x):
    return x

def uid():
    return os.getuid()
'''


def _call(box: Sandbox, attr: str, *args, timeout: float | None = None):
    return box.request({"op": "call", "target": {"module": "m", "attr": attr}, "args": list(args)}, timeout)


# -- 1. limits per worker ------------------------------------------------------------------------


def test_the_machine_says_what_it_allows():
    """The grader names the per-worker protections a machine lacks, as it does for bubblewrap."""
    missing = " ".join(missing_protections(SandboxConfig()))
    assert ("cgroup" in missing) == (not limits.cgroup_support().version)
    assert ("seccomp" in missing) == bool(limits.seccomp_status())
    assert "cgroup" in " ".join(missing_protections(SandboxConfig(cgroups=False)))


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@needs_cgroups
def test_each_worker_has_a_cgroup_of_its_own_removed_with_it():
    config = SandboxConfig(max_processes=40)
    with Zygote(config) as zygote:
        with Sandbox({"m.py": PROBE}, config, zygote=zygote) as first:
            assert first.import_module("m").ok
            folders = dict(first.cgroup.folders)
            seen = _call(first, "cgroup").value
            assert f"autograder-{os.getpid()}-" in seen and first.token in seen
            for folder in folders.values():
                assert folder.is_dir()
            pids_max = (folders.get("pids") or folders[""]) / "pids.max"
            assert pids_max.read_text().strip() == "40"
        assert not any(f.exists() for f in folders.values())
        with Sandbox({"m.py": PROBE}, config, zygote=zygote) as second:
            assert second.import_module("m").ok
            assert first.token not in _call(second, "cgroup").value


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@pytest.mark.serial  # counts every stale cgroup on the machine
@needs_cgroups
def test_cgroups_of_a_grader_killed_without_cleaning_up_are_removed_by_the_next(monkeypatch):
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a grader that is gone (its pid is free)
    stale = limits.WorkerCgroup(limits.cgroup_name("feedface-1").replace(f"-{os.getpid()}-", f"-{dead.pid}-"), 8, 64 << 20)
    elsewhere = limits.WorkerCgroup(f"autograder-{dead.pid}-p1-feedface-2", 8, 64 << 20)  # another PID namespace
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    stale.place(orphan.pid)
    mine = limits.WorkerCgroup(limits.cgroup_name("mine-1"), 8, 64 << 20)
    try:
        monkeypatch.setattr(limits, "_swept", False)
        assert limits.sweep_stale() == 1
        assert not stale.exists() and orphan.wait(timeout=10) == -signal.SIGKILL
        assert mine.exists() and elsewhere.exists()  # a live grader's cgroup stays, and one it cannot judge
    finally:
        mine.remove()
        elsewhere.remove()
        stale.remove()


@needs_cgroups
def test_a_grading_process_being_killed_removes_the_worker_cgroups_it_still_holds():
    """The last resort of a job process killed mid-grade (``_Job.kill_all``): no ``close`` comes for the
    submission in flight, so every cgroup it still holds goes, with what runs in it."""
    import subprocess
    import sys

    done = limits.WorkerCgroup(limits.cgroup_name("done-1"), 8, 64 << 20)
    done.remove()  # removed the ordinary way: not held any more
    held = [limits.WorkerCgroup(limits.cgroup_name(f"held-{i}"), 8, 64 << 20) for i in (1, 2)]
    parked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        held[0].place(parked.pid)
        before = len(limits._LIVE - set(held))  # cgroups an earlier test in this process still holds
        assert limits.remove_all() == before + 2
        assert not any(c.exists() for c in held) and parked.wait(timeout=10) == -signal.SIGKILL
        assert limits.remove_all() == 0
    finally:
        parked.kill()
        for c in held:
            c.remove()


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@needs_cgroups
def test_a_worker_that_uses_up_its_process_quota_leaves_others_theirs():
    """Two sandboxes at once: one parks processes up to its limit, the other still starts its own."""
    config = SandboxConfig(max_processes=24)
    with Zygote(config) as za, Zygote(config) as zb, \
            Sandbox({"m.py": PROBE}, config, zygote=za) as hog, Sandbox({"m.py": PROBE}, config, zygote=zb) as honest:
        assert hog.import_module("m").ok and honest.import_module("m").ok
        parked = _call(hog, "park", 200, timeout=60)
        assert parked.ok and parked.value[1] is True  # refused at its own limit
        assert 10 < parked.value[0] < 24
        assert hog.cgroup.limits_hit()["pids"] > 0
        assert _call(honest, "spawn_one", timeout=30).value == "42"
        assert honest.cgroup.limits_hit()["pids"] == 0


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@needs_cgroups
@needs_bwrap
def test_shared_memory_counts_toward_the_worker_memory_limit():
    """Files in /dev/shm are the worker's memory: 300 MB into a 200 MB worker does not fit."""
    config = SandboxConfig(memory_mb=200)
    with Zygote(config) as zygote, Sandbox({"m.py": PROBE}, config, zygote=zygote) as box:
        assert box.import_module("m").ok
        result = _call(box, "fill_shm", 300, timeout=60)
        assert result.status in ("crashed", "error"), (result.status, result.value)  # the student's own limit
        if result.status == "crashed":
            assert box.limits_hit["memory"] > 0


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@needs_seccomp
def test_sysv_ipc_and_ptrace_are_refused_by_seccomp():
    with Zygote(SandboxConfig()) as zygote, Sandbox({"m.py": PROBE}, zygote=zygote) as box:
        assert box.import_module("m").ok
        got = _call(box, "sysv").value
    for name, (rc, err) in got.items():
        assert rc == -1 and err == 1, f"{name} gave {rc} (errno {err}), expected EPERM"


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@needs_bwrap
def test_without_seccomp_sysv_objects_are_removed_at_every_reset(monkeypatch):
    monkeypatch.setattr(limits, "seccomp_status", lambda: "turned off for this test")
    config = SandboxConfig()
    assert "seccomp" in " ".join(missing_protections(config))
    with Zygote(config) as zygote:
        with Sandbox({"m.py": PROBE}, config, zygote=zygote) as first:
            assert first.import_module("m").ok
            ids, count = _call(first, "leave_shm").value
            assert all(i >= 0 for i in ids) and count >= 3  # the filter really is off
        with Sandbox({"m.py": PROBE}, config, zygote=zygote) as second:
            assert second.import_module("m").ok
            assert _call(second, "count_shm").value == 0


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@pytest.mark.serial  # a uid's process count is machine-wide
@needs_root
def test_without_cgroups_each_fork_server_has_a_uid_of_its_own():
    config = SandboxConfig(cgroups=False, max_processes=30)
    with Zygote(config) as za, Zygote(config) as zb:
        with Sandbox({"m.py": PROBE}, config, zygote=za) as a, Sandbox({"m.py": PROBE}, config, zygote=zb) as b:
            assert a.import_module("m").ok and b.import_module("m").ok
            ua, ub = _call(a, "uid").value, _call(b, "uid").value
            assert ua != ub and limits.uid_range()[0] <= min(ua, ub) and max(ua, ub) <= limits.uid_range()[1]
            assert a.cgroup is None
            parked = _call(a, "park", 200, timeout=60)
            assert parked.value[1] is True and parked.value[0] < 30
            assert _call(b, "spawn_one", timeout=30).value == "42"


# -- 2. grader faults are never the student's --------------------------------------------------


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
@needs_cgroups
def test_a_worker_killed_from_outside_is_retried_not_charged():
    config = SandboxConfig(retry_backoff=0.05)
    with Zygote(config) as zygote, Sandbox({"m.py": PROBE}, config, zygote=zygote) as box:
        assert box.import_module("m").ok
        victim = box.host_pid

        def kill_soon():
            time.sleep(1.0)
            os.kill(victim, signal.SIGKILL)  # the machine's OOM killer, an operator: not the student's limits

        threading.Thread(target=kill_soon).start()
        result = _call(box, "sleep", 3, timeout=30)
        assert result.ok, (result.status, result.message)  # graded again on a fresh worker
        assert box.starts == 2


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_a_persistent_grader_fault_is_reported_as_such(monkeypatch):
    calls = []

    def broken(self):
        calls.append(time.monotonic())
        raise SandboxStartError("the fork server is gone")

    monkeypatch.setattr(Sandbox, "start", broken)
    config = SandboxConfig(start_retries=2, retry_backoff=0.05)
    with Sandbox({"m.py": PROBE}, config, zygote=Zygote(config)) as box:  # never started: start() fails
        result = _call(box, "echo", 1)
    assert result.status == "grader_error" and "fork server is gone" in result.message
    assert len(calls) == 3 and calls[2] - calls[1] >= calls[1] - calls[0]  # bounded, with backoff


def _grade_broken(monkeypatch, topics=("neurons",)):
    from autograder import course as course_mod
    from autograder.grading import grade_submission

    def broken(self):
        raise SandboxStartError("no worker would start")

    monkeypatch.setattr(Sandbox, "start", broken)
    return grade_submission(REPO / "solutions", course=course_mod.load(REPO), topics=list(topics))


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_grader_faults_make_the_score_incomplete_in_every_output(monkeypatch):
    result = _grade_broken(monkeypatch)
    assert result.checks and {c.status for c in result.checks} == {"grader_error"}
    assert result.incomplete and R.GRADER_FAULT in result.error
    assert all(c.points == 0 and not c.hint for c in result.checks)
    row = R.to_csv_row(result, ["neurons"])
    assert row["score"] == "incomplete" and row["neurons"] == "incomplete"
    doc = R.to_gradescope_dict(result)
    R.validate_gradescope(doc)
    assert "grading failed, not your code" in doc["output"].lower()
    assert all("grading failed, not your code" in t["output"].lower() for t in doc["tests"])
    assert "incomplete" in R.to_markdown(result) and "incomplete" in R.to_html(result)
    back = SubmissionResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back.incomplete


def test_a_student_crash_is_not_a_grader_fault():
    result = SubmissionResult("ada", checks=[CheckResult(id="t::a", topic="t", name="a", max_points=1, status="crashed",
                                                          feedback="SandboxStartError: looks like a grader fault")])
    assert not result.incomplete  # decided from the status, never from the feedback's words
    assert R.to_csv_row(result, ["t"])["score"] == 0


@pytest.mark.slow  # end to end: a judge process or a grade in the sandbox
def test_grade_exits_non_zero_when_the_score_is_incomplete(monkeypatch):
    from click.testing import CliRunner

    from autograder import cli

    def broken(self):
        raise SandboxStartError("no worker would start")

    monkeypatch.setattr(Sandbox, "start", broken)
    monkeypatch.chdir(REPO)
    run = CliRunner().invoke(cli.main, ["grade", str(REPO / "solutions"), "--topic", "neurons", "--quiet"])
    assert run.exit_code == 3, run.output
    assert "incomplete" in run.output


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_batch_keeps_no_record_of_an_incomplete_row_so_a_resume_regrades_it(monkeypatch, tmp_path):
    from autograder import batch
    from autograder.results import SubmissionResult

    klass = tmp_path / "class"
    (klass / "ada").mkdir(parents=True)
    shutil.copy(REPO / "solutions" / "neurons.py", klass / "ada" / "neurons.py")
    out = tmp_path / "out"
    job = batch._Job(str(REPO), ["neurons"], ())
    try:
        entry = batch.discover(klass)[0]

        def broken(self):
            raise SandboxStartError("no worker would start")

        monkeypatch.setattr(Sandbox, "start", broken)
        done = job.grade(batch._Task(entry, "key-1"))
        assert not done.stored and SubmissionResult.from_dict(done.result).incomplete
    finally:
        job.close()
    monkeypatch.undo()
    # what the main process does with such a row (batch._run): it writes the feedback but no resume record
    batch.write_submission(out / "submissions" / entry.slug, SubmissionResult.from_dict(done.result), key=None, source=entry.source)
    assert not (out / "submissions" / entry.slug / batch.RECORD).exists()
    again = batch.grade_all(klass, out, jobs=1, topics=["neurons"], progress=False)
    assert (again.graded, again.skipped) == (1, 0)  # the resumed run grades it
    stored = again.results[0]
    assert not stored.incomplete and stored.total == stored.possible > 0


# -- 3. the wire decodes within a budget: tests/test_wire.py ---------------------------------


# -- 4. student text is cleaned before every output ----------------------------------------------

HOSTILE_TEXT = "ok\x1b[2J\x1b[H\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x1b\\ total 99/99\r\x08\x00\x9b31m\x7f done\n\tnext"
CONTROL = [chr(c) for c in list(range(0, 9)) + list(range(11, 32)) + list(range(127, 160))]


def _hostile_result():
    c = CheckResult(id="neurons::t", topic="neurons", name="t" + HOSTILE_TEXT, max_points=1, status="failed",
                    feedback=HOSTILE_TEXT, hint=HOSTILE_TEXT, output=HOSTILE_TEXT)
    return SubmissionResult("ada" + HOSTILE_TEXT, checks=[c], topics=[TopicSummary("neurons", "N", 1.0)], error=HOSTILE_TEXT)


def _no_control(text: str, where: str) -> None:
    bad = sorted({repr(ch) for ch in text if ch in CONTROL})
    assert not bad, f"{where} holds control characters {bad}"
    assert "owned" not in text and "ZXZpbA" not in text, f"{where} holds an OSC sequence's payload"


def test_clean_text_keeps_newlines_and_tabs_only():
    assert R.clean_text(HOSTILE_TEXT) == "ok total 99/99 done\n\tnext"


@pytest.mark.parametrize("serializer", ["terminal", "markdown", "html", "csv", "junit", "gradescope"])
def test_every_serializer_gets_clean_text(serializer):
    from rich.console import Console

    result = SubmissionResult.from_dict(_hostile_result().to_dict())  # a stored record is cleaned too
    if serializer == "terminal":
        buf = io.StringIO()
        R.render_table(result, Console(file=buf, width=200, color_system=None, force_terminal=False))
        text = buf.getvalue()
    elif serializer == "markdown":
        text = R.to_markdown(result)
    elif serializer == "html":
        text = R.to_html(result)
    elif serializer == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, R.CSV_COLUMNS(["neurons"]))
        writer.writerow(R.to_csv_row(result, ["neurons"]))
        text = buf.getvalue().replace("\r\n", "\n")
    elif serializer == "junit":
        text = R.to_junit_xml(result)
        assert "\\x1b" not in text and "\\x07" not in text
    else:
        text = json.dumps(R.to_gradescope_dict(result), ensure_ascii=False)
        text = json.loads(text)["tests"][0]["output"] + json.loads(text)["output"]
    _no_control(text, serializer)
    assert "total 99/99" in text or serializer == "csv"


# -- 5. zip intake reads the directory's size first ----------------------------------------------


def _forge_count(path: Path, entries: int) -> None:
    data = bytearray(path.read_bytes())
    at = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, at + 8, entries, entries)
    path.write_bytes(bytes(data))


def test_a_zip_announcing_too_many_entries_is_refused_before_parsing(tmp_path, monkeypatch):
    from autograder import intake
    from autograder.grading import SubmissionError

    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("neurons.py", "x = 1\n")
    _forge_count(path, 60_000)

    def no_parse(*_a, **_k):
        raise AssertionError("the central directory was parsed")

    monkeypatch.setattr(intake.zipfile, "ZipFile", no_parse)
    with pytest.raises(SubmissionError, match="more than 10000 files"):
        intake._zip_modules(path, {"neurons.py"})


def test_a_zip_whose_directory_is_too_large_is_refused(tmp_path):
    from autograder import intake
    from autograder.grading import SubmissionError

    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(500):
            zf.writestr(f"{'d' * 200}/{i}.txt", "")
    batch_limit = intake.ZIP_MAX_DIRECTORY
    try:
        intake.ZIP_MAX_DIRECTORY = 50_000
        with pytest.raises(SubmissionError, match="directory is larger"):
            intake._zip_modules(path, {"neurons.py"})
    finally:
        intake.ZIP_MAX_DIRECTORY = batch_limit
    assert intake._zip_modules(path, {"neurons.py"}) == {}


# -- 6. the resume fingerprint covers the whole grader --------------------------------------------


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_changing_a_checking_helper_regrades_the_class(tmp_path, monkeypatch):
    from autograder import batch
    from autograder import course as course_mod

    package = tmp_path / "autograder"
    shutil.copytree(REPO / "autograder", package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(batch, "GRADER_PACKAGE", package)
    course = course_mod.load(REPO)
    klass = tmp_path / "class"
    (klass / "ada").mkdir(parents=True)
    shutil.copy(REPO / "solutions" / "neurons.py", klass / "ada" / "neurons.py")
    out = tmp_path / "out"
    first = batch.grade_all(klass, out, jobs=1, topics=["neurons"], course=course, progress=False)
    assert first.graded == 1
    again = batch.grade_all(klass, out, jobs=1, topics=["neurons"], course=course, progress=False)
    assert (again.graded, again.skipped) == (0, 1)
    checking = package / "checking.py"
    checking.write_text(checking.read_text() + "\n\ndef _a_new_helper():\n    return 1\n")
    changed = batch.grade_all(klass, out, jobs=1, topics=["neurons"], course=course, progress=False)
    assert (changed.graded, changed.skipped) == (1, 0)
    fingerprints = set()
    for name in ("sandbox/proxy.py", "plugin.py", "course.py"):
        f = package / name
        f.write_text(f.read_text() + "\n# changed\n")
        fingerprints.add(batch.grader_fingerprint(course, ["neurons"]))
    assert len(fingerprints) == 3


def test_fingerprint_covers_the_manifest_but_not_the_late_policy(tmp_path):
    from autograder import batch
    from autograder import course as course_mod

    root = tmp_path / "course"
    shutil.copytree(REPO / "solutions", root / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "checks", root / "checks", ignore=shutil.ignore_patterns("__pycache__"))  # the course's checks travel with it
    manifest = root / "course.toml"
    manifest.write_text((REPO / "course.toml").read_text())
    base = batch.grader_fingerprint(course_mod.load(root), ["neurons"])
    manifest.write_text(manifest.read_text() + '\n[policy]\ndue = "2026-12-01T23:59:00"\npenalty_per_day = 10\n')
    assert batch.grader_fingerprint(course_mod.load(root), ["neurons"]) == base  # a due date regrades nothing
    manifest.write_text(manifest.read_text().replace("call_budget = 10", "call_budget = 11"))
    assert batch.grader_fingerprint(course_mod.load(root), ["neurons"]) != base  # a budget does


# -- 7. property checks earn points only with a correct result ----------------------------------

NOTHING = {
    "neurons": ("mlp_forward", "test_mlp_forward_leaves_inputs_unchanged"),
    "backprop": ("train_step", "test_train_step_leaves_params_unchanged"),
    "gradient_descent": ("momentum_update", "test_momentum_update_leaves_inputs_unchanged"),
}


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_returning_nothing_earns_no_in_place_points(tmp_path):
    from autograder import course as course_mod
    from autograder.grading import grade_submission

    sub = tmp_path / "lazy"
    sub.mkdir()
    for topic, (fn_name, _) in NOTHING.items():
        src = (REPO / "solutions" / f"{topic}.py").read_text()
        (sub / f"{topic}.py").write_text(src + f"\n\ndef {fn_name}(*args, **kwargs):\n    return None\n")
    result = grade_submission(sub, course=course_mod.load(REPO), topics=list(NOTHING))
    by_id = {c.id.split("::")[1]: c for c in result.checks}
    for topic, (_, check) in NOTHING.items():
        assert by_id[check].status == "failed", f"{check}: {by_id[check].status}"
    reference = grade_submission(REPO / "solutions", course=course_mod.load(REPO), topics=list(NOTHING))
    assert all(c.status == "passed" for c in reference.checks if c.id.split("::")[1] in {v[1] for v in NOTHING.values()})


# -- 8. TensorFlow's own logs are not the student's output ---------------------------------------

TF_LINES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "E0000 00:00:1732950000.123456    4711 node_def_util.cc:680] NodeDef mentions attribute use_unbounded_threadpool\n"
    "W0000 00:00:1732950000.123456    4711 loop_optimizer.cc:933] Skipping loop optimization\n"
    "WARNING:tensorflow:5 out of the last 5 calls to <function f> triggered tf.function retracing.\n"
    "2026-11-30 07:00:00.000000: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.\n"
)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_library_log_lines_never_reach_your_code_printed():
    from autograder.plugin import GraderPlugin

    src = "import os, sys\ndef noisy(text):\n    print('my own line')\n    os.write(2, text.encode())\n    return 1\n"
    with Zygote(SandboxConfig()) as zygote, Sandbox({"m.py": src}, zygote=zygote) as box:
        assert box.import_module("m").ok
        call = _call(box, "noisy", TF_LINES)
    assert call.ok and "E0000" in call.stderr  # the worker captured it ...
    session = type("S", (), {"history": [call]})()
    shown = GraderPlugin(course=None, session=session)._output()
    assert "my own line" in shown  # ... the student's own print stays ...
    for marker in ("E0000", "W0000", "absl::InitializeLog", "retracing", "oneDNN"):
        assert marker not in shown  # ... and the library lines are gone


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_workers_silence_tensorflow_logging_at_the_source():
    from autograder.quiet import QUIET_TENSORFLOW

    assert QUIET_TENSORFLOW["TF_CPP_MIN_LOG_LEVEL"] == "3" and QUIET_TENSORFLOW["ABSL_MIN_LOG_LEVEL"] == "3"
    src = "import os\ndef env():\n    return {k: os.environ.get(k) for k in ('TF_CPP_MIN_LOG_LEVEL', 'ABSL_MIN_LOG_LEVEL')}\n"
    config = SandboxConfig()
    with Zygote(config) as zygote, Sandbox({"m.py": src}, config, zygote=zygote) as box:
        assert box.import_module("m").ok
        assert box.request({"op": "call", "target": {"module": "m", "attr": "env"}}).value == {
            k: QUIET_TENSORFLOW[k] for k in ("TF_CPP_MIN_LOG_LEVEL", "ABSL_MIN_LOG_LEVEL")}

# 9. the network test (a port listening on 127.0.0.1, unreachable from the worker) is in test_isolation.py.
