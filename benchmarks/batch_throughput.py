"""Batch grading throughput: warm workers against one cold ``autograder grade`` per submission.

Grades N copies of the reference solutions with ``autograder grade-all --jobs 1`` and ``--jobs 2``
(``--force``, so every copy is really graded) and prints the throughput in submissions per minute.
Then grades some of the same copies one by one with a fresh ``autograder grade`` process each (the
cold path: Python, the grader and, for Keras topics, TensorFlow imported per submission) and
compares the cost per submission. Every run is a subprocess timed from outside, so both sides pay
their own start-up. Scores are checked to agree (all copies of the reference score the same).

Usage::

    python benchmarks/batch_throughput.py              # all topics, N = 6
    python benchmarks/batch_throughput.py -n 4 --topics neurons activations backprop

Writes ``benchmarks/results/batch.json`` (one entry per topic selection: ``all topics`` or the
list given with ``--topics``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "batch.json"


def _env() -> dict[str, str]:
    from autograder.quiet import quiet_env

    return quiet_env(AUTOGRADER_COURSE=str(REPO))


def _topic_args(topics: list[str]) -> list[str]:
    return [a for t in topics for a in ("--topic", t)]


def make_class(root: Path, n: int, topics: list[str]) -> list[Path]:
    """``n`` submission folders, each a copy of the reference modules of ``topics``."""
    folders = []
    for i in range(n):
        folder = root / f"student_{i:03d}"
        folder.mkdir(parents=True)
        for t in topics:
            shutil.copy(REPO / "solutions" / f"{t}.py", folder / f"{t}.py")
        folders.append(folder)
    return folders


def _run(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return wall, proc.stdout


def batch_run(klass: Path, out: Path, jobs: int, topics: list[str]) -> dict:
    cmd = [sys.executable, "-m", "autograder", "grade-all", str(klass), "--out", str(out), "--jobs", str(jobs),
           "--force", "--no-progress", *_topic_args(topics)]
    wall, _ = _run(cmd)
    with open(out / "gradebook.csv", encoding="utf-8", newline="") as f:
        scores = [float(r["score"]) for r in csv.DictReader(f)]
    graded = [json.loads(p.read_text())["result"]["duration"] for p in sorted(out.glob("submissions/*/result.json"))]
    n = len(scores)
    return {
        "jobs": jobs,
        "submissions": n,
        "wall_s": round(wall, 2),
        "per_minute": round(60 * n / wall, 2),
        "wall_per_submission_s": round(wall / n, 3),
        "grading_per_submission_s": round(statistics.fmean(graded), 3),
        "scores": sorted(set(scores)),
    }


def cold_runs(folders: list[Path], topics: list[str]) -> dict:
    walls, scores = [], set()
    for folder in folders:
        wall, out = _run([sys.executable, "-m", "autograder", "grade", str(folder), "-q", *_topic_args(topics)])
        walls.append(wall)
        m = re.search(r":\s*([\d.]+)\s*/\s*([\d.]+)", out)
        scores.add(float(m.group(1)) if m else float("nan"))
    return {"submissions": len(walls), "wall_per_submission_s": round(statistics.fmean(walls), 3),
            "per_minute": round(60 / statistics.fmean(walls), 2), "walls_s": [round(w, 2) for w in walls], "scores": sorted(scores)}


def _save(path: Path, label: str, report: dict) -> None:
    """Keep one entry per topic selection in the JSON file (a rerun replaces its own entry)."""
    try:
        runs = json.loads(path.read_text(encoding="utf-8")).get("runs", {})
    except (OSError, ValueError, AttributeError):
        runs = {}
    runs[label] = report
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"benchmark": "batch_throughput", "runs": runs}, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=6, help="copies of the reference to grade (default 6)")
    parser.add_argument("--topics", nargs="+", help="topics to grade (default: every topic of the course)")
    parser.add_argument("--cold", type=int, default=3, help="copies graded one cold `autograder grade` each (default 3)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(REPO)})")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from autograder import course as course_mod

    course = course_mod.load(REPO)
    topics = args.topics or course.topic_names
    for t in topics:
        course.topic(t)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        folders = make_class(Path(tmp) / "class", args.n, topics)
        runs = [batch_run(Path(tmp) / "class", Path(tmp) / f"out{j}", j, topics) for j in (1, 2)]
        cold = cold_runs(folders[: max(1, min(args.cold, args.n))], topics)
    warm = runs[0]["wall_per_submission_s"]
    report = {
        "topics": topics,
        "n": args.n,
        "batch": runs,
        "cold_grade": cold,
        "speedup_warm_jobs1_vs_cold": round(cold["wall_per_submission_s"] / warm, 2),
        "speedup_jobs2_vs_jobs1": round(runs[1]["per_minute"] / runs[0]["per_minute"], 2),
        "scores_agree": len({*runs[0]["scores"], *runs[1]["scores"], *cold["scores"]}) == 1,
        "machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
                    "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _save(args.output, "all topics" if not args.topics else " ".join(topics), report)
    print(f"topics: {' '.join(topics)}; {args.n} copies of the reference; {os.cpu_count()} cores, load {load_before[0]:.1f}")
    print(f"{'run':<28}{'per minute':>12}{'s / submission':>16}")
    for r in runs:
        print(f"{'grade-all --jobs ' + str(r['jobs']):<28}{r['per_minute']:>12.1f}{r['wall_per_submission_s']:>16.2f}")
    print(f"{'cold `autograder grade`':<28}{cold['per_minute']:>12.1f}{cold['wall_per_submission_s']:>16.2f}")
    print(f"warm (jobs 1) vs cold: {report['speedup_warm_jobs1_vs_cold']:.2f}x per submission; "
          f"jobs 2 vs jobs 1: {report['speedup_jobs2_vs_jobs1']:.2f}x; scores agree: {report['scores_agree']}")
    print(f"wrote {args.output}")
    return report


if __name__ == "__main__":
    main()
