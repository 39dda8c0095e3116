"""Does the diagnosis warn in time? `DiagnosticsCallback` on the study's collapse-rate setting.

A warning is worth having only if it comes early and is right. This measures both on the runs where
the study saw the lock: the collapse-rate setting of section 7 (`configs/sweeps/collapse_conv_adam.yaml`
at Adam 1e-3: the conv autoencoder, one epoch over the whole training set, batch 128, validated on
2,000 test images), on MNIST, where section 7 saw MSE lock, and Fashion-MNIST, where it did not;
each loss, 20 seeds. Each run trains as in the sweep (same config, model, data and batch order), with
two callbacks: the one a user adds, with its defaults, on the first 256 validation images; and a
finer one that probes every `LOCK_EVERY` steps only to find when the output locked (the first probe
from which every later one is locked). The outcome the warning is scored against is the study's:
collapsed when the validation pixel MSE ends within 1% of the all-dark output's.

So that a probe can fall every few steps, the model is compiled one step per call (the sweep's runs
took 67 at a time); the report counts the runs that ended as their twins of the same name in
section 7 did, collapsed or not and with the same validation pixel MSE to the bit.

    python -m autoencoders early-warning --out results/study/early_warning --jobs 2

writes one JSON per run (atomically; a run already written is skipped, so it resumes), which
`write_study` reads from the study's folder into its section 8.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from autoencoders import config as C
from autoencoders.study import collapse
from autoencoders.study.collapse_rates import dark_mse
from autoencoders.train.run_folder import write_json

SWEEP = "sweeps/collapse_conv_adam.yaml"
LEARNING_RATE = 0.001
DATASETS = ("mnist", "fashion_mnist")
SEEDS = 20
LOCK_EVERY = 5  # steps between the lock finder's probes
FOLDER = "early_warning"  # inside the study's output folder


def settings(seeds: int = SEEDS) -> list[C.ExperimentConfig]:
    """The runs: section 7's conv runs at Adam 1e-3 on DATASETS, the first `seeds` seeds."""
    from autoencoders.sweep.schedule import expand

    return [
        cfg
        for cfg in expand(C.config_path(SWEEP))
        if cfg.training.learning_rate == LEARNING_RATE and cfg.dataset.name in DATASETS and cfg.seed < seeds
    ]


def watch_run(cfg: C.ExperimentConfig) -> dict:
    """Train one run with the two callbacks; what they saw and how the run ended."""
    import keras

    from autoencoders import DiagnosticsCallback
    from autoencoders.data.loading import load_dataset
    from autoencoders.diagnose.problems import locked_dark
    from autoencoders.train.loop import compile_model, epoch_batches, prepare_data, resolve_input_shape
    from autoencoders.train.speed.pipeline import in_batches

    dataset = load_dataset(cfg.dataset)
    cfg = resolve_input_shape(cfg, dataset)
    data = prepare_data(cfg, dataset)
    model = compile_model(cfg, steps_per_epoch=1)  # one step per call, so that a probe can fall on any step
    probe_size = callback_defaults()["probe_size"]
    probe, targets = data.x_test[:probe_size], data.t_test[:probe_size]
    warn = DiagnosticsCallback(probe, targets, loss=cfg.loss.name, print_fn=None)
    finder = DiagnosticsCallback(probe, targets, loss=cfg.loss.name, print_fn=None, every_steps=LOCK_EVERY)
    bs, steps = cfg.training.batch_size, -(-len(data.x_train) // cfg.training.batch_size)
    start = time.perf_counter()
    history = model.fit(
        epoch_batches(data.x_train, data.t_train, bs, cfg.seed, 0, cfg.training.epochs),
        epochs=cfg.training.epochs,
        steps_per_epoch=steps,
        validation_data=in_batches((data.x_test, data.t_test), cfg.training.eval_batch_size),
        callbacks=[warn, finder],
        verbose=0,
    )
    val_pixel_mse = float(history.history["val_pixel_mse"][-1])
    locked = [locked_dark(m) for m in finder.measured]
    return {
        "name": cfg.name,
        "dataset": cfg.dataset.name,
        "loss": cfg.loss.name,
        "seed": cfg.seed,
        "steps": finder.step,
        "problems": [p.code for p in warn.problems],
        "warned_step": next((p.evidence.get("step") for p in warn.problems if p.code == "dark_output"), None),
        "lock_step": next((m["step"] for i, m in enumerate(finder.measured) if all(locked[i:])), None),
        "val_pixel_mse": val_pixel_mse,
        "dark_mse": dark_mse(cfg.dataset),
        "collapsed": collapse.is_collapsed(val_pixel_mse, dark_mse(cfg.dataset)),
        "seconds": time.perf_counter() - start,
        "backend": keras.backend.backend(),
    }


def read_results(folder: Path) -> tuple[list[dict], list[str]]:
    """The runs written in `folder`, and one line per file that is not a run's result (named)."""
    found, problems = [], []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            result = json.loads(path.read_text())
            if not isinstance(result, dict) or not {"name", "collapsed", "warned_step", "lock_step"} <= set(result):
                raise ValueError("not a run's result")
            found.append(result)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            problems.append(f"{path.name}: {e}")
    return found, problems


def callback_defaults() -> dict:
    """The settings the warning ran with: DiagnosticsCallback's own defaults."""
    import inspect

    from autoencoders.diagnose.callback import DiagnosticsCallback

    parameters = inspect.signature(DiagnosticsCallback).parameters
    return {key: parameters[key].default for key in ("every_steps", "probe_size", "step_probe_size")}


def to_train(out: Path, seeds: int, shard: tuple[int, int] = (0, 1)) -> list[C.ExperimentConfig]:
    """This shard's runs (every n-th from the k-th) that have no result in `out` yet: a command
    stopped part-way goes on from where it stopped."""
    k, n = shard
    return [cfg for i, cfg in enumerate(settings(seeds)) if i % n == k and not (out / f"{cfg.name}.json").is_file()]


def cell_counts(results: list[dict]) -> dict:
    """How the warning fared against the outcome: warned and collapsed (right), warned and not
    (false), collapsed and not warned (missed)."""
    warned = [r["warned_step"] is not None for r in results]
    return {
        "runs": len(results),
        "collapsed": sum(r["collapsed"] for r in results),
        "warned": sum(warned),
        "right": sum(w and r["collapsed"] for w, r in zip(warned, results, strict=True)),
        "false": sum(w and not r["collapsed"] for w, r in zip(warned, results, strict=True)),
        "missed": sum(not w and r["collapsed"] for w, r in zip(warned, results, strict=True)),
    }


def share(k: int, n: int) -> dict | None:
    """k of n with its Wilson 95% interval (as the collapse rates), or None for 0 of 0."""
    if not n:
        return None
    rate = collapse.collapse_rate(k, n)
    return {"k": k, "n": n, "rate": rate.rate, "low": rate.low, "high": rate.high}


def spread(values: list[float]) -> dict | None:
    return {"median": float(np.median(values)), "min": min(values), "max": max(values), "n": len(values)} if values else None


def section(folder: Path, collapse_folder: Path | None) -> tuple[list[str], dict]:
    """Section 8 of the study: the warning's timing, precision and recall, from `folder`'s runs,
    and whether each ended as section 7's run of the same name (in `collapse_folder`) did."""
    from autoencoders.study.findings import environment
    from autoencoders.train import run_folder

    results, problems = read_results(folder) if folder.is_dir() else ([], [])
    cells = {}
    for r in results:
        cells.setdefault((r["dataset"], r["loss"]), []).append(r)
    total = cell_counts(results)
    twins = []
    for r in results:
        twin = collapse_folder / r["name"] if collapse_folder is not None else None
        if twin is not None and run_folder.status_or_problem(twin)[0] == "completed":
            ended = run_folder.read_history(twin / run_folder.HISTORY)[-1]["val_pixel_mse"]
            twins.append((collapse.is_collapsed(ended, r["dark_mse"]) == r["collapsed"], ended == r["val_pixel_mse"]))
    summary = {
        "folder": str(folder),
        "runs": len(results),
        "not_used": problems,
        "lock_every": LOCK_EVERY,
        "cells": [{"dataset": d, "loss": loss, **cell_counts(rs)} for (d, loss), rs in sorted(cells.items())],
        **total,
        "precision": share(total["right"], total["warned"]),
        "recall": share(total["right"], total["collapsed"]),
        "steps_after_lock": spread(
            [r["warned_step"] - r["lock_step"] for r in results if r["warned_step"] is not None and r["lock_step"] is not None]
        ),
        "warned_step": spread([r["warned_step"] for r in results if r["warned_step"] is not None]),
        "lock_step": spread([r["lock_step"] for r in results if r["lock_step"] is not None]),
        "epoch_steps": max((r["steps"] for r in results), default=None),
        "same_outcome_as_section_7": {"same": sum(o for o, _ in twins), "same_bits": sum(b for _, b in twins), "compared": len(twins)},
        "callback": callback_defaults(),
        "batch_size": settings(1)[0].training.batch_size,
        "seconds_total": sum(r["seconds"] for r in results),
    }
    text = environment().get_template("early_warning.md.j2").render(s=summary, sweep=SWEEP, learning_rate=LEARNING_RATE)
    return text.rstrip("\n").split("\n"), summary


def early_warning_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autoencoders early-warning", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for one JSON per run (results/study/early_warning)")
    parser.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds per dataset and loss (default {SEEDS})")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time, each in its own process")
    parser.add_argument("--shard", default="0/1", help=argparse.SUPPRESS)  # K/N: this process's share of the runs
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.jobs > 1:
        from autoencoders.train.device import thread_env

        command = [sys.executable, "-m", "autoencoders", "early-warning", "--out", str(args.out), "--seeds", str(args.seeds)]
        shards = [subprocess.Popen([*command, "--shard", f"{k}/{args.jobs}"], env=thread_env(args.jobs)) for k in range(args.jobs)]
        return max(shard.wait() for shard in shards)
    k, n = (int(part) for part in args.shard.split("/"))
    todo = to_train(args.out, args.seeds, (k, n))
    for i, cfg in enumerate(todo, 1):
        result = watch_run(cfg)
        write_json(args.out / f"{cfg.name}.json", result)
        print(f"[{k}/{n}] {i}/{len(todo)} {cfg.name}: warned at {result['warned_step']}, lock at {result['lock_step']}, "
              f"collapsed {result['collapsed']} ({result['seconds']:.0f} s)", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(early_warning_main())
