"""Cluster throughput: ``grade-all --cluster local:N`` against local ``grade-all --jobs N``.

Grades the same class (N copies of the reference solutions) with N = 1, 2 and 4 processes both
ways, ``--force`` so every copy is really graded, each run a subprocess timed from outside (both
pay their own start-up: the job processes and fork servers, or the LocalCluster, its workers and
their fork servers). Printed side by side, per size: wall seconds per submission, the steady rate
(seconds per submission between the first and the last result written, start-up excluded), the
time to the first result (start-up), and the overhead ratios cluster / local. ``--repeat R`` runs
each side R times, alternating, and keeps the medians (a shared machine is noisy). The target: the cluster path costs less than 10 % more per
submission than local ``--jobs`` at the same number of processes. Scores are checked to agree.

Usage::

    python benchmarks/cluster_throughput.py                                 # all topics, 8 copies
    python benchmarks/cluster_throughput.py -n 8 --topics neurons backprop  # NumPy topics: quick

Writes ``benchmarks/results/cluster.json`` (one entry per topic selection).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "cluster.json"
sys.path.insert(0, str(HERE))

from batch_throughput import _env, _topic_args, make_class  # noqa: E402


def _save(path: Path, label: str, report: dict) -> None:
    """Keep one entry per topic selection in the JSON file (a rerun replaces its own entry)."""
    try:
        runs = json.loads(path.read_text(encoding="utf-8")).get("runs", {})
    except (OSError, ValueError, AttributeError):
        runs = {}
    runs[label] = report
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"benchmark": "cluster_throughput", "runs": runs}, indent=2) + "\n", encoding="utf-8")


def run(klass: Path, out: Path, how: list[str], topics: list[str]) -> dict:
    cmd = [sys.executable, "-m", "autograder", "grade-all", str(klass), "--out", str(out), *how, "--force", "--no-progress", *_topic_args(topics)]
    start, started_at = time.perf_counter(), time.time()
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    with open(out / "gradebook.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    records = sorted(out.glob("submissions/*/result.json"))
    written = sorted(p.stat().st_mtime for p in records)
    n = len(rows)
    steady = (written[-1] - written[0]) / (n - 1) if n > 1 else float("nan")
    return {
        "how": " ".join(how),
        "submissions": n,
        "wall_s": round(wall, 2),
        "wall_per_submission_s": round(wall / n, 3),
        "steady_per_submission_s": round(steady, 3),
        "first_result_s": round(written[0] - started_at, 2),
        "grading_per_submission_s": round(statistics.fmean(json.loads(p.read_text())["result"]["duration"] for p in records), 3),
        "errors": sum(1 for r in rows if r["error"]),
        "scores": sorted({float(r["score"]) for r in rows}),
    }


def _median(runs: list[dict]) -> dict:
    """The median of each timing over repeated runs (the other fields of the first run)."""
    out = dict(runs[0])
    for key in ("wall_s", "wall_per_submission_s", "steady_per_submission_s", "first_result_s", "grading_per_submission_s"):
        out[key] = round(statistics.median(r[key] for r in runs), 3)
    out["errors"] = sum(r["errors"] for r in runs)
    out["scores"] = sorted({s for r in runs for s in r["scores"]})
    out["repeats"] = len(runs)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=8, help="copies of the reference to grade (default 8)")
    parser.add_argument("--topics", nargs="+", help="topics to grade (default: every topic of the course)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4], help="process counts to compare (default 1 2 4)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (alternating local and cluster); medians are kept")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(REPO)})")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from autograder import course as course_mod

    course = course_mod.load(REPO)
    topics = args.topics or course.topic_names
    for t in topics:
        course.topic(t)
    load_before = os.getloadavg()
    pairs = []
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        make_class(Path(tmp) / "class", args.n, topics)
        for k in args.sizes:
            locals_, clusters = [], []
            for _ in range(max(1, args.repeat)):
                locals_.append(run(Path(tmp) / "class", Path(tmp) / f"local{k}", ["--jobs", str(k)], topics))
                clusters.append(run(Path(tmp) / "class", Path(tmp) / f"cluster{k}", ["--cluster", f"local:{k}"], topics))
            local, cluster = _median(locals_), _median(clusters)
            pairs.append({
                "processes": k, "local": local, "cluster": cluster,
                "overhead_wall": round(cluster["wall_per_submission_s"] / local["wall_per_submission_s"], 3),
                "overhead_steady": round(cluster["steady_per_submission_s"] / local["steady_per_submission_s"], 3),
            })
    scores = {s for p in pairs for side in ("local", "cluster") for s in p[side]["scores"]}
    report = {
        "topics": topics,
        "n": args.n,
        "runs": pairs,
        "scores_agree": len(scores) == 1 and not any(p[s]["errors"] for p in pairs for s in ("local", "cluster")),
        "machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
                    "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _save(args.output, "all topics" if not args.topics else " ".join(topics), report)
    print(f"topics: {' '.join(topics)}; {args.n} copies of the reference; {os.cpu_count()} cores, load {load_before[0]:.1f}")
    print(f"{'processes':>9} | {'local --jobs N':^36} | {'--cluster local:N':^36} | {'cluster / local':^17}")
    head = f"{'wall s/sub':>10} {'steady s/sub':>12} {'1st result s':>12}"
    print(f"{'':>9} | {head} | {head} | {'wall':>7} {'steady':>8}")
    for p in pairs:
        lo, cl = p["local"], p["cluster"]
        cells = [f"{r['wall_per_submission_s']:>10.2f} {r['steady_per_submission_s']:>12.2f} {r['first_result_s']:>12.2f}" for r in (lo, cl)]
        print(f"{p['processes']:>9} | {cells[0]} | {cells[1]} | {p['overhead_wall']:>7.2f} {p['overhead_steady']:>8.2f}")
    print(f"scores agree: {report['scores_agree']}; target: cluster / local < 1.10 per submission")
    print(f"wrote {args.output}")
    return report


if __name__ == "__main__":
    main()
