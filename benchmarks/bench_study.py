"""Benchmark: `make study`'s training time per run, as the study trained when issue 13 opened and now.

For each of the study's sweeps given (`--sweeps`), a narrowed copy trains into a fresh folder: the
sweep's own model and training settings (its epochs included), on MNIST, BCE and MSE, seeds 0 and 1
(`--seeds`). It trains twice:
- before: the code at `--before` (default: the commit before issue 13's first change), checked out
  into a temporary git worktree and run as `make study` ran it then (`python train.py --config ...
  --out ...`: one run at a time, a fresh process per run, TensorFlow's default threads);
- now: this checkout, as `make study` runs it now (`--jobs 2` on two cores: warm workers, one
  thread each, compiled models reused across seeds, stored evaluations).
`--set KEY=VALUE` (repeatable) changes the "now" runs only, to see what a setting would buy (e.g.
`--set training.precision=mixed_bfloat16`); the before runs keep the sweep's own settings.
Printed per sweep: runs, wall time of each, seconds per run, now / before, and how far the runs'
test metrics moved (the largest relative difference over the runs' test pixel MSE and BCE; zero
when the runs are the same bits); then now / before over all the runs timed, and over `make
study`'s whole grid: every configs/sweeps/study_*.yaml run counted at the per-run figures of the
timed sweep of its arch (binarized as dense, vae_mean as vae_sum), so the many dense runs weigh
as much as they do in the study. Nothing else may run on the machine.

    python benchmarks/bench_study.py                                  # dense, deep_dense, conv, denoising_conv, vae_sum
    python benchmarks/bench_study.py --sweeps dense --json ''         # one sweep, nothing written
    python benchmarks/bench_study.py --sweeps conv,denoising_conv --set training.precision=mixed_bfloat16 \
        --json benchmarks/results/bench_study_bf16.json                # what bfloat16 would buy
    python benchmarks/bench_study.py --weigh benchmarks/results/bench_study.json   # an earlier run's figures, nothing trained
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_sweep import timed  # noqa: E402

from autoencoders.config import ConfigError  # noqa: E402
from autoencoders.sweep.schedule import expand  # noqa: E402
from autoencoders.train import device  # noqa: E402
from autoencoders.train import run_folder as runs  # noqa: E402

BEFORE = "4890559^"  # issue 13's first commit is 4890559 ("Any machine: depend on tensorflow ...")
METRICS = ("mse", "bce")  # metrics.json test: pixel MSE and BCE
# What each sweep's entry of the JSON holds (and `--weigh` reads).
RESULT_KEYS = (
    "sweep",
    "runs",
    "before_s",
    "now_s",
    "before_s_per_run",
    "now_s_per_run",
    "now_over_before",
    "largest_test_metric_difference",
)


def narrowed(sweep: str, seeds: list[int], folder: Path) -> Path:
    """The study sweep `sweep` on MNIST, BCE and MSE, `seeds`: its own model and training settings."""
    config = yaml.safe_load((ROOT / "configs" / "sweeps" / f"study_{sweep}.yaml").read_text())
    config["grid"] = {"dataset.name": ["mnist"], "loss.name": ["bce", "mse"], "seed": seeds}
    path = folder / f"study_{sweep}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def train(sweep_file: Path, out: Path, code: Path, jobs: int | None, overrides: tuple[str, ...] = ()) -> tuple[float, dict[str, dict]]:
    command = [sys.executable, "train.py", "--config", str(sweep_file), "--out", str(out)]
    command += [arg for override in overrides for arg in ("--set", override)]
    seconds = timed(command + (["--jobs", str(jobs)] if jobs else []), cwd=code)
    return seconds, {d.name: runs.read_json(d / runs.METRICS)["test"] for d in sorted(out.iterdir()) if (d / runs.METRICS).exists()}


def largest_difference(before: dict[str, dict], now: dict[str, dict]) -> float:
    return max(abs(now[name][m] - before[name][m]) / abs(before[name][m]) for name in before for m in METRICS if m in before[name])


def study_sweeps() -> list[str]:
    """The NAMEs of configs/sweeps/study_NAME.yaml: what `make study` trains."""
    return sorted(path.stem.removeprefix("study_") for path in (ROOT / "configs" / "sweeps").glob("study_*.yaml"))


def study_mix(results: list[dict]) -> dict | None:
    """now / before over all of `make study`'s study_*.yaml runs, each at the per-run figures of the
    timed sweep of its arch; None when an arch of the study was not timed."""
    study = {name: expand(ROOT / "configs" / "sweeps" / f"study_{name}.yaml") for name in study_sweeps()}
    timed_by_arch = {study[r["sweep"]][0].model.arch: r for r in results}
    if any(configs[0].model.arch not in timed_by_arch for configs in study.values()):
        return None
    before = sum(len(configs) * timed_by_arch[configs[0].model.arch]["before_s_per_run"] for configs in study.values())
    now = sum(len(configs) * timed_by_arch[configs[0].model.arch]["now_s_per_run"] for configs in study.values())
    return {"runs_per_sweep": {f"study_{name}": len(configs) for name, configs in study.items()}, "now_over_before": now / before}


def report_totals(results: list[dict]) -> dict:
    total_before = sum(r["before_s"] for r in results)
    total_now = sum(r["now_s"] for r in results)
    print(f"{'all':>15}: before {total_before:.0f} s, now {total_now:.0f} s, now/before {total_now / total_before:.2f}")
    mix = study_mix(results)
    if mix is not None:
        print(
            f"{'make study':>15}: {sum(mix['runs_per_sweep'].values())} runs, now/before {mix['now_over_before']:.2f} "
            f"(each run at its arch's per-run figures above)"
        )
    return {"now_over_before": total_now / total_before, "study_mix": mix}


def print_results(results: list[dict]) -> None:
    for result in results:
        print(
            f"{result['sweep']:>15}: {result['runs']} runs, before {result['before_s']:.0f} s, now {result['now_s']:.0f} s, "
            f"now/before {result['now_over_before']:.2f}, test metrics moved up to {result['largest_test_metric_difference']:.2%}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sweeps",
        default="dense,deep_dense,conv,denoising_conv,vae_sum",
        help="study sweeps (configs/sweeps/study_NAME.yaml), comma-separated",
    )
    parser.add_argument("--seeds", default="0,1", help="seeds per loss (default 0,1)")
    parser.add_argument("--before", default=BEFORE, help=f"the git revision timed as 'before' (default {BEFORE})")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of the 'now' sweep (default 2, as make study)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for the 'now' runs only (repeatable)")
    parser.add_argument(
        "--json", default=str(ROOT / "benchmarks" / "results" / "bench_study.json"), help="where to write the figures ('' for nowhere)"
    )
    parser.add_argument(
        "--weigh", metavar="JSON", help="print the figures of an earlier run's JSON and their make study weighting; train nothing"
    )
    args = parser.parse_args()
    if args.weigh:
        try:
            results = json.loads(Path(args.weigh).read_text())["results"]
            missing = [key for key in RESULT_KEYS for result in results if key not in result]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            parser.error(f"--weigh {args.weigh}: not a bench_study JSON with 'results' ({exc})")
        if missing or not results:
            parser.error(
                f"--weigh {args.weigh}: its results need {', '.join(RESULT_KEYS)} each; "
                + (f"missing {missing[0]!r}" if missing else "there are none")
            )
        if unknown := [r["sweep"] for r in results if r["sweep"] not in study_sweeps()]:
            parser.error(f"--weigh {args.weigh}: sweep {unknown[0]!r} is not a study sweep; allowed: {', '.join(study_sweeps())}")
        print_results(results)
        report_totals(results)
        return
    sweeps = args.sweeps.split(",")
    if unknown := [s for s in sweeps if s not in study_sweeps()]:
        parser.error(f"--sweeps: no configs/sweeps/study_NAME.yaml for {', '.join(unknown)}; allowed: {', '.join(study_sweeps())}")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds {args.seeds!r}: expected comma-separated integers, e.g. 0,1")
    for sweep in sweeps:  # a bad --set fails here, not after the before runs
        try:
            expand(ROOT / "configs" / "sweeps" / f"study_{sweep}.yaml", args.set)
        except ConfigError as exc:
            parser.error(f"--set: {exc}")
    if subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{args.before}^{{commit}}"], cwd=ROOT, capture_output=True).returncode:
        parser.error(f"--before {args.before!r}: not a commit of this repository")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        folder = Path(tmp)
        old_code = folder / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(old_code), args.before], cwd=ROOT, check=True)
        try:
            for sweep in sweeps:
                sweep_file = narrowed(sweep, seeds, folder)
                before_s, before = train(sweep_file, folder / "runs-before" / sweep, old_code, None)
                now_s, now = train(sweep_file, folder / "runs-now" / sweep, ROOT, args.jobs, tuple(args.set))
                result = {
                    "sweep": sweep,
                    "runs": len(now),
                    "before_s": before_s,
                    "now_s": now_s,
                    "before_s_per_run": before_s / len(before),
                    "now_s_per_run": now_s / len(now),
                    "now_over_before": now_s / before_s,
                    "largest_test_metric_difference": largest_difference(before, now),
                }
                results.append(result)
                print_results([result])
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_code)], cwd=ROOT, check=True)
    totals = report_totals(results)
    if args.json:
        record = {
            "device": {"cpu": device.cpu_model(), "cores": device.usable_cores()},
            "before": args.before,
            "before_commit": subprocess.run(["git", "rev-parse", args.before], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
            "seeds": seeds,
            "jobs": args.jobs,
            "now_overrides": args.set,
            "results": results,
            **totals,
        }
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"written: {args.json}")


if __name__ == "__main__":
    main()
