"""An instructor's term: roster, LMS files, late policy and extensions, overrides with their audit
log, and the similarity report, on a class of 20 synthetic submissions graded for real.

The class is a Gradescope export of the NumPy topic ``neurons`` (no TensorFlow, cheap to grade):

- 16 honest students, each writing every function in one of five styles; the styles are assigned
  by an orthogonal design (student ``(u, v)`` writes function ``f`` in style ``(u + f * v) mod 5``),
  so two honest students share at most one function, as real students might;
- 4 copies of honest students: variables renamed; functions reordered; both, with comments and
  blank lines added; and comments only;
- late submissions (one day, three days, past the cap), one within the grace period, one late but
  inside an extension; one override; one submission no roster student matches and two roster
  students who handed in nothing.

The expected numbers are computed here from the policy's definition, independently of the code.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograder import course as course_mod
from autograder.batch import Entry, discover, read_gradebook
from autograder.results import CheckResult, SubmissionResult
from autograder.term import Grade, TermError, load_inputs
from autograder.term import lms, similarity
from autograder.term.overrides import audit, load_overrides, resolve
from autograder.term.policy import load_extensions, load_policy
from autograder.term.roster import Roster, Student, describe

REPO = Path(__file__).resolve().parents[1]
TZ = timezone(timedelta(hours=1))
DUE = datetime(2026, 3, 1, 23, 59, tzinfo=TZ)
POLICY = """
[policy]
due = 2026-03-01T23:59:00+01:00
timezone = "Europe/Berlin"
grace_days = 0.0104
penalty_per_day = 10
penalty_cap = 30
"""

# Five ways to write each function of neurons.py (local names only; parameters keep their names).
# Style 4 of count_parameters forgets the biases and style 4 of init_params draws normal weights:
# those students lose points, so the class's scores differ.
STYLES = {
    "dense_forward": [
        "return activation(x @ W + b)",
        "z = np.dot(x, W) + b\nreturn activation(z)",
        "weighted = np.matmul(x, W)\nshifted = weighted + b[np.newaxis, :]\nreturn activation(shifted)",
        'out = np.einsum("bi,io->bo", x, W)\nout = out + b\nreturn activation(out)',
        "result = np.zeros((x.shape[0], W.shape[1]))\nfor i in range(x.shape[0]):\n    result[i] = x[i] @ W + b\nreturn activation(result)",
    ],
    "count_parameters": [
        "return int(sum(a * c + c for a, c in zip(layer_sizes, layer_sizes[1:])))",
        "total = 0\nfor i in range(len(layer_sizes) - 1):\n    total += layer_sizes[i] * layer_sizes[i + 1] + layer_sizes[i + 1]\nreturn total",
        "sizes = np.asarray(layer_sizes, dtype=np.int64)\nweights = np.sum(sizes[:-1] * sizes[1:])\nbiases = np.sum(sizes[1:])\nreturn int(weights + biases)",
        "count = 0\nprevious = layer_sizes[0]\nfor size in layer_sizes[1:]:\n    count += (previous + 1) * size\n    previous = size\nreturn int(count)",
        "return int(sum(p * q for p, q in zip(layer_sizes[:-1], layer_sizes[1:])))",
    ],
    "init_params": [
        "generator = np.random.default_rng(seed)\nresult = []\nfor fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):\n"
        "    bound = np.sqrt(6.0 / (fan_in + fan_out))\n    result.append((generator.uniform(-bound, bound, size=(fan_in, fan_out)), np.zeros(fan_out)))\nreturn result",
        "rng = np.random.default_rng(seed)\nlayers = []\ni = 0\nwhile i < len(layer_sizes) - 1:\n    n, m = layer_sizes[i], layer_sizes[i + 1]\n"
        "    limit = (6 / (n + m)) ** 0.5\n    layers.append((rng.uniform(low=-limit, high=limit, size=(n, m)), np.zeros(m)))\n    i += 1\nreturn layers",
        "rng = np.random.default_rng(seed)\n\ndef layer(n_in, n_out):\n    lim = np.sqrt(6 / (n_in + n_out))\n    return rng.uniform(-lim, lim, (n_in, n_out)), np.zeros((n_out,))\n\n"
        "return [layer(a, c) for a, c in zip(layer_sizes, layer_sizes[1:])]",
        "pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))\nrng = np.random.default_rng(seed)\nparams = []\nfor k in range(len(pairs)):\n"
        "    rows, cols = pairs[k]\n    scale = np.sqrt(6.0 / (rows + cols))\n    weights = rng.uniform(-scale, scale, size=(rows, cols))\n"
        "    params.append((weights, np.zeros(cols, dtype=float)))\nreturn params",
        "rng = np.random.default_rng(seed)\nreturn [(rng.normal(0.0, 0.1, size=(p, q)), np.zeros(q)) for p, q in zip(layer_sizes[:-1], layer_sizes[1:])]",
    ],
    "mlp_forward": [
        "a = x\nfor W, b in params[:-1]:\n    a = hidden_activation(a @ W + b)\nW_last, b_last = params[-1]\nreturn output_activation(a @ W_last + b_last)",
        "h = x\nlast = len(params) - 1\nfor i, (W, b) in enumerate(params):\n    z = h @ W + b\n    h = output_activation(z) if i == last else hidden_activation(z)\nreturn h",
        "if len(params) == 1:\n    W, b = params[0]\n    return output_activation(x @ W + b)\nW, b = params[0]\n"
        "return mlp_forward(hidden_activation(x @ W + b), params[1:], hidden_activation, output_activation)",
        "from functools import reduce\nhidden = reduce(lambda acc, p: hidden_activation(np.dot(acc, p[0]) + p[1]), params[:-1], x)\n"
        "return output_activation(np.dot(hidden, params[-1][0]) + params[-1][1])",
        "current = x\nidx = 0\nwhile idx < len(params):\n    weights, bias = params[idx]\n    act = output_activation if idx == len(params) - 1 else hidden_activation\n"
        "    current = act(current @ weights + bias)\n    idx += 1\nreturn current",
    ],
}
FUNCTIONS = list(STYLES)
RENAME = {"z": "pre", "weighted": "wx", "shifted": "wxb", "out": "res", "result": "acc_out", "total": "n_total", "sizes": "arr",
          "weights": "wsum", "biases": "bsum", "count": "cnt", "previous": "prev", "generator": "gen", "bound": "lim",
          "fan_in": "fi", "fan_out": "fo", "rng": "r", "layers": "out_layers", "limit": "lm", "pairs": "shapes", "rows": "nr",
          "cols": "nc", "scale": "sc", "a": "act_val", "h": "hid", "last": "final_idx", "hidden": "hv", "current": "cur",
          "idx": "j", "bias": "bb", "act": "fn", "W_last": "W_out", "b_last": "b_out", "i": "ii", "k": "kk", "n": "nn", "m": "mm",
          "p": "pp", "q": "qq", "c": "cc", "acc": "accum", "lim": "lmt", "layer": "make_layer", "n_in": "ni", "n_out": "no"}


def _stub_functions() -> tuple[str, dict[str, str]]:
    """The stub's module head and each function's text (signature and docstring, the raise line last)."""
    stub = (REPO / "exercises" / "neurons.py").read_text(encoding="utf-8")
    lines = stub.splitlines()
    funcs = {n.name: n for n in ast.parse(stub).body if isinstance(n, ast.FunctionDef)}
    head = "\n".join(lines[: min(f.lineno for f in funcs.values()) - 1])
    return head, {name: "\n".join(lines[f.lineno - 1 : f.end_lineno]) for name, f in funcs.items()}


def _rename(body: str) -> str:
    return re.sub(r"(?<![\w.\"])([A-Za-z_]\w*)\b", lambda m: RENAME.get(m.group(1), m.group(1)), body)


def module(styles: list[int], *, order: list[str] = FUNCTIONS, rename: bool = False, comments: bool = False) -> str:
    head, funcs = _stub_functions()
    parts = [head]
    for name in order:
        body = STYLES[name][styles[FUNCTIONS.index(name)]]
        if rename:
            body = _rename(body)
        if comments:
            body = "# my own work, honestly\n" + body.replace("\n", "\n\n", 1)
        text = funcs[name]
        raise_line = text.splitlines()[-1]
        indent = raise_line[: len(raise_line) - len(raise_line.lstrip())]
        text = text[: text.rindex(raise_line)] + "\n".join(indent + ln if ln else "" for ln in body.splitlines())
        parts.append(text)
    return "\n\n\n".join(parts) + "\n"


def honest_styles() -> dict[str, list[int]]:
    return {f"h{4 * u + v:02d}": [(u + f * v) % 5 for f in range(4)] for u in range(4) for v in range(4)}


COPIES = {  # copy -> (original, how)
    "c_renamed": ("h00", dict(rename=True)),
    "c_reordered": ("h05", dict(order=FUNCTIONS[::-1])),
    "c_both": ("h10", dict(rename=True, order=[FUNCTIONS[2], FUNCTIONS[0], FUNCTIONS[3], FUNCTIONS[1]], comments=True)),
    "c_comments": ("h15", dict(comments=True)),
}
SUBMITTED = {  # late and special times (default: on time, 2026-03-01 20:00 +01:00)
    "h01": datetime(2026, 3, 2, 10, 0, tzinfo=TZ),  # 1 day late: 10 %
    "h02": datetime(2026, 3, 4, 0, 30, tzinfo=TZ),  # 2 days 31 minutes late: 3 days, 30 %
    "h03": datetime(2026, 3, 9, 12, 0, tzinfo=TZ),  # 8 days late: capped at 30 %
    "h04": datetime(2026, 3, 3, 12, 0, tzinfo=TZ),  # late, but a 3-day extension: on time
    "h06": datetime(2026, 3, 2, 0, 5, tzinfo=TZ),  # 6 minutes late: inside the 15-minute grace
    "h07": datetime(2026, 3, 3, 10, 0, tzinfo=TZ),  # 2 days late: 20 %, and an override
    "c_both": datetime(2026, 3, 2, 23, 0, tzinfo=TZ),  # 1 day late
}
EXPECTED_DAYS = {"h01": 1, "h02": 3, "h03": 8, "h07": 2, "c_both": 1}
OVERRIDE_CHECK = "neurons::test_count_parameters_matches_reference"


def _gs_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f000 %z")  # Gradescope's spelling: 2026-03-01 20:00:00.000000000 +0100


@pytest.fixture(scope="module")
def term_class(tmp_path_factory):
    """The Gradescope export, the roster, extensions, overrides and a course copy with a [policy]."""
    base = tmp_path_factory.mktemp("term")
    export = base / "export"
    export.mkdir()
    sources = {name: module(styles) for name, styles in honest_styles().items()}
    for copy, (orig, how) in COPIES.items():
        sources[copy] = module(honest_styles()[orig], **how)
    meta, roster = [], [["submission", "student_id", "name", "email", "section"]]
    for i, (name, text) in enumerate(sorted(sources.items())):
        sid = f"S{100 + i}"
        folder = export / f"submission_{9000 + i}"
        folder.mkdir()
        (folder / "neurons.py").write_text(text, encoding="utf-8")
        when = SUBMITTED.get(name, datetime(2026, 3, 1, 20, 0, tzinfo=TZ))
        meta.append(f"submission_{9000 + i}:\n  :submitters:\n  - :name: Student {name}\n    :sid: '{sid}'\n"
                    f"    :email: {name}@uni.example\n  :created_at: {_gs_time(when)}\n  :status: processed\n")
        if name != "h15":  # h15 is not on the roster: an unmatched submission
            roster.append(["", sid, f"Student {name}", f"{name}@uni.example", "A"])
    roster += [["", "S900", "Nobody Home", "nobody@uni.example", "B"], ["", "S901", "=Evil Formula", "evil@uni.example", "B"]]
    (export / "submission_metadata.yml").write_text("".join(meta), encoding="utf-8")
    _csv(base / "roster.csv", roster)
    _csv(base / "extensions.csv", [["student", "days", "reason"], ["h04@uni.example", "3", "illness"]])
    wrong = "h07"  # count_parameters in the style that forgets the biases, and 2 days late
    assert honest_styles()[wrong][1] == 4
    _csv(base / "overrides.csv", [["student", "check", "points", "reason", "who", "when"],
                                 [f"{wrong}@uni.example", OVERRIDE_CHECK, "1", "biases counted in the written answer", "prof", "2026-03-05"]])
    course_root = base / "course"
    course_root.mkdir()
    (course_root / "course.toml").write_text((REPO / "course.toml").read_text(encoding="utf-8") + POLICY, encoding="utf-8")
    shutil.copytree(REPO / "solutions", course_root / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "checks", course_root / "checks", ignore=shutil.ignore_patterns("__pycache__"))  # the course's checks travel with it
    shutil.copytree(REPO / "exercises", course_root / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    return base, export, sources, wrong


def _csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def _grade_all(term_class, out: Path, *extra: str) -> subprocess.CompletedProcess:
    base, export, _, _ = term_class
    env = {**__import__("os").environ, "AUTOGRADER_COURSE": str(base / "course")}
    args = [sys.executable, "-m", "autograder", "grade-all", str(export), "--out", str(out), "--jobs", "2", "--no-progress",
            "--topic", "neurons", "--roster", str(base / "roster.csv"), "--extensions", str(base / "extensions.csv"),
            "--overrides", str(base / "overrides.csv"), "--lms", "canvas", "--lms", "moodle", "--assignment", "PS1 (neurons)", *extra]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def graded(term_class, tmp_path_factory):
    out = tmp_path_factory.mktemp("term-out") / "run"
    run = _grade_all(term_class, out)
    assert run.returncode == 0, run.stdout + run.stderr
    return out, run.stdout


def _penalty(days: int) -> float:
    return min(30.0, 10.0 * days)


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_gradebook_raw_overrides_penalty_final(term_class, graded):
    _, _, sources, wrong = term_class
    out, _ = graded
    rows = {r["submission"]: r for r in read_gradebook(out / "gradebook.csv")}
    assert len(rows) == 20
    by_name = {r["student_name"].removeprefix("Student "): r for r in rows.values() if r["student_name"]}
    assert set(by_name) == set(sources) - {"h15"}
    for name, r in by_name.items():
        raw = float(r["raw"])
        assert raw == float(r["score"])
        days = EXPECTED_DAYS.get(name, 0)
        assert int(r["days_late"]) == days, name
        assert float(r["penalty_percent"]) == _penalty(days), name
        adjusted = raw + float(r["overrides"])
        assert float(r["penalty"]) == pytest.approx(adjusted * _penalty(days) / 100), name
        assert float(r["final"]) == pytest.approx(adjusted * (1 - _penalty(days) / 100)), name
        assert float(r["overrides"]) == (1.0 if name == wrong else 0.0), name
    assert float(by_name["h00"]["raw"]) == 10  # all five styles 0: correct everywhere
    assert float(by_name[wrong]["raw"]) < 10
    assert by_name["h04"]["days_late"] == "0" and by_name["h06"]["days_late"] == "0"  # extension, grace


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_canvas_and_moodle_files(term_class, graded):
    base, _, _, _ = term_class
    out, _ = graded
    finals = {r["student_id"]: r["final"] for r in read_gradebook(out / "gradebook.csv") if r["student_id"]}
    roster = Roster.load(base / "roster.csv")
    canvas = _read_csv(out / "canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "PS1 (neurons)"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "10"]
    assert [r[2] for r in canvas[2:]] == [s.student_id for s in roster.students]
    for name, _, sid, login, section, points in canvas[2:]:
        expected = float(finals.get(sid, 0.0))
        assert float(points) == pytest.approx(expected), sid
        assert login == roster.find(sid).email and section in ("A", "B")
    assert ["'=Evil Formula", "", "S901", "evil@uni.example", "B", "0"] in canvas  # no formula reaches a spreadsheet
    moodle = _read_csv(out / "moodle.csv")
    assert moodle[0] == ["ID number", "Email address", "Full name", "PS1 (neurons)"]
    assert {r[0]: float(r[3]) for r in moodle[1:]} == {s.student_id: pytest.approx(float(finals.get(s.student_id, 0.0))) for s in roster.students}


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_roster_gaps_in_summary_and_report(graded):
    out, stdout = graded
    unmatched = re.search(r"Submissions matching no roster student \(1\): (\S+)", stdout)
    assert unmatched, stdout
    page = (out / "report.html").read_text()
    assert f"({1}): {unmatched.group(1)}" in page
    assert "Roster students without a submission (2): Nobody Home (S900), =Evil Formula (S901)" in stdout
    assert "Roster students without a submission (2): Nobody Home (S900), =Evil Formula (S901)" in page


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_feedback_shows_raw_override_penalty_final(term_class, graded):
    _, export, _, wrong = term_class
    out, _ = graded
    rows = {r["student_name"].removeprefix("Student "): r for r in read_gradebook(out / "gradebook.csv")}
    folder = out / "submissions" / rows[wrong]["submission"]
    md = (folder / "feedback.md").read_text()
    page = (folder / "feedback.html").read_text()
    for text in (md, page):
        assert "Your grade" in text and "biases counted in the written answer" in text and "prof" in text
        assert f"Late policy: submitted" in text and f"{EXPECTED_DAYS[wrong]} day" in text
        assert f"{float(rows[wrong]['final']):g} / 10" in text
    assert f"**Score: {float(rows[wrong]['raw']):g} / 10 points" in md  # the raw score stays as graded
    on_time = (out / "submissions" / rows["h08"]["submission"] / "feedback.md").read_text()
    assert "Your grade" not in on_time  # nothing changed the raw score: the feedback is the grader's


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_overrides_are_audited_once_and_kept_across_regrades(term_class, graded, tmp_path):
    base, _, _, wrong = term_class
    out, _ = graded
    log = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    assert len(log) == 1
    rec = log[0]
    assert (rec["action"], rec["check"], rec["from"], rec["to"], rec["who"], rec["reason"]) == (
        "override", OVERRIDE_CHECK, 0.0, 1.0, "prof", "biases counted in the written answer")
    record = json.loads((out / "submissions" / rec["submission"] / "result.json").read_text())
    check = next(c for c in record["result"]["checks"] if c["id"] == OVERRIDE_CHECK)
    assert check["points"] == 0  # the autograded record is untouched
    # a regrade (--force) applies the same file again: same final grades, nothing new in the log
    before = read_gradebook(out / "gradebook.csv")
    again = _grade_all(term_class, out, "--force")
    assert again.returncode == 0, again.stderr
    assert read_gradebook(out / "gradebook.csv") == before
    assert len((out / "audit.jsonl").read_text().splitlines()) == 1


@pytest.mark.slow  # end to end (sandbox, grade-all, TensorFlow)
def test_similarity_ranks_every_copy_above_every_honest_pair(graded):
    out, _ = graded
    rows = _read_csv(out / "similarity.csv")
    assert rows[0] == ["topic", "a", "b", "score"]
    scores = [float(r[3]) for r in rows[1:]]
    assert scores == sorted(scores, reverse=True)
    names = {r["submission"]: r["student_name"].removeprefix("Student ") or "h15" for r in read_gradebook(out / "gradebook.csv")}
    pairs = {frozenset((names[a], names[b])): float(s) for _, a, b, s in rows[1:]}
    copied = {frozenset((c, orig)) for c, (orig, _) in COPIES.items()}
    copy_scores = [pairs.get(p, 0.0) for p in copied]
    honest = [s for p, s in pairs.items() if p not in copied]
    assert min(copy_scores) > max(honest), (copy_scores, max(honest))
    assert min(copy_scores) >= 0.9  # renamed, reordered: still (nearly) identical after normalisation
    page = (out / "similarity.html").read_text()
    assert page.count('<section id="pair-') == 10 and "<mark>" in page


# --------------------------------------------------------------------------------------------------
# Unit tests: each part alone
# --------------------------------------------------------------------------------------------------


def test_winnowing_finds_every_long_shared_run():
    """Any shared run of WINDOW + K - 1 normalised tokens shares at least one fingerprint."""
    body = "\n".join(f"    v{i} = v{i - 1} * {i} + np.sum(v{i - 1})" for i in range(1, 40))
    a = similarity.fingerprint(f"def f(v0):\n{body}\n    return v39\n")
    b = similarity.fingerprint(f"def g(w):\n    t = w ** 2\n{body}\n    return t\n")
    c = similarity.fingerprint("def h(q, r):\n    return sorted(q, key=len)[::-1]\n")
    assert set(a.hashes) & set(b.hashes)
    assert similarity.similarity(a, c) < 0.1
    assert similarity.similarity(a, b) > 0.5


def test_normalisation_ignores_names_literals_order_and_the_stub():
    stub = 'import numpy as np\n\n\ndef f(x):\n    """Doc."""\n    raise NotImplementedError("TODO")\n\n\ndef g(y):\n    raise NotImplementedError\n'
    one = 'import numpy as np\n\n\ndef f(x):\n    """Doc."""\n    s = np.exp(x)\n    return s / s.sum(axis=1)\n\n\ndef g(y):\n    out = []\n    for item in y:\n        out.append(item * 2)\n    return out\n'
    other = 'import numpy as np\n\n\ndef g(y):\n    acc = []\n    for it in y:  # mine\n        acc.append(it * 3)\n    return acc\n\n\ndef f(x):\n    """Doc."""\n    e = np.exp(x)\n    return e / e.sum(axis=0)\n'
    assert similarity.similarity(similarity.fingerprint(one, stub), similarity.fingerprint(other, stub)) == 1.0
    different = 'def f(x):\n    return np.tanh(x) - np.log1p(np.abs(x))\n\n\ndef g(y):\n    return {k: v for k, v in y.items() if v}\n'
    assert similarity.similarity(similarity.fingerprint(one, stub), similarity.fingerprint(different, stub)) < 0.2
    assert similarity.fingerprint(stub, stub).hashes == {}  # a blank submission has nothing to compare
    assert similarity.fingerprint("def broken(:\n    x = = 1\n", "").hashes  # a syntax error is still compared


def test_common_code_is_ignored():
    common = "def f(x):\n    return np.maximum(x, 0.0) + np.minimum(x, 0.0) * 0.01\n"
    prints = {f"s{i}": similarity.fingerprint(common + f"\n\ndef g{i}(y):\n" + "\n".join(f"    y = y * {j} + {'abc'[j % 3]}{i}" * 1 for j in range(i + 1)) + "\n")
              for i in range(8)}
    pairs = similarity.compare_all("t", prints)
    assert all(p.score < 1.0 for p in pairs)


def _result(name: str, points: dict[str, tuple[str, float]]) -> SubmissionResult:
    return SubmissionResult(name, checks=[CheckResult(id=f"neurons::{cid}", topic="neurons", name=cid, max_points=mx, status=st)
                                          for cid, (st, mx) in points.items()])


def test_late_policy_from_course_toml_and_extensions(tmp_path):
    class C:  # a course with only a manifest table
        extra = {"policy": {"due": DUE, "grace_days": 1, "penalty_per_day": 20, "penalty_cap": 50}}
        title = "t"

    policy = load_policy(C)
    assert policy.late_days(DUE + timedelta(hours=23)) == 0  # inside one grace day
    assert policy.late_days(DUE + timedelta(days=1, minutes=1)) == 1
    assert policy.late_days(DUE + timedelta(days=5)) == 4 and policy.penalty_percent(4) == 50.0
    (tmp_path / "ext.csv").write_text("student,days,due,reason\nada,2,,flu\nbob,,2026-03-10T12:00,visa\n")
    ext = load_extensions(tmp_path / "ext.csv", policy)
    assert ext["ada"].due == DUE + timedelta(days=2)
    assert ext["bob"].due == datetime(2026, 3, 10, 12, tzinfo=timezone.utc)  # no offset: the policy's zone (UTC here)
    assert policy.late_days(DUE + timedelta(days=3), ext["ada"].due) == 0
    C.extra = {"policy": {"due": DUE, "penalty": 3}}
    with pytest.raises(TermError, match="unknown key"):
        load_policy(C)
    (tmp_path / "bad.csv").write_text("student,days\ncy,\n")
    with pytest.raises(TermError, match="line 2"):
        load_extensions(tmp_path / "bad.csv", policy)


def test_times_gradescope_then_nbgrader_then_file(tmp_path):
    gs = tmp_path / "gs"
    (gs / "submission_1").mkdir(parents=True)
    (gs / "submission_1" / "neurons.py").write_text("x = 1\n")
    (gs / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Ada\n    :sid: '42'\n    :email: ada@x.org\n  - :name: Bob\n    :sid: '43'\n"
        "    :email: bob@x.org\n  :created_at: 2026-03-01 20:00:00.123456789 -0800\n")
    [entry] = discover(gs)
    info = describe(entry, ["neurons"])
    assert (info.time_source, info.submitted_at) == ("Gradescope", datetime(2026, 3, 2, 4, 0, 0, 123456, tzinfo=timezone.utc))
    roster = Roster([Student("42", "Ada", "ada@x.org"), Student("43", "Bob", "BOB@x.org"), Student("s44", "Cy", "cy@x.org", "cy_folder")])
    assert [s.name for s in roster.match(info)] == ["Ada", "Bob"]  # a group submission: both get the grade

    nb = tmp_path / "course" / "submitted" / "s44" / "ps1"
    nb.mkdir(parents=True)
    (nb / "neurons.py").write_text("x = 1\n")
    (nb / "timestamp.txt").write_text("2026-03-02 09:30:00.000000 UTC")
    [entry] = discover(tmp_path / "course")
    info = describe(entry, ["neurons"])
    assert (info.time_source, info.submitted_at, info.nbgrader_student) == ("nbgrader timestamp.txt", datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc), "s44")
    assert [s.name for s in roster.match(info)] == ["Cy"]

    plain = tmp_path / "plain"
    (plain / "cy_folder").mkdir(parents=True)
    (plain / "cy_folder" / "neurons.py").write_text("x = 1\n")
    with zipfile.ZipFile(plain / "ada@x.org.zip", "w") as zf:
        zf.writestr("neurons.py", "x = 1\n")
    stamp = datetime(2026, 3, 3, 8, 0, tzinfo=timezone.utc).timestamp()
    __import__("os").utime(plain / "cy_folder" / "neurons.py", (stamp, stamp))
    entries = {e.name: e for e in discover(plain)}
    info = describe(entries["cy_folder"], ["neurons"])
    assert (info.time_source, info.submitted_at.timestamp()) == ("file time", stamp)
    assert [s.name for s in roster.match(info)] == ["Cy"]  # by folder name (the roster's submission column)
    assert [s.name for s in roster.match(describe(entries["ada@x.org"], ["neurons"]))] == ["Ada"]  # zip name = email
    assert roster.match(describe(Entry("zed", plain / "zed", "folder", "zed"), ["neurons"])) == []


def test_roster_file_errors(tmp_path):
    (tmp_path / "r.csv").write_text("submission,student_id,name\n")
    with pytest.raises(TermError, match="lacks the column"):
        Roster.load(tmp_path / "r.csv")
    (tmp_path / "r.csv").write_text("submission,student_id,name,email\n,1,A,a@x\n,1,B,b@x\n")
    with pytest.raises(TermError, match="twice"):
        Roster.load(tmp_path / "r.csv")
    with pytest.raises(TermError, match="needs --roster"):
        load_inputs(course=None, lms=["canvas"])


def test_overrides_apply_and_the_audit_log_only_grows(tmp_path):
    r = _result("ada", {"test_a": ("failed", 2), "test_b": ("passed", 1)})
    (tmp_path / "o.csv").write_text("student,check,points,reason,who,when\nada,test_a,1.5,partial credit,ta1,2026-03-05\n"
                                    "ada,test_zzz,1,typo,ta1,\nbob,test_a,2,x,ta1,\n")
    overrides = load_overrides(tmp_path / "o.csv")
    applied, problems = resolve(overrides, r, {"ada"})
    assert [(a.check, a.autograded, a.points) for a in applied] == [("neurons::test_a", 0.0, 1.5)]
    assert len(problems) == 1 and "test_zzz" in problems[0]
    t0 = datetime(2026, 3, 6, tzinfo=timezone.utc)
    assert len(audit(tmp_path, applied, {"ada"}, now=t0)) == 1
    assert audit(tmp_path, applied, {"ada"}, now=t0) == []  # the same overrides again: nothing new
    changed = [a.__class__(**{**a.__dict__, "points": 2.0, "reason": "full credit after all"}) for a in applied]
    [rec] = audit(tmp_path, changed, {"ada"}, now=t0)
    assert (rec["from"], rec["to"], rec["reason"]) == (1.5, 2.0, "full credit after all")
    [rec] = audit(tmp_path, [], {"ada"}, now=t0)
    assert (rec["action"], rec["from"]) == ("override removed", 2.0)
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["to"] == 1.5  # earlier lines never rewritten
    g = Grade("ada", "ada", [], r.total, 3.0, overrides=applied, days_late=2, penalty_percent=20.0)
    assert (g.adjusted, g.penalty, g.final) == (2.5, 0.5, 2.0)
    (tmp_path / "bad.csv").write_text("student,check,points,reason,who,when\nada,test_a,-1,x,y,\n")
    with pytest.raises(TermError, match="line 2"):
        load_overrides(tmp_path / "bad.csv")


def test_lms_rows_for_every_roster_student_and_none_for_grader_faults():
    roster = Roster([Student("1", "Ada", "ada@x"), Student("2", "Bob", "bob@x"), Student("3", "Cy", "cy@x")])
    grades = [Grade("ada", "ada", [roster.students[0]], 7.0, 10.0, days_late=1, penalty_percent=10.0),
              Grade("bob", "bob", [roster.students[1]], 0.0, 10.0, grader_failed=True)]
    rows = _read_csv_text(lms.canvas_csv(grades, roster, assignment="A1", possible=10.0))
    assert rows[2:] == [["Ada", "", "1", "ada@x", "", "6.3"], ["Bob", "", "2", "bob@x", "", ""], ["Cy", "", "3", "cy@x", "", "0"]]
    rows = _read_csv_text(lms.moodle_csv(grades, roster, assignment="A1", possible=10.0))
    assert rows == [["ID number", "Email address", "Full name", "A1"], ["1", "ada@x", "Ada", "6.3"], ["2", "bob@x", "Bob", ""], ["3", "cy@x", "Cy", "0"]]


def _read_csv_text(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_finish_survives_a_class_with_nothing_to_compare(tmp_path):
    """Blank, corrupt and stray entries: every file is written, no pair is found, nothing raises."""
    from types import SimpleNamespace

    from autograder.term import finish

    root, out = tmp_path / "class", tmp_path / "out"
    (root / "blank").mkdir(parents=True)
    shutil.copy(REPO / "exercises" / "neurons.py", root / "blank" / "neurons.py")
    (root / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    (root / "notes.txt").write_text("hello")
    (root / "deep").mkdir()
    (root / "deep" / "neurons.py").write_text("x = " + "(" * 5000 + ")" * 5000 + "\n")  # defeats the parser
    course = course_mod.load(REPO)
    entries = discover(root)
    results = [SubmissionResult(e.name) for e in entries]
    inputs = load_inputs(course=course)
    inputs.roster = Roster([Student("1", "Bea", "b@x", "blank"), Student("2", "Bea again", "b2@x", "")])
    inputs.extensions = {"nobody": None}
    report = finish(SimpleNamespace(entries=entries, results=results, out=out, topics=["neurons"]), course, inputs)
    assert _read_csv(out / "similarity.csv") == [["topic", "a", "b", "score"]]
    assert "No two submissions share code" in (out / "similarity.html").read_text()
    assert report.unmatched == ["broken", "deep"] and [s.student_id for s in report.missing] == ["2"]
    assert any("extension of nobody" in n for n in report.notes)
    assert all((out / "submissions" / e.slug / "feedback.html").is_file() for e in entries)
