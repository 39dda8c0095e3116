"""Retrain committed runs for a few epochs with the code as it is and compare their history.csv to
the committed one, every value but the times, to the bit. Prints one line per run; exit 1 if any
differs. Not a benchmark of speed: a check run by hand when the data path changes (issue 34's
bytes: benchmarks/README.md), its output kept in benchmarks/results/.

    python benchmarks/check_committed_runs.py 2 results/blog/runs/blog-dense-mnist-bce-s0 ...
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autoencoders.config import ConfigError, load_config  # noqa: E402
from autoencoders.train.loop import train  # noqa: E402


def first_epochs(history: Path, epochs: int) -> list[dict]:
    with history.open() as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in list(csv.DictReader(f))[:epochs]]


def main() -> int:
    if len(sys.argv) < 3 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    epochs, differing = int(sys.argv[1]), 0
    runs = [Path(arg) for arg in sys.argv[2:]]
    try:  # every run's config and history read before anything trains
        configs = [load_config(run / "config.yaml", [f"training.epochs={epochs}", "training.store_evaluation=false"]) for run in runs]
        committed = [first_epochs(run / "history.csv", epochs) for run in runs]
    except (ConfigError, OSError, csv.Error) as exc:
        print(f"check_committed_runs.py: {exc}", file=sys.stderr)
        return 2
    for run, cfg, old in zip(runs, configs, committed):
        with tempfile.TemporaryDirectory() as tmp:
            train(cfg, Path(tmp) / run.name, verbose=0)
            new = first_epochs(Path(tmp) / run.name / "history.csv", epochs)
        differing += new != old
        print(run.name, "same bits" if new == old else f"differs\n  retrained {new}\n  committed {old}", flush=True)
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
