"""Partial credit for accuracy, and a training run's report and learning curve, in every format."""

from __future__ import annotations

import csv
import io
import json
from xml.etree import ElementTree as ET

import pytest

from autograder import results as R
from autograder.checking import PartialCredit, assert_at_least, linear_credit
from autograder.results import CheckResult, SubmissionResult

CURVE = {"loss": [2.0, 1.0, 0.5], "accuracy": [0.4, 0.8, 0.9],
         "loss_band": [[1.8, 0.8, 0.3], [2.2, 1.1, 0.6]], "accuracy_band": [[0.5, 0.85, 0.93], [0.6, 0.9, 0.97]]}


def _partial(points=1.4, max_points=2):
    return CheckResult(id="mlp::test_train_mlp_heldout_accuracy", topic="mlp", name="train_mlp reaches the bar",
                       max_points=max_points, status="partial", points=points,
                       feedback="accuracy 80.0 % (partial credit: 70 % of the points)", hint="Fit longer.")


@pytest.fixture
def result():
    return SubmissionResult("ada", checks=[
        CheckResult(id="mlp::test_build", topic="mlp", name="build", max_points=1, status="passed"),
        _partial(),
        CheckResult(id="mlp::test_train_mlp_returns_model", topic="mlp", name="train_mlp returns a model",
                    max_points=1, status="passed", notes="training took 3.0 s of a 60 s budget",
                    learning_curve=CURVE),
    ], topics=[R.TopicSummary("mlp", "Multilayer perceptrons", 4.0)])


def test_linear_credit_from_floor_to_bar():
    assert linear_credit(0.1, 0.1, 0.9) == 0.0 and linear_credit(0.05, 0.1, 0.9) == 0.0
    assert linear_credit(0.5, 0.1, 0.9) == pytest.approx(0.5) and linear_credit(0.95, 0.1, 0.9) == 1.0
    with pytest.raises(ValueError):
        linear_credit(0.5, 0.9, 0.9)


def test_assert_at_least_passes_shares_or_fails():
    assert_at_least(0.95, 0.95, "at the bar")  # passes
    with pytest.raises(PartialCredit) as info:
        assert_at_least(0.949, 0.95, "just under", floor=0.1)
    assert 0.99 < info.value.fraction < 1 and "partial credit" in str(info.value)
    with pytest.raises(AssertionError) as info:
        assert_at_least(0.1, 0.95, "at the floor", floor=0.1)
    assert not isinstance(info.value, PartialCredit)
    with pytest.raises(AssertionError) as info:
        assert_at_least(0.9, 0.95, "no floor: all or nothing")
    assert not isinstance(info.value, PartialCredit)


@pytest.mark.parametrize("points", [None, 0, 2, 2.5, -1, float("nan")])
def test_a_partial_check_earns_more_than_nothing_and_less_than_all(points):
    with pytest.raises(ValueError, match="partial"):
        _partial(points=points)


def test_partial_points_count_in_every_total(result):
    assert result.total == pytest.approx(3.4) and result.by_topic()["mlp"].points == pytest.approx(3.4)
    assert result.by_topic()["mlp"].counts["partial"] == 1
    back = SubmissionResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result and back.checks[1].points == 1.4 and back.checks[2].learning_curve == CURVE


def test_every_format_shows_the_partial_score(result):
    gs = R.to_gradescope_dict(result)
    R.validate_gradescope(gs)
    test = gs["tests"][1]
    assert (test["score"], test["max_score"], test["status"]) == (1.4, 2.0, "failed")
    assert "partial credit" in test["output"] and gs["score"] == pytest.approx(3.4)

    junit = ET.fromstring(R.to_junit_xml(result))
    case = junit.find(".//testcase[@name='test_train_mlp_heldout_accuracy']")
    assert case.find("failure").get("type") == "partial"
    assert case.find("properties/property[@name='points']").get("value") == "1.4"

    out = io.StringIO()
    writer = csv.DictWriter(out, R.CSV_COLUMNS(["mlp"]))
    writer.writeheader()
    writer.writerow(R.to_csv_row(result, ["mlp"]))
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert (row["score"], row["mlp"]) == ("3.4", "3.4")

    md = R.to_markdown(result)
    assert "3.4 / 4 points" in md and "partial credit (1.4 / 2)" in md
    page = R.to_html(result)
    assert '<td class="partial">partial credit</td>' in page and "1.4 / 2" in page

    from rich.console import Console

    console = Console(file=io.StringIO(), width=120)
    R.render_table(result, console)
    text = console.file.getvalue()
    assert "1.4/2" in text and "partial credit" in text and "Total: 3.4 / 4 points" in text


def test_the_learning_curve_is_drawn_in_feedback(result):
    md = R.to_markdown(result)
    assert "## Training runs" in md and "training took 3.0 s" in md and "](data:image/png;base64,iVBOR" in md
    page = R.to_html(result)
    assert "<h2>Training runs</h2>" in page and 'src="data:image/png;base64,iVBOR' in page
    test = R.to_gradescope_dict(result)["tests"][2]
    assert test["output_format"] == "md" and "data:image/png;base64,iVBOR" in test["output"]
    assert "output_format" not in R.to_gradescope_dict(result)["tests"][0]

    from rich.console import Console

    console = Console(file=io.StringIO(), width=160)
    R.render_table(result, console)
    text = console.file.getvalue()
    assert "training took 3.0 s" in text and "accuracy per epoch (3): 0.4" in text
    assert "the reference's seeds at epoch 3: 0.93-0.97" in text


def test_a_claimed_curve_is_cleaned_before_any_report():
    bad = {"loss": [1.0, "<script>"], "accuracy": list(range(5000)), "accuracy_band": [[0.1], [0.2, 0.3]], "x": 1}
    c = CheckResult(id="t::t", topic="t", name="t", max_points=0, status="passed", learning_curve=bad)
    assert c.learning_curve == {"accuracy": [float(v) for v in range(R.MAX_EPOCHS_SHOWN)]}
    assert CheckResult(id="t::t", topic="t", name="t", max_points=0, status="passed",
                       learning_curve="not a dict").learning_curve == {}
