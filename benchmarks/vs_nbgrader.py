"""Batch grading side by side with nbgrader, on the same reference work, in one run.

Both graders get N students who submitted the reference solutions of the same topics:

* ours: ``autograder grade-all`` on N submission folders, at ``--jobs 1`` and ``--jobs 2``
  (warm fork servers: TensorFlow is imported once per job, not per submission);
* nbgrader: ``autograder nbgrader`` exports the course, ``nbgrader generate_assignment`` releases
  it, the N students submit notebooks filled with the reference, and ``nbgrader autograde`` grades
  them (a kernel, and a TensorFlow import, per notebook).

Prints seconds per submission, submissions per minute and the ratios, and writes
benchmarks/results/vs_nbgrader.json.

    python benchmarks/vs_nbgrader.py --students 4                 # all eight topics
    python benchmarks/vs_nbgrader.py --students 4 --topics neurons backprop
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps1"


def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    for name in ("HOME", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR"):
        (tmp / name.lower()).mkdir(parents=True, exist_ok=True)
        env[name] = str(tmp / name.lower())
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    sys.path.insert(0, str(ROOT))
    from autograder.quiet import QUIET_TENSORFLOW

    env.update(QUIET_TENSORFLOW, KERAS_HOME=str(tmp / "keras"), PYTHONDONTWRITEBYTECODE="1")
    return env


def _run(args: list[str], env: dict, cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:5])} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def _ours(tmp: Path, env: dict, students: int, topics: list[str], jobs: int) -> float:
    subs = tmp / f"ours-{jobs}"
    for i in range(students):
        folder = subs / f"student{i:02d}"
        folder.mkdir(parents=True)
        for t in topics:
            shutil.copy(ROOT / "solutions" / f"{t}.py", folder / f"{t}.py")
    topic_args = [a for t in topics for a in ("--topic", t)]
    return _run([sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(tmp / f"graded-{jobs}"), "--jobs", str(jobs), *topic_args], env, ROOT)


def _nbgrader(tmp: Path, env: dict, students: int, topics: list[str]) -> tuple[float, float]:
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" not in KernelSpecManager().find_kernel_specs():
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix"], env=env, check=True, capture_output=True)
    course = tmp / "nbgrader-course"
    topic_args = [a for t in topics for a in ("--topic", t)]
    _run([sys.executable, "-m", "autograder", "nbgrader", str(course), "--assignment", ASSIGNMENT, *topic_args], env, ROOT)
    _run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], env, course)
    for i in range(students):
        folder = course / "submitted" / f"student{i:02d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        for t in topics:
            nb = nbformat.read(str(course / "release" / ASSIGNMENT / f"{t}.ipynb"), as_version=4)
            source = nbformat.read(str(course / "source" / ASSIGNMENT / f"{t}.ipynb"), as_version=4)
            solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")}
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("solution"):
                    cell.source = solutions[cell.metadata["nbgrader"]["grade_id"]]
            nbformat.write(nb, str(folder / f"{t}.ipynb"))
    autograde = _run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], env, course)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = [gb.find_submission(ASSIGNMENT, f"student{i:02d}").score for i in range(students)]
    return autograde, min(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--topics", nargs="*", default=None, help="default: every topic of course.toml")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from autograder.course import load

    course = load(ROOT)
    topics = args.topics or course.topic_names
    possible = sum(course.topic(t).points for t in topics)
    n = args.students
    with tempfile.TemporaryDirectory(prefix="vs-nbgrader-") as d:
        tmp = Path(d)
        env = _env(tmp)
        nb_seconds, nb_min_score = _nbgrader(tmp, env, n, topics)
        ours1 = _ours(tmp, env, n, topics, 1)
        ours2 = _ours(tmp, env, n, topics, 2)
        gradebook = (tmp / "graded-2" / "gradebook.csv").read_text().splitlines()
    figures = {
        "students": n,
        "topics": topics,
        "nbgrader_autograde_s": nb_seconds,
        "nbgrader_min_score": nb_min_score,
        "ours_jobs1_s": ours1,
        "ours_jobs2_s": ours2,
        "possible": possible,
        "nbgrader_s_per_submission": nb_seconds / n,
        "ours_jobs1_s_per_submission": ours1 / n,
        "ours_jobs2_s_per_submission": ours2 / n,
        "throughput_ratio_jobs1": nb_seconds / ours1,
        "throughput_ratio_jobs2": nb_seconds / ours2,
    }
    print(f"{n} students x {len(topics)} topics ({', '.join(topics)}), reference solutions")
    print(f"nbgrader autograde:              {nb_seconds:7.1f} s  {nb_seconds / n:6.1f} s/submission  {60 * n / nb_seconds:5.1f}/min  (lowest score {nb_min_score:g}/{possible:g})")
    print(f"autograder grade-all --jobs 1:   {ours1:7.1f} s  {ours1 / n:6.1f} s/submission  {60 * n / ours1:5.1f}/min  ({figures['throughput_ratio_jobs1']:.2f}x nbgrader)")
    print(f"autograder grade-all --jobs 2:   {ours2:7.1f} s  {ours2 / n:6.1f} s/submission  {60 * n / ours2:5.1f}/min  ({figures['throughput_ratio_jobs2']:.2f}x nbgrader)")
    print(f"gradebook (jobs 2): {len(gradebook) - 1} rows")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "vs_nbgrader.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
