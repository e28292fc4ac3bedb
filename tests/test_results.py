"""The results object and its serializers, on results built by hand (no grading, no TensorFlow)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from rich.console import Console

from autograder import results as R
from autograder.results import CheckResult, SubmissionResult, TopicSummary

HINT = "Subtract the row maximum before exp."
EVIL = "<script>alert('x')</script>"


def check(id_, status, max_points=2.0, **kw):
    topic = id_.split("::")[0]
    return CheckResult(id=id_, topic=topic, name=kw.pop("name", id_.split("::")[1]), max_points=max_points,
                       status=status, **kw)


@pytest.fixture
def result():
    """7 checks, one of every status, over two declared topics and one undeclared."""
    return SubmissionResult(
        submission="student_042",
        topics=[
            TopicSummary("neurons", "What is a neural network", 5.0),
            TopicSummary("activations", "Sigmoid, softmax and friends", 10.0),
            TopicSummary("losses", "Loss versus cost", 4.0),
        ],
        checks=[
            check("neurons::test_count", "passed", 2, public=True, duration=0.1),
            check("neurons::test_init", "passed", 3, duration=0.2),
            check("activations::test_softmax_large_inputs", "failed", 2, name="softmax is stable at +-1000",
                  feedback="softmax([1000, 0]) should be [1, 0]\ngot [nan, 0]", hint=HINT, public=True,
                  visibility="after_published", output="debug: z = [1000, 0]"),
            check("activations::test_sigmoid", "error", 2, feedback="ZeroDivisionError: division by zero",
                  hint="Look at the denominator."),
            check("activations::test_relu", "timeout", 3, feedback=R.timeout_feedback(10), public=True),
            check("activations::test_softmax_keras", "crashed", 3, feedback=R.crash_feedback(-9)),
            check("losses::test_mse", "not_attempted", 4, feedback="the stub still raises NotImplementedError"),
            check("cnn::test_build", "not_submitted", 1.5),
        ],
        duration=12.6,
        protections=["network"],
    )


# -- the taxonomy and the object -------------------------------------------------------------------


def test_statuses_are_the_nine_outcomes_with_label_and_meaning():
    assert list(R.STATUSES) == ["passed", "partial", "failed", "error", "timeout", "crashed", "not_attempted", "not_submitted",
                                "grader_error"]
    for key, s in R.STATUSES.items():
        assert s.key == key and s.label and s.meaning and "\n" not in s.meaning
    assert [k for k, s in R.STATUSES.items() if s.earns_points] == ["passed"]


@pytest.mark.parametrize("status", [s for s in R.STATUSES if s != "partial"])
def test_points_are_all_or_nothing(status):
    c = check("neurons::test_x", status, 3)
    assert c.points == (3.0 if status == "passed" else 0.0)


def test_a_check_that_did_not_pass_cannot_carry_points():
    with pytest.raises(ValueError, match="earns 0 points"):
        check("neurons::test_x", "crashed", 3, points=3)
    with pytest.raises(ValueError, match="earns 3 points"):
        check("neurons::test_x", "passed", 3, points=1)
    assert check("neurons::test_x", "passed", 3, points=3).points == 3.0


@pytest.mark.parametrize("bad", [{"status": "ok"}, {"visibility": "public"}, {"max_points": -1},
                                 {"max_points": float("nan")}])
def test_invalid_checks_are_rejected(bad):
    kw = {"id": "neurons::t", "topic": "neurons", "name": "t", "max_points": 1, "status": "passed"} | bad
    with pytest.raises(ValueError):
        CheckResult(**kw)


def test_totals_and_percent(result):
    assert result.total == 5.0
    # declared topics count their manifest points; the undeclared topic counts its checks' points
    assert result.possible == 5 + 10 + 4 + 1.5
    assert result.percent == pytest.approx(100 * 5 / 20.5)
    assert SubmissionResult("empty").percent == 0.0


def test_by_topic_is_derived_from_checks_in_course_order(result):
    by = result.by_topic()
    assert list(by) == ["neurons", "activations", "losses", "cnn"]
    assert (by["neurons"].points, by["neurons"].max_points, by["neurons"].percent) == (5.0, 5.0, 100.0)
    assert by["activations"].points == 0.0 and by["activations"].title == "Sigmoid, softmax and friends"
    assert by["activations"].counts == {"passed": 0, "partial": 0, "failed": 1, "error": 1, "timeout": 1, "crashed": 1,
                                        "not_attempted": 0, "not_submitted": 0, "grader_error": 0}
    assert by["cnn"].max_points == 1.5 and by["cnn"].counts["not_submitted"] == 1
    result.checks.append(check("losses::test_mae", "passed", 0))
    assert result.by_topic()["losses"].counts["passed"] == 1  # state follows the checks


def test_dict_round_trip_is_lossless_through_json(result):
    result.error = "could not unpack: bad zip"
    data = json.loads(json.dumps(result.to_dict()))
    back = SubmissionResult.from_dict(data)
    assert back == result
    assert back.to_dict() == result.to_dict()


def test_from_dict_rejects_unknown_fields_and_statuses(result):
    data = result.to_dict()
    data["checks"][0]["secret"] = 1
    with pytest.raises(ValueError, match="unknown fields"):
        SubmissionResult.from_dict(data)
    data = result.to_dict()
    data["checks"][0]["status"] = "probably fine"
    with pytest.raises(ValueError, match="unknown status"):
        SubmissionResult.from_dict(data)


def test_messages_name_the_budget_and_the_signal():
    assert "60 s" in R.timeout_feedback(60, "train_budget") and "train_budget" in R.timeout_feedback(60, "train_budget")
    assert "SIGKILL" in R.crash_feedback(-9) and "memory" in R.crash_feedback(-9)
    assert "code 1" in R.crash_feedback(1)
    assert "stopped answering" in R.crash_feedback(None)


def test_module_import_stays_light():
    heavy = ("rich", "tensorflow", "keras", "jsonschema")
    code = f"import sys, autograder.results; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- Gradescope -------------------------------------------------------------------------------------


def test_gradescope_dict_is_valid_and_maps_every_check(result):
    doc = R.to_gradescope_dict(result)
    R.validate_gradescope(doc)
    assert doc["score"] == 5.0 and doc["extra_data"]["max_score"] == 20.5
    assert doc["execution_time"] == 13 and doc["stdout_visibility"] == "hidden"
    assert "leaderboard" not in doc
    tests = doc["tests"]
    assert len(tests) == len(result.checks)
    assert [t["status"] for t in tests] == ["passed", "passed"] + ["failed"] * 6
    assert sum(t["score"] for t in tests) == doc["score"]
    assert sum(t["max_score"] for t in tests) == 20.5
    assert [t["number"] for t in tests[:3]] == ["1.1", "1.2", "2.1"]
    softmax = tests[2]
    assert softmax["tags"] == ["activations"] and softmax["visibility"] == "after_published"
    assert "got [nan, 0]" in softmax["output"] and HINT in softmax["output"] and "debug: z" in softmax["output"]
    assert "timed out" in tests[4]["output"] and "10 s" in tests[4]["output"]
    assert "not submitted" in tests[-1]["output"]


def test_gradescope_output_never_contains_check_code(result):
    out = "\n".join(t["output"] for t in R.to_gradescope_dict(result)["tests"])
    assert "def test_" not in out and "assert " not in out


def test_gradescope_unreadable_submission_is_valid_and_says_why():
    r = SubmissionResult("s", topics=[TopicSummary("neurons", "N", 10)], error="not a zip file")
    doc = R.to_gradescope_dict(r)
    R.validate_gradescope(doc)
    assert doc["score"] == 0 and doc["tests"] == [] and "not a zip file" in doc["output"]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("score") and d["tests"][0].pop("score"),  # no score anywhere
        lambda d: d["tests"][0].update(status="error"),  # not Gradescope's vocabulary
        lambda d: d["tests"][0].update(visibility="public"),
        lambda d: d["tests"][0].update(number=1.1),
        lambda d: d["tests"][0].update(max_points=2),  # a typo of max_score
        lambda d: d.update(score="5"),
        lambda d: d.update(leaderboard=[{"name": "acc"}]),
    ],
)
def test_schema_rejects_broken_documents(result, breakage):
    doc = R.to_gradescope_dict(result)
    breakage(doc)
    with pytest.raises(jsonschema.ValidationError):
        R.validate_gradescope(doc)


def test_schema_accepts_the_spec_example_without_top_level_score():
    doc = {"tests": [{"score": 2.0, "max_score": 2.0, "status": "passed", "name": "t", "number": "1.1",
                      "output": "ok", "tags": ["a"], "visibility": "visible", "extra_data": {}}],
           "leaderboard": [{"name": "Time", "value": 15.1, "order": "asc"}, {"name": "Stars", "value": "***"}]}
    R.validate_gradescope(doc)


# -- JUnit ------------------------------------------------------------------------------------------


def test_junit_xml_parses_and_counts_outcomes(result):
    root = ET.fromstring(R.to_junit_xml(result).encode())
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("8", "1", "3", "2")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["neurons", "activations", "losses", "cnn"]
    act = suites["activations"]
    assert (act.get("tests"), act.get("failures"), act.get("errors")) == ("4", "1", "3")
    case = act.find("testcase[@name='test_softmax_large_inputs']")
    assert case.get("classname") == "activations"
    failure = case.find("failure")
    assert failure.get("type") == "failed" and HINT in failure.text
    assert case.find("system-out").text == "debug: z = [1000, 0]"
    assert suites["losses"].find("testcase/skipped").get("type") == "not_attempted"
    assert suites["neurons"].find("testcase/failure") is None


def test_junit_xml_survives_control_characters_and_reports_unreadable_submission():
    r = SubmissionResult("s", checks=[check("neurons::t", "failed", 1, output="\x1b[31mred\x00", feedback="a < b & c")],
                         error="bad & broken")
    root = ET.fromstring(R.to_junit_xml(r))
    assert root.find(".//system-out").text == "red"  # control characters are cleaned before any output
    assert root.find(".//failure").text.startswith("a < b & c")
    assert root.get("errors") == "1" and root.get("tests") == "2"
    assert root.find("testsuite[@name='submission']/testcase/error").get("message") == "bad & broken"


# -- CSV --------------------------------------------------------------------------------------------


def test_csv_row_has_a_column_per_topic_and_writes_with_dictwriter(result):
    topics = ["neurons", "activations", "losses", "mlp"]
    cols = R.CSV_COLUMNS(topics)
    assert cols == ["submission", "score", "max_score", *topics, "error"]
    assert R.CSV_COLUMNS([TopicSummary("neurons")]) == ["submission", "score", "max_score", "neurons", "error"]
    row = R.to_csv_row(result, topics)
    assert list(row) == cols
    assert (row["score"], row["max_score"]) == (5.0, 20.5)
    assert (row["neurons"], row["activations"], row["losses"], row["mlp"]) == (5.0, 0.0, 0.0, 0.0)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, cols)
    writer.writeheader()
    writer.writerow(row)
    back = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert back[0]["submission"] == "student_042" and float(back[0]["neurons"]) == 5.0 and back[0]["error"] == ""


def test_csv_cells_cannot_become_spreadsheet_formulas():
    r = SubmissionResult('=HYPERLINK("http://x")', error="-1+1")
    row = R.to_csv_row(r, [])
    assert row["submission"].startswith("'=") and row["error"] == "'-1+1"


# -- Markdown and HTML ------------------------------------------------------------------------------


def _outside_fences(md: str) -> str:
    return re.sub(r"(`{3,})text\n.*?\n\1", "", md, flags=re.S)


def test_markdown_feedback_lists_every_check_that_did_not_pass(result):
    md = R.to_markdown(result)
    assert "**Score: 5 / 20.5 points (24.4 %)**" in md
    assert "| What is a neural network (neurons) | 5 / 5 | 2 of 2 |" in md
    assert HINT in md and "got [nan, 0]" in md and "debug: z = [1000, 0]" in md
    for c in result.checks:
        # passed checks are summed up in the table; so are topics none of whose checks was attempted
        assert (c.title in md) == (not c.passed and c.topic not in ("losses", "cnn"))
    for label in ("failed", "error", "timed out", "crashed"):
        assert f"— {label} (" in md
    assert "| Loss versus cost (losses) | 0 / 4 | not attempted |" in md
    assert "| cnn | 0 / 1.5 | not submitted |" in md


def test_markdown_untouched_topics_take_one_line_and_skipped_checks_one_line_each():
    checks = [check(f"mlp::test_{i}", "not_submitted", 1) for i in range(9)]
    checks += [check(f"rnn::test_{i}", "not_attempted", 1, feedback="TODO: implement x\nmore") for i in range(9)]
    checks += [check("neurons::test_a", "passed", 1), check("neurons::test_b", "not_attempted", 1, name="init",
                                                             feedback="NotImplementedError: TODO", hint="a hint")]
    md = R.to_markdown(SubmissionResult("s", checks=checks))
    assert [ln for ln in md.splitlines() if "mlp" in ln] == ["| mlp | 0 / 9 | not submitted |"]
    assert [ln for ln in md.splitlines() if "rnn" in ln] == ["| rnn | 0 / 9 | not attempted |"]
    assert "- neurons: init — not attempted (0 / 1)" in md
    assert "a hint" not in md and "NotImplementedError" not in md
    assert len(md.splitlines()) < 20


def test_markdown_is_clean_text_without_html_entities():
    r = SubmissionResult("o'brien & co", checks=[check("mlp::t", "failed", 1, name="Keras's loss <fits> the output",
                                                       hint="Keras's \"softmax\" | sigmoid & <b>", feedback="x")])
    md = R.to_markdown(r)
    assert not re.search(r"&(#\w+|[a-z]+);", md), md
    assert "Keras's loss \\<fits\\> the output" in md and "o'brien \\& co" in md
    assert 'Keras\'s "softmax" \\| sigmoid \\& \\<b\\>' in md


def test_markdown_and_html_escape_student_text():
    r = SubmissionResult("s", checks=[check("neurons::t", "failed", 1, name=EVIL, feedback="got " + EVIL,
                                            hint="never " + EVIL, output="``` " + EVIL)])
    md = R.to_markdown(r)
    assert "<script>" not in _outside_fences(md)
    assert "never \\<script\\>" in md
    assert "````text\n``` <script>" in md  # the fence outgrows backticks in the output
    page = R.to_html(r)
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "never &lt;script&gt;" in page
    assert "script" not in _start_tags(page) and _start_tags(page)[:3] == ["html", "head", "meta"]


def _start_tags(page: str) -> list[str]:
    tags: list[str] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append(tag)

    Collect().feed(page)
    return tags


def test_html_report_has_score_topics_and_hints(result):
    page = R.to_html(result)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "5 / 20.5 points (24.4 %)" in page and "Sigmoid, softmax and friends" in page
    assert HINT in page and 'class="timeout"' in page


# -- rich table -------------------------------------------------------------------------------------


def _render(result, **kw):
    console = Console(record=True, width=120, color_system=None)
    R.render_table(result, console, **kw)
    return console.export_text()


def test_rich_table_shows_every_status_and_the_total(result):
    text = _render(result)
    for s in R.STATUSES.values():
        # the fixture's score is final (no grader fault) and all-or-nothing (tests/test_partial_credit.py has partial)
        assert s.label in text or s.key in ("grader_error", "partial")
    assert "Total: 5 / 20.5 points (24.4 %)" in text
    faulty = SubmissionResult("s", checks=[check("neurons::t", "grader_error", 1)])
    assert "grader error" in _render(faulty) and "incomplete" in _render(faulty)
    assert "softmax is stable at +-1000" in text and "Sandbox protections missing: network" in text
    assert "public checks" not in text


def test_rich_self_check_footer_counts_public_checks_only(result):
    text = _render(result, public_only=True)
    assert "1 of 3 public checks pass; hidden checks decide the grade" in text
    assert "All tests passed" not in text and "Total:" not in text
    assert "test_init" not in text and "not submitted" not in text  # hidden checks are not listed
    everything = SubmissionResult("s", checks=[check("neurons::t", "passed", 1, public=True)])
    assert "1 of 1 public checks pass; hidden checks decide the grade" in _render(everything, public_only=True)


def test_rich_table_untouched_topics_take_one_line_and_skipped_checks_no_detail():
    checks = [check(f"mlp::test_{i}", "not_submitted", 1) for i in range(9)]
    checks += [check(f"rnn::test_{i}", "not_attempted", 1, feedback="TODO: implement x", hint="h") for i in range(9)]
    checks += [check("neurons::test_a", "failed", 1, feedback="wrong", hint="think"),
               check("neurons::test_b", "not_attempted", 1, name="init", feedback="NotImplementedError: TODO")]
    text = _render(SubmissionResult("s", checks=checks))
    assert [ln for ln in text.splitlines() if "mlp" in ln] == ["mlp  0 / 9  not submitted"]
    assert [ln for ln in text.splitlines() if "rnn" in ln] == ["rnn  0 / 9  not attempted"]
    assert "NotImplementedError" not in text and "TODO" not in text  # the table's status says it
    assert "init" in text and "not attempted" in text and "wrong" in text and "Hint: think" in text


def test_rich_table_prints_markup_literally():
    r = SubmissionResult("s", checks=[check("neurons::t", "failed", 1, feedback="got [/bold] and [red]x[/red]")])
    assert "got [/bold] and [red]x[/red]" in _render(r)


# -- diagnoses --------------------------------------------------------------------------------------


def test_diagnosis_travels_through_every_format():
    c = check("activations::test_softmax_axis", "failed", 1, feedback="softmax(...) returned [0.5]",
              hint="Reduce along `axis`.", diagnosis="softmax always along axis 0 (down the columns)")
    r = SubmissionResult("s", checks=[c])
    back = SubmissionResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.checks[0].diagnosis == c.diagnosis
    assert "Likely mistake: softmax always along axis 0 (down the columns)." in c.message()
    assert "Likely mistake: softmax always along axis 0" in R.to_gradescope_dict(r)["tests"][0]["output"]
    assert "**Likely mistake:** softmax always along axis 0 (down the columns)." in R.to_markdown(r)
    assert "Likely mistake: softmax always along axis 0" in _render(r)
    assert "<strong>Likely mistake:</strong> softmax always along axis 0" in R.to_html(r)
    assert "Likely mistake" not in R.to_markdown(SubmissionResult("s", checks=[check("n::t", "failed", 1)]))
