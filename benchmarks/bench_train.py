"""Benchmark: our training path against a plain Keras script of the same model, on this machine.

For each arch, plain Keras (`model.compile(optimizer, loss)` with Keras's defaults, then
`model.fit` on numpy arrays with `shuffle=True` and `validation_data`) and our path
(`autoencoders.train.loop.train`: the run folder, checkpoints, history, TensorBoard and all) run
alternately, `--rounds` times each, in this one process. The first epoch of every fit is a
warm-up (tracing, XLA compilation) and is not counted; the figure is the median of the others.
Also measured: dataset load (cold: empty cache; warm: from the cache), evaluation of one run,
and peak memory. Prints a table and writes JSON.

    python benchmarks/bench_train.py --quick                     # a couple of minutes
    python benchmarks/bench_train.py                             # full data, all archs
    python benchmarks/bench_train.py --archs dense,conv --set training.precision=mixed_bfloat16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from autoencoders import config as C  # noqa: E402
from autoencoders.models import build_model  # noqa: E402
from autoencoders.models.architectures import ARCHITECTURES  # noqa: E402
from autoencoders.models.losses import ReconstructionLoss  # noqa: E402
from autoencoders.train import loop as training  # noqa: E402
from autoencoders.train import run_folder as runs  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t)


def plain_keras(cfg: C.ExperimentConfig, data) -> tuple[list[float], float]:
    """What a user would write: build, compile with defaults, fit on numpy arrays."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(cfg.seed)
    model = build_model(cfg.model, seed=cfg.seed)
    model.compile(
        optimizer=keras.optimizers.get({"class_name": cfg.training.optimizer, "config": {"learning_rate": cfg.training.learning_rate}}),
        loss=ReconstructionLoss(cfg.loss.name, cfg.loss.reduction),
    )
    timer = EpochTimer()
    h = model.fit(  # float32 arrays, as a plain script has them
        np.asarray(data.x_train),
        np.asarray(data.t_train),
        batch_size=cfg.training.batch_size,
        epochs=cfg.training.epochs,
        shuffle=True,
        validation_data=(np.asarray(data.x_test), np.asarray(data.t_test)),
        callbacks=[timer],
        verbose=0,
    )
    return timer.seconds, h.history["val_loss"][-1]


def ours(cfg: C.ExperimentConfig, workdir: Path) -> tuple[list[float], float, Path]:
    run_dir = workdir / f"{cfg.name}-{time.monotonic_ns()}"
    training.train(cfg, run_dir, verbose=0)
    history = runs.read_history(run_dir / runs.HISTORY)
    return [r["seconds"] for r in history], history[-1]["val_loss"], run_dir


def load_times() -> dict:
    from autoencoders.data import loading as D

    out = {}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["AUTOENCODERS_DATA"] = cache
        try:
            t = time.perf_counter()
            ds = D.load_dataset("mnist")
            out["cold_seconds"], out["cold_source"] = time.perf_counter() - t, ds.source
            warm = []
            for _ in range(5):
                t = time.perf_counter()
                ds = D.load_dataset("mnist")
                warm.append(time.perf_counter() - t)
            out["warm_seconds"], out["warm_source"] = statistics.median(warm), ds.source
        finally:
            del os.environ["AUTOENCODERS_DATA"]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--archs", default=",".join(ARCHITECTURES), help="comma-separated archs (default: all)")
    p.add_argument("--quick", action="store_true", help="10,000 training images, 3 epochs, 1 round")
    p.add_argument("--epochs", type=int, help="epochs per fit, the first is warm-up (default 4, quick 3)")
    p.add_argument("--rounds", type=int, help="alternating rounds per arch (default 2, quick 1)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="config override for OUR path only")
    p.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "bench_train.json")
    args = p.parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 4)
    rounds = args.rounds or (1 if args.quick else 2)
    base = [f"training.epochs={epochs}"] + (["dataset.train_size=10000"] if args.quick else [])

    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, no GPU",
        "keras": keras.__version__,
        "command": "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]),
        "epochs_per_fit": epochs,
        "rounds": rounds,
        "archs": {},
    }
    report["data_load"] = load_times()
    print(
        f"data load: cold {report['data_load']['cold_seconds']:.2f} s ({report['data_load']['cold_source']}), "
        f"warm {report['data_load']['warm_seconds']:.3f} s",
        flush=True,
    )

    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        print(
            f"\n{'arch':16s} {'plain s/ep':>10s} {'ours s/ep':>10s} {'ratio':>6s} {'plain val':>10s} {'ours val':>10s}  xla  precision",
            flush=True,
        )
        for arch in args.archs.split(","):
            path = ROOT / "configs" / "blog" / f"{arch}.yaml"
            if not path.exists():  # today's archs (res_conv) have their config in configs/today
                path = ROOT / "configs" / "today" / f"{arch}.yaml"
            plain_cfg = C.load_config(path, base)
            our_cfg = C.load_config(path, [*base, *args.overrides])
            data = training.load_data(plain_cfg)
            plain_s, ours_s, plain_val, ours_val = [], [], [], []
            run_dir = None
            for _ in range(rounds):
                s, v = plain_keras(plain_cfg, data)
                plain_s += s[1:]
                plain_val.append(v)
                s, v, run_dir = ours(our_cfg, work)
                ours_s += s[1:]
                ours_val.append(v)
            row = {
                "plain_seconds_per_epoch": statistics.median(plain_s),
                "ours_seconds_per_epoch": statistics.median(ours_s),
                "plain_epochs_timed": plain_s,
                "ours_epochs_timed": ours_s,
                "plain_final_val_loss": float(np.mean(plain_val)),
                "ours_final_val_loss": float(np.mean(ours_val)),
                "xla": training.use_xla(our_cfg),
                "precision": our_cfg.training.precision,
                "batch_size": our_cfg.training.batch_size,
                "train_images": len(data.x_train),
            }
            row["ratio"] = row["ours_seconds_per_epoch"] / row["plain_seconds_per_epoch"]
            row["val_loss_rel_diff"] = row["ours_final_val_loss"] / row["plain_final_val_loss"] - 1
            if arch == "dense":
                from autoencoders.evaluate.evaluation import evaluate_run, load_run

                # afresh (reload, reconstruct, every metric), not the evaluation training stored
                evaluate_run(load_run(run_dir), use_stored=False)  # warm-up: imports, data, the metrics' compiled functions
                t = time.perf_counter()
                evaluate_run(load_run(run_dir), use_stored=False)
                report["evaluate_dense_run_seconds"] = time.perf_counter() - t
            report["archs"][arch] = row
            print(
                f"{arch:16s} {row['plain_seconds_per_epoch']:10.3f} {row['ours_seconds_per_epoch']:10.3f} {row['ratio']:6.2f} "
                f"{row['plain_final_val_loss']:10.4f} {row['ours_final_val_loss']:10.4f}  {str(row['xla']):5s} {row['precision']}",
                flush=True,
            )

    report["peak_memory_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if "evaluate_dense_run_seconds" in report:
        print(f"\nevaluate one dense run (10,000 test images, all metrics): {report['evaluate_dense_run_seconds']:.2f} s")
    print(f"peak memory: {report['peak_memory_mib']:.0f} MiB")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
