"""The training checks end to end, in the sandbox: the self-check's report, partial credit, and a
lookup table of scikit-learn's digits graded on the scrambled held-out digits.

Each test grades the ``mlp`` topic of one submission (the reference with ``train_mlp`` replaced).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from autograder.course import load
from autograder.grading import grade_submission
from autograder.sandbox import limits

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
COURSE = load(ROOT)

#: A 1-nearest-neighbour lookup table of all 1797 scikit-learn digits, the held-out ones included,
#: built from Keras's own layers (the judge accepts it): a softmax over -|x - x_i|^2 / 2 picks the
#: nearest stored digit, a one-hot Dense layer gives its label.
LOOKUP = '''
def train_mlp(X_train, y_train, seed=0):
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    X, y = (digits.data / 16.0).astype("float32"), digits.target
    table = keras.Sequential([keras.Input((64,)), keras.layers.Dense(len(X), activation="softmax"),
                              keras.layers.Dense(10, activation="softmax")])
    table.layers[0].set_weights([100.0 * X.T, -50.0 * (X ** 2).sum(axis=1)])
    table.layers[1].set_weights([20.0 * np.eye(10)[y], np.zeros(10)])
    return table
'''

#: Honest but far too short: one epoch of a small learning rate lands between the floor and the bar.
SHORT = '''
def train_mlp(X_train, y_train, seed=0):
    keras.utils.set_random_seed(seed)
    model = compile_model(build_mlp(X_train.shape[1], 10, hidden_units=(16,)), learning_rate=3e-3)
    model.fit(X_train, y_train, epochs=2, batch_size=64, verbose=0)
    return model
'''


def _submission(tmp_path: Path, train_mlp: str) -> Path:
    source = (ROOT / "solutions" / "mlp.py").read_text(encoding="utf-8")
    source = re.sub(r"\ndef train_mlp\(.*?(?=\n\S|\Z)", "\n", source, flags=re.S)
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "mlp.py").write_text(source + textwrap.dedent(train_mlp), encoding="utf-8")
    return folder


def _check(result, name):
    return next(c for c in result.checks if c.id == f"mlp::{name}")


def test_the_self_check_trains_once_and_reports_everything():
    result = grade_submission(ROOT / "solutions", course=COURSE, topics=["mlp"], public_only=True)
    check = _check(result, "test_selfcheck_train_mlp")
    assert check.passed and check.max_points == 0
    lines = check.notes.splitlines()
    assert re.match(r"accuracy \d+\.\d% on 539 public digits it never trained on: \d+\.\d points above the bar of 95%", lines[0])
    assert re.search(r"training took \d+\.\d s of a \d+ s budget", check.notes)
    assert "the model has 50,826 parameters" in check.notes
    if limits.cgroup_support().version:  # the worker's own cgroup: the sandbox measures its peak from outside
        assert re.search(r"peak memory of the process running your code: [\d,]+ MB", check.notes)
    curve = check.learning_curve
    assert len(curve["loss"]) == len(curve["accuracy"]) == 50
    assert len(curve["accuracy_band"][0]) == 50 and curve["accuracy"][-1] > curve["accuracy"][0]


def test_a_lookup_table_of_every_digit_scores_near_the_floor(tmp_path):
    result = grade_submission(_submission(tmp_path, LOOKUP), course=COURSE, topics=["mlp"])
    assert _check(result, "test_train_mlp_returns_model").passed  # a model of built-in layers: judged, not refused
    heldout = _check(result, "test_train_mlp_heldout_accuracy")
    assert heldout.status in ("failed", "partial") and heldout.points < 0.1 * heldout.max_points, heldout.feedback


def test_accuracy_between_the_floor_and_the_bar_earns_partial_credit(tmp_path):
    result = grade_submission(_submission(tmp_path, SHORT), course=COURSE, topics=["mlp"])
    heldout = _check(result, "test_train_mlp_heldout_accuracy")
    assert heldout.status == "partial", heldout.feedback
    assert 0 < heldout.points < heldout.max_points and "partial credit" in heldout.feedback
    acc = float(re.search(r"classifies (\d+\.\d)%", heldout.feedback).group(1)) / 100
    mlp = COURSE.topic("mlp")
    share = (acc - mlp.accuracy_floor) / (mlp.accuracy_bar - mlp.accuracy_floor)
    assert heldout.points == pytest.approx(share * heldout.max_points, abs=0.02)
    returned = _check(result, "test_train_mlp_returns_model")
    assert len(returned.learning_curve["loss"]) == 2 and "training took" in returned.notes
