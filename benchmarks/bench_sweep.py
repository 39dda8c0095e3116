"""Benchmark: where a small run's wall time goes, and how many runs an hour a sweep finishes.

Overhead: each arch trains one run in a fresh process, exactly as a sweep starts it
(`python -m autoencoders train`, full data, the blog's config, `--epochs` epochs). From the
process's wall time and the run's own history:
- fit: the sum of its epochs (each epoch's train steps, validation and checkpoint);
- compile: the first epoch minus the median of the others (tracing, XLA compilation);
- outside fit: wall minus fit (Python and TensorFlow import, data, model build, final test
  metrics, the model save, process exit); its share of the wall time is what fusing or warm
  workers could win.
Throughput: a sweep (default `configs/sweeps/quick_dense.yaml`) runs into a fresh folder with
`--jobs 1` and `--jobs 2` (the latter twice: each process with its share of the cores, as sweeps
now run, and with TensorFlow's default pools, as they ran before); runs/hour = runs / wall time.
Nothing else may run on the machine.

    python benchmarks/bench_sweep.py                                   # every arch, 2 epochs; quick_dense at jobs 1 and 2
    python benchmarks/bench_sweep.py --archs dense,conv --sweep-jobs 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoencoders import device, runs  # noqa: E402
from autoencoders.architectures import ARCHITECTURES  # noqa: E402

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def timed(command: list[str], env: dict[str, str] = ENV) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds


def overhead(arch: str, epochs: int, out: Path) -> dict:
    config = ROOT / "configs" / "blog" / f"{arch}.yaml"
    wall = timed([sys.executable, "-m", "autoencoders", "train", "--config", str(config), "--set", f"training.epochs={epochs}",
                  "--set", "name=bench", "--out", str(out / arch)])
    history = runs.read_history(out / arch / "bench" / runs.HISTORY)
    epoch_seconds = [row["seconds"] for row in history]
    fit = sum(epoch_seconds)
    steady = statistics.median(epoch_seconds[1:]) if len(epoch_seconds) > 1 else epoch_seconds[0]
    return {"arch": arch, "epochs": epochs, "wall_s": wall, "fit_s": fit, "compile_s": epoch_seconds[0] - steady,
            "steady_epoch_s": steady, "outside_fit_s": wall - fit, "outside_share": (wall - fit) / wall}


def throughput(sweep: Path, jobs: int, out: Path, tf_default_threads: bool = False) -> dict:
    """tf_default_threads: every process takes TensorFlow's own pool sizes (0 = as many as the
    machine has), as sweeps did before they shared the cores out."""
    env = {**ENV, device.INTRA_ENV: "0", device.INTER_ENV: "0"} if tf_default_threads else ENV
    folder = out / f"jobs{jobs}{'-tf-default' if tf_default_threads else ''}"
    wall = timed([sys.executable, "-m", "autoencoders", "train", "--config", str(sweep), "--jobs", str(jobs), "--out", str(folder)], env)
    finished = [runs.read_json(m) for m in folder.glob("*/" + runs.METRICS)]
    fit = sum(m["train_seconds"] for m in finished)
    return {"sweep": str(sweep), "jobs": jobs, "threads": "TensorFlow defaults" if tf_default_threads else "shared out",
            "runs": len(finished), "wall_s": wall, "fit_s_sum": fit, "runs_per_hour": len(finished) / wall * 3600}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", default=",".join(ARCHITECTURES), help="comma-separated archs (default: all)")
    p.add_argument("--epochs", type=int, default=2, help="epochs per overhead run (default 2: one to compile, one steady)")
    p.add_argument("--sweep", type=Path, default=Path("configs/sweeps/quick_dense.yaml"), help="a sweep config (relative to the repository root, or absolute)")
    p.add_argument("--sweep-jobs", default="1,2", help="--jobs values to time the sweep with ('' for none)")
    p.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/bench_sweep.json")
    args = p.parse_args()

    result = {"device": device.cpu_model(), "cores": device.usable_cores(), "overhead": [], "throughput": []}
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'arch':16s} {'wall s':>7s} {'fit s':>7s} {'compile s':>9s} {'outside fit s':>13s} {'outside share':>13s}")
        for arch in filter(None, args.archs.split(",")):
            row = overhead(arch, args.epochs, Path(tmp))
            result["overhead"].append(row)
            print(f"{arch:16s} {row['wall_s']:7.1f} {row['fit_s']:7.1f} {row['compile_s']:9.1f} {row['outside_fit_s']:13.1f} {row['outside_share']:13.0%}")
        for jobs in [int(j) for j in args.sweep_jobs.split(",") if j]:
            for tf_default in (False, True) if jobs > 1 else (False,):
                row = throughput(args.sweep, jobs, Path(tmp), tf_default)
                result["throughput"].append(row)
                print(f"{row['sweep']} --jobs {jobs} (threads: {row['threads']}): {row['runs']} runs in {row['wall_s']:.0f} s "
                      f"(their fits: {row['fit_s_sum']:.0f} s), {row['runs_per_hour']:.0f} runs/hour")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
