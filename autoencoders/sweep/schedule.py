"""Sweeps: a config with a `grid:` of dotted keys -> lists of values, run as many runs.

Three separate pieces, so a cluster engine (Ray, Slurm, ...) can replace only the scheduling:
- `expand`: the grid -> one validated config per combination, each with a stable, unique name;
- `run_one`: one config -> one run folder, in another process (`python -m autoencoders train
  --resume`, the package's own entry, never a path into a checkout), by default a warm `Worker`
  that trains run after run (`autoencoders.sweep.worker`): finished runs are skipped, unfinished ones
  resumed, a crash is recorded and never stops the sweep;
- `schedule`: runs `run_one` over the configs, `jobs` at a time, reporting progress.
Two processes never write the same run folder: names are unique within a sweep, and
`train.py` holds a lock on the folder while it trains (see `runs.lock`).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from pathlib import Path

from autoencoders import config as C
from autoencoders.atomic import write_text
from autoencoders.errors import EXIT_BUSY, EXIT_IO, exit_code_of, os_error_message
from autoencoders.train import device
from autoencoders.train import run_folder as runs

#: More runs than this in one grid is a mistake (and expanding them would take minutes).
MAX_RUNS = 10_000
#: Set in a training process started by a sweep: the sweep's pid, which the process watches.
PARENT_PID_ENV = "AUTOENCODERS_SWEEP_PID"

#: The folder this package was imported from: a run's process imports the same code as its sweep.
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def is_sweep(path: str | Path) -> bool:
    return "grid" in C.read_yaml(path)


def expand(path: str | Path, overrides: Sequence[str] = ()) -> list[C.ExperimentConfig]:
    """Every combination of the grid's values (first key varies slowest), validated like a file."""
    source = str(path)
    data = C.read_yaml(path)
    grid = data.pop("grid", None)
    if not isinstance(grid, dict) or not grid:
        raise C.ConfigError(
            f"{source}: grid must be a mapping of dotted keys to lists of values, e.g. grid: {{loss.name: [bce, mse], seed: [0, 1, 2]}}"
        )
    points = 1
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise C.ConfigError(f"{source}: grid.{key} = {C.show(values)}: must be a non-empty list of values")
        for value in values:
            C.set_value({}, key, value, source=f"{source}: grid.{key}")  # key and value valid (so plain scalars)
        if len(values) != len({repr(v) for v in values}):
            raise C.ConfigError(f"{source}: grid.{key} lists a value twice: {C.show(values)}")
        points *= len(values)
    if points > MAX_RUNS:
        raise C.ConfigError(f"{source}: the grid makes {points:,} runs; a sweep has at most {MAX_RUNS:,} (split it into several sweeps)")
    swept = [o.split("=", 1)[0].strip() for o in overrides if o.split("=", 1)[0].strip() in grid]
    if swept:
        raise C.ConfigError(f"--set {swept[0]}=...: {swept[0]} is swept by the grid of {source}; change the grid instead")
    base = C.apply_overrides(data, overrides)
    configs = []
    for values in itertools.product(*grid.values()):
        point = dict(base)
        for key, value in zip(grid, values):
            point = C.set_value(point, key, value, source=f"{source}: grid.{key}")
        configs.append(C.parse_config(point, source=source))
    names: dict[str, int] = {}
    for cfg in configs:
        names[cfg.name] = names.get(cfg.name, 0) + 1
    clashes = [n for n, k in names.items() if k > 1]
    if clashes:
        raise C.ConfigError(
            f"{source}: name {data.get('name')!r} gives the same run name to several grid points ({clashes[0]!r}); "
            f"put every grid key in it as a placeholder, e.g. {{{next(iter(grid))}}}"
        )
    return configs


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # completed | skipped | failed | busy | stopped | interrupted | not started
    seconds: float
    reason: str | None = None
    resumed: bool = False  # trained only its missing epochs: too short a sample for the time-left estimate


#: Outcomes after which the run folder is intact and the same command continues it.
RESUMABLE = ("busy", "stopped", "interrupted", "not started")

# The training processes running now, so that a stop signal to the sweep can stop them too.
_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()
_stopping = threading.Event()


def _log_tail(log: Path, lines: int = 3) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {os_error_message(exc)})"


def train_arguments(config_file: Path, out: Path, mode: str) -> list[str]:
    """What a sweep asks of `python -m autoencoders train` for one run (mode: --resume or --overwrite)."""
    return ["--config", str(config_file), "--out", str(out), mode]


def train_command(config_file: Path, out: Path, mode: str) -> list[str]:
    return [sys.executable, "-m", "autoencoders", "train", *train_arguments(config_file, out, mode)]


def run_env(jobs: int, threads: int | None = None) -> dict[str, str]:
    """A run's environment: its share of the cores (`device.thread_env`), the sweep's pid to watch,
    and this package first on the import path."""
    env = device.thread_env(jobs, threads=threads)
    env["PYTHONPATH"] = os.pathsep.join([PACKAGE_ROOT, *filter(None, [env.get("PYTHONPATH")])])
    env[PARENT_PID_ENV] = str(os.getpid())
    return env


class Worker:
    """A warm training process (`python -m autoencoders worker`): Python and TensorFlow start once,
    then it trains the runs it is given one after another, each exactly as `train_command`
    would. Its stderr outside runs (a start-up failure) goes to OUT/.workers.log."""

    def __init__(self, jobs: int, out: Path, threads: int | None = None):
        with open(out / ".workers.log", "a") as errors:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autoencoders", "worker", "--out", str(out)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                start_new_session=True,
                env=run_env(jobs, threads),
            )

    def train(self, argv: list[str], log_file: Path) -> int:
        """The run's exit code; if the worker died during it, the worker's (negative: its signal)."""
        try:
            self.proc.stdin.write(json.dumps({"argv": argv, "log": str(log_file)}) + "\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline()
        except OSError:  # the worker was gone before the request reached it
            answer = ""
        if not answer:
            return self.proc.wait()
        return int(json.loads(answer)["code"])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self, grace_s: float = 30.0) -> None:
        """End of input: the worker exits after the run it is on (there is none between runs)."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# One warm worker per scheduling thread (so per --jobs slot, or per Ray worker process) and sweep.
_workers: dict[tuple, Worker] = {}
_workers_lock = threading.Lock()


def worker_for_this_thread(jobs: int, out: Path, threads: int | None = None) -> Worker:
    key = (threading.get_ident(), out, jobs, threads)
    with _workers_lock:
        worker = _workers.get(key)
    if worker is None or not worker.alive():
        worker = Worker(jobs, out, threads)
        with _workers_lock:
            _workers[key] = worker
    return worker


def close_workers() -> None:
    with _workers_lock:
        workers = list(_workers.values())
        _workers.clear()
    for worker in workers:
        worker.close()


atexit.register(close_workers)


def run_one(
    cfg: C.ExperimentConfig, out: Path, *, retry_failed: bool = False, jobs: int = 1, warm: bool = True, threads: int | None = None
) -> Outcome:
    """Train one config in another process (TensorFlow state, memory and crashes stay there): this
    thread's warm `Worker`, or with `warm=False` a fresh process for this run alone. The process
    gets `threads` TensorFlow threads (default: its share of the cores among `jobs`).

    The process gets its own session, so a Ctrl-C at the terminal reaches the sweep alone, which
    then stops its children with SIGTERM (`schedule`); and it watches this process, stopping (its
    checkpoint intact) if the sweep dies without a word (kill -9). A run folder that another
    process is training is left alone ('busy'), its log untouched."""
    run_dir = out / cfg.name
    status, problem = runs.status_or_problem(run_dir)
    if status == "completed":
        return Outcome(cfg.name, "skipped", 0.0)
    if status == "failed" and not retry_failed:
        reason = runs.read_json(run_dir / runs.METRICS).get("reason")
        return Outcome(cfg.name, "failed", 0.0, f"failed earlier: {reason} (--retry-failed trains it again)")
    if status == "corrupt" and not retry_failed:
        return Outcome(cfg.name, "failed", 0.0, f"{problem} (--retry-failed trains it again)")
    if _stopping.is_set():
        return Outcome(cfg.name, "not started", 0.0)
    if runs.is_locked(run_dir):
        return Outcome(cfg.name, "busy", 0.0, "another process is training it right now")
    config_file, log_file = out / f".{cfg.name}.config.yaml", out / f".{cfg.name}.log"
    mode = "--overwrite" if status in ("failed", "corrupt") else "--resume"
    start = time.perf_counter()
    try:
        write_text(config_file, C.dump_yaml(cfg))
        log = open(log_file, "w")
    except OSError as exc:  # a full disk before the run even starts: the run is untouched
        return Outcome(cfg.name, "stopped", 0.0, f"I/O error, run intact: {os_error_message(exc)}")
    with log:
        if warm:
            try:
                worker = worker_for_this_thread(jobs, out, threads)
            except OSError as exc:  # its log cannot be opened (a full disk): the run is untouched
                return Outcome(cfg.name, "stopped", 0.0, f"I/O error, run intact: {os_error_message(exc)}")
            proc = worker.proc
        else:
            proc = subprocess.Popen(
                train_command(config_file, out, mode),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=run_env(jobs, threads),
            )
        with _children_lock:
            if _stopping.is_set():  # the sweep was told to stop while this one was starting
                proc.send_signal(signal.SIGTERM)
            _children.add(proc)
        try:
            returncode = worker.train(train_arguments(config_file, out, mode), log_file) if warm else proc.wait()
        finally:
            with _children_lock:
                _children.discard(proc)
    seconds = time.perf_counter() - start
    if returncode == 0:
        return Outcome(cfg.name, "completed", seconds, resumed=status == "unfinished")
    tail = _log_tail(log_file)
    if returncode == EXIT_BUSY:
        return Outcome(cfg.name, "busy", seconds, tail)
    if returncode == EXIT_IO:
        return Outcome(cfg.name, "stopped", seconds, f"I/O error, run intact: {tail}")
    if returncode > 128 or returncode < 0:  # ended by a signal (ours or anyone's): its checkpoint is intact
        return Outcome(cfg.name, "interrupted", seconds, tail)
    return Outcome(cfg.name, "failed", seconds, f"exit code {returncode}: {tail}")


def stop_children(signum: int = signal.SIGTERM, grace_s: float = 60.0) -> None:
    """Ask every running training process to stop (each finishes its step, keeps its last
    checkpoint and exits); kill the ones still there after `grace_s`."""
    _stopping.set()
    with _children_lock:
        children = list(_children)
    for proc in children:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)
    deadline = time.monotonic() + grace_s
    for proc in children:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


@dataclass(frozen=True)
class SweepResult:
    outcomes: list[Outcome]  # in config order
    interrupted_by: int | None = None  # the stop signal, when the sweep was interrupted


def schedule(
    configs: Sequence[C.ExperimentConfig],
    out: Path,
    *,
    jobs: int = 1,
    run: Callable[[C.ExperimentConfig, Path], Outcome] = run_one,
    echo: Callable[[str], None] = print,
    stop: Callable[[], None] = stop_children,
) -> SweepResult:
    """Run every config, `jobs` at a time, printing progress. A stop signal (Ctrl-C, SIGTERM:
    see `errors.stop_signals`) starts no further run, stops the running ones with `stop` (their
    checkpoints intact) and returns what happened to each, so the caller can say it and exit.
    Another engine plugs in as `run` (one run, blocking) and `stop` (see `ray_backend`)."""
    start = time.perf_counter()
    done: dict[str, Outcome] = {}
    total = len(configs)
    lock = threading.Lock()
    _stopping.clear()

    def say(line: str) -> None:  # one write per line: progress from several threads never interleaves
        with lock:
            echo(line)

    def task(position: int, cfg: C.ExperimentConfig) -> Outcome:
        if _stopping.is_set():
            return Outcome(cfg.name, "not started", 0.0)
        say(f"run {position}/{total}: {cfg.name} ...")
        return run(cfg, out)

    interrupted_by = None
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))  # threads only wait: the work is in subprocesses
    futures = {pool.submit(task, i, cfg): cfg for i, cfg in enumerate(configs, 1)}
    try:
        for future in as_completed(futures):
            outcome = future.result()
            done[outcome.name] = outcome
            elapsed = time.perf_counter() - start
            trained = [o.seconds for o in done.values() if o.status == "completed" and not o.resumed]
            left = total - len(done)
            eta = (sum(trained) / len(trained)) * left / max(1, jobs) if trained else None
            say(
                f"[{len(done)}/{total}] {outcome.status:9s} {outcome.name} ({outcome.seconds:.0f} s) · elapsed {_clock(elapsed)}"
                + (f" · about {_clock(eta)} left" if eta is not None and left else "")
                + (f" · {outcome.reason}" if outcome.reason else "")
            )
    except KeyboardInterrupt as interrupt:
        interrupted_by = exit_code_of(interrupt) - 128
        say(f"stopping: {signal.Signals(interrupted_by).name}; no new run starts, the running ones stop at their next step")
        for future in futures:
            future.cancel()  # those not started yet
        stop()
        wait(futures)  # the running ones return as soon as their processes have stopped
        for future, cfg in futures.items():
            if not future.cancelled() and cfg.name not in done:
                done[cfg.name] = future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        close_workers()
    outcomes = [done.get(cfg.name) or Outcome(cfg.name, "not started", 0.0) for cfg in configs]
    return SweepResult(outcomes, interrupted_by)


def describe(configs: Sequence[C.ExperimentConfig], out: Path) -> list[str]:
    """What a sweep would do with each run: the --dry-run listing (a damaged run says why)."""
    action = {
        "absent": "train",
        "unfinished": "resume",
        "completed": "skip (completed)",
        "failed": "skip (failed)",
        "corrupt": "skip (damaged)",
    }
    lines = []
    for cfg in configs:
        status, problem = runs.status_or_problem(out / cfg.name)
        busy = " (busy: another process is training it)" if status in ("absent", "unfinished") and runs.is_locked(out / cfg.name) else ""
        lines.append(f"{action[status]:17s} {out / cfg.name}{busy}" + (f"  [{problem}]" if problem else ""))
    return lines
