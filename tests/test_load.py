"""Under load, with a hostile neighbour, every honest student gets exactly the grade of a quiet run.

Two ``grade-all --jobs 2`` runs at once on one machine; one class holds a submission that parks
processes up to its own quota, tries SysV shared memory and fills ``/dev/shm``. Every honest
student's per-check results must equal those of a run with nothing else on the machine, and
nothing may be left in ``/dev/shm``, SysV IPC or the cgroups afterwards. NumPy topics only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder.quiet import quiet_env
from autograder.sandbox import limits

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # serial: checks the machine's cgroups, /dev/shm and SysV IPC

REPO = Path(__file__).resolve().parents[1]
TOPICS = ["neurons", "backprop"]
MEMORY_MB = 1024  # the course's per-worker memory (and so /dev/shm) limit in this test

HOSTILE = '''

import ctypes as _ctypes
import os as _os
import time as _time


def _attack():
    """Park processes up to the quota and try SysV shared memory; print what it got."""
    parked = 0
    while parked < 1000:
        try:
            pid = _os.fork()
        except OSError:
            break
        if pid == 0:
            _time.sleep(600)
            _os._exit(0)
        parked += 1
    libc = _ctypes.CDLL(None, use_errno=True)
    segments = [libc.shmget(0, 256 << 20, 0o1000 | 0o666) for _ in range(8)]
    semaphores = [libc.semget(0, 16, 0o1000 | 0o666) for _ in range(8)]
    print(f"ATTACK parked={parked} shm={min(segments)},{max(segments)} sem={min(semaphores)},{max(semaphores)}")


def _fill_shm():
    """Fill /dev/shm with 16 MB files until refused (or killed at the memory limit)."""
    block = b"x" * (16 << 20)
    written = 0
    try:
        while written < 4096:
            with open(f"/dev/shm/hog{written}", "wb") as f:
                f.write(block)
            written += 16
    except OSError:
        pass
    print(f"FILLED {written}")


_ORIGINAL_COUNT, _ORIGINAL_INIT = count_parameters, init_params


def count_parameters(layer_sizes):
    _attack()
    return _ORIGINAL_COUNT(layer_sizes)


def init_params(*args, **kwargs):
    _fill_shm()
    return _ORIGINAL_INIT(*args, **kwargs)
'''


def _course(tmp: Path) -> Path:
    root = tmp / "course"
    root.mkdir()
    manifest = (REPO / "course.toml").read_text(encoding="utf-8")
    manifest, n = re.subn(r"(?m)^memory_limit_mb\s*=.*$", f"memory_limit_mb = {MEMORY_MB}", manifest, count=1)
    assert n == 1
    (root / "course.toml").write_text(manifest, encoding="utf-8")
    shutil.copytree(REPO / "solutions", root / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "checks", root / "checks", ignore=shutil.ignore_patterns("__pycache__"))  # the course's checks travel with it
    return root


def _class(root: Path, hostile: bool) -> Path:
    def write(name: str, files: dict[str, str]) -> None:
        (root / name).mkdir(parents=True)
        for fname, text in files.items():
            (root / name / fname).write_text(text, encoding="utf-8")

    solution = {f"{t}.py": (REPO / "solutions" / f"{t}.py").read_text() for t in TOPICS}
    blank = {f"{t}.py": (REPO / "exercises" / f"{t}.py").read_text() for t in TOPICS}
    write("correct", solution)
    write("blank", blank)
    write("mixed", {"neurons.py": solution["neurons.py"], "backprop.py": blank["backprop.py"]})
    write("buggy", {**solution, "neurons.py": solution["neurons.py"] +
                    "\n\ndef count_parameters(layer_sizes):\n    return sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:]))\n"})
    if hostile:
        write("hostile", {**solution, "neurons.py": solution["neurons.py"] + HOSTILE})
    return root


def _start(klass: Path, out: Path, course: Path) -> subprocess.Popen:
    env = quiet_env(AUTOGRADER_COURSE=str(course))
    args = [sys.executable, "-m", "autograder", "grade-all", str(klass), "--out", str(out), "--jobs", "2", "--no-progress",
            *[a for t in TOPICS for a in ("--topic", t)]]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> None:
    stdout, stderr = proc.communicate(timeout=1200)
    assert proc.returncode == 0, f"grade-all failed ({proc.returncode}):\n{stdout}\n{stderr}"


def _checks(out: Path) -> dict[str, dict[str, tuple[str, float]]]:
    found = {}
    for record in sorted(out.glob("submissions/*/result.json")):
        result = json.loads(record.read_text())["result"]
        assert not result.get("grader_failed") and not result.get("error"), result.get("error")
        found[result["submission"]] = {c["id"]: (c["status"], c["points"]) for c in result["checks"]}
    return found


def _in_use() -> set[str]:
    """Names under /dev/shm that a live process maps or holds open (other jobs on the machine)."""
    used = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            used |= {line.split("/dev/shm/", 1)[1].split()[0] for line in (proc / "maps").read_text().splitlines() if "/dev/shm/" in line}
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("/dev/shm/"):
                    used.add(target[len("/dev/shm/"):].split()[0])
        except OSError:
            continue
    return used


def _orphans(before: set[str]) -> set[str]:
    """Files in /dev/shm that appeared during the test and that no live process uses (a leak)."""
    deadline = time.monotonic() + 10  # a finished run's resource tracker unlinks its semaphores last
    while True:
        new = set(os.listdir("/dev/shm")) - before
        orphans = new - _in_use()
        if not orphans or time.monotonic() > deadline:
            return orphans
        time.sleep(0.5)


def _attacks(checks: list[dict]) -> list[tuple]:
    """What the hostile submission reported of each attack (it prints its own figures)."""
    found = []
    for check in checks:
        for m in re.finditer(r"ATTACK parked=(\d+) shm=(-?\d+),(-?\d+) sem=(-?\d+),(-?\d+)", check["output"]):
            n = [int(x) for x in m.groups()]
            found.append((n[0], (n[1], n[2]), (n[3], n[4])))
    return found


def _sysv() -> set[str]:
    found = set()
    for kind in ("shm", "sem", "msg"):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        found |= {f"{kind}:{line.split()[1]}" for line in lines if line.split()}
    return found


def _leftover_cgroups() -> list[Path]:
    support = limits.cgroup_support()
    return [p for parent in support.parents.values() for p in parent.glob("autograder-*")] if support.version else []


def _owner(cgroup: Path) -> int | None:
    """The pid of the grader that made a worker cgroup (``autograder-<pid>-p<ns>-...``)."""
    owner = cgroup.name[len(limits.PREFIX):].partition("-")[0]
    return int(owner) if owner.isdigit() else None


class _OurGraders:
    """The pids of every process our ``grade-all`` runs start (their job processes make the worker
    cgroups), sampled while they run, and the worker cgroups seen meanwhile. Other graders may share
    the machine (and its cgroup folders): their cgroups, made and removed on their own schedule, are
    not ours to judge; every cgroup one of *our* graders made must be gone when it has finished."""

    def __init__(self) -> None:
        import psutil

        self.pids: set[int] = set()
        self.seen: set[Path] = set()
        self._me = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                self.pids |= {p.pid for p in self._me.children(recursive=True)}
            except psutil.Error:
                pass
            self.seen |= set(_leftover_cgroups())
            self._stop.wait(0.05)

    def start(self) -> "_OurGraders":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def ours(self, cgroups) -> set[Path]:
        return {c for c in cgroups if _owner(c) in self.pids}


def test_two_batches_at_once_with_a_hostile_neighbour_grade_like_a_quiet_run(tmp_path):
    course = _course(tmp_path)
    quiet_a, quiet_b = _class(tmp_path / "quiet_a", hostile=False), _class(tmp_path / "quiet_b", hostile=False)
    shm_before, sysv_before = set(os.listdir("/dev/shm")), _sysv()
    graders = _OurGraders().start()

    # the quiet run: one class at a time, nothing else of ours on the machine
    _finish(_start(quiet_a, tmp_path / "quiet_out", course))
    expected = _checks(tmp_path / "quiet_out")
    assert set(expected) == {"correct", "blank", "mixed", "buggy"}
    assert all(s == "passed" for s, _ in expected["correct"].values())
    assert any(s == "failed" for s, _ in expected["buggy"].values())

    # two runs at once, one with the hostile submission among the honest ones
    loud_a = _class(tmp_path / "loud_a", hostile=True)
    runs = [_start(loud_a, tmp_path / "out_a", course), _start(quiet_b, tmp_path / "out_b", course)]
    for run in runs:
        _finish(run)
    graders.stop()
    got_a, got_b = _checks(tmp_path / "out_a"), _checks(tmp_path / "out_b")
    for name, checks in expected.items():
        assert got_a[name] == checks, f"{name}, graded beside the hostile submission, differs from the quiet run"
        assert got_b[name] == checks, f"{name}, graded while the other batch ran, differs from the quiet run"
    assert "hostile" in got_a  # it was graded (its own checks may fail: its business)
    hostile = json.loads((tmp_path / "out_a" / "submissions" / "hostile" / "result.json").read_text())["result"]["checks"]
    attacks = _attacks(hostile)
    assert attacks and attacks[0][0] >= 64, f"the hostile submission did not park processes: {attacks}"
    for parked, shm, sem in attacks:
        assert parked < 128, f"parked {parked} processes: not stopped at its own quota of 128"
        assert shm == sem == (-1, -1), "SysV IPC was not refused"
    filled = [c for c in hostile if "init_params" in c["id"]]
    assert filled and all(c["status"] != "grader_error" for c in hostile)
    for c in filled:  # stopped at its own memory limit: refused, or killed, never beyond it
        m = re.search(r"FILLED (\d+)", c["output"])
        assert c["status"] == "crashed" or (m and int(m.group(1)) <= MEMORY_MB), (c["status"], c["output"][:200])

    assert not _orphans(shm_before), "something was left in /dev/shm"
    assert _sysv() <= sysv_before, "a SysV IPC object was left behind"
    if limits.cgroup_support().version:
        assert graders.ours(graders.seen), "no worker cgroup of our graders was seen while they ran: the check below would be blind"
        left = graders.ours(_leftover_cgroups())
        assert not left, f"a worker cgroup (and so a parked process) was left behind: {sorted(map(str, left))}"
