"""Peak memory and seconds per epoch on a dataset larger than memory (issue 34).

    python scripts/make_large_patches.py --out data/large_patches.npz
    python benchmarks/bench_large_data.py --data data/large_patches.npz --json benchmarks/results/bench_large_data.json

Each case is `train.py` in its own process, sampled every 0.2 s from /proc: the peak of its
resident memory (VmHWM) and of its anonymous part (RssAnon, the memory it cannot give back;
the rest of the resident pages are the memory-mapped file's, which the kernel drops under
pressure). Cases:
- `first read`: loading the npz the first time, which writes the memory-mapped cache;
- `dense` and `conv`, one epoch each on the whole large set, read from the map (the conv model
  on `--conv-train-size` images when given: on 2 CPU cores a full conv epoch takes long);
- `mapped vs loaded`: the dense model for `--epochs` epochs on a subset small enough to load
  (`--subset-stride`), from memory as float32 (the subset saved as a float npz), from memory as
  bytes (the uint8 npz) and mapped (the uint8 npz, the memory budget set low), the page cache
  warm: the median of the epochs after the first.
Nothing else should run meanwhile (the machine's cores are shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

SAMPLE_S = 0.2


def memory_of(pid: int) -> dict[str, int]:
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    return fields


def run(command: list[str], env: dict[str, str]) -> dict:
    """Run `command`, sampling its memory; its wall time and peaks."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = {"VmHWM": 0, "RssAnon": 0, "RssFile": 0}
    while process.poll() is None:
        for key, value in memory_of(process.pid).items():
            peak[key] = max(peak[key], value)
        time.sleep(SAMPLE_S)
    output = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{output[-3000:]}")
    return {"seconds": time.perf_counter() - start, "peak_rss_gb": peak["VmHWM"] / 1e9, "peak_anon_gb": peak["RssAnon"] / 1e9}


def epochs_of(run_dir: Path) -> list[float]:
    from autoencoders.train import run_folder as runs

    return [row["seconds"] for row in runs.read_history(run_dir / runs.HISTORY)]


def train(arch: str, data: Path, out: Path, env: dict[str, str], epochs: int, *extra: str) -> dict:
    command = [
        sys.executable,
        "train.py",
        "--config",
        f"configs/blog/{arch}.yaml",
        "--set",
        "dataset.name=npz",
        "--set",
        f"dataset.path={data}",
        "--set",
        f"training.epochs={epochs}",
        "--set",
        "training.eval_batch_size=256",
        "--set",
        "training.store_evaluation=false",
        *extra,
        "--out",
        str(out),
    ]
    measured = run(command, env)
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    measured["epoch_seconds"] = epochs_of(run_dir)
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the large npz (scripts/make_large_patches.py)")
    parser.add_argument("--conv-train-size", type=int, default=None, help="train the conv model on this many images")
    parser.add_argument("--subset-stride", type=int, default=16, help="grid of the subset for mapped against loaded")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the mapped-against-loaded runs")
    parser.add_argument("--skip", default="", help="comma-separated cases to skip: first_read,dense,conv,compare")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    results: dict = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores", "data": str(args.data)}
    with tempfile.TemporaryDirectory(prefix="bench-large-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "AUTOENCODERS_DATA": str(tmp / "cache")}
        if "first_read" not in skip:
            load = [
                sys.executable,
                "-c",
                f"from autoencoders.config import DatasetConfig; from autoencoders.data.loading import load_dataset; "
                f"load_dataset(DatasetConfig(name='npz', path={str(args.data)!r}))",
            ]
            results["first_read"] = run(load, env)
            print("first read (writes the mapped cache):", results["first_read"], flush=True)
        for arch in ("dense", "conv"):
            if arch in skip:
                continue
            extra = ("--set", f"dataset.train_size={args.conv_train_size}") if arch == "conv" and args.conv_train_size else ()
            results[arch] = train(arch, args.data, tmp / arch, env, 1, *extra)
            results[arch]["train_size"] = args.conv_train_size if extra else "all"
            print(f"{arch}, mapped:", results[arch], flush=True)
        if "compare" not in skip:
            import make_large_patches as large

            subset = tmp / "subset.npz"
            large.main(["--out", str(subset), "--stride", str(args.subset_stride)])
            floats = tmp / "subset_float32.npz"
            with np.load(subset) as npz:
                np.savez(floats, **{key: npz[key] / np.float32(255) if key.startswith("x_") else npz[key] for key in npz.files})
            compare = {}
            for mode, data, budget in (
                ("floats", floats, {}),
                ("bytes", subset, {}),
                ("mapped", subset, {"AUTOENCODERS_MEMORY_BYTES": "1000000"}),
            ):
                measured = train("dense", data, tmp / f"compare-{mode}", {**env, **budget}, args.epochs)
                measured["warm_epoch_median"] = statistics.median(measured["epoch_seconds"][1:])
                compare[mode] = measured
                print(f"subset, dense, {mode}:", measured, flush=True)
            for mode in ("floats", "bytes"):
                compare[f"mapped_over_{mode}"] = compare["mapped"]["warm_epoch_median"] / compare[mode]["warm_epoch_median"]
                print(f"mapped / {mode} in memory, warm epochs:", round(compare[f"mapped_over_{mode}"], 3))
            results["compare"] = compare
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
