"""Benchmark: what DiagnosticsCallback costs, how often it cries wolf, and how early it warns.

Three measurements, all in plain Keras (the models of tests/diagnose/failures.py), on this machine;
nothing else may run on it meanwhile:

1. overhead: the blog's dense (batch 256) and conv (batch 128) autoencoders, three epochs of full
   MNIST each, with and without the callback (defaults: the first 64 probe images every 50 steps of
   the first epoch, all 256 at each epoch's end), alternating which goes first over `--rounds` (3): the time spent inside the callback's hooks as a share of the epoch (its cost,
   measured directly), and the epochs' medians with and without it;
2. false alarms: healthy runs (BCE with the conv and the dense models, MSE with the dense one, which
   the study never saw lock), one epoch on 12,000 images each; any problem said is a false alarm;
3. early warning: the blog's conv model with MSE and with BCE at Adam 1e-3 (the collapse-rate
   setting where MSE locked in 19 of 20 study runs) on MNIST and Fashion-MNIST, one epoch on
   12,000 images; a second callback measures every 5 steps to find when the output locked (the
   first probe from which it stayed locked), and the warning's step is compared with it; the
   warning's precision and recall against the final outcome (locked at the epoch's end by the
   study's rule: pixel MSE within 1% of the all-dark output's).

    python benchmarks/bench_diagnose.py                       # all three, JSON to benchmarks/results/bench_diagnose.json
    python benchmarks/bench_diagnose.py --parts overhead --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "diagnose")]

import keras  # noqa: E402
import numpy as np  # noqa: E402
from bench_train import EpochTimer  # noqa: E402  (wall time of each epoch; it comes last in the callbacks)
from failures import blog_conv, dense, mnist  # noqa: E402

from autoencoders import DiagnosticsCallback  # noqa: E402
from autoencoders.data.loading import load_dataset  # noqa: E402
from autoencoders.diagnose.problems import locked_dark  # noqa: E402
from autoencoders.train.device import cpu_model  # noqa: E402


class TimedDiagnostics(DiagnosticsCallback):
    """The callback with a stopwatch on its own hooks: the time training spends in it, per epoch."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.inside: list[float] = []
        self.before_training = 0.0
        self.forward_calls: list[float] = []  # each probe's forward pass, the first one the eager warm-up

    def outputs(self, n):
        start = time.perf_counter()
        found = super().outputs(n)
        self.forward_calls.append(time.perf_counter() - start)
        return found

    def on_train_begin(self, logs=None):
        start = time.perf_counter()
        super().on_train_begin(logs)
        self.before_training = time.perf_counter() - start

    def on_epoch_begin(self, epoch, logs=None):
        self.inside.append(0.0)
        super().on_epoch_begin(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        start = time.perf_counter()
        super().on_train_batch_end(batch, logs)
        self.inside[-1] += time.perf_counter() - start

    def on_epoch_end(self, epoch, logs=None):
        start = time.perf_counter()
        super().on_epoch_end(epoch, logs)
        self.inside[-1] += time.perf_counter() - start


def epoch_seconds(arch: str, watched: bool, epochs: int, seed: int = 0) -> tuple[list[float], list[float], float, float]:
    """Each epoch's seconds, the time inside the callback per epoch, its first forward pass and its
    construction (before training: the probe's target measures)."""
    keras.utils.set_random_seed(seed)
    x, probe = mnist(60000)
    if arch == "dense":
        x, probe, model, batch = x.reshape(len(x), 784), probe.reshape(len(probe), 784), dense(), 256
    else:
        model, batch = blog_conv(), 128
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x[:batch], x[:batch], epochs=1, batch_size=batch, verbose=0)  # trace and compile outside the timing
    start = time.perf_counter()
    watch = TimedDiagnostics(probe, print_fn=None)
    watch.constructed = time.perf_counter() - start
    timer = EpochTimer()
    model.fit(x, x, epochs=epochs, batch_size=batch, verbose=0, callbacks=[watch, timer] if watched else [timer])
    if watch.inside:
        watch.inside[0] += watch.before_training  # its start-of-training work counts against the first epoch
    return timer.seconds, watch.inside, watch.forward_calls[0] if watch.forward_calls else 0.0, watch.constructed


def overhead(rounds: int, epochs: int = 3, archs: tuple[str, ...] = ("dense", "conv")) -> dict:
    """The first epoch (probes every 50 steps, and the model's first eager call) and the later ones
    (a probe at the end only): the time spent inside the callback's hooks as a share of the epoch
    (what it costs, measured directly), and the epochs with and without it (medians over the rounds;
    on shared cores their spread can exceed the cost)."""
    out = {}
    for arch in archs:
        times, inside, first_calls, after_first, constructed = {"without": [], "with": []}, [], [], [], []
        for r in range(rounds):
            for watched in (r % 2 == 0, r % 2 == 1):
                seconds, spent, first_call, made = epoch_seconds(arch, watched, epochs)
                times["with" if watched else "without"].append(seconds)
                if watched:
                    inside.append([s_in / s for s_in, s in zip(spent, seconds)])
                    first_calls.append(first_call)
                    constructed.append(made)
                    after_first.append((spent[0] - first_call) / seconds[0])
        row = {
            "rounds": times,
            "inside_share": inside,
            "first_forward_s": first_calls,
            "first_epoch_after_first_forward_share": after_first,
            "constructor_s": constructed,
        }
        print(
            f"{arch}: the first probe's forward pass (Keras's first eager call of the model) took "
            f"{1e3 * statistics.median(first_calls):.1f} ms; the rest of the callback, "
            f"{100 * statistics.median(after_first):.2f}% of the first epoch; constructing the callback (before training) "
            f"{1e3 * statistics.median(constructed):.1f} ms"
        )
        for part, pick in (("first_epoch", lambda s: s[0]), ("later_epochs", lambda s: statistics.median(s[1:]))):
            share = statistics.median(pick(s) for s in inside)
            row[f"{part}_inside_share"] = share
            print(f"{arch}, {part.replace('_', ' ')}: {100 * share:.2f}% of the epoch inside the callback")
        for part, pick in (("first_epoch", lambda s: s[0]), ("later_epochs", lambda s: statistics.median(s[1:]))):
            without = statistics.median(pick(s) for s in times["without"])
            with_ = statistics.median(pick(s) for s in times["with"])
            row[part] = {"s_without": without, "s_with": with_, "overhead": with_ / without - 1}
            print(
                f"{arch}, {part.replace('_', ' ')}: {without:.3f} s without, {with_:.3f} s with the callback: {100 * (with_ / without - 1):+.1f}%"
            )
        out[arch] = row
    return out


def one_run(arch: str, loss: str, seed: int, dataset: str = "mnist", watch_every: int | None = None) -> dict:
    """One epoch on 12,000 images; the callback's problems, and (watch_every) the lock step."""
    keras.utils.set_random_seed(seed)
    data = load_dataset(dataset)
    x, probe = np.asarray(data.x_train[:12000]), np.asarray(data.x_test[:1000])
    model = blog_conv() if arch == "conv" else dense()
    if arch == "dense":
        x, probe = x.reshape(len(x), 784), probe.reshape(len(probe), 784)
    model.compile(optimizer="adam", loss=loss)
    watch = DiagnosticsCallback(probe, print_fn=None)
    callbacks = [watch]
    fine = None
    if watch_every:
        fine = DiagnosticsCallback(probe, print_fn=None, every_steps=watch_every)
        callbacks.append(fine)
    model.fit(x, x, epochs=1, batch_size=128, verbose=0, callbacks=callbacks)
    result = {"arch": arch, "loss": loss, "seed": seed, "dataset": dataset, "problems": [p.code for p in watch.problems]}
    warned = next((p.evidence.get("step") for p in watch.problems if p.code == "dark_output"), None)
    result["warned_step"] = warned
    if fine is not None:
        locked = [locked_dark(m) for m in fine.measured]
        result["final_locked"] = locked[-1]
        # the lock: the first fine probe from which every later one is locked
        result["lock_step"] = next((m["step"] for i, m in enumerate(fine.measured) if all(locked[i:])), None)
    return result


def false_alarms(seeds: int) -> dict:
    runs = [
        one_run(arch, loss, seed)
        for arch, loss in (("conv", "binary_crossentropy"), ("dense", "binary_crossentropy"), ("dense", "mse"))
        for seed in range(seeds)
    ]
    alarms = [r for r in runs if r["problems"]]
    print(f"false alarms: {len(alarms)} of {len(runs)} healthy runs" + "".join(f"\n  {r}" for r in alarms))
    return {"runs": len(runs), "alarms": len(alarms), "alarm_runs": alarms, "all": runs}


def early_warning(seeds: int) -> dict:
    runs = [
        one_run("conv", loss, seed, dataset, watch_every=5)
        for dataset in ("mnist", "fashion_mnist")
        for loss in ("mse", "binary_crossentropy")
        for seed in range(seeds)
    ]
    tp = sum(r["warned_step"] is not None and r["final_locked"] for r in runs)
    fp = sum(r["warned_step"] is not None and not r["final_locked"] for r in runs)
    fn = sum(r["warned_step"] is None and r["final_locked"] for r in runs)
    delays = [r["warned_step"] - r["lock_step"] for r in runs if r["warned_step"] is not None and r["lock_step"] is not None]
    out = {
        "runs": len(runs),
        "locked_at_end": sum(r["final_locked"] for r in runs),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "steps_after_lock": delays,
        "all": runs,
    }
    print(f"early warning: {out['locked_at_end']} of {len(runs)} runs locked at the end; warned {tp + fp} times, {tp} rightly; "
          f"precision {out['precision']}, recall {out['recall']}; steps from the lock to the warning: {delays}")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["overhead", "false_alarms", "early_warning"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--archs", nargs="+", default=["dense", "conv"], help="the models whose overhead is measured")
    parser.add_argument("--seeds", type=int, default=8, help="seeds per healthy setting (3 settings) and per early-warning cell (4 cells)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_diagnose.json")
    args = parser.parse_args()
    result = json.loads(args.out.read_text()) if args.out.is_file() else {}  # the parts not run now are kept
    result |= {"cpu": cpu_model(), "cores": os.cpu_count(), "backend": keras.backend.backend(), "keras": keras.__version__}
    if "overhead" in args.parts:
        result["overhead"] = result.get("overhead", {}) | overhead(args.rounds, archs=tuple(args.archs))
    if "false_alarms" in args.parts:
        result["false_alarms"] = false_alarms(args.seeds)
    if "early_warning" in args.parts:
        result["early_warning"] = early_warning(args.seeds)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
