"""The class report: how a whole class did, check by check, for the instructor.

:func:`class_report` turns the results of every submission into one standalone HTML page
(``report.html`` of ``autograder grade-all``): score summary, points per topic, three matplotlib
plots embedded as PNG (score distribution, pass rate per check, time per check), a short table
of the weakest checks, the exercises the class struggled with, and a table of misconceptions (how
many submissions made each mistake the checks diagnosed); ``grade-all`` adds the term's
sections (grades after overrides and late penalty, roster gaps, overrides, similar pairs; see
:mod:`autograder.term`). Clicking a heading sorts a table. The numbers come from
:func:`check_stats` and :func:`score_stats`, which are plain functions one can test and reuse.

A check's pass rate counts the submissions that ran it; a submission that could not be read at all
(``error`` set, no checks) counts in the score distribution but not in the pass rates.

>>> from autograder.results import CheckResult, SubmissionResult
>>> def sub(name, status):
...     return SubmissionResult(name, checks=[CheckResult(id="neurons::test_a", topic="neurons",
...         name="a", max_points=2, status=status, duration=0.5)])
>>> stats = check_stats([sub("ada", "passed"), sub("bob", "failed"), sub("cy", "failed")])
>>> stats[0].passed, stats[0].runs, round(stats[0].pass_rate, 3), stats[0].worst_status
(1, 3, 0.333, 'failed')
>>> print(weakest_table(stats))
check            topic    pass rate  passed  most common miss
---------------  -------  ---------  ------  ----------------
neurons::test_a  neurons      33.3%  1 of 3  failed (2)
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from autograder.results import STATUSES, SubmissionResult, TopicSummary

__all__ = ["CheckStat", "Misconception", "ScoreStats", "check_stats", "misconception_stats", "score_stats", "weakest_table", "class_report", "SORTABLE_JS"]

SORTABLE_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var head = table.rows[0];
  Array.prototype.forEach.call(head.cells, function (th, col) {
    th.title = "click to sort";
    th.addEventListener("click", function () {
      var rows = Array.prototype.slice.call(table.rows, 1);
      var dir = th.getAttribute("data-dir") === "asc" ? -1 : 1;
      Array.prototype.forEach.call(head.cells, function (h) { h.removeAttribute("data-dir"); });
      th.setAttribute("data-dir", dir === 1 ? "asc" : "desc");
      function key(row) {
        var text = row.cells[col] ? row.cells[col].textContent.trim() : "";
        var num = parseFloat(text);
        return isNaN(num) || !/^[-+]?[0-9.]/.test(text) ? [1, text.toLowerCase()] : [0, num];
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x[0] !== y[0]) return (x[0] - y[0]) * dir;
        return (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0) * dir;
      });
      rows.forEach(function (r) { r.parentNode.appendChild(r); });
    });
  });
});
"""
"""Makes every ``<table class="sortable">`` sort by a column when its heading is clicked (numbers as numbers)."""


@dataclass
class CheckStat:
    """How one check went over the class."""

    id: str
    topic: str
    title: str
    max_points: float
    runs: int = 0
    passed: int = 0
    statuses: Counter = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)
    hint: str = ""

    @property
    def pass_rate(self) -> float:
        """Passed runs over runs (0 when no submission ran the check)."""
        return self.passed / self.runs if self.runs else 0.0

    @property
    def worst_status(self) -> str:
        """The most common outcome other than ``passed`` (``""`` when every run passed)."""
        misses = [(n, s) for s, n in self.statuses.items() if s != "passed"]
        return max(misses, key=lambda m: (m[0], -list(STATUSES).index(m[1])))[1] if misses else ""

    @property
    def mean_duration(self) -> float:
        return statistics.fmean(self.durations) if self.durations else 0.0


@dataclass(frozen=True)
class ScoreStats:
    """Scores over the class (points); ``errors`` counts submissions that could not be graded."""

    count: int
    possible: float
    mean: float
    median: float
    minimum: float
    maximum: float
    errors: int


def check_stats(results: Iterable[SubmissionResult]) -> list[CheckStat]:
    """One :class:`CheckStat` per check id, in the order checks first appear."""
    stats: dict[str, CheckStat] = {}
    for r in results:
        for c in r.checks:
            s = stats.setdefault(c.id, CheckStat(c.id, c.topic, c.title, c.max_points))
            s.runs += 1
            s.passed += c.passed
            s.statuses[c.status] += 1
            s.durations.append(c.duration)
            s.hint = s.hint or c.hint
    return list(stats.values())


@dataclass
class Misconception:
    """How many submissions one diagnosed mistake was found in (``CheckResult.diagnosis``), and where."""

    name: str
    submissions: set[str] = field(default_factory=set)
    checks: Counter = field(default_factory=Counter)
    hint: str = ""


def misconception_stats(results: Iterable[SubmissionResult]) -> list[Misconception]:
    """Every diagnosis the checks named, most submissions first (ties: first seen first): what the
    class most often got wrong, by mistake rather than by check.

    >>> from autograder.results import CheckResult, SubmissionResult
    >>> def sub(name, diagnosis):
    ...     return SubmissionResult(name, checks=[CheckResult(id="activations::test_softmax", topic="activations",
    ...         name="softmax", max_points=1, status="failed", diagnosis=diagnosis, hint="Reduce along axis.")])
    >>> [(m.name, len(m.submissions)) for m in misconception_stats([sub("a", "wrong axis"), sub("b", "wrong axis"), sub("c", "")])]
    [('wrong axis', 2)]
    """
    found: dict[str, Misconception] = {}
    for r in results:
        for c in r.checks:
            if c.diagnosis.strip():
                m = found.setdefault(c.diagnosis.strip(), Misconception(c.diagnosis.strip(), hint=c.hint))
                m.submissions.add(r.submission)
                m.checks[c.id] += 1
    order = {name: i for i, name in enumerate(found)}
    return sorted(found.values(), key=lambda m: (-len(m.submissions), order[m.name]))


def _misconception_table(results: list[SubmissionResult]) -> list[str]:
    found = misconception_stats(results)
    if not found:
        return []
    e = html.escape
    out = ["<h2>Misconceptions</h2>",
           "<p>The known mistakes the checks recognised, by how many submissions made each: what to teach again.</p>",
           '<table id="misconceptions" class="sortable"><tr><th>misconception</th><th>submissions</th><th>share</th>'
           "<th>checks that found it</th><th>hint given</th></tr>"]
    for m in found:
        where = ", ".join(f"{cid} ({n})" if n > 1 else cid for cid, n in m.checks.most_common())
        out.append(f'<tr><td>{e(m.name)}</td><td class="n">{len(m.submissions)}</td>'
                   f'<td class="n">{100 * len(m.submissions) / len(results):.1f}%</td><td>{e(where)}</td><td>{e(m.hint)}</td></tr>')
    out.append("</table>")
    return out


def score_stats(results: list[SubmissionResult]) -> ScoreStats:
    """Count, mean, median, min and max of the total scores.

    >>> from autograder.results import SubmissionResult
    >>> score_stats([SubmissionResult("a"), SubmissionResult("b", error="corrupt zip")]).errors
    1
    """
    totals = [r.total for r in results] or [0.0]
    return ScoreStats(
        count=len(results),
        possible=max((r.possible for r in results), default=0.0),
        mean=statistics.fmean(totals),
        median=statistics.median(totals),
        minimum=min(totals),
        maximum=max(totals),
        errors=sum(1 for r in results if r.error),
    )


def weakest(stats: list[CheckStat], k: int = 5) -> list[CheckStat]:
    """The ``k`` checks with the lowest pass rate (ties: more points first, then course order)."""
    order = {s.id: i for i, s in enumerate(stats)}
    ran = [s for s in stats if s.runs]
    return sorted(ran, key=lambda s: (s.pass_rate, -s.max_points, order[s.id]))[:k]


def weakest_table(stats: list[CheckStat], k: int = 5) -> str:
    """A plain-text table of the weakest checks (for the terminal and the report)."""
    rows = [("check", "topic", "pass rate", "passed", "most common miss")]
    for s in weakest(stats, k):
        miss = f"{STATUSES[s.worst_status].label} ({s.statuses[s.worst_status]})" if s.worst_status else "-"
        rows.append((s.id, s.topic, f"{100 * s.pass_rate:.1f}%", f"{s.passed} of {s.runs}", miss))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {2}

    def line(cells) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(rows[0]), line(["-" * w for w in widths]), *map(line, rows[1:])])


# --------------------------------------------------------------------------------------------------
# Plots (matplotlib's object API with the Agg canvas: no pyplot state, no display needed)
# --------------------------------------------------------------------------------------------------


def _figure(height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _score_plot(results: list[SubmissionResult]) -> str:
    fig = _figure(3.2)
    ax = fig.add_subplot()
    percents = [r.percent for r in results]
    ax.hist(percents, bins=[i * 10 for i in range(11)], color="#4477aa", edgecolor="white")
    ax.set_xlim(0, 100)
    ax.set_xlabel("score (% of the points)")
    ax.set_ylabel("submissions")
    ax.set_title(f"Score distribution ({len(results)} submissions)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def _labels(stats: list[CheckStat]) -> list[str]:
    return [s.id if len(s.id) <= 48 else s.id[:47] + "…" for s in stats]


def _pass_plot(stats: list[CheckStat]) -> str:
    fig = _figure(1.2 + 0.28 * len(stats))
    ax = fig.add_subplot()
    y = range(len(stats))
    rates = [100 * s.pass_rate for s in stats]
    ax.barh(y, rates, color=["#cc3311" if r < 50 else "#ee7733" if r < 80 else "#228833" for r in rates])
    ax.set_yticks(list(y), _labels(stats), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("pass rate (% of the submissions that ran the check)")
    ax.set_title("Pass rate per check")
    return _png(fig)


def _time_plot(stats: list[CheckStat]) -> str:
    fig = _figure(1.2 + 0.28 * len(stats))
    ax = fig.add_subplot()
    y = list(range(len(stats)))
    ax.barh(y, [s.mean_duration for s in stats], color="#4477aa", label="mean")
    ax.plot([max(s.durations, default=0.0) for s in stats], y, "k|", markersize=10, label="slowest")
    ax.set_yticks(y, _labels(stats), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds per submission")
    ax.set_title("Time per check")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


# --------------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
td.n{text-align:right}table.sortable th{cursor:pointer;background:#f3f3f3}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto}img{max-width:100%}
"""


def _n(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def class_report(results: list[SubmissionResult], *, title: str = "Class report", topics: list[TopicSummary] | None = None, k: int = 5,
                 sections: Iterable[str] = ()) -> str:
    """A standalone HTML page (inline CSS, images and one small script that sorts the tables whose
    heading is clicked), every string escaped. ``sections`` are more HTML fragments (already
    escaped: the term's grades, roster, overrides and similarity) added before the end."""
    e = html.escape
    stats = check_stats(results)
    scores = score_stats(results)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        "<h2>Scores</h2>",
        '<table id="scores"><tr><th>submissions</th><th>could not be graded</th><th>points possible</th>'
        "<th>mean</th><th>median</th><th>min</th><th>max</th></tr>",
        f'<tr><td class="n">{scores.count}</td><td class="n">{scores.errors}</td><td class="n">{_n(scores.possible)}</td>'
        f'<td class="n">{_n(scores.mean)}</td><td class="n">{_n(scores.median)}</td>'
        f'<td class="n">{_n(scores.minimum)}</td><td class="n">{_n(scores.maximum)}</td></tr></table>',
    ]
    parts += _topic_table(results, topics)
    if results:
        parts.append(f'<img alt="score distribution" src="data:image/png;base64,{_score_plot(results)}">')
    if stats:
        parts += [
            "<h2>Weakest checks</h2>",
            "<p>The checks the fewest submissions passed: start the next lesson here.</p>",
            f'<pre id="weakest">{e(weakest_table(stats, k))}</pre>',
            *_misconception_table(results),
            "<h2>Checks</h2>",
            '<table id="checks" class="sortable"><tr><th>check</th><th>topic</th><th>points</th><th>pass rate</th><th>outcomes</th>'
            "<th>mean time (s)</th><th>hint</th></tr>",
        ]
        for s in stats:
            outcomes = ", ".join(f"{n} {STATUSES[st].label}" for st, n in sorted(s.statuses.items(), key=lambda i: list(STATUSES).index(i[0])))
            parts.append(
                f"<tr><td>{e(s.title)}<br><small>{e(s.id)}</small></td><td>{e(s.topic)}</td><td class=\"n\">{_n(s.max_points)}</td>"
                f'<td class="n">{100 * s.pass_rate:.1f}%</td><td>{e(outcomes)}</td>'
                f'<td class="n">{s.mean_duration:.2f}</td><td>{e(s.hint)}</td></tr>'
            )
        parts.append("</table>")
        parts.append(f'<img alt="pass rate per check" src="data:image/png;base64,{_pass_plot(stats)}">')
        parts.append(f'<img alt="time per check" src="data:image/png;base64,{_time_plot(stats)}">')
    broken = [r for r in results if r.error]
    if broken:
        parts.append("<h2>Submissions that could not be graded</h2><table><tr><th>submission</th><th>reason</th></tr>")
        parts += [f"<tr><td>{e(r.submission)}</td><td>{e(r.error or '')}</td></tr>" for r in broken]
        parts.append("</table>")
    parts += list(sections)
    parts.append(f"<script>{SORTABLE_JS}</script></body></html>")
    return "\n".join(parts) + "\n"


def _topic_table(results: list[SubmissionResult], topics: list[TopicSummary] | None) -> list[str]:
    names = [t.name for t in topics] if topics else list(dict.fromkeys(n for r in results for n in r.topic_order()))
    if not names or not results:
        return []
    out = ['<table id="topics"><tr><th>topic</th><th>points</th><th>mean</th><th>full marks</th></tr>']
    for name in names:
        got: list[float] = []
        possible = 0.0
        for r in results:
            t: Any = r.by_topic().get(name)
            got.append(t.points if t else 0.0)
            possible = max(possible, t.max_points if t else 0.0)
        full = sum(1 for g in got if possible and g >= possible)
        out.append(f'<tr><td>{html.escape(name)}</td><td class="n">{_n(possible)}</td>'
                   f'<td class="n">{_n(statistics.fmean(got))}</td><td class="n">{full} of {len(got)}</td></tr>')
    out.append("</table>")
    return out
