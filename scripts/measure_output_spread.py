"""Add `output_spread` to the metrics.json of completed runs trained before training recorded it.

Training now records, beside its test metrics, how much the outputs vary across the first 2,000
test images over how much the images do (`autoencoders.train.loop.output_spread`): near 0 when
every input gets the same output. This measures it for older runs the same way, from each run's
saved model and test set, and writes it into metrics.json atomically. A run that already has it
is skipped; a folder that is no completed run, has a damaged file or no model, or is being trained
is named and left as it is, and the exit code is 2. Usage:

    python scripts/measure_output_spread.py results/study/today/runs/today-*
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no start-up chatter

import keras  # noqa: E402

from autoencoders.evaluate.evaluation import load_run, test_set  # noqa: E402
from autoencoders.train import run_folder as runs  # noqa: E402
from autoencoders.train.loop import output_spread  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """0 when every run given has the measure now; 2 when one could not be measured (each named)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders")
    args = parser.parse_args(argv)
    status = 0
    for path in args.runs:
        if not path.is_dir():
            print(f"{path}: no such run folder", file=sys.stderr)
            status = 2
            continue
        try:
            with runs.lock(path):  # a run being trained now writes its metrics.json itself
                problem = measure(path)
        except runs.RunLocked:
            problem = "being trained now"
        except (runs.CorruptFile, OSError, ValueError) as exc:  # a damaged file or a model that does not load
            problem = str(exc)
        if problem:
            print(f"{path}: left as it is ({problem})", file=sys.stderr)
            status = 2
    return status


def measure(path: Path) -> str | None:
    """Measure one run (its folder locked by the caller); why not, when it is not a completed run."""
    metrics_path = path / runs.METRICS
    metrics = runs.read_json(metrics_path) if metrics_path.exists() else {}
    if "output_spread" in metrics:
        return None
    run = load_run(path)
    if run.status != "completed":
        return f"{run.status}: {run.reason}"
    value = output_spread(keras.saving.load_model(path / runs.MODEL), test_set(run.config))
    runs.write_json(metrics_path, {**metrics, "output_spread": value})
    print(f"{path.name}: output_spread {value:.4f}")
    return None


if __name__ == "__main__":
    sys.exit(main())
