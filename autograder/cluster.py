"""Grade a class on a Dask cluster: ``autograder grade-all SUBS --out DIR --cluster ADDRESS``.

``ADDRESS`` is a Dask scheduler (``tcp://host:8786``: a laptop, Slurm through dask-jobqueue,
Kubernetes through dask-kubernetes) or ``local:N``, a :class:`~distributed.LocalCluster` of N worker
processes on loopback. Only *where* a submission is graded changes (see ``batch._where``); the
gradebook, the records, the resume and the report are those of the local path, written by this
(the client) process.

- **The course travels once per run**, as a zip in a worker plugin (:class:`CoursePlugin`): the
  manifest, the reference solutions, the checks (public and hidden: the secret seeds of the
  held-out splits live there) and the course's ``datasets/`` if it has one. Each worker checks the
  zip's sha256 and that it runs the same ``autograder`` package as the client
  (:func:`package_fingerprint`) before grading anything; a mismatch is a clear error.
- **Each worker keeps a warm fork server**: the plugin holds a ``batch._Job`` (course, sandbox
  settings, fork server), the very object a local job process holds, and grades one submission at
  a time with it, in the same sandbox with the same code.
- **Submissions travel as content**: the client reads each entry's module files and sends their
  bytes with their hash (``batch._with_content``), so workers need no shared file system; a
  worker sends the result back as data (a dict).
- **Faults**: a worker that dies mid-submission is the scheduler's to retry on another worker
  (``allowed-failures``, bounded); if that runs out, the row says "grading failed" and is not
  stored, so a rerun grades it. An interrupted client resumes like the local path. An unreachable
  scheduler is a :class:`~autograder.batch.BatchError` after :data:`CONNECT_TIMEOUT` seconds.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import gc
import hashlib
import io
import os
import shutil
import sys
import tempfile
import threading
import uuid
import zipfile
from concurrent.futures import Future
from pathlib import Path, PurePosixPath

from autograder import __version__
from autograder import course as course_mod
from autograder.batch import POOL_RETRIES, BatchError, _Done, _Job, _safe_masks, _start_forkserver, _stop_forkserver, _Task, _Where, _with_content
from autograder.course import Course
from autograder.errors import AutograderError
from autograder.intake import _safe_member

__all__ = ["CONNECT_TIMEOUT", "ClusterLost", "CourseMismatch", "CoursePlugin", "course_bundle", "dask_where", "package_fingerprint"]

CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler before giving up
WORKER_WAIT = 300.0  # seconds to wait for a first worker on a scheduler that has none (Slurm queues)
INSTALL_HINT = "pip install 'keras-course-autograder[cluster]' (or: pip install 'distributed>=2024.8')"
_DATA_SUFFIXES = (".py", ".toml", ".json", ".npz", ".txt")
# a local:N cluster's Dask settings: worker processes forked from the preloaded fork server
# (batch._start_forkserver) rather than each a fresh interpreter that imports Dask and the grader
LOCAL_CONFIG = {"distributed.worker.multiprocessing-method": "forkserver"}
TICK_MS = 1000  # the worker's event-loop health check while it grades (Dask's default: every 20 ms)
_DATE = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: the same course gives the same bytes and hash


class CourseMismatch(AutograderError, RuntimeError):
    """A worker got a course or runs a package other than the client's: it grades nothing."""


class ClusterLost(AutograderError, RuntimeError):
    """A submission the cluster could not grade (its worker died too often, the scheduler went away)."""


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise BatchError(f"--cluster needs dask.distributed, which is not installed: {INSTALL_HINT}") from exc
    return distributed


# --------------------------------------------------------------------------------------------------
# What travels to the workers: the course (once) and the package it must match
# --------------------------------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    """Regular files below ``folder``, sorted, without caches and dot files."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts))


def course_bundle(course: Course) -> bytes:
    """The course as a zip with fixed timestamps: ``course.toml``, ``solutions/``, ``checks/``
    (the course's checks folder, hidden checks included) and ``datasets/`` when the course has one,
    each where ``course.toml`` names it (so the unpacked copy parses to the same layout)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        def add(path: Path, arcname: str) -> None:
            info = zipfile.ZipInfo(arcname, date_time=_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())

        add(course.root / course_mod.MANIFEST, course_mod.MANIFEST)
        for folder in (course.solutions_dir, course.checks_dir, course.datasets_dir):
            for f in _files(folder):
                add(f, course.relative(f))
    return buf.getvalue()


def package_fingerprint() -> str:
    """``version:sha256`` of the ``autograder`` package's code and data (the course's checks travel
    with the course). A worker must run the same package as the client."""
    h = hashlib.sha256()
    base = course_mod.PACKAGE_DIR
    for f in _files(base):
        rel = f.relative_to(base)
        if f.suffix not in _DATA_SUFFIXES:
            continue
        h.update(f"\0{rel.as_posix()}\0".encode())
        h.update(f.read_bytes())
    return f"{__version__}:{h.hexdigest()[:16]}"


def _unpack(bundle: bytes, folder: Path) -> Course:
    """The course of ``bundle`` unpacked in ``folder``, its checks read from there."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        for info in zf.infolist():
            rel = _safe_member(info)
            if rel is None:
                raise CourseMismatch(f"the course bundle holds a path that leaves it: {info.filename!r}")
            target = folder.joinpath(*PurePosixPath(rel).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
    return course_mod.parse(folder)  # its paths (checks/, solutions/) are the unpacked folder's


# --------------------------------------------------------------------------------------------------
# On each worker: the plugin that holds the course and a warm job
# --------------------------------------------------------------------------------------------------


def _plugin_base():
    try:
        from distributed import WorkerPlugin
    except ImportError:  # the module stays importable (and its docs readable) without distributed
        return object
    return WorkerPlugin


class CoursePlugin(_plugin_base()):
    """A Dask worker plugin: the course of this run, checked and unpacked, and a ``batch._Job``
    (sandbox settings and a warm fork server) that grades one submission at a time.

    ``setup`` runs on the worker (on every worker that joins later too): it checks the bundle's
    hash and the package fingerprint, unpacks the course into a private temporary folder and
    starts the job's fork server from the worker's own thread. ``teardown`` (the run ends, the
    plugin is replaced) closes the fork server and removes the folder.
    """

    def __init__(self, bundle: bytes, digest: str, package: str, topics: list[str], masks: tuple[str, ...]) -> None:
        self.bundle, self.digest, self.package = bundle, digest, package
        self.topics, self.masks = list(topics), tuple(masks)
        self.job: _Job | None = None
        self.folder: str | None = None
        self.error = "the course was not set up on this worker"
        self.lock = threading.Lock()
        self.paused: dict = {}  # the worker's profiler callbacks, stopped while this plugin grades
        self.slowed: dict = {}  # periodic callbacks run less often while this plugin grades: their old period (ms)
        self.frozen = False  # gc.freeze() was called by setup (undone by teardown)

    def __getstate__(self) -> dict:
        return {k: self.__dict__[k] for k in ("bundle", "digest", "package", "topics", "masks")}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def setup(self, worker=None) -> None:
        self._quiet(worker)
        try:
            got = hashlib.sha256(self.bundle).hexdigest()
            if got != self.digest:
                raise CourseMismatch(f"the course arrived with sha256 {got[:12]}, not the client's {self.digest[:12]}: not grading with it")
            mine = package_fingerprint()
            if mine != self.package:
                raise CourseMismatch(f"this Dask worker runs autograder {mine}, the client {self.package}: install the same version on the workers")
            self.folder = tempfile.mkdtemp(prefix="autograder-course-")
            course = _unpack(self.bundle, Path(self.folder))
            # the unpacked course (solutions, hidden checks) is masked; the worker's own course folder,
            # if it has one, is outside the sandbox's view anyway (only the package is bound)
            masks = _safe_masks([*map(Path, self.masks), Path(self.folder)])
            self.job = _Job(course, self.topics, masks)
            self.error = ""
            if _is_dask_worker(worker):  # a worker process of its own: never the caller's process
                self._freeze_heap()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, CourseMismatch) else str(exc)
            self.teardown(worker)
            raise

    def teardown(self, worker=None) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.close()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
        callbacks = getattr(worker, "periodic_callbacks", None)
        for name, pc in self.paused.items():
            if callbacks is not None and name not in callbacks:
                callbacks[name] = pc
                pc.start()
        self.paused = {}
        for pc, ms in self.slowed.items():
            pc.callback_time = ms
        self.slowed = {}

    def _quiet(self, worker) -> None:
        """Quiet the worker's event loop while it grades (restored at teardown): stop Dask's
        statistical profiler (it samples the stacks of running tasks every 10 ms, holding the GIL,
        and pytest's deep stacks made each submission about twice as slow on a busy machine), and
        run its event-loop health tick every second instead of every 20 ms. Each wake-up of the
        loop thread takes the GIL from the grading thread; on a loaded machine each handover can
        wait for a time slice."""
        callbacks = getattr(worker, "periodic_callbacks", None)
        if callbacks is None:
            return
        for name in ("profile", "profile-cycle"):
            pc = callbacks.pop(name, None)
            if pc is not None:
                pc.stop()
                self.paused[name] = pc
        tick = callbacks.get("tick")
        if tick is not None and getattr(tick, "callback_time", TICK_MS) < TICK_MS:
            self.slowed[tick] = tick.callback_time
            tick.callback_time = TICK_MS  # tornado reads it when it schedules the next call

    def _freeze_heap(self) -> None:
        """Move the objects alive now (Dask, tornado, the grader's imports) to the collector's
        permanent generation: pytest runs ``gc.collect()`` at the end of every submission, and a
        Dask worker's heap is half again a local job's, so each collection cost more there. What
        a submission allocates is still collected; ``teardown`` unfreezes."""
        gc.freeze()
        self.frozen = True

    def grade(self, task: _Task) -> dict:
        with self.lock:  # one fork server, one submission at a time (run workers with --nthreads 1)
            if self.job is None:
                raise CourseMismatch(self.error)
            done = self.job.grade(task)
        return {"slug": done.slug, "result": done.result, "stored": done.stored}


def _is_dask_worker(worker) -> bool:
    try:
        from distributed import Worker
    except ImportError:
        return False
    return isinstance(worker, Worker)


def _grade_remote(plugin: str, task: _Task) -> dict:
    """The Dask task: grade ``task`` with this worker's job; the result goes back as data."""
    from distributed import get_worker

    found = get_worker().plugins.get(plugin)
    if not isinstance(found, CoursePlugin):
        raise CourseMismatch(f"this Dask worker has no course plugin {plugin!r}")
    return found.grade(task)


# --------------------------------------------------------------------------------------------------
# On the client: connect, install the plugin, submit with a bounded window
# --------------------------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    """What happened to a submission on the cluster, in one line."""
    import asyncio
    import concurrent.futures

    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        return "the Dask workers grading it died too often (the scheduler's allowed-failures was reached); a rerun grades it again"
    if isinstance(exc, (asyncio.CancelledError, concurrent.futures.CancelledError)):
        return "the Dask scheduler dropped it (the scheduler or the connection to it was lost); a rerun grades it again"
    text = str(exc).strip().splitlines()
    if isinstance(exc, (CourseMismatch, ClusterLost)) and text:
        return text[0]
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class _Submitter:
    """``submit(task) -> Future[_Done]`` for ``batch._run``: at most ``window`` tasks are on the
    cluster at once (the rest wait here, unread), so a large class never sits in the scheduler's
    memory; each is read into content just before it is sent."""

    def __init__(self, client, plugin: str, modules: list[str], window: int) -> None:
        self.client, self.plugin, self.modules, self.window = client, plugin, modules, window
        self.lock = threading.Lock()
        self.queue: collections.deque = collections.deque()
        self.flying: set = set()  # the Dask futures on the cluster
        self.sending = 0  # tasks being read and sent right now
        self.closed = False

    def __call__(self, task: _Task) -> Future:
        result: Future = Future()
        with self.lock:
            self.queue.append((task, result))
        self._pump()
        return result

    def _pump(self) -> None:
        while True:
            with self.lock:
                if self.closed or not self.queue or len(self.flying) + self.sending >= self.window:
                    return
                task, result = self.queue.popleft()
                self.sending += 1
            try:
                remote = self.client.submit(_grade_remote, self.plugin, _with_content(task, self.modules),
                                            key=f"grade-{task.entry.slug}-{uuid.uuid4().hex[:8]}", pure=False)
            except Exception as exc:  # noqa: BLE001 - the client is closing: this task is lost, not failed
                with self.lock:
                    self.sending -= 1
                result.set_exception(ClusterLost(_describe(exc)))
                continue
            with self.lock:
                self.sending -= 1
                self.flying.add(remote)
            remote.add_done_callback(functools.partial(self._done, result))

    def _done(self, result: Future, remote) -> None:
        try:
            value = remote.result()
            result.set_result(_Done(value["slug"], value["result"], bool(value["stored"])))
        except BaseException as exc:  # noqa: BLE001 - whatever happened on the cluster, the student is not to blame
            result.set_exception(ClusterLost(_describe(exc)))
        finally:
            with self.lock:
                self.flying.discard(remote)
            remote.release()
            self._pump()

    def cancel(self) -> None:
        """The run is interrupted: send nothing more and cancel what is on the cluster."""
        with self.lock:
            self.closed = True
            self.queue.clear()
            flying = list(self.flying)
        with contextlib.suppress(Exception):
            self.client.cancel(flying, force=True)


@contextlib.contextmanager
def _round(client, plugin: str, modules: list[str], n: int):
    threads = sum(client.nthreads().values()) or 1
    submitter = _Submitter(client, plugin, modules, window=max(16, 4 * threads))
    try:
        yield submitter
    except BaseException:
        submitter.cancel()
        raise


def _temporary_security():
    """Mutual TLS with a throw-away certificate for a ``local:N`` cluster: only this run's client and
    workers can talk to its scheduler (student code that reached loopback could not submit tasks).
    Without the ``cryptography`` package: plain TCP on loopback, said once."""
    try:
        return _throwaway_security()
    except ImportError:
        print("autograder: warning: missing protection: TLS for the local Dask cluster (install 'cryptography'); "
              "its scheduler accepts any client on 127.0.0.1", file=sys.stderr)
        return None


def _throwaway_security():
    """:meth:`distributed.security.Security.temporary` with an elliptic-curve key (P-256) instead
    of a 2048-bit RSA one: the same self-signed certificate for every role, in memory only, but
    made in about a millisecond instead of a tenth of a second to a second (a busy machine), and
    cheaper to handshake with on every connection of the run."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from distributed.security import Security

    key = ec.generate_private_key(ec.SECP256R1())
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dask-internal")])
    now = datetime.datetime.now(tz=datetime.timezone.utc).replace(tzinfo=None)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("dask-internal")]), critical=False)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=7))
            .sign(key, hashes.SHA256()))
    pem_cert = cert.public_bytes(serialization.Encoding.PEM).decode()
    return Security(require_encryption=True, tls_ca_file=pem_cert, tls_client_key=pem_key, tls_client_cert=pem_cert,
                    tls_scheduler_key=pem_key, tls_scheduler_cert=pem_cert, tls_worker_key=pem_key, tls_worker_cert=pem_cert)


@contextlib.contextmanager
def _connect(address: str):
    """A client of the scheduler at ``address``, or of a new loopback ``LocalCluster`` for ``local:N``."""
    distributed = _distributed()
    if address.startswith("local:"):
        try:
            n = int(address[len("local:"):])
            if n < 1:
                raise ValueError
        except ValueError:
            raise BatchError(f"--cluster {address}: expected local:N with N >= 1 worker processes") from None
        import logging

        import dask

        _start_forkserver()  # started earlier by batch._where; here for a caller that did not
        # the workers are forked from the preloaded fork server (also when the nanny restarts a dead one)
        with dask.config.set(LOCAL_CONFIG):
            cluster = distributed.LocalCluster(
                security=_temporary_security(),
                n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None,  # no dashboard; the scheduler's HTTP routes on a free loopback port
                memory_limit=0,  # the sandbox limits student code; Dask must not kill a worker for it
                silence_logs=logging.ERROR,
                scheduler_kwargs={"allowed_failures": POOL_RETRIES, "dashboard_address": "127.0.0.1:0"},
            )
            try:
                with distributed.Client(cluster) as client:
                    yield client
            finally:
                cluster.close()
                _stop_forkserver()
        return
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT:g} s ({_describe(exc)})") from exc
    with client:
        if not client.scheduler_info().get("workers"):
            print(f"autograder: waiting up to {WORKER_WAIT:g} s for a Dask worker to join {address}", file=sys.stderr)
            try:
                client.wait_for_workers(1, timeout=WORKER_WAIT)
            except (TimeoutError, OSError) as exc:
                raise BatchError(f"no Dask worker joined the scheduler at {address} within {WORKER_WAIT:g} s") from exc
        yield client


@contextlib.contextmanager
def dask_where(address: str, course: Course, topics: list[str], masks: tuple[str, ...]):
    """``batch._Where`` for a Dask cluster: connect, install the course plugin on every worker
    (and every worker that joins later), and remove it when the run ends."""
    bundle = course_bundle(course)
    digest = hashlib.sha256(bundle).hexdigest()
    plugin = CoursePlugin(bundle, digest, package_fingerprint(), topics, masks)
    # one name per course, topics and output: a rerun after a killed client replaces its stale plugin
    name = "autograder-" + hashlib.sha256(repr((digest, plugin.package, plugin.topics, plugin.masks)).encode()).hexdigest()[:16]
    with _connect(address) as client:
        try:
            client.register_plugin(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 - a worker's own error, raised again here
            raise BatchError(f"the Dask workers could not set up the course: {_describe(exc)}") from exc
        try:
            yield _Where(functools.partial(_round, client, name, course.topic_names), (ClusterLost,), 0, lambda exc, k: str(exc))
        finally:
            with contextlib.suppress(Exception):
                client.unregister_worker_plugin(name)
