"""Test-suite set-up: quiet TensorFlow, keep Keras' files out of the home folder, skip data folders,
and let tests that watch machine-wide state run alone when pytest-xdist runs the suite in parallel."""

import fcntl
import os
import tempfile
from pathlib import Path

import pytest

from autograder.quiet import quiet_tensorflow  # noqa: E402 - stdlib only; before anything imports TensorFlow

quiet_tensorflow()
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="keras-home-"))
os.environ.setdefault("MPLBACKEND", "Agg")

# Modules that are graded, not collected: the hostile course's own checks and the mistakes corpus.
collect_ignore = ["hostile_course", "corpus"]


# -- `serial`: alone under pytest-xdist -----------------------------------------------------------------
#
# With `-n auto` (pyproject's addopts) a worker process per core runs tests at once. A test marked `serial`
# asserts on state the whole machine shares (leftover cgroups, /dev/shm, SysV IPC, process quotas),
# so while it runs no other test of this run may: every test holds a lock over its whole run protocol
# (setup, call, teardown: so a module-scoped fixture set up for it is covered too), shared for plain
# tests and exclusive for `serial` ones. A gate lock stops new plain tests while a serial one waits,
# so it never starves. Without xdist (one process) there is nothing to lock.


def _lock_dir(config) -> Path | None:
    """A folder the workers of this run share: pytest-xdist gives each worker a basetemp inside the
    run's own (which pytest removes with its old runs). None without xdist."""
    basetemp = config.getoption("basetemp", None)
    if not os.environ.get("PYTEST_XDIST_WORKER") or not basetemp:
        return None
    folder = Path(basetemp).parent / "serial-locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _flock(path: Path, mode: int) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, mode)
    return fd


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    folder = _lock_dir(item.config)
    if folder is None:
        yield
        return
    if item.get_closest_marker("serial"):
        gate = _flock(folder / "gate", fcntl.LOCK_EX)  # no new plain test starts from now on ...
        main = _flock(folder / "main", fcntl.LOCK_EX)  # ... and the running ones finish first
    else:
        gate = _flock(folder / "gate", fcntl.LOCK_SH)
        main = _flock(folder / "main", fcntl.LOCK_SH)
        os.close(gate)  # held only to get in: a serial test waiting at the gate goes next
        gate = -1
    try:
        yield
    finally:
        os.close(main)
        if gate >= 0:
            os.close(gate)


# -- which tests share a worker ----------------------------------------------------------------------
#
# A module's tests stay on one worker, so its module-scoped fixtures (a class graded once, a warm fork
# server, a trained model, a browser) are set up once, not once per worker; the corpus's cases go by
# topic, so the Keras topics' cases (the costliest tests) spread over the workers. The groups come
# from the node ids alone: pytest-xdist 3.8's own `xdist_group` marker does not group under pytest 9
# (it rewrites a node attribute pytest 9 no longer has), so this scheduler does not rely on it.

SPLIT_BY_PARAMETER = {"tests/test_corpus.py": lambda param: param.split("/")[0]}  # module: group of a case
# Long tests that use none of their module's module-scoped fixtures: a unit of work of their own.
ALONE = {
    "tests/test_nbgrader.py::test_keras_topic_round_trip_equals_autograder_grade",
    "tests/test_grading.py::test_reference_scores_full_marks_on_the_keras_topics_twice_the_same",
    "tests/test_judge.py::test_a_judge_that_fails_is_the_graders_fault_not_the_students",
    "tests/test_judge.py::test_the_judge_answers_only_with_its_nonce_and_restarts_when_it_dies",
    "tests/test_judge.py::test_the_judge_runs_confined_as_a_user_of_its_own_when_the_grader_is_root",
}


def work_group(nodeid: str) -> str:
    """The unit of work a test belongs to: its module, itself (ALONE), or (for a module in
    SPLIT_BY_PARAMETER) its module and the group of its parameter."""
    if nodeid in ALONE:
        return nodeid
    path, _, rest = nodeid.partition("::")
    split = SPLIT_BY_PARAMETER.get(path)
    if split and rest.endswith("]") and "[" in rest:
        return f"{path}::{split(rest[rest.index('[') + 1:-1])}"
    return path


# The costliest groups first (from --durations=60 of the whole suite: Keras training in the sandbox,
# nbgrader, grade-all runs, a Dask cluster), so no long group starts last while the other workers sit
# idle; the rest follow in collection order.
COSTLIEST_FIRST = [
    "tests/test_nbgrader.py::test_keras_topic_round_trip_equals_autograder_grade", "tests/test_nbgrader.py",
    "tests/test_solutions_keras.py", "tests/test_grading.py::test_reference_scores_full_marks_on_the_keras_topics_twice_the_same",
    "tests/test_corpus.py::cnn", "tests/test_corpus.py::rnn", "tests/test_corpus.py::mlp", "tests/test_judge.py",
    "tests/test_cluster.py", "tests/test_batch.py", "tests/test_term.py", "tests/test_load.py",
    "tests/test_judge.py::test_a_judge_that_fails_is_the_graders_fault_not_the_students", "tests/test_grading.py",
    "tests/test_course.py", "tests/test_notebooks.py", "tests/test_isolation.py", "tests/test_fairness.py",
]


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_group(nodeid)

    config.option.loadscopereorder = False  # keep the order the workers collected (costliest first)
    return ModuleScheduling(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER") and getattr(config.option, "loadgroup", False):  # a worker ("dist" is "no" there)
        rank = {group: i for i, group in enumerate(COSTLIEST_FIRST)}
        items.sort(key=lambda item: rank.get(work_group(item.nodeid), len(rank)))  # stable: the rest keep their order


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker per core, at most 4 (each imports TensorFlow: ~600 MB). The variable
    PYTEST_XDIST_AUTO_NUM_WORKERS still wins (None: pytest-xdist's own rule reads it)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))
