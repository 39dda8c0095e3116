"""Benchmark: where a small run's wall time goes, and how many runs an hour a sweep finishes,
with a fresh process per run (as sweeps ran before) and with warm workers (as they run now).

Overhead: each arch trains its blog config on full MNIST for `--epochs` epochs
- fresh: in a new process, as `--fresh-processes` starts it (`python -m autoencoders train`);
- warm worker: in a warm worker (`sweep.Worker`) that has already trained one tiny run of that
  arch (other settings, so nothing compiled is reused), as a sweep's first run of a setting trains;
- reused model: in a warm worker that has already trained one epoch of the same settings with
  another seed, so it reuses that run's compiled model (`autoencoders.train.speed.model_cache`), as the
  second and later seeds of a sweep train.
From the wall time and the run's own history:
- fit: the sum of its epochs (each epoch's train steps, validation and checkpoint);
- compile: the first epoch minus the median of the others (tracing, XLA compilation);
- outside fit: wall minus fit (imports, data, model build, final test metrics, save, exit).
Throughput: a sweep (default `configs/sweeps/quick_dense.yaml`) runs into a fresh folder with
each `--jobs` value, with `--fresh-processes` and with warm workers; runs/hour = runs / wall time.
Nothing else may run on the machine.

    python benchmarks/bench_sweep.py                                   # dense, conv, vae, 2 epochs; quick_dense at jobs 1 and 2
    python benchmarks/bench_sweep.py --archs dense --sweep-jobs 1
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

from autoencoders.models.architectures import ARCHITECTURES  # noqa: E402
from autoencoders.sweep import schedule as sweep  # noqa: E402
from autoencoders.train import device  # noqa: E402
from autoencoders.train import run_folder as runs  # noqa: E402

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def timed(command: list[str], env: dict[str, str] = ENV, cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds


PROCESSES = ("fresh", "warm worker", "reused model")


def overhead(arch: str, epochs: int, out: Path, process: str) -> dict:
    config = ROOT / "configs" / "blog" / f"{arch}.yaml"
    folder = out / f"{arch}-{process.replace(' ', '-')}"
    argv = ["--config", str(config), "--set", f"training.epochs={epochs}", "--set", "name=bench", "--out", str(folder)]
    if process != "fresh":
        folder.mkdir(parents=True)
        worker = sweep.Worker(1, folder)
        if process == "warm worker":  # other steps per epoch: nothing compiled can be reused
            warm_up = ["--set", "dataset.train_size=256", "--set", "dataset.test_size=128", "--set", "training.epochs=1"]
        else:  # the same settings, another seed: the bench run reuses its compiled model
            warm_up = ["--set", "training.epochs=1", "--set", "seed=1"]
        assert worker.train(["--config", str(config), *warm_up, "--set", "name=warm-up", "--out", str(folder)], folder / "warm-up.log") == 0
        start = time.perf_counter()
        code = worker.train(argv, folder / "bench.log")
        wall = time.perf_counter() - start
        worker.close()
        if code != 0:
            sys.exit(f"{arch}: the warm run failed ({code}):\n{(folder / 'bench.log').read_text()[-2000:]}")
    else:
        wall = timed([sys.executable, "-m", "autoencoders", "train", *argv])
    history = runs.read_history(folder / "bench" / runs.HISTORY)
    epoch_seconds = [row["seconds"] for row in history]
    fit = sum(epoch_seconds)
    steady = statistics.median(epoch_seconds[1:]) if len(epoch_seconds) > 1 else epoch_seconds[0]
    return {
        "arch": arch,
        "process": process,
        "epochs": epochs,
        "wall_s": wall,
        "fit_s": fit,
        "compile_s": epoch_seconds[0] - steady,
        "steady_epoch_s": steady,
        "outside_fit_s": wall - fit,
        "outside_share": (wall - fit) / wall,
    }


def throughput(sweep_file: Path, jobs: int, out: Path, warm: bool) -> dict:
    folder = out / f"jobs{jobs}-{'warm' if warm else 'fresh'}"
    wall = timed(
        [
            sys.executable,
            "-m",
            "autoencoders",
            "train",
            "--config",
            str(sweep_file),
            "--jobs",
            str(jobs),
            "--out",
            str(folder),
            *([] if warm else ["--fresh-processes"]),
        ]
    )
    finished = [runs.read_json(m) for m in folder.glob("*/" + runs.METRICS)]
    fit = sum(m["train_seconds"] for m in finished)
    return {
        "sweep": str(sweep_file),
        "jobs": jobs,
        "process": "warm workers" if warm else "fresh per run",
        "runs": len(finished),
        "wall_s": wall,
        "fit_s_sum": fit,
        "runs_per_hour": len(finished) / wall * 3600,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--archs", default="dense,conv,vae", help=f"comma-separated archs (default: one of each kind; all: {','.join(ARCHITECTURES)})"
    )
    p.add_argument("--epochs", type=int, default=2, help="epochs per overhead run (default 2: one to compile, one steady)")
    p.add_argument(
        "--sweep",
        type=Path,
        default=Path("configs/sweeps/quick_dense.yaml"),
        help="a sweep config (relative to the repository root, or absolute)",
    )
    p.add_argument("--sweep-jobs", default="1,2", help="--jobs values to time the sweep with ('' for none)")
    p.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/bench_sweep.json")
    args = p.parse_args()

    result = {"device": device.cpu_model(), "cores": device.usable_cores(), "overhead": [], "throughput": []}
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'arch':16s} {'process':13s} {'wall s':>7s} {'fit s':>7s} {'compile s':>9s} {'outside fit s':>13s} {'outside share':>13s}")
        for arch in filter(None, args.archs.split(",")):
            for process in PROCESSES:
                row = overhead(arch, args.epochs, Path(tmp), process)
                result["overhead"].append(row)
                print(
                    f"{arch:16s} {row['process']:13s} {row['wall_s']:7.1f} {row['fit_s']:7.1f} {row['compile_s']:9.1f} "
                    f"{row['outside_fit_s']:13.1f} {row['outside_share']:13.0%}"
                )
        for jobs in [int(j) for j in args.sweep_jobs.split(",") if j]:
            for warm in (False, True):
                row = throughput(args.sweep, jobs, Path(tmp), warm)
                result["throughput"].append(row)
                print(
                    f"{row['sweep']} --jobs {jobs} ({row['process']}): {row['runs']} runs in {row['wall_s']:.0f} s "
                    f"(their fits: {row['fit_s_sum']:.0f} s), {row['runs_per_hour']:.0f} runs/hour"
                )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
