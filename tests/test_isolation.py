"""Hostile submissions, graded for real: each attack is contained and changes no other check.

The course in ``tests/hostile_course`` has one check per function; ``hostile_alpha.py`` fills each
function with an attack (infinite loop, exit, segfault, memory bomb, output flood, spying on the
solutions, writing fake results, 200 child processes, patching NumPy/pytest/builtins at import).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import psutil
import pytest

from autograder import course as course_mod
from autograder.grading import grade_submission, sandbox_config
from autograder.sandbox.client import ISSUED_TOKENS, Sandbox, SandboxConfig, Zygote, bwrap_status

# End to end: grades in the sandbox (or with TensorFlow); run by the full suite, left out by -m "not slow".
pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
COURSE_DIR = HERE / "hostile_course"
REPO = HERE.parent
needs_bwrap = pytest.mark.skipif(bwrap_status()[0] is None, reason=f"needs bubblewrap: {bwrap_status()[1]}")

# What each check of the hostile submission must end as. Everything not listed must match the clean run.
EXPECTED = {
    "test_spin": {"timeout"},
    "test_leave": {"crashed"},
    "test_hard_exit": {"crashed"},
    "test_segfault": {"crashed"},
    "test_memory": {"error", "crashed"},
    "test_flood": {"error"},
    "test_close": {"failed"},
}


def _course():
    return course_mod.parse(COURSE_DIR)


def _submission(tmp: Path, alpha: str) -> Path:
    sub = tmp / "submission"
    sub.mkdir()
    shutil.copy(COURSE_DIR / "submissions" / alpha, sub / "alpha.py")
    shutil.copy(COURSE_DIR / "submissions" / "beta.py", sub / "beta.py")
    return sub


def _grade(sub: Path):
    course = _course()
    real = course_mod.load(REPO)
    config = sandbox_config(course, masks=(real.solutions_dir, real.checks_dir / "hidden"))
    return grade_submission(sub, course=course, config=config)


def _sandbox_processes() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("AUTOGRADER_SANDBOX") in ISSUED_TOKENS:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


# The folders test_alpha.py's scribble check points the submission at (same list there).
SCRIBBLE_TARGETS = [COURSE_DIR, COURSE_DIR / "checks", COURSE_DIR / "submissions", REPO, Path("/tmp"), Path.home()]


def _fake_files() -> list[Path]:
    return [p / name for p in SCRIBBLE_TARGETS for name in ("results.json", "gradebook.csv", "FAKE_RESULT") if (p / name).exists()]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    before = set(_fake_files())
    clean = _grade(_submission(tmp_path_factory.mktemp("clean"), "clean_alpha.py"))
    start = time.monotonic()
    hostile = _grade(_submission(tmp_path_factory.mktemp("hostile"), "hostile_alpha.py"))
    return {"clean": clean, "hostile": hostile, "seconds": time.monotonic() - start, "new_files": set(_fake_files()) - before}


def _by_name(result):
    return {c.id.split("::")[1]: c for c in result.checks}


def test_clean_submission_passes_everything(graded):
    clean = graded["clean"]
    assert not [c for c in clean.checks if c.status != "passed"]
    assert clean.total == clean.possible == 14


def test_grader_finishes_in_bounded_time(graded):
    assert graded["seconds"] < 90


@pytest.mark.parametrize("check", sorted(EXPECTED))
def test_each_attack_fails_only_its_own_check(graded, check):
    got = _by_name(graded["hostile"])[check]
    assert got.status in EXPECTED[check], f"{check}: {got.status}: {got.feedback}"
    assert got.points == 0


# Without bubblewrap a submission can read the course and write to the shared /tmp (the grader warns).
CONFINEMENT_CHECKS = {"test_spy", "test_scribble"}
# Starting up to 200 interpreters: with a process quota of the worker's own (128, shared with no other
# sandbox) that may take longer than the 3 s budget on a busy machine; its own call, its own time.
MAY_TIME_OUT = {"test_fork"}


def test_every_other_check_matches_the_clean_run(graded):
    clean, hostile = _by_name(graded["clean"]), _by_name(graded["hostile"])
    assert set(clean) == set(hostile)
    confined = bwrap_status()[0] is not None
    for name, check in hostile.items():
        if name not in EXPECTED and (confined or name not in CONFINEMENT_CHECKS):
            allowed = {clean[name].status} | ({"timeout"} if name in MAY_TIME_OUT else set())
            assert check.status in allowed, f"{name}: {check.status}: {check.feedback}"


def test_messages_say_what_happened(graded):
    h = _by_name(graded["hostile"])
    assert "time budget of 3 s" in h["test_spin"].feedback
    assert "sys.exit" in h["test_leave"].feedback
    assert "exited with code 0" in h["test_hard_exit"].feedback
    assert "SIGSEGV" in h["test_segfault"].feedback
    assert "memory" in h["test_memory"].feedback.lower()
    assert "more than the limit" in h["test_flood"].feedback


def test_patching_numpy_pytest_and_builtins_changes_nothing(graded):
    # the wrong close() would pass if the patched allclose/approx/assert_* ran in the grader
    close = _by_name(graded["hostile"])["test_close"]
    assert close.status == "failed"
    assert len([1, 2]) == 2 and not np.allclose([1.0, 2.0], [1.0, 2.5])


def test_no_process_outlives_grading(graded):
    deadline = time.monotonic() + 5
    while _sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sandbox_processes() == []
    sleepers = [p for p in psutil.process_iter(["cmdline"]) if "time.sleep(600)" in " ".join(p.info["cmdline"] or [])]
    assert sleepers == []


@needs_bwrap
def test_spy_finds_no_solutions_or_hidden_checks(graded):
    spy = _by_name(graded["hostile"])["test_spy"]
    assert spy.status == "passed", spy.feedback


@needs_bwrap
def test_nothing_is_written_outside_the_scratch_area(graded):
    assert graded["new_files"] == set()
    assert _by_name(graded["hostile"])["test_scribble"].status == "passed"


@pytest.fixture(scope="module")
def zygote():
    """One fork server for this module's sandboxes (reset between them, as between submissions)."""
    with Zygote(SandboxConfig()) as z:
        yield z


@needs_bwrap
def test_confined_worker_has_no_network_and_drops_root(zygote):
    """A port that really listens on this machine's loopback (reachable from here, so the check can
    fail) is out of the worker's reach: it has a network namespace of its own."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # outside the sandbox: it connects
        src = ("import socket, os\ndef probe(port):\n    s = socket.socket()\n    s.settimeout(3)\n    try:\n"
               "        s.connect(('127.0.0.1', port))\n        net = True\n    except OSError:\n        net = False\n"
               "    return net, os.getuid()\n")
        with Sandbox({"m.py": src}, zygote=zygote) as box:
            assert box.import_module("m").ok
            result = box.request({"op": "call", "target": {"module": "m", "attr": "probe"}, "args": [port]})
    finally:
        server.close()
    net, uid = result.value
    assert net is False
    if os.geteuid() == 0:  # nobody, or (without cgroups) a uid of the fork server's own
        assert uid == 65534 if SandboxConfig().uses_cgroups() else uid not in (0, 65534)


# Student code can reach the worker's answer pipe (here through gc, which finds the worker's own
# objects; /proc/self/fd would do as well) and the request it runs for (gc finds the dict too).
# Request ids are random nonces.
FORGER = (
    "import gc, os, struct, sys, threading, time\n"
    "from autograder.sandbox import wire\n"
    "def _fd():\n"
    "    return next(o for o in gc.get_objects() if type(o).__name__ == 'Worker' and hasattr(o, 'fout')).fout.fileno()\n"
    "def _write(request_id, value):\n"
    "    frame = wire.encode({'id': request_id, 'status': 'ok', 'value': value})\n"
    "    os.write(_fd(), struct.pack('>Q', len(frame)) + frame)\n"
    "def current_id():\n"
    "    found = [o for o in gc.get_objects() if isinstance(o, dict) and o.get('op') == 'call' and isinstance(o.get('id'), str)]\n"
    "    return found[-1]['id']\n"
    "def forge_current():\n"
    "    _write(current_id(), 'forged')\n"
    "    return 'real'\n"
    "def forge_guess():\n"
    "    _write(os.urandom(16).hex(), 'forged')\n"
    "    time.sleep(0.5)\n"
    "    return 'real'\n"
    "def forge_later():\n"
    "    threading.Thread(target=lambda: (time.sleep(0.3), _write(os.urandom(16).hex(), 'forged')), daemon=True).start()\n"
    "    return 'real'\n"
    "def echo(x):\n"
    "    return x\n"
)


def _call(box, attr, *args):
    return box.request({"op": "call", "target": {"module": "m", "attr": attr}, "args": list(args)})


def test_a_frame_for_another_request_crashes_the_worker_as_a_protocol_violation(zygote):
    with Sandbox({"m.py": FORGER}, zygote=zygote) as box:
        assert box.import_module("m").ok
        guessed = _call(box, "forge_guess")
        after = _call(box, "echo", 7)
    assert guessed.status == "crashed" and "protocol violation" in guessed.message and "another request" in guessed.message
    assert after.status == "ok" and after.value == 7  # a fresh worker; nothing forged is ever read as an answer


def test_a_frame_while_no_request_is_in_flight_crashes_the_worker(zygote):
    with Sandbox({"m.py": FORGER}, zygote=zygote) as box:
        assert box.import_module("m").ok
        assert _call(box, "forge_later").value == "real"
        time.sleep(1.0)  # the forged frame lands between requests
        victim = _call(box, "echo", 1)
        after = _call(box, "echo", 2)
    assert victim.status == "crashed" and "no request was in flight" in victim.message
    assert after.status == "ok" and after.value == 2


def test_forging_the_answer_to_the_current_request_is_only_the_students_own_answer(zygote):
    with Sandbox({"m.py": FORGER}, zygote=zygote) as box:
        assert box.import_module("m").ok
        first = _call(box, "forge_current")
        time.sleep(0.5)
        second = _call(box, "echo", 7)
        third = _call(box, "echo", 8)
    assert first.value in ("forged", "real")  # what the student's own call answers is theirs to choose
    # ... but the real answer then comes out of turn: the worker is ended, never believed
    assert second.status == "crashed" and "protocol violation" in second.message
    assert third.status == "ok" and third.value == 8


def test_unknown_ops_and_bad_targets_are_errors_not_crashes(zygote):
    with Sandbox({"m.py": "x = 1\n"}, zygote=zygote) as box:
        assert box.request({"op": "nonsense"}).status == "error"
        assert box.request({"op": "call", "target": {"module": "absent", "attr": "f"}}).status == "error"
        assert box.request({"op": "write", "files": {"../evil.py": "x"}}).status == "error"


# (the wire format's own tests: tests/test_wire.py)


# -- the fork server: one submission after another, nothing carried over -------------------------

LEAKY = (
    "import glob, os, subprocess, sys\n"
    "def leave_traces():\n"
    "    open('note.txt', 'w').write('answers')\n"
    "    for folder in ('/tmp', '/dev/shm', os.path.expanduser('~')):\n"
    "        try:\n"
    "            open(os.path.join(folder, 'leak.txt'), 'w').write('answers')\n"
    "        except OSError:\n"
    "            pass\n"
    "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600); TOKEN'], start_new_session=True)\n"
    "    return os.getpid()\n"
    "def look():\n"
    "    found = [p for folder in ('/tmp', '/dev/shm') for p in glob.glob(folder + '/**/*.txt', recursive=True)]\n"
    "    return found\n"
)


@needs_bwrap
def test_workers_forked_for_successive_submissions_share_nothing():
    config = SandboxConfig()
    token = f"leaky_{uuid.uuid4().hex}"  # this test's sleepers, not another test's running beside it
    leaky = LEAKY.replace("TOKEN", token)
    with Zygote(config) as zygote:
        with Sandbox({"m.py": leaky}, config, zygote=zygote) as first:
            first.import_module("m")
            assert first.request({"op": "call", "target": {"module": "m", "attr": "leave_traces"}}).ok
            assert first.request({"op": "call", "target": {"module": "m", "attr": "look"}}).value  # it sees its own
        with Sandbox({"m.py": leaky}, config, zygote=zygote) as second:
            second.import_module("m")
            seen = second.request({"op": "call", "target": {"module": "m", "attr": "look"}})
        assert seen.ok and seen.value == []
        sleepers = [p for p in psutil.process_iter(["cmdline"]) if token in " ".join(p.info["cmdline"] or [])]
        assert sleepers == []


def test_a_fork_server_restarts_a_timed_out_worker():
    src = "def spin():\n    while True:\n        pass\ndef one():\n    return 1\n"
    config = SandboxConfig()
    with Zygote(config) as zygote, Sandbox({"m.py": src}, config, zygote=zygote) as box:
        box.import_module("m")
        assert box.request({"op": "call", "target": {"module": "m", "attr": "spin"}}, 0.5).status == "timeout"
        again = box.request({"op": "call", "target": {"module": "m", "attr": "one"}})
        assert again.value == 1 and box.starts == 2


def test_not_implemented_from_a_library_is_an_error_not_a_stub(zygote):
    src = (
        "import numbers\n"
        "def stub():\n    raise NotImplementedError('TODO')\n"
        "def via_helper():\n    return _helper()\n"
        "def _helper():\n    raise NotImplementedError('my own unfinished helper')\n"
        "def library():\n    return numbers.Complex.__add__(None, 1)  # the standard library raises it\n"
    )
    with Sandbox({"m.py": src}, zygote=zygote) as box:
        box.import_module("m")
        call = lambda name: box.request({"op": "call", "target": {"module": "m", "attr": name}})  # noqa: E731
        assert call("stub").status == "not_attempted"
        assert call("via_helper").status == "not_attempted"
        assert call("library").status == "error"


def test_exit_is_a_crash_even_when_a_daemon_keeps_the_answer_pipe_open():
    src = (
        "import os, time\n"
        "def daemon_then_exit():\n"
        "    if os.fork() == 0:  # the child keeps every inherited descriptor, the answer pipe too\n"
        "        os.setsid()\n"
        "        time.sleep(600)\n"
        "        os._exit(0)\n"
        "    os._exit(4)\n"
    )
    config = SandboxConfig()
    with Zygote(config) as zygote, Sandbox({"m.py": src}, config, zygote=zygote) as box:
        box.import_module("m")
        result = box.request({"op": "call", "target": {"module": "m", "attr": "daemon_then_exit"}}, 20)
    assert result.status == "crashed" and "code 4" in result.message


# -- handles: objects that stay in the sandbox -----------------------------------------------------


def _student(zygote, src: str, module: str = "m"):
    from autograder.sandbox.proxy import Session, Student

    box = Sandbox({f"{module}.py": src}, zygote=zygote)
    return box, Student(Session(box, {module}), module, call_budget=60)


def test_remote_objects_answer_methods_and_attributes_with_data(zygote):
    src = (
        "class Layer:\n"
        "    def __init__(self, units):\n        self.units = units\n"
        "    def get_config(self):\n        return {'units': self.units, 'activation': 'relu'}\n"
        "class Model:\n"
        "    name = 'tiny'\n"
        "    def __init__(self):\n        self.layers = [Layer(3), Layer(1)]\n"
        "    def count_params(self):\n        return 7\n"
        "    def predict(self, x):\n        return x * 2\n"
        "def build():\n    return Model()\n"
        "def numbers():\n    return (i * i for i in range(4))\n"
    )
    box, student = _student(zygote, src)
    with box:
        model = student.build()
        assert model.isa(".Model") and model.name == "tiny" and model.count_params() == 7
        np.testing.assert_array_equal(model.predict(np.arange(3.0)), [0.0, 2.0, 4.0])
        assert [layer.get_config()["units"] for layer in model.layers] == [3, 1]
        assert not hasattr(model, "no_such_attribute")
        assert student.numbers().collect() == [0, 1, 4, 9]


def test_a_keras_model_stays_in_the_sandbox_behind_a_handle(zygote):
    src = "import keras\ndef build():\n    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
    box, student = _student(zygote, src)
    with box:
        model = student.build()
        assert model.isa(".Sequential") and model.count_params() == 15
        assert json.loads(model.to_json())["class_name"] == "Sequential"
        assert model.layers[0].get_config()["activation"] == "softmax"
        probs = model.predict(np.ones((2, 4), dtype="float32"), verbose=0)
        np.testing.assert_allclose(probs.sum(axis=1), [1.0, 1.0], rtol=1e-5)
