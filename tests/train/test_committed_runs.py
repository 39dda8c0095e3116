"""The committed blog runs, retrained today, are the same bits: the built-in datasets are held as
bytes and scaled a batch at a time (in the one-program loop, divided by 255 handed to it as an
argument), and x / 255 in float32 is the same number computed once or per batch (docs/data.md).
The comparison is `benchmarks/check_committed_runs.py`'s, run as a user runs it."""

import subprocess
import sys

import pytest

from autoencoders.config import load_config
from autoencoders.data.mapped import is_mapped
from autoencoders.train import loop as training

from conftest import ROOT

# dense on Fashion-MNIST and the VAE (its sampling too) on MNIST: both train in the one-program XLA
# loop here (`xla_loop.worthwhile`: TensorFlow, CPU, XLA on for them, many steps per call)
RUNS = [ROOT / "results/blog/runs" / name for name in ("blog-dense-fashion_mnist-mse-s0", "blog-vae-mnist-bce-s0")]


@pytest.mark.slow
def test_committed_blog_runs_retrained_on_images_held_as_bytes_have_their_committed_history():
    for run in RUNS:
        data = training.load_data(load_config(run / "config.yaml"))
        assert is_mapped(data.x_train) and data.x_train.raw.dtype.name == "uint8"
    check = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/check_committed_runs.py"), "2", *map(str, RUNS)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.splitlines() == [f"{run.name} same bits" for run in RUNS]
