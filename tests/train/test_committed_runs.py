"""The committed blog runs, retrained today, are the same bits: the built-in datasets are held as
bytes and scaled a batch at a time (in the one-program loop, divided by 255 handed to it as an
argument), and x / 255 in float32 is the same number computed once or per batch (docs/data.md)."""

import csv
from pathlib import Path

import pytest

from autoencoders.config import load_config
from autoencoders.data.mapped import is_mapped
from autoencoders.train import loop as training

from conftest import ROOT

EPOCHS = 2


def first_epochs(history: Path) -> list[dict]:
    with history.open() as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in list(csv.DictReader(f))[:EPOCHS]]


# dense on Fashion-MNIST and the VAE (its sampling too) on MNIST: both train in the one-program XLA
# loop here (`xla_loop.worthwhile`: TensorFlow, CPU, XLA on for them, many steps per call)
@pytest.mark.parametrize("run", ["blog-dense-fashion_mnist-mse-s0", "blog-vae-mnist-bce-s0"])
def test_a_committed_blog_run_retrained_on_images_held_as_bytes_has_its_committed_history(tmp_path, run):
    committed = ROOT / "results/blog/runs" / run
    cfg = load_config(committed / "config.yaml", [f"training.epochs={EPOCHS}", "training.store_evaluation=false"])
    data = training.load_data(cfg)
    assert is_mapped(data.x_train) and data.x_train.raw.dtype.name == "uint8"
    result = training.train(cfg, tmp_path / run, verbose=0)
    assert first_epochs(result.run_dir / "history.csv") == first_epochs(committed / "history.csv")
