"""Time the reference ``train_mlp``, ``train_cnn`` and ``train_rnn`` on the course's data sets.

For each Keras topic: the wall time of the ``train_*`` call (median of ``--runs`` runs, seeds 0, 1, ...,
TensorFlow already imported) and its CPU time (which other load on the machine does not inflate),
its accuracy on the held-out split, and trivial baselines (majority class; a Dense-only net for the
CNN; a model of the last time step for the RNN). The import of TensorFlow is timed separately.
Prints a table and writes the figures as JSON.

    python benchmarks/train_times.py [--runs 3] [--output benchmarks/results/train_times.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 10.0
BARS = {"mlp": 0.97, "cnn": 0.95, "rnn": 0.93}
DATA = {"mlp": "load_digits", "cnn": "make_shapes", "rnn": "make_sequences"}


def import_tensorflow() -> float:
    """Import TensorFlow and Keras; return the seconds it took."""
    from autograder.quiet import quiet_tensorflow

    quiet_tensorflow()
    os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="keras_home_bench_"))
    start = time.perf_counter()
    import tensorflow
    import keras  # noqa: F401

    seconds = time.perf_counter() - start
    tensorflow.get_logger().setLevel("ERROR")  # retracing notes: each run builds a new model on purpose
    return seconds


def load_solution(topic: str):
    spec = importlib.util.spec_from_file_location(f"_reference_{topic}", ROOT / "solutions" / f"{topic}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def accuracy(model, X, y) -> float:
    return float((model.predict(X, verbose=0, batch_size=256).argmax(axis=-1) == y).mean())


def baselines(topic: str, data, mlp) -> dict[str, float]:
    """Majority class, plus the baseline that shows why the topic's architecture matters."""
    import keras
    import numpy as np

    result = {"majority_class": float(np.mean(data.y_test == np.bincount(data.y_train).argmax()))}
    if topic == "cnn":  # a Dense-only net on the flattened pixels, trained about as long as the CNN
        keras.utils.set_random_seed(0)
        flat_train, flat_test = data.X_train.reshape(len(data.X_train), -1), data.X_test.reshape(len(data.X_test), -1)
        dense = mlp.compile_model(mlp.build_mlp(flat_train.shape[1], data.num_classes, hidden_units=(256, 128)))
        dense.fit(flat_train, data.y_train, epochs=20, batch_size=32, verbose=0)
        result["dense_only"] = accuracy(dense, flat_test, data.y_test)
    if topic == "rnn":  # a model that sees only the last time step
        keras.utils.set_random_seed(0)
        last = mlp.compile_model(mlp.build_mlp(data.X_train.shape[2], data.num_classes, hidden_units=(32,)), 1e-2)
        last.fit(data.X_train[:, -1], data.y_train, epochs=20, batch_size=64, verbose=0)
        result["last_step_only"] = accuracy(last, data.X_test[:, -1], data.y_test)
    return result


def bench_topic(topic: str, runs: int, mlp) -> dict:
    from autograder import datasets

    data = getattr(datasets, DATA[topic])()
    train = getattr(load_solution(topic), f"train_{topic}")
    seconds, cpu_seconds, accuracies = [], [], []
    for seed in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        model = train(data.X_train, data.y_train, seed=seed)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - start_cpu)
        accuracies.append(accuracy(model, data.X_test, data.y_test))
    return {
        "data_set": data.name,
        "train_examples": len(data.X_train),
        "heldout_examples": len(data.X_test),
        "seconds": seconds,
        "median_seconds": statistics.median(seconds),
        "cpu_seconds": cpu_seconds,
        "budget_seconds": BUDGET_S,
        "accuracy_by_seed": accuracies,
        "accuracy_seed0": accuracies[0],
        "bar": BARS[topic],
        "baselines": baselines(topic, data, mlp),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per topic (seeds 0..runs-1); median time")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "train_times.json")
    args = parser.parse_args(argv)

    load_at_start = os.getloadavg()[0]
    import_s = import_tensorflow()
    print(f"load average (1 min) {load_at_start:.1f} on {os.cpu_count()} CPUs; import tensorflow + keras: {import_s:.2f} s")
    mlp = load_solution("mlp")
    results = {topic: bench_topic(topic, args.runs, mlp) for topic in BARS}

    print(f"{'topic':5} {'median s':>9} {'wall s':>15} {'cpu s':>15} {'acc seed0':>9} {'acc min':>8} {'bar':>5}"
          "  baselines")
    for topic, r in results.items():
        wall, cpu = (" ".join(f"{s:.1f}" for s in r[key]) for key in ("seconds", "cpu_seconds"))
        base = ", ".join(f"{k} {v:.3f}" for k, v in r["baselines"].items())
        print(f"{topic:5} {r['median_seconds']:9.2f} {wall:>15} {cpu:>15} {r['accuracy_seed0']:9.3f} "
              f"{min(r['accuracy_by_seed']):8.3f} {r['bar']:5.2f}  {base}")

    import keras

    report = {
        "import_tensorflow_seconds": import_s,
        "runs": args.runs,
        "load_average_1min": {"start": load_at_start, "end": os.getloadavg()[0]},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0],
                    "keras": keras.__version__, "backend": keras.backend.backend()},
        "topics": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
