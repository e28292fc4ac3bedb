"""What the term adds to the pages people read: feedback, the class report, the similarity report.

Every string from a student, a roster or an overrides file is escaped (``html.escape`` in HTML,
the feedback's own escaping in Markdown). The penalty is always shown apart from the raw score.
"""

from __future__ import annotations

import csv
import html
import io
from typing import Any

from autograder.report import SORTABLE_JS, _figure, _png
from autograder.results import _cell, _md_text, _num, to_html, to_markdown

__all__ = ["feedback_markdown", "feedback_html", "report_sections", "similarity_csv", "similarity_html"]

TOP_PAIRS = 10  # pairs shown side by side in similarity.html
REPORT_PAIRS = 5  # pairs listed in report.html

e = html.escape


def _when(t: Any) -> str:
    return t.isoformat(timespec="minutes") if t is not None else "unknown"


def _adjustments(g: Any) -> list[tuple[str, str]]:
    """``(what, points)`` lines from the raw score to the final one; empty when nothing changes it."""
    if not g.overrides and not g.days_late and g.extension is None:
        return []
    rows = [("Autograded (raw score)", f"{_num(g.raw)} / {_num(g.possible)}")]
    for a in g.overrides:
        sign = "+" if a.delta >= 0 else ""
        rows.append((f"Override of {a.title or a.check}: {_num(a.autograded)} → {_num(a.points)} of {_num(a.max_points)} "
                     f"points ({a.reason}; {a.who}{', ' + a.when if a.when else ''})", f"{sign}{_num(round(a.delta, 4))}"))
    if g.due is not None:
        ext = f" (extension: {g.extension.reason or 'granted'})" if g.extension else ""
        late = (f"{g.days_late} day{'s' if g.days_late != 1 else ''} late, {_num(g.penalty_percent)} % of "
                f"{_num(g.adjusted)} points" if g.days_late else "on time")
        rows.append((f"Late policy: submitted {_when(g.submitted_at)} ({g.time_source or 'no time found'}), "
                     f"due {_when(g.due)}{ext}: {late}", f"-{_num(g.penalty)}" if g.penalty else "0"))
    rows.append(("Final score", f"{_num(g.final)} / {_num(g.possible)}"))
    return rows


def _with_grade(doc: str, g: Any, table, after) -> str:
    """``doc`` with the "Your grade" table (``table(rows)``, a list of lines) inserted at ``after(doc)``;
    ``doc`` alone when there is nothing to adjust."""
    rows = _adjustments(g)
    if not rows:
        return doc
    at = after(doc)
    return doc[:at] + "\n" + "\n".join(table(rows)) + doc[at:]


def feedback_markdown(result: Any, g: Any, policy: Any) -> str:
    """The student's feedback file with a "Your grade" table under the (raw) score line."""
    del policy

    def table(rows):
        return ["", "## Your grade", "", "| | Points |", "| --- | ---: |",
                *[f"| {'**' + what + '**' if what == 'Final score' else _md_text(what)} | {pts} |" for what, pts in rows]]

    def after(md):  # the end of the score line (or of the first line)
        lines = md.split("\n")
        score = next((i for i, ln in enumerate(lines) if ln.startswith("**Score:")), 0)
        return len("\n".join(lines[: score + 1]))

    return _with_grade(to_markdown(result), g, table, after)


def feedback_html(result: Any, g: Any, policy: Any) -> str:
    """The standalone HTML feedback (:func:`~autograder.results.to_html`) with the same table."""
    del policy

    def table(rows):
        return ['<h2>Your grade</h2><table id="grade"><tr><th></th><th>Points</th></tr>',
                *[f'<tr><td>{e(what)}</td><td style="white-space:nowrap;text-align:right">{e(pts)}</td></tr>' for what, pts in rows],
                "</table>"]

    def after(page):  # the end of the score paragraph (or the start of the body)
        start = page.find("<p><strong>Score:")
        return page.find("</p>", start) + len("</p>") if start >= 0 else page.find("<body>") + len("<body>")

    return _with_grade(to_html(result), g, table, after)


def report_sections(report: Any) -> list[str]:
    """HTML sections of ``report.html``: grades, roster, overrides, late submissions, similarity."""
    parts = ["<h2>Grades</h2>",
             "<p>Raw is the autograded score; overrides and the late penalty are applied on top of it. "
             "Click a column heading to sort.</p>",
             '<table id="grades" class="sortable"><tr><th>submission</th><th>student</th><th>submitted</th>'
             "<th>days late</th><th>raw</th><th>overrides</th><th>penalty</th><th>final</th></tr>"]
    for g in report.grades:
        who = "; ".join(s.label for s in g.students)
        parts.append(f"<tr><td>{e(g.submission)}</td><td>{e(who)}</td><td>{e(_when(g.submitted_at) if g.submitted_at else '')}</td>"
                     f'<td class="n">{g.days_late}</td><td class="n">{_num(g.raw)}</td><td class="n">{_num(round(g.adjusted - g.raw, 4))}</td>'
                     f'<td class="n">{_num(g.penalty)}</td><td class="n">{_num(g.final)}</td></tr>')
    parts.append("</table>")
    if report.inputs.roster is not None:
        parts.append("<h2>Roster</h2>")
        parts.append(f'<p id="unmatched">Submissions matching no roster student ({len(report.unmatched)}): '
                     f"{e(', '.join(report.unmatched) or 'none')}</p>")
        parts.append(f'<p id="missing">Roster students without a submission ({len(report.missing)}): '
                     f"{e(', '.join(s.label for s in report.missing) or 'none')}</p>")
    applied = [a for g in report.grades for a in g.overrides]
    if applied or report.not_applied:
        parts.append('<h2>Overrides</h2><table id="overrides" class="sortable"><tr><th>submission</th><th>check</th>'
                     "<th>autograded</th><th>override</th><th>reason</th><th>who</th><th>when</th></tr>")
        parts += [f"<tr><td>{e(a.submission)}</td><td>{e(a.check)}</td><td class=\"n\">{_num(a.autograded)}</td>"
                  f"<td class=\"n\">{_num(a.points)}</td><td>{e(a.reason)}</td><td>{e(a.who)}</td><td>{e(a.when)}</td></tr>" for a in applied]
        parts.append("</table>")
        if report.not_applied:
            parts.append("<p>Not applied:</p><ul>" + "".join(f"<li>{e(p)}</li>" for p in report.not_applied) + "</ul>")
    if report.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in report.notes) + "</ul>")
    top = report.top_pairs(REPORT_PAIRS)
    parts.append('<h2>Similarity</h2><p>The most similar pairs (the score never changes a grade; '
                 'see <a href="similarity.html">similarity.html</a> for the code side by side):</p>')
    if top:
        parts.append('<table id="similar" class="sortable"><tr><th>topic</th><th>a</th><th>b</th><th>score</th></tr>')
        parts += [f'<tr><td>{e(p.topic)}</td><td>{e(p.a)}</td><td>{e(p.b)}</td><td class="n">{p.score:.3f}</td></tr>' for p in top]
        parts.append("</table>")
    else:
        parts.append("<p>No two submissions share code beyond the stub.</p>")
    return parts


def similarity_csv(report: Any) -> str:
    """``topic,a,b,score``: every pair sharing something, highest first within each topic."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["topic", "a", "b", "score"])
    for topic, pairs in report.pairs.items():
        for p in pairs:
            w.writerow([topic, _cell(p.a), _cell(p.b), f"{p.score:.4f}"])
    return buf.getvalue()


_CSS = """
body{font-family:system-ui,sans-serif;max-width:80rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
td.n{text-align:right}th{cursor:pointer;background:#f3f3f3}img{max-width:100%}
.side{display:flex;gap:1rem}.side>div{flex:1;min-width:0}
pre.code{position:relative;background:#f6f6f6;padding:.5rem;max-height:28rem;overflow:auto;font-size:.8rem;margin:0}
pre.code mark{background:#ffe08a}.ln{color:#999;user-select:none}
"""


_FIRST_MARK_JS = """
document.querySelectorAll("pre.code").forEach(function (pre) {
  var mark = pre.querySelector("mark");  // open each pane at the first shared line
  if (mark) pre.scrollTop = Math.max(0, mark.offsetTop - 40);
});
"""


def _code(text: str, marked: set[int]) -> str:
    lines = text.splitlines() or [""]
    width = len(str(len(lines)))
    out = []
    for i, line in enumerate(lines, 1):
        body = f'<span class="ln">{i:>{width}}</span> {e(line)}'
        out.append(f"<mark>{body}</mark>" if i in marked else body)
    return "\n".join(out)


def _plot(report: Any) -> str:
    fig = _figure(3.0)
    ax = fig.add_subplot()
    topics = [t for t, pairs in report.pairs.items() if pairs]
    ax.hist([[p.score for p in report.pairs[t]] for t in topics] or [[]], bins=[i / 20 for i in range(21)],
            label=topics or None, stacked=True)
    ax.set_xlim(0, 1)
    ax.set_xlabel("similarity (shared fingerprints / all fingerprints of the pair)")
    ax.set_ylabel("pairs")
    ax.set_title("Similarity of every pair of submissions")
    if topics:
        ax.legend(fontsize=8)
    return _png(fig)


def similarity_html(report: Any, *, title: str = "Similarity") -> str:
    """The similarity page: a plot, every pair in a sortable table, the top pairs side by side."""
    top = report.top_pairs(TOP_PAIRS)
    shown = {(p.topic, p.a, p.b): i for i, p in enumerate(top, 1)}
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        "<p>Answer code only: the stub's lines are removed, names become one placeholder, literals another, "
        "and each function is fingerprinted on its own (k-grams, winnowing), so renamed variables and reordered "
        "functions do not hide a copy. Code most of the class shares is ignored. A high score is a reason to "
        "read the two submissions, not a verdict, and it never changes a grade.</p>",
        f'<img alt="similarity distribution" src="data:image/png;base64,{_plot(report)}">',
        "<h2>Pairs</h2>",
        '<div style="max-height:24rem;overflow:auto"><table id="pairs" class="sortable"><tr><th>topic</th><th>a</th><th>b</th>'
        "<th>score</th><th>side by side</th></tr>",
    ]
    for topic, pairs in report.pairs.items():
        for p in pairs:
            i = shown.get((p.topic, p.a, p.b))
            link = f'<a href="#pair-{i}">#{i}</a>' if i else ""
            parts.append(f'<tr><td>{e(topic)}</td><td>{e(p.a)}</td><td>{e(p.b)}</td><td class="n">{p.score:.3f}</td><td>{link}</td></tr>')
    parts.append("</table></div>")
    parts.append("<h2>Most similar pairs, side by side</h2>")
    if not top:
        parts.append("<p>No two submissions share code beyond the stub.</p>")
    for i, p in enumerate(top, 1):
        prints = report.fingerprints.get(p.topic, {})
        cols = []
        for name in (p.a, p.b):
            marked = prints[name].lines(set(p.shared)) if name in prints else set()
            cols.append(f"<div><h4>{e(report.label(name))}</h4><pre class=\"code\">{_code(report.sources.get((p.topic, name), ''), marked)}</pre></div>")
        parts.append(f'<section id="pair-{i}"><h3>#{i} {e(p.topic)}: {e(p.a)} and {e(p.b)}, score {p.score:.3f}</h3>'
                     f'<div class="side">{"".join(cols)}</div></section>')
    parts.append(f"<script>{SORTABLE_JS}{_FIRST_MARK_JS}</script></body></html>")
    return "\n".join(parts) + "\n"
