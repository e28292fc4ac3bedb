"""The class report's misconceptions table: how many submissions hit each diagnosed mistake."""

from __future__ import annotations

from autograder.report import class_report, misconception_stats
from autograder.results import CheckResult, SubmissionResult


def _sub(name, *diagnoses):
    checks = [CheckResult(id=f"activations::test_{i}", topic="activations", name=f"check {i}", max_points=1,
                          status="failed" if d else "passed", diagnosis=d, hint=f"hint for {d}" if d else "")
              for i, d in enumerate(diagnoses)]
    return SubmissionResult(name, checks=checks)


def test_each_mistake_counts_submissions_once_and_names_its_checks():
    results = [_sub("ada", "softmax along axis 0", "softmax along axis 0"), _sub("bob", "softmax along axis 0", ""),
               _sub("cy", "", "log base 2 <b>"), _sub("dee", "", "")]
    found = misconception_stats(results)
    assert [(m.name, len(m.submissions)) for m in found] == [("softmax along axis 0", 2), ("log base 2 <b>", 1)]
    assert found[0].checks == {"activations::test_0": 2, "activations::test_1": 1}
    page = class_report(results)
    table = page.split('<table id="misconceptions"', 1)[1].split("</table>", 1)[0]
    assert "<td>softmax along axis 0</td><td class=\"n\">2</td><td class=\"n\">50.0%</td>" in table
    assert "activations::test_0 (2), activations::test_1" in table and "hint for softmax along axis 0" in table
    assert "log base 2 &lt;b&gt;" in table and "<b>" not in table  # student-facing text escaped


def test_no_diagnosis_no_table():
    assert 'id="misconceptions"' not in class_report([_sub("ada", "", "")])
