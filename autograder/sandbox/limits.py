"""Limits that belong to one worker alone: a cgroup, a seccomp filter, or a uid of its own.

``RLIMIT_NPROC`` counts every process of a user, so with every worker running as ``nobody`` all
sandboxes on a machine would share one process quota, and one submission could starve the others.
This module gives each worker limits no other sandbox shares, with what the machine allows:

- **cgroups** (v1 ``pids`` and ``memory`` controllers, or v2 with both delegated): one cgroup per
  worker, created below the grader's own, with ``pids.max`` and a memory limit that also counts
  what the worker writes to its tmpfs (``/dev/shm``, ``/tmp``). The trusted side places the worker
  in it before any student code is loaded, and removes it when the worker ends.
- otherwise, as root, **a uid of its own** per fork server, leased from a range
  (``AUTOGRADER_UID_RANGE``, default 61000-61999) with a lock file, so ``RLIMIT_NPROC`` is per worker.
- **seccomp** (``libseccomp.so.2`` through ctypes): the worker loads a filter, before any student
  code, that refuses SysV IPC (``shmget``, ``semget``, ``msgget`` and friends) and cross-process
  tampering (``ptrace``, ``process_vm_readv``/``writev``, ``pidfd_getfd``) with ``EPERM``.

:func:`missing` says in words which of these the machine lacks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

CGROUP_FS = Path("/sys/fs/cgroup")
CONTROLLERS = ("pids", "memory")
BLOCKED_SYSCALLS = (
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
    "msgget", "msgsnd", "msgrcv", "msgctl", "ptrace", "process_vm_readv", "process_vm_writev",
    "pidfd_getfd", "kcmp",
)
DEFAULT_UID_RANGE = (61000, 61999)


# --------------------------------------------------------------------------------------------------
# cgroups
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CgroupSupport:
    """Where per-worker cgroups can be made: ``version`` 1 or 2 (0: nowhere), the parent folder of
    each controller (one folder for v2), and the reason when there is none."""

    version: int
    parents: dict = field(default_factory=dict)
    reason: str = ""


def _own_cgroups() -> dict[str, str]:
    """{controller or "": path} from /proc/self/cgroup ("" is the v2 hierarchy)."""
    found = {}
    try:
        text = Path("/proc/self/cgroup").read_text()
    except OSError:
        return found
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for name in parts[1].split(",") if parts[1] else [""]:
            found[name] = parts[2]
    return found


def _probe_mkdir(parent: Path) -> str:
    probe = parent / f"autograder-probe-{os.getpid()}-{os.urandom(3).hex()}"
    try:
        probe.mkdir()
    except OSError as exc:
        return f"cannot create a cgroup under {parent} ({exc.strerror or exc})"
    try:
        probe.rmdir()
    except OSError:
        pass
    return ""


@lru_cache(maxsize=None)
def cgroup_support() -> CgroupSupport:
    """Probed once per process: can this grader make a cgroup per worker, and where."""
    if os.environ.get("AUTOGRADER_NO_CGROUPS"):
        return CgroupSupport(0, reason="turned off (AUTOGRADER_NO_CGROUPS)")
    own = _own_cgroups()
    v1 = {c: CGROUP_FS / c / own[c].lstrip("/") for c in CONTROLLERS if c in own and (CGROUP_FS / c / "cgroup.procs").exists()}
    if len(v1) == len(CONTROLLERS):
        for parent in v1.values():
            why = _probe_mkdir(parent)
            if why:
                return CgroupSupport(0, reason=why)
        return CgroupSupport(1, v1)
    if "" in own and (CGROUP_FS / "cgroup.controllers").exists():
        parent = CGROUP_FS / own[""].lstrip("/")
        try:
            enabled = (parent / "cgroup.subtree_control").read_text().split()
            if not all(c in enabled for c in CONTROLLERS):
                (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
        except OSError as exc:
            return CgroupSupport(0, reason=f"the pids and memory controllers are not delegated to {parent} ({exc.strerror or exc})")
        why = _probe_mkdir(parent)
        return CgroupSupport(0, reason=why) if why else CgroupSupport(2, {"": parent})
    return CgroupSupport(0, reason="no writable pids and memory cgroup controllers")


PREFIX = "autograder-"


@lru_cache(maxsize=None)
def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").split("[")[-1].rstrip("]")
    except OSError:
        return "0"


def cgroup_name(token: str) -> str:
    """``autograder-<pid of the grader>-p<its PID namespace>-<token>``: a later grader in the same PID
    namespace can tell whether the grader that made it is still alive."""
    return f"{PREFIX}{os.getpid()}-p{_pid_namespace()}-{token}"


_swept = False


def sweep_stale() -> int:
    """Remove the worker cgroups left by graders that died without cleaning up (killed with SIGKILL),
    with whatever still runs in them. Once per process; a live grader's cgroups are not touched."""
    global _swept
    if _swept:
        return 0
    _swept = True
    removed = 0
    support = cgroup_support()
    stale = {}
    for parent in support.parents.values():
        for folder in parent.glob(PREFIX + "*"):
            owner, _, rest = folder.name[len(PREFIX):].partition("-")
            here = rest.startswith(f"p{_pid_namespace()}-")  # a pid of another namespace says nothing here
            if here and owner.isdigit() and int(owner) != os.getpid() and not Path(f"/proc/{owner}").exists():
                stale.setdefault(folder.name, []).append(folder)
    for folders in stale.values():
        leftover = WorkerCgroup.__new__(WorkerCgroup)
        leftover.version, leftover.folders = support.version, dict(enumerate(folders))
        leftover.remove()
        removed += 1
    return removed


_LIVE: set["WorkerCgroup"] = set()  # this process's worker cgroups not yet removed


def leave_root(uid: int) -> None:
    """Become ``uid`` for good (supplementary groups dropped); refuse to go on as root."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("could not leave the root user")


def set_process_flag(option: int, value: int) -> None:
    """``prctl(option, value)`` where the C library has it (Linux); elsewhere nothing."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def silence_standard_streams() -> None:
    """Point descriptors 0, 1 and 2 at /dev/null (the grader talks over pipes of its own)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def remove_all() -> int:
    """Remove every worker cgroup this process still holds, with whatever runs in them (the last
    resort of a grading process that is being killed while a worker runs); how many there were."""
    live = list(_LIVE)
    for cgroup in live:
        cgroup.remove()
    return len(live)


class WorkerCgroup:
    """One cgroup (one folder per v1 controller) for one worker, with its process and memory limits."""

    def __init__(self, name: str, max_processes: int, memory_bytes: int) -> None:
        support = cgroup_support()
        if not support.version:
            raise OSError(errno.ENOTSUP, support.reason)
        sweep_stale()
        self.version = support.version
        self.folders = {c: p / name for c, p in support.parents.items()}
        made = []
        try:
            for folder in self.folders.values():
                folder.mkdir()
                made.append(folder)
            if self.version == 1:
                _write(self.folders["pids"] / "pids.max", max_processes)
                _write(self.folders["memory"] / "memory.limit_in_bytes", memory_bytes)
                try:  # no swap beyond the limit either, where the kernel accounts swap
                    _write(self.folders["memory"] / "memory.memsw.limit_in_bytes", memory_bytes)
                except OSError:
                    pass
            else:
                _write(self.folders[""] / "pids.max", max_processes)
                _write(self.folders[""] / "memory.max", memory_bytes)
                try:
                    _write(self.folders[""] / "memory.swap.max", 0)
                except OSError:
                    pass
        except OSError:
            for folder in made:
                _rmdir(folder)
            raise
        _LIVE.add(self)

    def place(self, pid: int) -> None:
        """Move a process (all its threads) into this cgroup."""
        for folder in self.folders.values():
            _write(folder / "cgroup.procs", pid)

    def pids(self) -> set[int]:
        found = set()
        for folder in self.folders.values():
            try:
                found |= {int(x) for x in (folder / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return found

    def limits_hit(self) -> dict[str, int]:
        """How often the worker ran into its own limits: {"pids": n, "memory": n}."""
        out = {"pids": 0, "memory": 0}
        if self.version == 1:
            out["pids"] = _events(self.folders["pids"] / "pids.events").get("max", 0)
            out["memory"] = _int(self.folders["memory"] / "memory.failcnt")
            out["memory"] += _events(self.folders["memory"] / "memory.oom_control").get("oom_kill", 0)
        else:
            out["pids"] = _events(self.folders[""] / "pids.events").get("max", 0)
            ev = _events(self.folders[""] / "memory.events")
            out["memory"] = ev.get("max", 0) + ev.get("oom_kill", 0)
        return out

    def peak_memory(self) -> int:
        """The most memory (bytes) the worker's cgroup has held: its processes and its tmpfs files,
        beyond what it shares with the fork server it came from; 0 when the kernel does not say."""
        if self.version == 1:
            return _int(self.folders["memory"] / "memory.max_usage_in_bytes")
        return _int(self.folders[""] / "memory.peak")

    def remove(self) -> None:
        """Kill whatever is left in the cgroup and remove it."""
        kill_until_gone(self.pids, tries=50, pause=0.01)
        for folder in self.folders.values():
            _rmdir(folder)
        _LIVE.discard(self)

    def exists(self) -> bool:
        return any(f.exists() for f in self.folders.values())


def kill_until_gone(list_pids, *, tries: int, pause: float, after=None) -> None:
    """SIGKILL every process ``list_pids()`` names, again and again (a fork bomb keeps making more),
    until it names none or ``tries`` rounds are spent; ``after()`` runs after each round (a reaper)."""
    for _ in range(tries):
        pids = list_pids()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(pause)
        if after is not None:
            after()


def _write(path: Path, value) -> None:
    with open(path, "w") as f:
        f.write(str(value))


def _int(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _events(path: Path) -> dict[str, int]:
    out = {}
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if value.strip().isdigit():
                out[key] = int(value)
    except OSError:
        pass
    return out


def _rmdir(folder: Path) -> None:
    for _ in range(100):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for t in os.listdir(f"/proc/{pid}/task") for x in Path(f"/proc/{pid}/task/{t}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _descendants(root_pid: int) -> list[int]:
    """Every process below ``root_pid``, nearest first (from /proc/<pid>/task/*/children, which
    costs a few reads, not a scan of every process; psutil's scan where the kernel lacks it)."""
    if not Path(f"/proc/{root_pid}/task/{root_pid}/children").exists():
        import psutil

        try:
            return [p.pid for p in psutil.Process(root_pid).children(recursive=True)]
        except psutil.Error:
            return []
    found, queue = [], [root_pid]
    while queue:
        kids = _children(queue.pop(0))
        found += kids
        queue += kids
    return found


def host_pid(root_pid: int, ns_pid: int) -> int | None:
    """The host pid of the process that ``root_pid``'s descendants know as ``ns_pid`` in their own
    PID namespace (the innermost pid of the ``NSpid`` line of /proc/<pid>/status)."""
    for pid in _descendants(root_pid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("NSpid:"):
                    ids = line.split()[1:]
                    if len(ids) > 1 and int(ids[-1]) == ns_pid:
                        return pid
                    break
        except (OSError, ValueError):
            continue
    return None


# --------------------------------------------------------------------------------------------------
# seccomp (libseccomp through ctypes)
# --------------------------------------------------------------------------------------------------

SCMP_ACT_ALLOW = 0x7FFF0000


def _scmp_act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


@lru_cache(maxsize=None)
def _libseccomp():
    lib = None
    for name in ("libseccomp.so.2", None):  # find_library runs ldconfig: only when the usual name fails
        try:
            lib = ctypes.CDLL(name or ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
            break
        except OSError:
            continue
    if lib is None:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.restype = ctypes.c_int
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.restype = ctypes.c_int
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.restype = None
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def _filter():
    """A libseccomp context that refuses :data:`BLOCKED_SYSCALLS` with EPERM (None without the library)."""
    lib = _libseccomp()
    if lib is None:
        return None, None
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        return lib, None
    for name in BLOCKED_SYSCALLS:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr == -1:  # __NR_SCMP_ERROR: not a system call on this architecture
            continue
        lib.seccomp_rule_add(ctx, _scmp_act_errno(errno.EPERM), nr, 0)
    return lib, ctx


@lru_cache(maxsize=None)
def seccomp_status() -> str:
    """"" when a seccomp filter can be built here, else the reason."""
    lib, ctx = _filter()
    if lib is None:
        return "libseccomp (libseccomp.so.2) is not installed"
    if ctx is None:
        return "libseccomp could not make a filter"
    lib.seccomp_release(ctx)
    return ""


def load_seccomp() -> str:
    """Load the filter into this process for good (and every process it starts); "" on success."""
    lib, ctx = _filter()
    if lib is None or ctx is None:
        return "libseccomp is not available"
    try:
        rc = lib.seccomp_load(ctx)
    finally:
        lib.seccomp_release(ctx)
    return "" if rc == 0 else f"seccomp_load failed ({os.strerror(-rc)})"


# --------------------------------------------------------------------------------------------------
# a uid per fork server (where there are no cgroups)
# --------------------------------------------------------------------------------------------------


def uid_range() -> tuple[int, int]:
    text = os.environ.get("AUTOGRADER_UID_RANGE", "")
    try:
        low, high = (int(x) for x in text.split("-"))
        if 0 < low <= high:
            return low, high
    except ValueError:
        pass
    return DEFAULT_UID_RANGE


class UidLease:
    """A uid from :func:`uid_range` that no other grader on this machine holds (a locked file per uid)."""

    def __init__(self) -> None:
        folder = Path(tempfile.gettempdir()) / "autograder-uids"
        folder.mkdir(mode=0o700, exist_ok=True)
        low, high = uid_range()
        for uid in range(low, high + 1):
            fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            return
        raise OSError(errno.EAGAIN, f"every uid of {low}-{high} is in use by another worker")

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
