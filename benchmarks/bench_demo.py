"""Benchmark: `make demo`'s two commands (the quick_dense sweep, then its report), timed apart.

For each `--jobs` value the sweep trains into a fresh folder (venv present, data cached), then
`evaluate.py` makes the report twice: reading the evaluations the training processes stored
(`evaluation.npz`, as `make demo` does now) and afresh, with them deleted (as every report did
before). Printed per jobs value: the sweep's wall time, the runs' own epoch time (sum of
`train_seconds`) and the share of the runs' wall time spent outside fit, runs per hour, and the two
report times; `demo` is the sweep plus the report as `make demo` makes it. Nothing else may run.

    python benchmarks/bench_demo.py                       # jobs 1 and 2, into benchmarks/results/bench_demo.json
    python benchmarks/bench_demo.py --jobs 2 --json ''    # one setting, nothing written
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_sweep import timed  # noqa: E402 (the same timing of a subprocess as the sweep benchmark's)

from autoencoders.train import device  # noqa: E402
from autoencoders.train import run_folder as runs  # noqa: E402

SWEEP = ROOT / "configs" / "sweeps" / "quick_dense.yaml"


def demo(jobs: int, folder: Path) -> dict:
    out = folder / f"jobs{jobs}"
    sweep_s = timed([sys.executable, "train.py", "--config", str(SWEEP), "--out", str(out / "runs"), "--jobs", str(jobs)])
    run_dirs = sorted((out / "runs").glob("quick-dense-*"))
    metrics = [runs.read_json(d / runs.METRICS) for d in run_dirs]
    report = [sys.executable, "evaluate.py", *map(str, run_dirs), "--out"]
    stored_s = timed([*report, str(out / "report-stored")])
    for d in run_dirs:
        (d / runs.EVALUATION).unlink()
    afresh_s = timed([*report, str(out / "report-afresh")])
    same = (
        json.loads((out / "report-stored" / "summary.json").read_text())["groups"]
        == json.loads((out / "report-afresh" / "summary.json").read_text())["groups"]
    )
    fit = sum(m["train_seconds"] for m in metrics)
    return {
        "jobs": jobs,
        "runs": len(run_dirs),
        "sweep_s": sweep_s,
        "fit_s": fit,
        "outside_fit_share": 1 - fit / (sweep_s * jobs),
        "runs_per_hour": 3600 * len(run_dirs) / sweep_s,
        "report_stored_s": stored_s,
        "report_afresh_s": afresh_s,
        "demo_s": sweep_s + stored_s,
        "same_report_tables": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values (default 1,2)")
    parser.add_argument(
        "--json", default=str(ROOT / "benchmarks" / "results" / "bench_demo.json"), help="where to write the figures ('' for nowhere)"
    )
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        for jobs in map(int, args.jobs.split(",")):
            results.append(demo(jobs, Path(tmp)))
    print(
        f"{'jobs':>4} {'sweep s':>8} {'fit s':>7} {'outside fit':>11} {'runs/h':>7} {'report s':>9} {'afresh s':>9} {'demo s':>7}  same tables"
    )
    for r in results:
        print(
            f"{r['jobs']:>4} {r['sweep_s']:>8.1f} {r['fit_s']:>7.1f} {r['outside_fit_share']:>10.0%} {r['runs_per_hour']:>7.0f} "
            f"{r['report_stored_s']:>9.1f} {r['report_afresh_s']:>9.1f} {r['demo_s']:>7.1f}  {r['same_report_tables']}"
        )
    if args.json:
        record = {
            "device": {"cpu": device.cpu_model(), "cores": device.usable_cores()},
            "sweep": str(SWEEP.relative_to(ROOT)),
            "results": results,
        }
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"written: {args.json}")


if __name__ == "__main__":
    main()
