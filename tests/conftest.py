"""Test-suite set-up: quiet TensorFlow, keep Keras' files out of the home folder, skip data folders."""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="keras-home-"))
os.environ.setdefault("MPLBACKEND", "Agg")

# Modules that are graded, not collected: the hostile course's own checks and the mistakes corpus.
collect_ignore = ["hostile_course", "corpus"]
