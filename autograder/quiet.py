"""The one quiet-TensorFlow environment: TensorFlow's, absl's and gRPC's own log lines off.

The grader's processes take it with :func:`quiet_tensorflow` (imported with the package, as a
default: a variable the user set wins); the sandbox's environment takes it whole
(:func:`autograder.sandbox.client.sandbox_environment`, :func:`autograder.sandbox.worker.quiet_libraries`),
so TensorFlow's log lines never show up as the student's output; a subprocess of the tests or the
benchmarks gets it from :func:`quiet_env`.
"""

from __future__ import annotations

import os
from typing import MutableMapping

QUIET_TENSORFLOW: dict[str, str] = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # C++ log lines (E0000 ... node_def_util.cc)
    "TF_CPP_MAX_VLOG_LEVEL": "-1",
    "ABSL_MIN_LOG_LEVEL": "3",
    "GRPC_VERBOSITY": "NONE",
    "GLOG_minloglevel": "3",
    "AUTOGRAPH_VERBOSITY": "0",
    "TF_ENABLE_ONEDNN_OPTS": "0",  # oneDNN's different rounding, and its start-up notice, off
}


def quiet_tensorflow(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Set :data:`QUIET_TENSORFLOW` in ``env`` (default ``os.environ``) where not already set; return it."""
    env = os.environ if env is None else env
    for key, value in QUIET_TENSORFLOW.items():
        env.setdefault(key, value)
    return env


def quiet_env(**extra: str) -> dict[str, str]:
    """A copy of this process's environment with :data:`QUIET_TENSORFLOW` (for a subprocess), plus ``extra``."""
    return {**quiet_tensorflow(dict(os.environ)), **extra}
