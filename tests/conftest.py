"""Test-suite set-up: quiet TensorFlow, keep Keras' files out of the home folder, skip data folders."""

import os
import tempfile

from autograder.quiet import quiet_tensorflow  # noqa: E402 - stdlib only; before anything imports TensorFlow

quiet_tensorflow()
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="keras-home-"))
os.environ.setdefault("MPLBACKEND", "Agg")

# Modules that are graded, not collected: the hostile course's own checks and the mistakes corpus.
collect_ignore = ["hostile_course", "corpus"]
