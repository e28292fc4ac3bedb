"""The trusted side of the sandbox: start, feed, time and kill one worker per submission.

One :class:`Sandbox` holds one worker process for one submission and reuses it across checks. A
call that runs past its budget, crashes the worker (``os._exit``, a segfault, a memory bomb), or
sends back anything that is not a well-formed answer ends that call with status ``timeout`` or
``crashed``; the worker is killed with every process it started, and the next call gets a fresh
worker with the submission imported again. Where bubblewrap works, the worker sees a read-only
file system with the solutions, hidden checks and grader output masked, a private ``/tmp``, no
network and its own process namespace; run as root, it drops to ``nobody``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from autograder.errors import AutograderError
from autograder.quiet import QUIET_TENSORFLOW
from autograder.results import crash_feedback
from autograder.sandbox import limits, wire

NOBODY = 65534
ISSUED_TOKENS: list[str] = []  # every sandbox token this process made (tests look for leftovers by it)
DEFAULT_OUTPUT_LIMIT = 8 * 2**20
STARTUP_TIMEOUT = 60.0


@dataclass
class CallResult:
    """What one call into the sandbox gave: a status and either a value or an error."""

    status: str  # ok | error | not_attempted | exit | timeout | crashed | output_limit | grader_error
    value: Any = None
    error: dict | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    warnings: list = field(default_factory=list)
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def message(self) -> str:
        return (self.error or {}).get("message", "")


@dataclass
class SandboxConfig:
    memory_mb: int = 3072
    call_budget: float = 10.0
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    file_size_mb: int = 64
    max_processes: int = 128
    masks: tuple[Path, ...] = ()  # paths the worker must not see (solutions, hidden checks, output)
    preload: tuple[str, ...] = ()  # modules the fork server imports once (e.g. "keras" for warm workers)
    threads: int = 1
    cgroups: bool = True  # a cgroup per worker where the machine allows it (see sandbox.limits)
    start_retries: int = 3  # a worker that fails to start (a grader fault) is tried this often
    retry_backoff: float = 0.5  # seconds before the first retry, doubled for each further one

    def uses_cgroups(self) -> bool:
        return self.cgroups and bool(limits.cgroup_support().version)


SYSTEM_DIRS = ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32")


def _needed_paths() -> list[Path]:
    """What the worker must read besides the system: the interpreter, its environment, this package.

    The package is the ``autograder`` folder alone, not the course around it: the sandbox never
    sees ``solutions/``, the tests or another course's files.
    """
    import numpy

    package = Path(__file__).resolve().parents[1]
    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent, package,
             Path(numpy.__file__).resolve().parents[1]}
    paths |= {Path(p) for p in sys.path if p.endswith("-packages") and Path(p).is_dir()}
    resolved = {p.resolve() for p in paths}
    # outermost only: a venv inside the course needs no bind of its own site-packages
    return sorted(p for p in resolved if not any(q in p.parents for q in resolved)
                  and not any(p == Path("/", d) or Path("/", d) in p.parents for d in SYSTEM_DIRS))


def _hidden_ancestors() -> list[tuple[Path, Path]]:
    """(closed folder, needed child) pairs: folders others may not enter on the way to a needed path
    (pyenv under /root, mode 700, is the usual case). Without bubblewrap, such a Python can't run
    as ``nobody``; with it, the sandbox's own file system has open folders on the way."""
    pairs = set()
    for path in _needed_paths():
        parts = path.parts
        for i in range(1, len(parts)):
            folder = Path(*parts[:i])
            if not os.stat(folder).st_mode & 0o001:
                pairs.add((folder, Path(*parts[: i + 1])))
                break
    return sorted(pairs)


def _python(module: str) -> list[str]:
    """The command that runs ``autograder.sandbox.<module>`` from this very copy of the package
    (a release or a Gradescope bundle may sit beside an installed one), with no environment
    variables or user site read: ``-E -s``. ``-c`` would put the current folder (the sandbox's
    ``/tmp``, which workers write) first on ``sys.path``: it is dropped, so the fork server never
    imports a module file a worker left there."""
    root = str(Path(__file__).resolve().parents[2])
    boot = (f"import sys; sys.path[:] = [{root!r}] + [p for p in sys.path if p not in ('', '.')]; "
            f"from autograder.sandbox.{module} import main; main()")
    return [sys.executable, "-E", "-s", "-c", boot]


def _is_root() -> bool:
    return os.geteuid() == 0


@lru_cache(maxsize=None)
def _bwrap_sizes_tmpfs() -> bool:
    """Whether this bubblewrap takes ``--size`` for a tmpfs (0.8 and later)."""
    try:
        return "--size" in subprocess.run([bwrap_status()[0], "--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError, TypeError):
        return False


def _bwrap_options(masks, *, zygote: bool = False, tmpfs_bytes: int | None = None) -> list[str]:
    """bubblewrap's options: a minimal read-only view, masks, private /tmp, new namespaces, few capabilities.

    As root the sandbox gets no user namespace, so its process really becomes ``nobody``: a worker
    keeps only the two capabilities it needs to drop its user; a zygote (fork server, trusted code)
    also keeps those it needs to kill its children and wipe what they leave in /tmp.
    """
    # Only what is needed, read-only: the system folders, Python and its packages, this package.
    # Everything else (the course's solutions, other courses, home folders, grader output) is absent.
    opts = []
    for name in SYSTEM_DIRS:
        path = Path("/", name)
        if path.is_symlink():
            opts += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            opts += ["--ro-bind", str(path), str(path)]
    # a private /tmp and /dev/shm (POSIX shared memory, multiprocessing's semaphores), writable by the
    # worker; their pages count toward the worker's memory cgroup, and each is capped at the memory limit
    size = ["--size", str(tmpfs_bytes)] if tmpfs_bytes and _bwrap_sizes_tmpfs() else []
    opts += ["--dev", "/dev", "--perms", "1777", *size, "--tmpfs", "/dev/shm", "--proc", "/proc",
             "--perms", "1777", *size, "--tmpfs", "/tmp"]
    needed = _needed_paths()
    made = set()
    for path in needed:  # bwrap would make the folders on the way mode 700: unreachable for `nobody`
        for folder in reversed(path.parents[:-1]):
            if folder not in made and folder != Path("/tmp"):
                made.add(folder)
                opts += ["--perms", "0755", "--dir", str(folder)]
    for path in needed:
        opts += ["--ro-bind", str(path), str(path)]
    for path in masks:
        if Path(path).is_dir():
            opts += ["--tmpfs", str(path)]
        elif Path(path).exists():
            opts += ["--ro-bind", "/dev/null", str(path)]
    if _is_root():
        # No user namespace: the worker really becomes `nobody`, dropping its user itself before it
        # reads any student code.
        caps = ["CAP_SETUID", "CAP_SETGID"] + (["CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER"] if zygote else [])
        opts += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL"]
        for cap in caps:
            opts += ["--cap-add", cap]
    else:
        opts += ["--unshare-all"]
    return opts + ["--die-with-parent", "--new-session", "--chdir", "/tmp"]


@lru_cache(maxsize=None)
def bwrap_status() -> tuple[str | None, str]:
    """(path to a working bwrap or None, reason when None). Probed once per process."""
    path = shutil.which("bwrap")
    if not path:
        return None, "bubblewrap (bwrap) is not installed"
    drop = "import os; os.setgroups([]); os.setgid(65534); os.setuid(65534); " if _is_root() else ""
    # -S: no site import, so the probe costs milliseconds (it still proves the interpreter is reachable)
    cmd = [path, *_bwrap_options(()), "--", sys.executable, "-E", "-S", "-c", drop + "import os"]
    try:
        probe = subprocess.run(cmd, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"bubblewrap does not run here: {exc}"
    if probe.returncode != 0:
        return None, "bubblewrap does not run here: " + probe.stderr.decode(errors="replace").strip()[-300:]
    return path, ""


def _unconfined_drop_possible() -> bool:
    return not _hidden_ancestors()


def missing_protections(config: SandboxConfig) -> list[str]:
    """The protections this machine cannot give, in words (empty when everything is in place)."""
    missing = []
    if bwrap_status()[0] is None:
        missing.append(f"file-system, network and process confinement ({bwrap_status()[1]})")
    if not _is_root():
        missing.append("a separate user for student code (the grader is not root, so the worker runs as the same user)")
    elif not Sandbox.will_confine(config) and not _unconfined_drop_possible():
        missing.append("a separate user for student code (Python is installed where `nobody` cannot read it)")
    if not config.uses_cgroups():
        why = limits.cgroup_support().reason if config.cgroups else "turned off"
        if _is_root():
            missing.append(f"per-worker process and memory limits in a cgroup ({why}): each fork server's workers "
                           "run as a uid of their own instead, and shared memory counts toward no memory limit")
        else:
            missing.append(f"per-worker process and memory limits in a cgroup ({why}): the process limit is "
                           "not set, and shared memory counts toward no memory limit")
    if limits.seccomp_status():
        missing.append(f"a seccomp filter against SysV IPC and ptrace ({limits.seccomp_status()}): SysV IPC "
                       "objects are removed at every reset instead")
    return missing


def sandbox_environment(config: SandboxConfig, scratch: str, token: str) -> dict[str, str]:
    """The whole environment of a worker or zygote: nothing of the grader's own leaks in."""
    threads = str(config.threads)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": scratch,
        "KERAS_HOME": os.path.join(scratch, ".keras"),
        "MPLCONFIGDIR": os.path.join(scratch, ".matplotlib"),
        "MPLBACKEND": "Agg",
        "KERAS_BACKEND": "tensorflow",
        **QUIET_TENSORFLOW,  # TensorFlow's own log lines (E0000 ... node_def_util.cc) are no student output
        "TF_DETERMINISTIC_OPS": "1",
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": threads,
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AUTOGRADER_SANDBOX": token,
        # the process limit: a cgroup's pids.max where there is one (RLIMIT_NPROC, 0 here, would count
        # every process of the user on the machine), else RLIMIT_NPROC for a uid of the worker's own
        "AUTOGRADER_LIMITS": f"{config.memory_mb},{config.file_size_mb},{0 if config.uses_cgroups() else config.max_processes}",
        "AUTOGRADER_SECCOMP": "" if limits.seccomp_status() else "1",
    }
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LD_LIBRARY_PATH"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _worker_uid(config: SandboxConfig, holder) -> int:
    """The user workers run as (the caller is root): ``nobody`` when a cgroup per worker holds their
    process limit, else a uid of their own leased for ``holder``'s lifetime (RLIMIT_NPROC counts per
    user, so a shared ``nobody`` would share one process quota among every sandbox on the machine)."""
    if config.uses_cgroups():
        return NOBODY
    if holder.uid_lease is None:
        try:
            holder.uid_lease = limits.UidLease()
        except OSError as exc:
            raise SandboxStartError(f"no uid left for a worker: {exc}") from exc
    return holder.uid_lease.uid


class ZygoteError(AutograderError, RuntimeError):
    """The fork server did not answer (it is restarted on the next fork)."""


class Zygote:
    """A fork server that has imported NumPy (and Keras, when preloaded) once, in the sandbox.

    :meth:`fork` gives a fresh worker in milliseconds instead of a TensorFlow import; it serves one
    submission at a time, and :meth:`reset` kills whatever that submission's workers left and wipes
    their scratch space before the next. It starts in the background: the import overlaps with the
    grader's own start-up, and :meth:`fork` waits for it to be ready.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.token = os.urandom(8).hex()
        ISSUED_TOKENS.append(self.token)
        self._scratch: str | None = None
        self._ready = False
        self.uid = NOBODY
        self.uid_lease: limits.UidLease | None = None

    @property
    def confined(self) -> bool:
        return Sandbox.will_confine(self.config)

    def host_pid(self, pid: int) -> int | None:
        """The host pid of a worker the fork server reported (it sees pids of its own PID namespace)."""
        if not self.confined:
            return pid
        return limits.host_pid(self.proc.pid, pid) if self.proc is not None else None

    def start(self) -> "Zygote":
        self.close()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if self.confined:
            scratch = "/tmp"
        else:
            self._scratch = scratch = tempfile.mkdtemp(prefix="autograder-zygote-")
            os.chmod(scratch, 0o1777)
        env = sandbox_environment(self.config, scratch, self.token)
        env["AUTOGRADER_SCRATCH"] = scratch
        if _is_root() and (self.confined or _unconfined_drop_possible()):
            self.uid = _worker_uid(self.config, self)
            env["AUTOGRADER_DROP_TO"] = str(self.uid)
        cmd = [*_python("zygote"), "--control-fd", str(child.fileno()),
               "--preload", ",".join(self.config.preload)]
        if self.confined:
            cmd = [bwrap_status()[0], *_bwrap_options(self.config.masks, zygote=True, tmpfs_bytes=self.config.memory_mb << 20),
                   "--", *cmd, "--confined"]
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         pass_fds=(child.fileno(),), env=env, cwd=scratch, start_new_session=True)
        finally:
            child.close()
        self.sock = parent
        self._ready = False
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _reply(self, timeout: float) -> dict:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except OSError as exc:
            raise ZygoteError(f"the fork server did not answer: {exc}") from exc
        if not data:
            raise ZygoteError("the fork server has stopped")
        return json.loads(data)

    def _ask(self, request: dict, fds: tuple[int, ...] = (), timeout: float = 30.0) -> dict:
        if not self.alive():
            self.start()
        if not self._ready:
            self._reply(STARTUP_TIMEOUT * 2)
            self._ready = True
        payload = json.dumps(request).encode()
        try:
            if fds:
                socket.send_fds(self.sock, [payload], list(fds))
            else:
                self.sock.send(payload)
        except OSError as exc:
            raise ZygoteError(f"the fork server is gone: {exc}") from exc
        return self._reply(timeout)

    def fork(self, fd_in: int, fd_out: int) -> int:
        """A new worker on these pipe ends; returns its process id (as the fork server sees it)."""
        try:
            return int(self._ask({"op": "fork"}, (fd_in, fd_out))["pid"])
        except ZygoteError:
            self.start()  # a dead or confused fork server: one fresh start, then give up
            return int(self._ask({"op": "fork"}, (fd_in, fd_out))["pid"])

    def fork_judge(self, fd_in: int, fd_out: int) -> int:
        """A judge (:mod:`autograder.sandbox.judge`) on these pipe ends, forked with Keras already
        imported; returns its process id (as the fork server sees it). ``reset`` spares it."""
        return int(self._ask({"op": "fork_judge"}, (fd_in, fd_out))["pid"])

    def end_judge(self, pid: int) -> int | None:
        """Kill a judge this fork server forked; its exit code (None if it could not be told)."""
        if not self.alive():
            return None
        try:
            return self._ask({"op": "end_judge", "pid": pid}, timeout=30)["code"]
        except ZygoteError:
            return None

    def wait(self, pid: int, timeout: float) -> int | None:
        """The worker's exit code (minus the signal number when killed), or None if still running."""
        try:
            return self._ask({"op": "wait", "pid": pid, "timeout": timeout}, timeout=timeout + 10)["code"]
        except ZygoteError:
            return None

    def reset(self) -> None:
        """Kill every process the workers left and wipe their scratch space."""
        if not self.alive():
            return
        try:
            self._ask({"op": "reset"}, timeout=30)
        except ZygoteError:
            self.close()

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            end_group(proc)
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        sweep(self.token)
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        if self.uid_lease is not None:
            self.uid_lease.release()
            self.uid_lease = None

    def __enter__(self) -> "Zygote":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


class _ZygoteChild:
    """A worker forked by a :class:`Zygote`, with the bits of ``Popen``'s interface Sandbox uses."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote, self.pid = zygote, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.wait(self.pid, 0) if self.zygote.alive() else -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.zygote.wait(self.pid, timeout or 0)
        if self.returncode is None:
            raise subprocess.TimeoutExpired("worker", timeout)
        return self.returncode

    def kill_tree(self) -> None:
        self.zygote.reset()


class Sandbox:
    """A worker process for one submission, forked from ``zygote``. Use as a context manager or call
    :meth:`close` (which resets the fork server; it stays open for the next submission)."""

    def __init__(self, files: dict[str, str], config: SandboxConfig | None = None, *, zygote: Zygote) -> None:
        self.files = dict(files)
        self.config = config or zygote.config
        self.zygote = zygote
        self.proc: _ZygoteChild | None = None
        self.generation = 0
        self.imported: list[str] = []
        self.import_results: dict[str, CallResult] = {}
        self._fd_w = self._fd_r = -1
        self.token = os.urandom(8).hex()  # names the worker's cgroups
        ISSUED_TOKENS.append(self.token)
        self.starts = 0
        self._loaded = False
        self.cgroup: limits.WorkerCgroup | None = None  # the worker's own limits (where cgroups exist)
        self.host_pid: int | None = None  # the worker's pid as this process sees it
        self._gave_up = False  # the last request ended in a grader fault after every retry
        self.limits_hit: dict[str, int] | None = None  # the own limits the last worker ran into (None: no cgroup)

    # -- life cycle ----------------------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def will_confine(config: SandboxConfig | None = None) -> bool:
        """Whether workers (and the judge) run under bubblewrap: wherever it works."""
        return bwrap_status()[0] is not None

    @property
    def confined(self) -> bool:
        return self.will_confine(self.config)

    def start(self) -> None:
        """Fork a fresh worker. The submission's files follow with the first call, so a worker can be
        started ahead of time and kept warm until a submission needs it."""
        self._kill()
        self._fork_from_zygote()
        self.generation += 1
        self.starts += 1
        self._loaded = False
        try:
            ready, _ = self._receive(time.monotonic() + STARTUP_TIMEOUT)
        except TimeoutError:
            ready = CallResult("timeout", error={"message": f"no answer within {STARTUP_TIMEOUT:g} s"})
        if ready.status != "ready":
            self._kill()
            raise SandboxStartError(f"the sandbox worker did not start: {ready.message or ready.status}")
        self._own_limits()

    def _own_limits(self) -> None:
        """Put the new worker in a cgroup of its own (process and memory limits no other sandbox
        shares) before it holds any student code; the submission's files come with the first call."""
        if not self.config.uses_cgroups():
            return
        pid = self.zygote.host_pid(self.proc.pid)
        if not pid:
            self._kill()
            raise SandboxStartError("the new worker could not be found to give it its own limits")
        self.host_pid = pid
        try:
            self.cgroup = limits.WorkerCgroup(limits.cgroup_name(f"{self.token}-{self.generation}"), self.config.max_processes,
                                              self.config.memory_mb << 20)
            self.cgroup.place(pid)
        except OSError as exc:
            self._kill()
            raise SandboxStartError(f"the worker could not get a cgroup of its own: {exc}") from exc

    def peak_memory(self) -> int | None:
        """The most memory (bytes) the current worker has used, as the kernel counts it (never the
        worker's own word): its cgroup's peak, else the peak resident size of its process
        (``VmHWM``); ``None`` when neither is known."""
        if self.cgroup is not None:
            peak = self.cgroup.peak_memory()
            if peak:
                return peak
        pid = self.host_pid or (self.proc.pid if isinstance(self.proc, subprocess.Popen) else None)
        try:
            status = Path(f"/proc/{pid}/status").read_text() if pid else ""
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return None

    def _fork_from_zygote(self) -> None:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        try:
            pid = self.zygote.fork(req_r, resp_w)
        except ZygoteError as exc:
            os.close(req_w)
            os.close(resp_r)
            raise SandboxStartError(str(exc)) from exc
        finally:
            os.close(req_r)
            os.close(resp_w)
        self.proc = _ZygoteChild(self.zygote, pid)
        self._fd_w, self._fd_r = req_w, resp_r

    def _load(self) -> None:
        """Send the submission's files and redo the imports that worked before a restart."""
        setup = self._request({"op": "write", "files": self.files}, STARTUP_TIMEOUT)
        if not setup.ok:
            raise SandboxStartError(f"the sandbox refused the submission files: {setup.message}")
        self._loaded = True
        for name in self.imported:
            self._request({"op": "import", "module": name}, self.config.call_budget)

    def ensure(self) -> None:
        """A live worker holding the submission's files (started and loaded as needed)."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        if not self._loaded:
            self._load()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._send({"op": "exit"})
            except OSError:
                pass
        self._kill()

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill_tree()
        close_pipes(self._fd_w, self._fd_r)
        self._fd_w = self._fd_r = -1
        cgroup, self.cgroup = self.cgroup, None
        self.limits_hit = cgroup.limits_hit() if cgroup is not None else None
        if cgroup is not None:
            cgroup.remove()

    # -- protocol ------------------------------------------------------------------------------
    def _send(self, message: dict) -> None:
        frame = wire.encode(message)
        data = struct.pack(">Q", len(frame)) + frame
        view = memoryview(data)
        while view:
            n = os.write(self._fd_w, view[: 1 << 20])
            view = view[n:]

    def _read_exact(self, n: int, deadline: float) -> bytes | None:
        buf = bytearray()
        while len(buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._fd_r], [], [], min(remaining, 0.25))
            if not ready:
                # A dead worker whose pipe a leftover child still holds open never gives EOF.
                if self.proc is not None and self.proc.poll() is not None:
                    return None
                continue
            chunk = os.read(self._fd_r, min(n - len(buf), 1 << 20))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _receive(self, deadline: float) -> tuple[CallResult, Any]:
        """The next answer and its request id; a dead or babbling worker gives a 'crashed' result."""
        try:
            prefix = self._read_exact(8, deadline)
            frame = None if prefix is None else self._read_exact(wire.frame_length_from_prefix(prefix), deadline)
        except wire.WireError as exc:
            return self._crashed(f"the sandbox sent a malformed answer ({exc})")
        if frame is None:
            return self._crashed(None)
        try:
            msg = wire.decode(frame)
        except wire.WireError as exc:
            return self._crashed(f"the sandbox sent a malformed answer ({exc})")
        if not isinstance(msg, dict) or not isinstance(msg.get("status"), str):
            return self._crashed("the sandbox sent an answer that is not a result")
        fields = {k: msg[k] for k in CallResult.__dataclass_fields__ if k in msg}
        try:
            return CallResult(**fields), msg.get("id")
        except TypeError:
            return self._crashed("the sandbox sent an answer that is not a result")

    def _unread(self) -> str | None:
        """"data" when the worker has written something no request asked for, "eof" when its pipe
        has closed (it died between requests), None when all is quiet."""
        if self._fd_r < 0:
            return None
        ready, _, _ = select.select([self._fd_r], [], [], 0)
        if not ready:
            return None
        try:
            return "data" if os.read(self._fd_r, 1) else "eof"
        except OSError:
            return "eof"

    def _crashed(self, why: str | None) -> tuple[CallResult, None]:
        proc = self.proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
        self._kill()
        if why is None:
            if code == -signal.SIGKILL and self._killed_from_outside():
                return _grader_error("the worker was killed from outside its sandbox while its own limits were not reached"), None
            why = crash_feedback(code)
        return CallResult("crashed", error={"type": "Crashed", "message": why, "traceback": ""}), None

    def _request(self, message: dict, timeout: float) -> CallResult:
        # An unpredictable id: student code can write frames on the answer pipe, but not for a
        # request it has not seen. Only the answer to the request in flight is accepted: a frame
        # that comes while none is in flight, or one for another id, ends the worker as crashed.
        message = dict(message, id=os.urandom(16).hex())
        start = time.monotonic()
        unread = self._unread()
        if unread == "eof":
            return self._crashed(None)[0]
        if unread == "data":
            return self._crashed("protocol violation: the sandbox sent a frame while no request was in flight "
                                 "(something in the submission wrote to the grader's pipe)")[0]
        try:
            self._send(message)
            result, answered = self._receive(start + timeout)
        except TimeoutError:
            self._kill()
            return CallResult("timeout", error={"type": "Timeout", "message": f"stopped after the time budget of {timeout:g} s", "traceback": ""}, duration=time.monotonic() - start)
        except (BrokenPipeError, OSError) as exc:
            return self._crashed(None if isinstance(exc, BrokenPipeError) else str(exc))[0]
        if result.status not in _DEAD and answered != message["id"]:
            return self._crashed("protocol violation: the sandbox sent an answer for another request "
                                 "(something in the submission wrote to the grader's pipe)")[0]
        over = max(result.stdout_bytes, result.stderr_bytes)
        if result.status == "ok" and over > self.config.output_limit:
            result.status = "output_limit"
            result.error = {"type": "OutputLimit", "message": f"printed {over / 2**20:.1f} MB, more than the limit of {self.config.output_limit / 2**20:.0f} MB", "traceback": ""}
        return result

    def _killed_from_outside(self) -> bool:
        """A SIGKILL that neither the grader nor the worker's own cgroup limits dealt (the machine's
        OOM killer, an operator): only knowable where the worker had a cgroup of its own."""
        hit = self.limits_hit
        return hit is not None and not any(hit.values())

    def request(self, message: dict, timeout: float | None = None) -> CallResult:
        """Send one operation to the worker (starting it if needed) and wait for its answer.

        A grader fault (no worker would start; the worker was killed from outside its own limits)
        is retried ``start_retries`` times with a doubling pause; if it persists the answer's status
        is ``grader_error``, never charged to the student. A call on objects of an earlier worker is
        not retried (they died with it)."""
        retries = 0 if self._gave_up else max(0, self.config.start_retries)  # one persistent fault costs the pauses once
        result = None
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(self.config.retry_backoff * 2 ** (attempt - 1))
            try:
                self.ensure()
            except SandboxStartError as exc:
                result = _grader_error(f"the sandbox could not start ({attempt + 1} tries): {exc}")
                continue
            result = self._request(message, timeout or self.config.call_budget)
            if result.status != "grader_error" or _holds_handles(message):
                self._gave_up = False
                return result
        self._gave_up = True
        return result

    def import_module(self, name: str, timeout: float | None = None) -> CallResult:
        """Import one submitted module; the result is kept and the import redone after a restart."""
        if name not in self.import_results:
            result = self.request({"op": "import", "module": name}, timeout)
            self.import_results[name] = result
            if result.ok:
                self.imported.append(name)
        return self.import_results[name]


_DEAD = ("crashed", "grader_error")  # the worker is gone: no answer id to match


def _grader_error(message: str) -> CallResult:
    return CallResult("grader_error", error={"type": "GraderError", "message": message, "traceback": ""})


def _holds_handles(value) -> bool:
    if isinstance(value, wire.Handle):
        return True
    if isinstance(value, dict):
        return "handle" in value or any(_holds_handles(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_handles(v) for v in value)
    return False


class SandboxStartError(AutograderError, RuntimeError):
    """The worker process could not be started at all (grading cannot go on)."""


def close_pipes(*fds: int) -> None:
    """Close the grader's ends of a process's pipes (``-1`` for an end that is not open)."""
    for fd in fds:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def end_group(proc: subprocess.Popen) -> None:
    """SIGKILL a process started with its own session (``start_new_session``), every process of its
    group, and reap it."""
    for kill in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait()


def sweep(token: str) -> int:
    """Kill every process that still carries this sandbox's token in its environment."""
    import psutil

    killed = 0
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            if proc.environ().get("AUTOGRADER_SANDBOX") == token:
                proc.kill()
                killed += 1
        except (psutil.Error, OSError):
            continue
    return killed
