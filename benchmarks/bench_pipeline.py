"""Benchmark: tf.data's autotuning against our fixed prefetch (`autoencoders/train/speed/pipeline.py`).

With autotuning on, deleting a `tf.data` iterator waits for the autotuning thread's next round,
and the rounds grow further apart the longer the iterator lived: `fit` returns late after its last
epoch, and every `predict` on numpy arrays (Keras's own pipeline) ends late. This trains each
arch's blog config for `--epochs` epochs in this process, alternating the two pipelines over
`--rounds` rounds (autotuning on: our pipelines with `prefetch(AUTOTUNE)` and numpy arrays handed
to Keras, as before), and prints per run:
- epochs: the sum of the epochs' own seconds (train steps, validation, checkpoint);
- fit's tail: `fit`'s wall time minus its epochs (the wait after the last epoch);
- reconstruct: one reconstruction of the 10,000 test images (what every evaluation does);
- same: whether the run's history and test metrics equal the other pipeline's (they must).
Nothing else may run on the machine.

    python benchmarks/bench_pipeline.py                                    # dense and denoising_conv, 1 epoch, 2 rounds
    python benchmarks/bench_pipeline.py --archs conv --epochs 2 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402

from autoencoders import config as C  # noqa: E402
from autoencoders.models import base  # noqa: E402
from autoencoders.train import device  # noqa: E402
from autoencoders.train import loop as training  # noqa: E402
from autoencoders.train import run_folder as runs  # noqa: E402
from autoencoders.train.speed import pipeline  # noqa: E402

FIXED = pipeline.without_autotune


def autotuned(dataset):
    """The pipeline as it was: prefetch(AUTOTUNE), autotuning on."""
    import tensorflow as tf

    return dataset.prefetch(tf.data.AUTOTUNE)


def arrays_as_given(arrays, batch_size):
    """numpy arrays straight to Keras, which wraps them in its own autotuned pipeline."""
    return arrays


def use(mode: str) -> None:
    """Point every caller at one pipeline (the modules hold their own references)."""
    fixed = mode == "fixed"
    training.without_autotune = FIXED if fixed else autotuned
    in_batches = pipeline.in_batches if fixed else arrays_as_given
    training.in_batches = in_batches
    base.in_batches = in_batches


def one_run(arch: str, epochs: int, out: Path, mode: str) -> dict:
    use(mode)
    cfg = C.load_config(ROOT / "configs" / "blog" / f"{arch}.yaml", [f"training.epochs={epochs}", f"name={arch}-{mode}"])
    result = training.train(cfg, out / f"{arch}-{mode}", verbose=0)
    history = runs.read_history(result.run_dir / runs.HISTORY)
    epochs_s = sum(row["seconds"] for row in history)
    data = training.load_data(cfg)
    model = keras.saving.load_model(result.run_dir / runs.MODEL)
    model.reconstruct(data.x_test, cfg.training.eval_batch_size)  # traces the predict functions
    start = time.perf_counter()
    model.reconstruct(data.x_test, cfg.training.eval_batch_size)
    reconstruct_s = time.perf_counter() - start
    return {
        "arch": arch,
        "pipeline": mode,
        "epochs_s": epochs_s,
        "fit_tail_s": result.metrics["wall_seconds_this_session"] - epochs_s,
        "reconstruct_s": reconstruct_s,
        "history": [{k: v for k, v in row.items() if k != "seconds"} for row in history],
        "test": result.metrics["test"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", default="dense,denoising_conv", help="comma-separated archs (blog configs)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/bench_pipeline.json")
    args = p.parse_args()

    result = {"device": device.cpu_model(), "cores": device.usable_cores(), "runs": []}
    print(f"{'arch':16s} {'pipeline':10s} {'epochs s':>8s} {'fit tail s':>10s} {'reconstruct s':>13s} same")
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for arch in filter(None, args.archs.split(",")):
                modes = ("autotuned", "fixed") if round_ % 2 == 0 else ("fixed", "autotuned")  # alternate which goes first
                pair = sorted((one_run(arch, args.epochs, Path(tmp) / f"r{round_}", mode) for mode in modes), key=lambda r: r["pipeline"])
                same = pair[0]["history"] == pair[1]["history"] and pair[0]["test"] == pair[1]["test"]
                for row in pair:
                    row["same_as_other"] = same
                    result["runs"].append(row)
                    print(
                        f"{arch:16s} {row['pipeline']:10s} {row['epochs_s']:8.1f} {row['fit_tail_s']:10.2f} {row['reconstruct_s']:13.2f} {same}"
                    )
    for arch in filter(None, args.archs.split(",")):
        for mode in ("autotuned", "fixed"):
            rows = [r for r in result["runs"] if r["arch"] == arch and r["pipeline"] == mode]
            print(
                f"median {arch} {mode}: fit tail {statistics.median(r['fit_tail_s'] for r in rows):.2f} s, "
                f"reconstruct {statistics.median(r['reconstruct_s'] for r in rows):.2f} s"
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
