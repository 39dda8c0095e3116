"""Command-line entry points. Argument parsing and exit codes only: the package does the work.

Exit codes: 0 success, 1 a run failed (e.g. NaN loss), 2 bad input (config, data, run folder).
The config and the data are checked before TensorFlow is imported (except images that only
TensorFlow can find undecodable), so a typo fails in well under a second and leaves nothing on disk.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from autoencoders.config import ConfigError, load_config

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes when evaluating many models


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train.py",
        description="Train one autoencoder experiment from a YAML config and write a self-contained run folder.",
        epilog="example: python train.py --config configs/blog/dense.yaml --set loss.name=mse --set training.epochs=5",
    )
    p.add_argument("--config", required=True, type=Path, help="YAML experiment config (see configs/ and README)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value by dotted key, e.g. --set training.epochs=5 (repeatable)")
    p.add_argument("--out", type=Path, default=Path("results/runs"), help="parent folder of run folders (default: results/runs)")
    p.add_argument("--resume", action="store_true", help="continue an unfinished run from its last finished epoch")
    p.add_argument("--overwrite", action="store_true", help="delete an existing run folder of the same name and train again")
    sweep = p.add_argument_group("sweeps (a config with a grid: of dotted keys -> lists of values)")
    sweep.add_argument("--jobs", type=int, default=1, help="runs trained in parallel processes (default 1)")
    sweep.add_argument("--dry-run", action="store_true", help="list the runs and what would be done with each, then stop")
    sweep.add_argument("--retry-failed", action="store_true", help="train failed runs of a sweep again (default: report and skip them)")
    return p


def sweep_main(args) -> int:
    from functools import partial

    from autoencoders import sweep

    if args.overwrite:
        return _fail(f"{args.config}: --overwrite is not available for sweeps; delete the run folders to train them again")
    if args.jobs < 1:
        return _fail(f"--jobs {args.jobs}: must be >= 1")
    try:
        configs = sweep.expand(args.config, args.overrides)
    except ConfigError as e:
        return _fail(str(e))
    if args.dry_run:
        print("\n".join(sweep.describe(configs, args.out)))
        print(f"{len(configs)} runs")
        return 0
    outcomes = sweep.schedule(configs, args.out, jobs=args.jobs, run=partial(sweep.run_one, retry_failed=args.retry_failed))
    failed = [o for o in outcomes if o.status == "failed"]
    counts = {s: sum(o.status == s for o in outcomes) for s in ("completed", "skipped", "failed")}
    print(f"sweep done: {counts['completed']} trained, {counts['skipped']} already complete, {counts['failed']} failed")
    for o in failed:
        print(f"  failed: {o.name}: {o.reason}", file=sys.stderr)
    return EXIT_FAILED if failed else 0


def train_main(argv: list[str] | None = None) -> int:
    args = train_parser().parse_args(argv)
    from autoencoders.sweep import is_sweep

    try:
        if is_sweep(args.config):
            return sweep_main(args)
        cfg = load_config(args.config, args.overrides)
    except ConfigError as e:
        return _fail(str(e))
    if args.resume and args.overwrite:
        return _fail("--resume and --overwrite exclude each other")
    if args.dry_run:
        from autoencoders.sweep import describe

        print(describe([cfg], args.out)[0])
        return 0
    _setup_logging()
    from autoencoders.data import DataError, load_dataset

    try:  # bad data is refused before TensorFlow is imported and before anything is written
        dataset = load_dataset(cfg.dataset)
    except DataError as e:
        return _fail(str(e))
    from autoencoders.training import RunError, train

    run_dir = args.out / cfg.name
    try:
        result = train(cfg, run_dir, resume=args.resume, overwrite=args.overwrite, dataset=dataset)
    except (RunError, DataError) as e:
        return _fail(str(e))
    m = result.metrics
    if m["status"] != "completed":
        print(f"run failed: {m.get('reason')} ({run_dir})", file=sys.stderr)
        return EXIT_FAILED
    t = m["test"]
    print(f"{cfg.name}: {m['epochs']} epochs in {m['train_seconds']:.1f} s; test pixel MSE {t['mse']:.5f}, "
          f"BCE {t['bce']:.4f}, PSNR {t['psnr']:.2f} dB -> {run_dir}")
    return 0


def evaluate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Compare run folders: metrics recomputed on the full test set, BCE-vs-MSE statistics over seeds, "
        "figures, and a Markdown + HTML report.",
        epilog="example: python evaluate.py results/runs/* --out results/reports/all",
    )
    p.add_argument("runs", nargs="*", type=Path, metavar="RUN_DIR", help="run folders written by train.py")
    p.add_argument("--out", required=True, type=Path,
                   help="report folder; its REPORT.md, REPORT.html, summary.* and figures/ are replaced once the new report is complete, "
                        "anything else in it is left alone")
    p.add_argument("--title", default="BCE vs MSE", help="report title")
    p.add_argument("--study", action="store_true",
                   help="write the BCE-vs-MSE study instead of a comparison (analytic parts need no runs; "
                        "give the configs/sweeps/study_*.yaml runs for the measured parts), e.g. --out results/study")
    p.add_argument("--note", default="", help="a Markdown paragraph put under the title (e.g. the command that trained the runs)")
    return p


def evaluate_main(argv: list[str] | None = None) -> int:
    import shlex

    argv = sys.argv[1:] if argv is None else argv
    args = evaluate_parser().parse_args(argv)
    if not args.runs and not args.study:
        return _fail("give at least one RUN_DIR (only --study works without runs)")
    missing = [str(p) for p in args.runs if not p.is_dir()]
    if missing:
        return _fail(f"no such run folder: {', '.join(missing)}")
    if args.out.exists() and not args.out.is_dir():
        return _fail(f"--out {args.out}: exists and is not a folder")
    _setup_logging()
    from autoencoders.comparison import ComparisonError, check_comparable, group_runs
    from autoencoders.evaluation import evaluate_run, load_run
    from autoencoders.report import write_report

    runs = [load_run(p) for p in sorted(set(args.runs))]
    evaluations = []
    for run in runs:
        if run.status != "completed":
            continue
        try:
            evaluations.append(evaluate_run(run))
        except Exception as e:  # a broken model file is reported, not fatal
            run.status, run.reason = "invalid", f"could not be evaluated: {type(e).__name__}: {e}"
    if not evaluations and not args.study:
        return _fail("none of the runs can be evaluated:\n" + "\n".join(f"  {r.path}: {r.status}, {r.reason}" for r in runs))
    groups = group_runs(evaluations)
    if not args.study:
        try:
            check_comparable(groups)
        except ComparisonError as e:
            return _fail(str(e))

    command = "python evaluate.py " + " ".join(shlex.quote(a) for a in argv)
    if len(args.runs) > 6:  # many run folders (a shell glob): name them once, the report lists them
        run_args = {str(p) for p in args.runs}
        parents = {str(p.parent) for p in args.runs}
        where = f"{parents.pop()}/" if len(parents) == 1 else ""
        command = f"python evaluate.py {where}<{len(args.runs)} run folders> " + " ".join(shlex.quote(a) for a in argv if a not in run_args)
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    import shutil
    import tempfile

    from autoencoders.atomic import publish
    from autoencoders.report import REPORT_HTML, REPORT_MD

    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging.", dir=out.parent))  # same file system: moves are renames
    try:
        if args.study:
            from autoencoders.study import write_study

            write_study(staging, runs, evaluations, command=command)
        else:
            write_report(staging, runs, groups, command=command, title=args.title, note=args.note)
        publish(staging, out, last=REPORT_MD)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    n_pairs = sum(g.is_pair for g in groups)
    print(f"report: {out / REPORT_MD} and {out / REPORT_HTML} ({len(evaluations)} runs, {n_pairs} BCE-vs-MSE comparisons, "
          f"{len(runs) - len(evaluations)} not evaluated)")
    return 0
