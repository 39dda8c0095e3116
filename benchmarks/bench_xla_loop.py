"""Benchmark: Keras's own train loop against a chunk of steps as one XLA program (`autoencoders/train/speed/xla_loop.py`).

For each arch whose step XLA compiles on CPU, trains its blog config on full MNIST for
`--epochs` epochs in this process, both ways, alternating which goes first over `--rounds`
rounds, at `--threads` TensorFlow threads (1: as each of `make study`'s two jobs), and prints per
way: the first epoch (tracing and XLA compilation included), the median of the later epochs, the
same per step, and whether the two ways trained the same bits (weights and Adam's state; they
must). Epochs are timed by a callback, without validation. Nothing else may run on the machine.
With `--floats` the two ways are both our training path, for any arch (the one-program loop
where it is used, else Keras's loop on our pipeline): on MNIST held as bytes, as training holds it
and scales it a batch at a time (issue 34), and on the same images as float32 arrays.

    python benchmarks/bench_xla_loop.py                                   # dense, deep_dense, sparse_dense, vae; 4 epochs, 2 rounds
    python benchmarks/bench_xla_loop.py --archs dense --epochs 3 --rounds 1
    python benchmarks/bench_xla_loop.py --floats --archs dense,vae,conv --epochs 3 --json benchmarks/results/bench_xla_loop_bytes.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_way(arch: str, epochs: int, ours: bool, floats: bool = False, any_loop: bool = False) -> dict:
    """`arch` trained from its seed's start on its batches, by our loop or Keras's (our loop on float32
    arrays instead of the bytes, with `floats`): times and final state."""
    import numpy as np
    from bench_train import EpochTimer  # imports Keras: only once main() has set the threads

    from autoencoders import config as C
    from autoencoders.train import loop as training
    from autoencoders.train.speed import xla_loop

    cfg = C.load_config(ROOT / "configs" / "blog" / f"{arch}.yaml", [f"training.epochs={epochs}", "training.jit_compile=auto"])
    data = training.load_data(cfg)
    x = np.asarray(data.x_train) if floats else data.x_train
    t = x if data.t_train is data.x_train else np.asarray(data.t_train) if floats else data.t_train
    steps = math.ceil(len(data.x_train) / cfg.training.batch_size)
    model = training.compile_model(cfg, steps)
    if not any_loop and not isinstance(model.train_function, xla_loop.StepsInOneCall):
        print(
            f"bench_xla_loop.py: {arch}: the one-program loop is not used here (Keras backend, GPU, XLA off or one step per call); "
            "nothing to compare",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if not ours:
        model.train_function = None  # fit makes Keras's own
    batches = (
        training.training_batches(model, x, t, cfg.training.batch_size, cfg.seed, 0, epochs)
        if ours
        else training.epoch_batches(x, t, cfg.training.batch_size, cfg.seed, 0, epochs)
    )
    timer = EpochTimer()
    model.fit(batches, epochs=epochs, steps_per_epoch=steps, shuffle=False, callbacks=[timer], verbose=0)
    later = statistics.median(timer.seconds[1:])
    return {
        "arch": arch,
        "loop": ("ours, float32" if floats else "ours, bytes") if ours else "Keras's",
        "steps_per_epoch": steps,
        "steps_per_call": model.steps_per_execution,
        "first_epoch_s": timer.seconds[0],
        "later_epoch_s": later,
        "ms_per_step": 1000 * later / steps,
        "state": [np.asarray(w) for w in model.get_weights()] + [v.numpy() for v in model.optimizer.variables],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", default="dense,deep_dense,sparse_dense,vae", help="comma-separated archs (blog configs)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--floats", action="store_true", help="compare the one-program loop on bytes with it on float32 arrays")
    p.add_argument("--threads", type=int, default=1, help="TensorFlow intra- and inter-op threads (default 1, as a make study job)")
    p.add_argument(
        "--json", default=str(ROOT / "benchmarks/results/bench_xla_loop.json"), help="where to write the figures ('' for nowhere)"
    )
    args = p.parse_args()
    from autoencoders.models.architectures import ARCHITECTURES

    looped = sorted(
        arch
        for arch, spec in ARCHITECTURES.items()
        if (spec.xla_on_cpu or args.floats) and (ROOT / "configs" / "blog" / f"{arch}.yaml").is_file()
    )
    if unknown := [arch for arch in filter(None, args.archs.split(",")) if arch not in looped]:
        what = "no blog config" if args.floats else "no blog config whose step XLA compiles on CPU"
        p.error(f"--archs: {', '.join(unknown)} has {what}; allowed: {', '.join(looped)}")
    if args.epochs < 2:
        p.error("--epochs must be at least 2: the first epoch compiles")
    if args.rounds < 1 or args.threads < 1:
        p.error("--rounds and --threads must be at least 1")
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(args.threads)
    import numpy as np

    from autoencoders.train import device

    result = {"device": device.cpu_model(), "cores": device.usable_cores(), "threads": args.threads, "epochs": args.epochs, "runs": []}
    # the two ways: (ours, floats) of the first, the reference, and of the second
    ways = ((True, True, True), (True, False, True)) if args.floats else ((False, False, False), (True, False, False))
    print(f"{'arch':13s} {'loop':25s} {'1st epoch s':>11s} {'later epoch s':>13s} {'ms/step':>8s} same bits")
    for round_ in range(args.rounds):
        for arch in filter(None, args.archs.split(",")):
            order = ways if round_ % 2 == 0 else ways[::-1]  # alternate which goes first
            pair = {way: one_way(arch, args.epochs, *way) for way in order}
            same = all(np.array_equal(a, b) for a, b in zip(pair[ways[0]].pop("state"), pair[ways[1]].pop("state"), strict=True))
            for way in ways:
                row = {**pair[way], "round": round_, "same_bits": same}
                result["runs"].append(row)
                print(
                    f"{arch:13s} {row['loop']:25s} {row['first_epoch_s']:11.2f} {row['later_epoch_s']:13.3f} {row['ms_per_step']:8.2f} {same}"
                )
    print()
    for arch in filter(None, args.archs.split(",")):
        loops = ("ours, float32", "ours, bytes") if args.floats else ("Keras's", "ours, bytes")
        rows = {loop: [r for r in result["runs"] if r["arch"] == arch and r["loop"] == loop] for loop in loops}
        first_ms, second_ms = (statistics.median(r["ms_per_step"] for r in rows[loop]) for loop in loops)
        print(f"median {arch}: {loops[0]} {first_ms:.2f} -> {loops[1]} {second_ms:.2f} ms per step ({second_ms / first_ms:.2f}x)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
