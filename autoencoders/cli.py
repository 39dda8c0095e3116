"""Command-line entry points. Argument parsing and exit codes only: the package does the work.

Exit codes (see `autoencoders.errors`): 0 success, 1 a run failed (e.g. NaN loss), 2 bad input
(config, data, run folder, output location: nothing written), 74 an I/O error such as a full disk
(the run stays resumable), 75 the run folder is busy, 128 + N stopped by signal N (130 Ctrl-C,
143 SIGTERM; resumable). The config, the data, the output location and an existing run folder
are checked before TensorFlow is imported (except images only TensorFlow can find undecodable),
so a mistake fails in well under a second and leaves nothing on disk.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

from autoencoders import plugins, quiet
from autoencoders.config import ConfigError, config_path, load_config
from autoencoders.errors import (
    EXIT_BAD_INPUT,
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_IO,
    exit_code_of,
    os_error_message,
    stop_signals,
    writable_folder_problem,
)
from autoencoders.train import run_folder as runs


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    quiet.configure(verbose)  # TensorFlow's start-up lines only with --verbose or the user's TF_CPP_MIN_LOG_LEVEL
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes when evaluating many models


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train.py",
        description="Train one autoencoder experiment from a YAML config and write a self-contained run folder.",
        epilog="example: python train.py --config configs/blog/dense.yaml --set loss.name=mse --set training.epochs=5",
    )
    p.add_argument(
        "--config",
        required=True,
        type=Path,
        help="YAML experiment config: a file, or a shipped config by name (blog/dense, sweeps/quick_dense; see configs/)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value by dotted key, e.g. --set training.epochs=5 (repeatable)",
    )
    p.add_argument("--out", type=Path, default=Path("results/runs"), help="parent folder of run folders (default: results/runs)")
    p.add_argument("--resume", action="store_true", help="continue an unfinished run from its last finished epoch")
    p.add_argument("--overwrite", action="store_true", help="delete an existing run folder of the same name and train again")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up lines (oneDNN, CUDA, XLA); without it they are hidden unless TF_CPP_MIN_LOG_LEVEL is set",
    )
    sweep = p.add_argument_group("sweeps (a config with a grid: of dotted keys -> lists of values)")
    sweep.add_argument("--jobs", type=int, default=1, help="runs trained in parallel processes (default 1)")
    sweep.add_argument("--dry-run", action="store_true", help="list the runs and what would be done with each, then stop")
    sweep.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: processes on this machine (--jobs); ray: one Ray task per run, on a local Ray or the cluster at --address",
    )
    sweep.add_argument(
        "--address",
        help="with --backend ray: the cluster to join (auto: the one `ray start` set up on this node, or HOST:PORT); "
        "default: start a local Ray",
    )
    sweep.add_argument(
        "--num-cpus", type=float, default=1.0, help="with --backend ray: CPUs per run, also its TensorFlow threads (default 1)"
    )
    sweep.add_argument(
        "--num-gpus", type=float, default=0.0, help="with --backend ray: GPUs per run (default 0; e.g. 0.5 puts two runs on a GPU)"
    )
    sweep.add_argument(
        "--fresh-processes",
        action="store_true",
        help="start a new process for every run (default: warm workers, one per job, train run after run)",
    )
    sweep.add_argument("--retry-failed", action="store_true", help="train failed runs of a sweep again (default: report and skip them)")
    return p


def watch_parent() -> None:
    """In a training process started by a sweep: stop (as on SIGTERM: checkpoint intact) as soon
    as the sweep is gone, so a sweep killed with kill -9 leaves no orphans training on."""
    from autoencoders.sweep.schedule import PARENT_PID_ENV

    parent = os.environ.get(PARENT_PID_ENV)
    if not parent or any(t.name == "watch-sweep" for t in threading.enumerate()):  # once per process (a warm worker trains many runs)
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="watch-sweep", daemon=True).start()


def _resume_command(argv: list[str]) -> str:
    kept = [a for a in argv if a not in ("--resume", "--overwrite")]
    return "python train.py " + " ".join(shlex.quote(a) for a in [*kept, "--resume"])


def _finished_epochs(run_dir: Path) -> int:
    try:
        return int(runs.read_json(run_dir / runs.CHECKPOINTS / runs.STATE).get("epoch", 0))
    except (OSError, runs.CorruptFile, ValueError, TypeError):
        return 0


def sweep_main(args) -> int:
    from functools import partial

    from autoencoders.sweep import schedule as sweep

    if args.overwrite:
        return _fail(f"{args.config}: --overwrite is not available for sweeps; delete the run folders to train them again")
    try:
        configs = sweep.expand(args.config, args.overrides)
    except ConfigError as e:
        return _fail(str(e))
    if args.dry_run:
        print("\n".join(sweep.describe(configs, args.out)))
        print(f"{len(configs)} runs")
        return 0
    if args.backend == "ray":
        try:
            from autoencoders.sweep.ray_backend import ClusterTooSmall, schedule_on_ray
        except ImportError:
            return _fail("--backend ray needs Ray: pip install 'autoencoders[ray]' (or pip install 'ray>=2.40')")
        try:
            result = schedule_on_ray(
                configs,
                args.out,
                address=args.address,
                num_cpus=args.num_cpus,
                num_gpus=args.num_gpus,
                retry_failed=args.retry_failed,
                warm=not args.fresh_processes,
            )
        except ClusterTooSmall as e:
            return _fail(str(e))
        except ConnectionError as e:
            return _fail(f"--address {args.address}: {e}")
    else:
        result = sweep.schedule(
            configs,
            args.out,
            jobs=args.jobs,
            run=partial(sweep.run_one, retry_failed=args.retry_failed, jobs=args.jobs, warm=not args.fresh_processes),
        )
    counts = {s: sum(o.status == s for o in result.outcomes) for s in ("completed", "skipped", "failed", *sweep.RESUMABLE)}
    summary = f"{counts['completed']} trained, {counts['skipped']} already complete, {counts['failed']} failed" + "".join(
        f", {counts[s]} {s}" for s in sweep.RESUMABLE if counts[s]
    )
    for o in result.outcomes:
        if o.status == "failed" or (o.status in sweep.RESUMABLE and o.reason):
            print(f"  {o.status}: {o.name}: {o.reason}", file=sys.stderr)
    if result.interrupted_by is not None:
        print(
            f"sweep interrupted ({signal.Signals(result.interrupted_by).name}): {summary}; every run folder is intact, "
            "the same command continues where this one stopped",
            file=sys.stderr,
        )
        return 128 + result.interrupted_by
    print(f"sweep done: {summary}")
    if counts["failed"]:
        return EXIT_FAILED
    return EXIT_IO if counts["stopped"] else EXIT_BUSY if counts["busy"] else 0


def train_main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = train_parser().parse_args(argv)
    with stop_signals():
        try:
            return _train_command(args, argv)
        except KeyboardInterrupt as interrupt:  # before or after training (a run itself says more, below)
            print(f"interrupted ({signal.Signals(exit_code_of(interrupt) - 128).name}); nothing was left half-written", file=sys.stderr)
            return exit_code_of(interrupt)
        except OSError as e:  # anything not said more precisely below: a sweep's bookkeeping, a log
            return _fail(os_error_message(e), EXIT_IO)


def _train_command(args, argv: list[str]) -> int:
    from autoencoders.sweep.schedule import is_sweep

    if args.jobs < 1:
        return _fail(f"--jobs {args.jobs}: must be >= 1")
    if args.backend != "ray" and (args.address or args.num_cpus != 1.0 or args.num_gpus != 0.0):
        return _fail("--address, --num-cpus and --num-gpus are options of --backend ray")
    if args.backend == "ray" and (args.num_cpus <= 0 or args.num_gpus < 0):
        return _fail(f"--num-cpus {args.num_cpus:g} --num-gpus {args.num_gpus:g}: CPUs must be > 0 and GPUs >= 0")
    if args.resume and args.overwrite:
        return _fail("--resume and --overwrite exclude each other")
    quiet.configure(args.verbose)  # before any import of TensorFlow; a sweep's training processes inherit the level
    args.config = config_path(args.config)  # a file, or a shipped config by name (blog/dense)
    try:
        if is_sweep(args.config):
            if problem := writable_folder_problem(args.out):
                return _fail(f"--out {problem}")
            return sweep_main(args)
        cfg = load_config(args.config, args.overrides)
    except ConfigError as e:
        return _fail(str(e))
    if args.backend == "ray":
        return _fail(f"{args.config}: --backend ray runs sweeps (a config with a grid:); train a single run without it")
    run_dir = args.out / cfg.name
    if args.dry_run:
        from autoencoders.sweep.schedule import describe

        print(describe([cfg], args.out)[0])
        return 0
    if problem := writable_folder_problem(args.out):
        return _fail(f"--out {problem}")
    if run_dir.exists() and not run_dir.is_dir():
        return _fail(f"{run_dir}: is a file, where the run's folder would go; move it away or choose another --out")
    if runs.is_locked(run_dir):  # busy whatever the options, said at once (train() checks again, holding the lock)
        return _fail(f"{run_dir}: another process is training this run right now; try again once it has stopped", EXIT_BUSY)
    try:  # an existing run folder is judged before TensorFlow is imported (again, holding its lock, by train())
        status = "absent" if args.overwrite else runs.run_status(run_dir)  # --overwrite replaces even a damaged one
        if status == "unfinished" and args.resume:
            runs.load_checkpoint(run_dir)  # a damaged resume point is named now, not after a minute of imports
    except runs.CorruptFile as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(os_error_message(e))
    if status != "absent" and not (args.resume or args.overwrite):
        return _fail(runs.existing_run_message(run_dir, status))
    if status == "failed" and args.resume:
        return _fail(runs.failed_run_message(run_dir))
    _setup_logging(args.verbose)
    from autoencoders.data.loading import DataError, source_dataset

    try:  # bad data is refused before TensorFlow is imported and before anything is written
        dataset = source_dataset(cfg.dataset)  # a warm worker loads it once for all its runs
    except DataError as e:
        return _fail(str(e))
    watch_parent()
    from autoencoders.train.loop import RunError, train

    try:
        result = train(cfg, run_dir, resume=args.resume, overwrite=args.overwrite, dataset=dataset)
    except runs.RunLocked as e:
        return _fail(str(e), EXIT_BUSY)
    except (RunError, DataError, runs.CorruptFile) as e:
        return _fail(str(e))
    except OSError as e:
        epochs = _finished_epochs(run_dir)
        return _fail(
            f"{os_error_message(e)}; the run stopped after epoch {epochs} of {cfg.training.epochs}, which is saved. "
            f"Once the cause is fixed, resume with: {_resume_command(argv)}",
            EXIT_IO,
        )
    except KeyboardInterrupt as interrupt:
        name = signal.Signals(exit_code_of(interrupt) - 128).name
        if runs.status_or_problem(run_dir)[0] == "completed":  # stopped while storing its evaluation: nothing to resume
            print(
                f"interrupted ({name}) while storing the evaluation of the completed run {run_dir}; evaluate.py evaluates it itself",
                file=sys.stderr,
            )
        else:
            epochs = _finished_epochs(run_dir)
            print(
                f"interrupted ({name}) after epoch {epochs} of {cfg.training.epochs}, which is saved; resume with: {_resume_command(argv)}",
                file=sys.stderr,
            )
        return exit_code_of(interrupt)
    m = result.metrics
    if m["status"] != "completed":
        print(f"run failed: {m.get('reason')} ({run_dir})", file=sys.stderr)
        return EXIT_FAILED
    t = m["test"]
    print(
        f"{cfg.name}: {m['epochs']} epochs in {m['train_seconds']:.1f} s; test pixel MSE {t['mse']:.5f}, "
        f"BCE {t['bce']:.4f}, PSNR {t['psnr']:.2f} dB -> {run_dir}"
    )
    return 0


def evaluate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Compare run folders: metrics recomputed on the full test set, BCE-vs-MSE statistics over seeds, "
        "figures, and a Markdown + HTML report.",
        epilog="example: python evaluate.py results/runs/* --out results/reports/all",
    )
    p.add_argument("runs", nargs="*", type=Path, metavar="RUN_DIR", help="run folders written by train.py")
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="report folder; its REPORT.md, REPORT.html, summary.* and figures/ are replaced once the new report is complete, "
        "anything else in it is left alone",
    )
    p.add_argument("--title", default="BCE vs MSE", help="report title")
    p.add_argument(
        "--study",
        action="store_true",
        help="write the BCE-vs-MSE study instead of a comparison (analytic parts need no runs; "
        "give the configs/sweeps/study_*.yaml runs for the measured parts), e.g. --out results/study",
    )
    p.add_argument(
        "--collapse",
        type=Path,
        metavar="FOLDER",
        help="with --study: the folder of the collapse-rate runs (configs/sweeps/collapse_*.yaml), e.g. results/study/collapse",
    )
    p.add_argument(
        "--today",
        type=Path,
        metavar="FOLDER",
        help="with --study: the folder of today's-practice runs (configs/sweeps/today_*.yaml): its runs/ and collapse/, "
        "e.g. results/study/today",
    )
    p.add_argument("--note", default="", help="a Markdown paragraph put under the title (e.g. the command that trained the runs)")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up lines (oneDNN, CUDA, XLA); without it they are hidden unless TF_CPP_MIN_LOG_LEVEL is set",
    )
    return p


def _distinct_runs(paths: list[Path]) -> list[Path]:
    """The run folders, each once: two spellings of one folder (relative, absolute, a trailing
    slash, a symlink) are one run."""
    seen: dict[Path, Path] = {}
    for path in paths:
        seen.setdefault(path.resolve(), path)
    return sorted(seen.values(), key=lambda p: str(p))


def evaluate_main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = evaluate_parser().parse_args(argv)
    with stop_signals():
        try:
            return _evaluate_command(args, argv)
        except KeyboardInterrupt as interrupt:
            print("interrupted; no report was written (a previous one in --out is unchanged)", file=sys.stderr)
            return exit_code_of(interrupt)
        except OSError as e:
            return _fail(f"{os_error_message(e)}; no report was written (a previous one in --out is unchanged)", EXIT_IO)


def _evaluate_command(args, argv: list[str]) -> int:
    if not args.runs and not args.study:
        return _fail("give at least one RUN_DIR (only --study works without runs)")
    missing = [str(p) for p in args.runs if not p.is_dir()]
    if missing:
        return _fail(f"no such run folder: {', '.join(missing)}")
    if args.study and len(plugins.names(plugins.STUDY)) != 1:
        return _fail(
            f"--study: needs exactly one installed study (entry point group {plugins.STUDY}), found {plugins.names(plugins.STUDY)}"
        )
    if args.collapse is not None and (not args.study or not args.collapse.is_dir()):
        return _fail(f"--collapse {args.collapse}: " + ("only with --study" if not args.study else "no such folder"))
    if args.today is not None and (not args.study or not args.today.is_dir()):
        return _fail(f"--today {args.today}: " + ("only with --study" if not args.study else "no such folder"))
    if problem := writable_folder_problem(args.out):
        return _fail(f"--out {problem}")
    _setup_logging(args.verbose)
    from autoencoders.evaluate.comparison import ComparisonError, check_comparable, drop_repeats, group_runs
    from autoencoders.evaluate.evaluation import evaluate_run, load_run
    from autoencoders.report.document import write_report

    runs_ = [load_run(p) for p in _distinct_runs(args.runs)]
    evaluations = []
    for run in runs_:
        if run.status != "completed":
            continue
        try:
            evaluations.append(evaluate_run(run))
        except Exception as e:  # a broken model file is reported, not fatal
            run.status, run.reason = "invalid", f"could not be evaluated: {type(e).__name__}: {e}"
    evaluations = drop_repeats(evaluations)
    if not evaluations and not args.study:
        return _fail("none of the runs can be evaluated:\n" + "\n".join(f"  {r.path}: {r.status}, {r.reason}" for r in runs_))
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
    from autoencoders.report.document import REPORT_HTML, REPORT_MD

    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging.", dir=out.parent))  # same file system: moves are renames
    verdicts: list[str] = []
    try:
        if args.study:  # the study plugs in through its entry point (plugins.STUDY)
            [write_study] = plugins.entries(plugins.STUDY).values()
            write_study(staging, runs_, evaluations, command=command, collapse_folder=args.collapse, today_folder=args.today, published=out)
        else:
            verdicts = write_report(staging, runs_, groups, command=command, title=args.title, note=args.note)["verdicts"]
        publish(staging, out, last=REPORT_MD)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    n_pairs = sum(g.is_pair for g in groups)
    if verdicts:  # the answer in the terminal, as the report opens with it
        print(
            "\n".join(["Verdicts (BCE-trained against MSE-trained, paired by seed):", *(line.replace("**", "") for line in verdicts), ""])
        )
    print(
        f"report: {out / REPORT_MD} and {out / REPORT_HTML} ({len(evaluations)} runs, {n_pairs} BCE-vs-MSE comparisons, "
        f"{len(runs_) - len(evaluations)} not evaluated)"
    )
    return 0
