"""Sweeps: a config with a `grid:` of dotted keys -> lists of values, run as many runs.

Three separate pieces, so a cluster engine (Ray, Slurm, ...) can replace only the scheduling:
- `expand`: the grid -> one validated config per combination, each with a stable, unique name;
- `run_one`: one config -> one run folder, in its own process (`train.py --resume`): finished
  runs are skipped, unfinished ones resumed, a crash is recorded and never stops the sweep;
- `schedule`: runs `run_one` over the configs, `jobs` at a time, reporting progress.
Two processes never write the same run folder: names are unique within a sweep, and
`train.py` holds a lock on the folder while it trains (see `runs.lock`).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from autoencoders import config as C
from autoencoders import runs

TRAIN_SCRIPT = Path(__file__).resolve().parents[1] / "train.py"


def is_sweep(path: str | Path) -> bool:
    return "grid" in C.read_yaml(path)


def expand(path: str | Path, overrides: Sequence[str] = ()) -> list[C.ExperimentConfig]:
    """Every combination of the grid's values (first key varies slowest), validated like a file."""
    source = str(path)
    data = C.read_yaml(path)
    grid = data.pop("grid", None)
    if not isinstance(grid, dict) or not grid:
        raise C.ConfigError(f"{source}: grid must be a mapping of dotted keys to lists of values, e.g. grid: {{loss.name: [bce, mse], seed: [0, 1, 2]}}")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise C.ConfigError(f"{source}: grid.{key} = {values!r}: must be a non-empty list of values")
        if len(values) != len({repr(v) for v in values}):
            raise C.ConfigError(f"{source}: grid.{key} lists a value twice: {values!r}")
        for value in values:
            C.set_value({}, key, value, source=f"{source}: grid.{key}")  # key and value valid
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
    status: str  # completed | skipped | failed
    seconds: float
    reason: str | None = None
    resumed: bool = False  # trained only its missing epochs: too short a sample for the time-left estimate


def run_one(cfg: C.ExperimentConfig, out: Path, *, retry_failed: bool = False) -> Outcome:
    """Train one config in a fresh process (TensorFlow state, memory and crashes stay there)."""
    run_dir = out / cfg.name
    status = runs.run_status(run_dir)
    if status == "completed":
        return Outcome(cfg.name, "skipped", 0.0)
    if status == "failed" and not retry_failed:
        return Outcome(cfg.name, "failed", 0.0, f"failed earlier: {runs.read_json(run_dir / runs.METRICS).get('reason')}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        config_file = Path(tmp) / "config.yaml"
        config_file.write_text(C.dump_yaml(cfg))
        mode = "--overwrite" if status == "failed" else "--resume"
        out.mkdir(parents=True, exist_ok=True)
        with open(out / f".{cfg.name}.log", "w") as log:
            proc = subprocess.run([sys.executable, str(TRAIN_SCRIPT), "--config", str(config_file), "--out", str(out), mode],
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if proc.returncode == 0:
        return Outcome(cfg.name, "completed", seconds, resumed=status == "unfinished")
    tail = (out / f".{cfg.name}.log").read_text(errors="replace").strip().splitlines()[-3:]
    return Outcome(cfg.name, "failed", seconds, f"exit code {proc.returncode}: " + " | ".join(tail))


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def schedule(configs: Sequence[C.ExperimentConfig], out: Path, *, jobs: int = 1,
             run: Callable[[C.ExperimentConfig, Path], Outcome] = run_one, echo: Callable[[str], None] = print) -> list[Outcome]:
    """Run every config, `jobs` at a time, printing progress; returns the outcomes in config order."""
    start = time.perf_counter()
    done: dict[str, Outcome] = {}
    total = len(configs)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # threads only wait: the work is in subprocesses
        def task(position: int, cfg: C.ExperimentConfig) -> Outcome:
            echo(f"run {position}/{total}: {cfg.name} ...")
            return run(cfg, out)

        futures = {pool.submit(task, i, cfg): cfg for i, cfg in enumerate(configs, 1)}
        for future in as_completed(futures):
            outcome = future.result()
            done[outcome.name] = outcome
            elapsed = time.perf_counter() - start
            trained = [o.seconds for o in done.values() if o.status == "completed" and not o.resumed]
            left = total - len(done)
            eta = (sum(trained) / len(trained)) * left / max(1, jobs) if trained else None
            echo(f"[{len(done)}/{total}] {outcome.status:9s} {outcome.name} ({outcome.seconds:.0f} s) · elapsed {_clock(elapsed)}"
                 + (f" · about {_clock(eta)} left" if eta is not None and left else "") + (f" · {outcome.reason}" if outcome.reason else ""))
    return [done[cfg.name] for cfg in configs]


def describe(configs: Sequence[C.ExperimentConfig], out: Path) -> list[str]:
    """What a sweep would do with each run: the --dry-run listing."""
    action = {"absent": "train", "unfinished": "resume", "completed": "skip (completed)", "failed": "skip (failed)"}
    return [f"{action[runs.run_status(out / c.name)]:17s} {out / c.name}" for c in configs]
