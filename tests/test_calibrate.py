"""``autograder calibrate``: measure the reference and the baselines, propose bars, floors and budgets,
and record them in ``course.toml`` without touching any other line.

The training test runs a tiny course (a softmax regression fitted for 2 epochs, 2 seeds), so it
stays cheap; the Keras course's own numbers come from ``autograder calibrate --write``.
"""

from __future__ import annotations

import textwrap

import pytest

from autograder import calibrate as cal
from autograder.course import CourseError, parse

MANIFEST = textwrap.dedent('''\
    # a comment the edit keeps
    [course]
    title = "tiny"

    [[topics]]
    name = "mlp"   # the digits topic
    title = "Tiny MLP"
    points = 2
    train_budget = 60
    accuracy_bar = 0.5

    [[topics]]
    name = "other"
    title = "Untouched"
    points = 1
    ''')

TRAIN = textwrap.dedent('''\
    import keras


    def train_mlp(X_train, y_train, seed=0):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
        model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(X_train, y_train, epochs=2, batch_size=64, verbose=0)
        return model
    ''')


def _calibration(**kw) -> cal.Calibration:
    base = dict(topic="mlp", accuracies=[0.9, 0.92], seconds=[1.0, 1.5], baselines={"majority class": 0.11, "chance": 0.1},
                curves=[{"loss": [2.0, 1.0], "accuracy": [0.5, 0.8]}, {"loss": [2.2, 0.9], "accuracy": [0.4, 0.85]}],
                accuracy_bar=0.86, accuracy_floor=0.11, train_budget=10.0)
    return cal.Calibration(**(base | kw))


def test_baselines_and_proposals():
    import numpy as np

    assert cal.baselines(np.array([1, 1, 0]), np.array([1, 0, 0, 0]), 3) == {"majority class": 0.25, "chance": 1 / 3}
    bar, budget = cal.propose([0.97, 0.98, 0.975, 0.972], [20.0, 31.0], 0.1)
    assert bar < 0.97 - 2 * 0.004  # below the lowest run by twice the runs' spread: outside the reference's noise
    assert budget == 125.0  # 4 x 31 s, rounded up to 5 s
    with pytest.raises(CourseError, match="no room"):
        cal.propose([0.2, 0.5], [1.0, 1.0], 0.1)  # a reference this noisy leaves no bar above the floor


def test_a_course_bar_inside_the_noise_is_lowered_and_a_safe_one_kept():
    assert _calibration().settle(0.99, 5.0).accuracy_bar == 0.86  # 0.99 sits inside the reference's noise
    kept = _calibration().settle(0.5, 60.0)
    assert (kept.accuracy_bar, kept.highest_bar, kept.train_budget) == (0.5, 0.86, 60.0)
    assert _calibration().settle(None, None).accuracy_bar == 0.86
    assert _calibration().settle(0.05, None).accuracy_bar == 0.86  # a bar at or below the floor is no bar


def test_the_band_spans_the_seeds_per_epoch():
    low, high = _calibration().band("accuracy")
    assert (low, high) == ([0.4, 0.8], [0.5, 0.85])


def test_write_manifest_changes_only_the_calibrated_keys(tmp_path):
    path = tmp_path / "course.toml"
    path.write_text(MANIFEST, encoding="utf-8")
    cal.write_manifest(path, [_calibration()])
    once = path.read_text(encoding="utf-8")
    cal.write_manifest(path, [_calibration()])
    assert path.read_text(encoding="utf-8") == once  # replaced, never added twice
    old, new = MANIFEST.splitlines(), once.splitlines()
    assert [line for line in old if not line.startswith(("accuracy_bar", "train_budget"))] == \
        [line for line in new if not line.startswith(cal.KEYS)]
    course = parse(tmp_path)
    mlp = course.topic("mlp")
    assert (mlp.accuracy_bar, mlp.accuracy_floor, mlp.train_budget) == (0.86, 0.11, 10.0)
    assert mlp.calibration["reference_accuracy_low"] == [0.4, 0.8]
    assert course.topic("other").calibration == {} and course.topic("other").accuracy_bar is None
    with pytest.raises(CourseError, match="no \\[\\[topics\\]\\] table"):
        cal.write_manifest(path, [_calibration(topic="missing")])


def test_a_floor_above_the_bar_is_a_course_error(tmp_path):
    (tmp_path / "course.toml").write_text(MANIFEST.replace("accuracy_bar = 0.5", "accuracy_bar = 0.5\naccuracy_floor = 0.6"))
    with pytest.raises(CourseError, match="accuracy_floor"):
        parse(tmp_path)


@pytest.mark.slow
def test_calibrate_trains_the_reference_and_writes_course_toml(tmp_path):
    from click.testing import CliRunner

    from autograder.cli import main

    (tmp_path / "course.toml").write_text(MANIFEST, encoding="utf-8")
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "mlp.py").write_text(TRAIN, encoding="utf-8")
    run = CliRunner().invoke(main, ["calibrate", "--course", str(tmp_path), "--seeds", "2", "--write"])
    assert run.exit_code == 0, run.output
    assert "[[topics]]" in run.output and "reference_accuracy = [" in run.output
    mlp = parse(tmp_path).topic("mlp")
    accuracies = mlp.calibration["reference_accuracy"]
    assert len(accuracies) == 2 and len(mlp.calibration["reference_seconds"]) == 2
    assert 0.1 <= mlp.accuracy_floor < mlp.accuracy_bar == 0.5 <= min(accuracies)  # the course's safe bar kept
    assert len(mlp.calibration["reference_loss_low"]) == 2  # one per epoch of the tiny reference
    assert mlp.train_budget >= 10
    assert "# a comment the edit keeps" in (tmp_path / "course.toml").read_text()
