"""Where people wait: a student's self-check and an instructor's cold grade of one submission.

Prints, as medians over --runs:
  * `autograder check neurons` (a NumPy topic) wall time, and whether TensorFlow was imported;
  * a cold `autograder grade` of the reference solutions (all eight topics) wall time, with the
    time per topic, and the floor it is compared with: TensorFlow's import plus the training the
    checks need (the reference's train_* calls, timed in a fresh process);
  * the peak resident memory of the sandbox worker (and of its fork server, and of the judge) during
    that grade.
Writes the figures to benchmarks/results/grading_speed.json.

    python benchmarks/grading_speed.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.quiet import quiet_env  # noqa: E402 - this checkout's package

ENV = quiet_env()

GRADE_ONE = r"""
import json, sys, threading, time
import psutil
t0 = time.perf_counter()
from autograder.grading import grade_submission
from autograder.sandbox.client import ISSUED_TOKENS

from autograder.sandbox.judge import JUDGE_UID

peak = {}  # pid -> (max RSS in MB, "worker" | "fork server" | "judge")
stop = threading.Event()

def kind(p):
    # the judge: its own uid (forked from the fork server, as root) or its own command line
    if p.uids().real == JUDGE_UID or "autograder.sandbox.judge" in " ".join(p.cmdline()):
        return "judge"
    # a forked worker keeps the fork server's command line; its parent is the server
    parent = p.parent()
    forked = parent and "python" in parent.name() and "autograder.sandbox.zygote" in " ".join(parent.cmdline())
    return "worker" if forked else "fork server"

def watch():
    while not stop.is_set():
        for p in psutil.process_iter(["pid", "cmdline"]):
            try:
                if p.environ().get("AUTOGRADER_SANDBOX") in ISSUED_TOKENS and "python" in p.name():
                    rss = p.memory_info().rss / 2**20
                    peak[p.pid] = (max(peak.get(p.pid, (0.0,))[0], rss), kind(p))  # a child is root for a moment
            except (psutil.Error, OSError):
                pass
        stop.wait(0.1)

threading.Thread(target=watch, daemon=True).start()
r = grade_submission(sys.argv[1])
wall = time.perf_counter() - t0
stop.set()
topics = {}
for c in r.checks:
    topics[c.topic] = topics.get(c.topic, 0.0) + c.duration
def most(k):
    return max([mb for mb, what in peak.values() if what == k] or [0.0])
print(json.dumps({"wall": wall, "total": r.total, "possible": r.possible, "topics": topics,
                  "worker_peak_mb": most("worker"), "fork_server_peak_mb": most("fork server"), "judge_peak_mb": most("judge")}))
"""

FLOOR = r"""
import json, sys, time
t0 = time.perf_counter()
import keras  # noqa: F401
t_import = time.perf_counter() - t0
sys.path.insert(0, sys.argv[1])
from autograder.datasets import DATASETS
out = {"import": t_import}
for topic in ("mlp", "cnn", "rnn"):
    mod = __import__(topic)
    split = DATASETS[topic]()
    t = time.perf_counter()
    getattr(mod, f"train_{topic}")(split.X_train, split.y_train, seed=0)
    out[topic] = time.perf_counter() - t
print(json.dumps(out))
"""


def _run(args: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env=ENV, cwd=ROOT, **kw)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    py = sys.executable

    check_times = []
    for _ in range(args.runs):
        code = "import sys; from autograder import check; check('neurons', folder=sys.argv[1], show=False); print('tensorflow' in sys.modules)"
        wall, proc = _run([py, "-c", code, str(ROOT / "solutions")])
        check_times.append(wall)
        tf_imported = proc.stdout.strip().endswith("True")
    cli_times = [_run([py, "-m", "autograder", "check", "neurons", "--folder", str(ROOT / "solutions")])[0] for _ in range(args.runs)]

    grades = [json.loads(_run([py, "-c", GRADE_ONE, str(ROOT / "solutions")])[1].stdout.strip().splitlines()[-1]) for _ in range(args.runs)]
    grade_walls = [g["wall"] for g in grades]
    floor = json.loads(_run([py, "-c", FLOOR, str(ROOT / "solutions")])[1].stdout.strip().splitlines()[-1])
    floor_total = floor["import"] + floor["mlp"] + floor["cnn"] + floor["rnn"]
    topics = {t: statistics.median(g["topics"].get(t, 0.0) for g in grades) for t in grades[0]["topics"]}

    figures = {
        "check_numpy_topic_s": statistics.median(check_times),
        "check_numpy_topic_cli_s": statistics.median(cli_times),
        "check_numpy_topic_imports_tensorflow": tf_imported,
        "grade_full_cold_s": statistics.median(grade_walls),
        "grade_full_score": f"{grades[0]['total']:g}/{grades[0]['possible']:g}",
        "grade_topics_s": topics,
        "floor_s": floor_total,
        "floor_parts_s": floor,
        "grade_over_floor": statistics.median(grade_walls) / floor_total,
        "worker_peak_mb": max(g["worker_peak_mb"] for g in grades),
        "fork_server_peak_mb": max(g["fork_server_peak_mb"] for g in grades),
        "judge_peak_mb": max(g["judge_peak_mb"] for g in grades),
        "runs": args.runs,
    }
    print(f"self-check of a NumPy topic (library call): {figures['check_numpy_topic_s']:.2f} s median, TensorFlow imported: {tf_imported}")
    print(f"self-check of a NumPy topic (`autograder check neurons`): {figures['check_numpy_topic_cli_s']:.2f} s median")
    print(f"cold grade of a full submission: {figures['grade_full_cold_s']:.1f} s median ({figures['grade_full_score']} points)")
    print("    per topic (check time; the first topic also waits for the fork server's TensorFlow import):")
    for t, s in topics.items():
        print(f"    {t:18s} {s:6.2f} s")
    print(f"floor (TensorFlow import {floor['import']:.1f} s + training mlp {floor['mlp']:.1f} s, cnn {floor['cnn']:.1f} s, rnn {floor['rnn']:.1f} s): {floor_total:.1f} s")
    print(f"grade / floor: {figures['grade_over_floor']:.2f}x")
    print(f"peak memory (RSS) of a grading worker: {figures['worker_peak_mb']:.0f} MB "
          f"(its fork server: {figures['fork_server_peak_mb']:.0f} MB, pages shared with the worker until written; "
          f"the judge: {figures['judge_peak_mb']:.0f} MB)")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "grading_speed.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
