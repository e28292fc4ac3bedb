"""Cluster throughput: ``grade-all --cluster local:N`` against local ``grade-all --jobs N``.

Grades the same class (N copies of the reference solutions) with N = 1, 2 and 4 processes both
ways, ``--force`` so every copy is really graded, each run a subprocess timed from outside.

How start-up is counted. Both sides pay their own, in full, in the **wall** figure: the Python
start of the command, the job processes and their fork servers (local), or Dask's import, the
LocalCluster, its worker processes, the course plugin and their fork servers (cluster), every
process's first submission (its warm-up: pytest's import, the fork server's imports), and the
shutdown. The **steady** figure leaves start-up and shutdown out: seconds per submission between
the first and the last ``result.json`` written, i.e. ``(last - first) / (n - 1)``, the marginal
cost of one more submission once every process is warm. **1st result** is the start-up plus one
submission. **cpu** is the CPU time of the whole process tree (a cpuacct cgroup per run, where
this machine has a writable one: Linux, root; else left out), which a shared, busy machine
disturbs far less than the wall clock. The overhead ratios (cluster / local) are given for wall,
steady and cpu. Each run notes the 1-minute load average it started under.

``--repeat R`` runs each side R times, alternating the order (local first, then cluster first, ...),
and keeps the medians. The target: the cluster path costs less than 10 % more per submission than
local ``--jobs`` at the same number of processes. Scores are checked to agree.

Usage::

    python benchmarks/cluster_throughput.py                                 # all topics, 8 copies
    python benchmarks/cluster_throughput.py -n 24 --topics neurons backprop --repeat 3  # NumPy topics

Writes ``benchmarks/results/cluster.json`` (one entry per topic selection).
"""

from __future__ import annotations

import argparse
import contextlib
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


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def _cpu_group(name: str) -> Path | None:
    """A fresh cpuacct cgroup for one run, or ``None`` where there is no writable one."""
    group = CPUACCT / name
    try:
        group.mkdir()
        return group
    except OSError:
        return None


def _cpu_seconds(group: Path | None) -> float | None:
    """CPU seconds used in ``group`` (every process the command started, however deep); removes it."""
    if group is None:
        return None
    time.sleep(0.3)  # a fork server ends just after its client
    used = int((group / "cpuacct.usage").read_text()) / 1e9 or None  # 0: the command could not join it
    for _ in range(50):
        try:
            group.rmdir()
            break
        except OSError:
            time.sleep(0.1)
    return used


def run(klass: Path, out: Path, how: list[str], topics: list[str]) -> dict:
    cmd = [sys.executable, "-m", "autograder", "grade-all", str(klass), "--out", str(out), *how, "--force", "--no-progress", *_topic_args(topics)]
    group = _cpu_group(f"cluster-bench-{os.getpid()}-{out.name}-{time.monotonic_ns()}")

    def join_group() -> None:  # in the child, before it runs anything
        if group is not None:
            with contextlib.suppress(OSError):  # not allowed: no cpu figure (the group stays empty)
                (group / "cgroup.procs").write_text(str(os.getpid()))

    env = _env()  # the package next to this script, not an installed one
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)

    load = os.getloadavg()[0]
    start, started_at = time.perf_counter(), time.time()
    # run from the class's folder: `python -m` puts the working directory first on sys.path
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=klass.parent, preexec_fn=join_group)
    wall = time.perf_counter() - start
    cpu = _cpu_seconds(group)
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
        "load1": round(load, 2),
        "wall_s": round(wall, 2),
        "wall_per_submission_s": round(wall / n, 3),
        "steady_per_submission_s": round(steady, 3),
        "first_result_s": round(written[0] - started_at, 2),
        "cpu_per_submission_s": None if cpu is None else round(cpu / n, 3),
        "grading_per_submission_s": round(statistics.fmean(json.loads(p.read_text())["result"]["duration"] for p in records), 3),
        "errors": sum(1 for r in rows if r["error"]),
        "scores": sorted({float(r["score"]) for r in rows}),
    }


TIMINGS = ("wall_s", "wall_per_submission_s", "steady_per_submission_s", "first_result_s", "cpu_per_submission_s", "grading_per_submission_s")


def _median(runs: list[dict]) -> dict:
    """The median of each timing over repeated runs (the other fields of the first run)."""
    out = dict(runs[0])
    for key in TIMINGS:
        values = [r[key] for r in runs if r[key] is not None]
        out[key] = round(statistics.median(values), 3) if values else None
    out["load1"] = [r["load1"] for r in runs]
    out["errors"] = sum(r["errors"] for r in runs)
    out["scores"] = sorted({s for r in runs for s in r["scores"]})
    out["repeats"] = len(runs)
    out["each_run"] = [{k: r[k] for k in ("load1", *TIMINGS)} for r in runs]
    return out


def _ratio(a, b):
    return None if a is None or b is None else round(a / b, 3)


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
            sides = [(locals_, f"local{k}", ["--jobs", str(k)]), (clusters, f"cluster{k}", ["--cluster", f"local:{k}"])]
            for i in range(max(1, args.repeat)):
                for runs, name, how in sides if i % 2 == 0 else sides[::-1]:  # ABBA: drift in the load hits both
                    runs.append(run(Path(tmp) / "class", Path(tmp) / name, how, topics))
            local, cluster = _median(locals_), _median(clusters)
            pairs.append({
                "processes": k, "local": local, "cluster": cluster,
                "overhead_wall": _ratio(cluster["wall_per_submission_s"], local["wall_per_submission_s"]),
                "overhead_steady": _ratio(cluster["steady_per_submission_s"], local["steady_per_submission_s"]),
                "overhead_cpu": _ratio(cluster["cpu_per_submission_s"], local["cpu_per_submission_s"]),
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
    print(f"topics: {' '.join(topics)}; {args.n} copies of the reference; {os.cpu_count()} cores, load {load_before[0]:.1f}; "
          f"medians of {max(1, args.repeat)} run(s) per side")
    print(f"{'processes':>9} | {'local --jobs N':^47} | {'--cluster local:N':^47} | {'cluster / local':^24}")
    head = f"{'wall s/sub':>10} {'steady s/sub':>12} {'1st result s':>12} {'cpu s/sub':>10}"
    print(f"{'':>9} | {head} | {head} | {'wall':>7} {'steady':>8} {'cpu':>7}")

    def cell(v, width):
        return f"{v:>{width}.2f}" if v is not None else f"{'-':>{width}}"

    for p in pairs:
        lo, cl = p["local"], p["cluster"]
        cells = [f"{r['wall_per_submission_s']:>10.2f} {r['steady_per_submission_s']:>12.2f} {r['first_result_s']:>12.2f} {cell(r['cpu_per_submission_s'], 10)}"
                 for r in (lo, cl)]
        print(f"{p['processes']:>9} | {cells[0]} | {cells[1]} | {cell(p['overhead_wall'], 7)} {cell(p['overhead_steady'], 8)} {cell(p['overhead_cpu'], 7)}")
        print(f"{'':>9}   load (1 min) at each run: local {lo['load1']}, cluster {cl['load1']}")
    print(f"scores agree: {report['scores_agree']}; target: cluster / local < 1.10 per submission")
    print(f"wrote {args.output}")
    return report


if __name__ == "__main__":
    main()
