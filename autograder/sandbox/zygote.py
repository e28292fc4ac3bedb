"""The fork server: imports TensorFlow once, then forks a fresh worker for every submission.

Started by :class:`autograder.sandbox.client.Zygote` inside the same confinement as a worker. It
never runs student code itself: each child drops to the unprivileged user (when the zygote runs as
root), lowers its limits and becomes a :class:`~autograder.sandbox.worker.Worker` on the two pipe
ends the grader sent along with the request (``SCM_RIGHTS``). Between submissions the grader asks
for a ``reset``: every process the children left is killed and their scratch folders are wiped, so
nothing of one submission is there for the next.

It also forks the *judge* (:mod:`autograder.sandbox.judge`) on request, so the judge starts with
Keras already imported instead of paying a second import: the fork server itself never runs student
code, so a judge forked from it holds nothing a submission made. The judge child drops to a user of
its own (:data:`~autograder.sandbox.judge.JUDGE_UID`, never the workers'), and ``reset`` spares it:
it stays warm for the grading job.

Control messages are JSON over a Unix socket: ``fork`` (with two fds) -> ``{"pid"}``, ``fork_judge``
(with two fds) -> ``{"pid"}``, ``end_judge`` ``{"pid"}`` -> ``{"code"}``, ``wait`` ``{"pid",
"timeout"}`` -> ``{"code"}`` (exit code, or minus the signal; ``None`` if still running), ``reset``
-> ``{}``.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import json
import os
import shutil
import signal
import socket
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
IPC_RMID = 0


def _status_code(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


class Zygote:
    def __init__(self, ctl: socket.socket, drop_to: int | None, confined: bool) -> None:
        self.ctl = ctl
        self.drop_to = drop_to
        self.confined = confined
        self.codes: dict[int, int] = {}
        self.count = 0
        self.scratch_root = "/tmp" if confined else os.environ.get("AUTOGRADER_SCRATCH", "/tmp")
        self.scratches: list[str] = []
        self.judges: set[int] = set()  # live judge children: spared by reset, ended only by end_judge
        self.judge_codes: dict[int, int] = {}  # how ended judges ended (kept across resets)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.codes[pid] = _status_code(status)
            if pid in self.judges:
                # A judge's pid stays ours (a zombie) until reaped here, so no worker's process can
                # take it over while it is in the set of processes reset spares.
                self.judges.discard(pid)
                self.judge_codes[pid] = self.codes[pid]

    def fork(self, fds: list[int]) -> dict:
        self.count += 1
        scratch = os.path.join(self.scratch_root, f"autograder-w{os.getpid()}-{self.count}")
        self.scratches.append(scratch)  # the child makes it, as its own user

        def become() -> None:
            from autograder.sandbox import worker

            worker.become_worker(fds[0], fds[1], scratch, self.drop_to)

        return {"pid": self._child(fds, become)}

    def fork_judge(self, fds: list[int]) -> dict:
        """A judge on these two pipe ends (see :func:`autograder.sandbox.judge.become_judge`)."""

        def become() -> None:
            from autograder.sandbox import judge

            judge.become_judge(fds[0], fds[1], judge.JUDGE_UID if os.getuid() == 0 else None)

        pid = self._child(fds, become)
        self.judges.add(pid)
        return {"pid": pid}

    def _child(self, fds: list[int], become) -> int:
        """Fork a child in a session of its own that calls ``become`` (a worker's or the judge's main
        loop) and never returns; the pipe ends it was sent go with it, closed here."""
        pid = os.fork()
        if pid == 0:
            try:
                self.ctl.close()
                os.setsid()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                become()
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        return pid

    def end_judge(self, pid: int) -> dict:
        """Kill a judge this server forked (any other pid is left alone) and reap it."""
        if pid not in self.judges:
            return {"code": self.judge_codes.get(pid)}
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.wait(pid, 10.0)

    def wait(self, pid: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            self.reap()
            if pid in self.codes or pid in self.judge_codes:
                return {"code": self.codes.get(pid, self.judge_codes.get(pid))}
            if time.monotonic() >= deadline:
                return {"code": None}
            time.sleep(0.02)

    def descendants(self) -> list[int]:
        """Every process below this one (orphans come back to us: we are a subreaper), the judges
        and anything below them left out (they never run student code, and stay warm)."""
        me = os.getpid()
        parents = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
        below, changed = set(), True
        while changed:
            changed = False
            for pid, ppid in parents.items():
                if pid not in below and pid not in self.judges and (ppid == me or ppid in below):
                    below.add(pid)
                    changed = True
        return sorted(below)

    def reset(self) -> dict:
        from autograder.sandbox.limits import kill_until_gone

        self.reap()  # a judge that has died leaves the spared set before anything is listed
        kill_until_gone(self.descendants, tries=5, pause=0.02, after=self.reap)
        self.reap()
        for scratch in self.scratches:
            shutil.rmtree(scratch, ignore_errors=True)
        self.scratches.clear()
        if self.confined:  # the private /tmp and /dev/shm belong to this sandbox alone: empty them
            for folder in ("/tmp", "/dev/shm"):
                for name in os.listdir(folder) if os.path.isdir(folder) else ():
                    path = os.path.join(folder, name)
                    if os.path.ismount(path):  # the course itself, bound read-only when it lives in /tmp
                        continue
                    try:
                        shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
                    except OSError:
                        pass
        self.remove_sysv_ipc()
        self.codes.clear()
        return {}

    def remove_sysv_ipc(self) -> int:
        """Remove every SysV IPC object of this sandbox's IPC namespace (a seccomp filter refuses them
        to workers where libseccomp exists; where it does not, this is what keeps one submission's
        shared memory or messages from the next). Only in a namespace of our own (``confined``)."""
        if not self.confined:
            return 0
        found = []
        for kind in ("shm", "sem", "msg"):
            try:
                lines = open(f"/proc/sysvipc/{kind}").read().splitlines()[1:]
            except OSError:
                continue
            found += [(kind, int(line.split()[1])) for line in lines if len(line.split()) > 1]
        if not found:
            return 0
        pid = os.fork()  # the objects belong to the workers' user: remove them as that user
        if pid == 0:
            try:
                if self.drop_to is not None:
                    os.setgroups([])
                    os.setgid(self.drop_to)
                    os.setuid(self.drop_to)
                libc = ctypes.CDLL(None, use_errno=True)
                for kind, ipc_id in found:
                    if kind == "shm":
                        libc.shmctl(ipc_id, IPC_RMID, None)
                    elif kind == "sem":
                        libc.semctl(ipc_id, 0, IPC_RMID)
                    else:
                        libc.msgctl(ipc_id, IPC_RMID, None)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        return len(found)

    def serve(self) -> None:
        self.ctl.send(json.dumps({"ready": True, "pid": os.getpid()}).encode())
        while True:
            msg, fds, _flags, _addr = socket.recv_fds(self.ctl, 65536, 2)
            if not msg:
                return
            req = json.loads(msg)
            self.reap()
            op = req.get("op")
            if op == "fork":
                reply = self.fork(list(fds))
            elif op == "fork_judge":
                reply = self.fork_judge(list(fds))
            elif op == "end_judge":
                reply = self.end_judge(int(req["pid"]))
            elif op == "wait":
                reply = self.wait(int(req["pid"]), float(req.get("timeout", 0)))
            elif op == "reset":
                reply = self.reset()
            else:
                reply = {"error": f"unknown op {op!r}"}
            self.ctl.send(json.dumps(reply).encode())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--preload", default="")
    parser.add_argument("--confined", action="store_true")
    args = parser.parse_args(argv)
    drop = os.environ.get("AUTOGRADER_DROP_TO")
    drop_to = int(drop) if drop and os.getuid() == 0 else None
    from autograder.sandbox import limits

    limits.set_process_flag(PR_SET_CHILD_SUBREAPER, 1)
    limits.silence_standard_streams()
    import numpy  # noqa: F401 - imported once here, shared by every forked worker

    from autograder.reference import lazy_keras
    from autograder.sandbox import worker  # noqa: F401

    for name in filter(None, args.preload.split(",")):
        importlib.import_module(name)
    if "keras" not in args.preload.split(","):
        lazy_keras()
    ctl = socket.socket(fileno=args.control_fd)
    Zygote(ctl, drop_to, args.confined).serve()
    sys.exit(0)


if __name__ == "__main__":
    main()
