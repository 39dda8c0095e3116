"""Benchmark: per-image SSIM of the full MNIST test set, `tf.image.ssim` run eagerly against the
XLA-compiled function every evaluation now uses (`autoencoders/evaluate/evaluation.py`, `ssim`).

The reconstructions stand in as the test images plus Gaussian noise (sd 0.1, clipped to [0, 1]),
so no model is needed. Prints the seconds of each (the compiled one's first call includes its
compilation), the largest difference between the two over all rounds, and writes them to --json. Nothing else
may run on the machine.

    python benchmarks/bench_ssim.py
    python benchmarks/bench_ssim.py --rounds 3 --json benchmarks/results/bench_ssim.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from autoencoders.data.loading import load_dataset
    from autoencoders.evaluate.evaluation import ssim

    images = np.asarray(load_dataset("mnist").x_test)
    noisy = np.clip(images + np.float32(0.1) * np.random.default_rng(0).standard_normal(images.shape, dtype=np.float32), 0, 1)

    def eager() -> np.ndarray:
        return np.concatenate(
            [tf.image.ssim(images[i : i + 2048], noisy[i : i + 2048], max_val=1.0).numpy() for i in range(0, len(images), 2048)]
        )

    figures: dict[str, list[float]] = {"compiled_s": [], "eager_s": []}
    difference = 0.0
    for _ in range(args.rounds):
        for name, function in (("compiled_s", lambda: ssim(images, noisy)), ("eager_s", eager)):
            start = time.perf_counter()
            function()
            figures[name].append(round(time.perf_counter() - start, 3))
        difference = max(difference, float(np.abs(ssim(images, noisy) - eager()).max()))
    report = {
        "images": len(images),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "tensorflow": tf.__version__,
        **figures,
        "max_abs_difference": difference,
    }
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
