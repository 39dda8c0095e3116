"""`output_spread`: what a run records of how much its outputs vary across images (0: one output
for every input, the failure the all-dark rule misses when that output is not dark)."""

from types import SimpleNamespace

import numpy as np
import pytest

from autoencoders.train import loop
from autoencoders.train import run_folder as runs
from autoencoders.train.loop import output_spread


class Reconstructs:
    def __init__(self, fn):
        self.fn = fn

    def reconstruct(self, x, batch_size=2048):
        return self.fn(np.asarray(x, np.float32))


def data(n: int = 3000) -> SimpleNamespace:
    rng = np.random.default_rng(0)
    images = rng.random((n, 4, 4, 1), dtype=np.float32)
    return SimpleNamespace(x_test=images, t_test=images)


def test_an_identity_model_varies_as_the_images_do_and_a_constant_one_not_at_all():
    assert output_spread(Reconstructs(lambda x: x), data()) == pytest.approx(1.0)
    assert output_spread(Reconstructs(lambda x: np.full_like(x, 0.3)), data()) == 0.0
    # half the contrast around the same mean: half the spread (the standard deviation scales)
    assert output_spread(Reconstructs(lambda x: 0.25 + 0.5 * x), data()) == pytest.approx(0.5)


def test_only_the_first_2000_test_images_are_measured():
    seen = []
    output_spread(Reconstructs(lambda x: seen.append(len(x)) or x), data(3000))
    output_spread(Reconstructs(lambda x: seen.append(len(x)) or x), data(500))
    assert seen == [2000, 500]


def test_large_images_are_measured_on_at_most_64_mb_of_them():
    seen = []
    images = np.zeros((2000, 128, 128, 3), np.uint8)  # 196,608 bytes an image as float32
    output_spread(Reconstructs(lambda x: seen.append(len(x)) or x), SimpleNamespace(x_test=images, t_test=images))
    assert seen == [(64 << 20) // (4 * 128 * 128 * 3)] == [341]


def test_a_failing_measure_costs_the_finished_run_nothing(tmp_path, tiny_config, monkeypatch, caplog):
    def fails(*args):
        raise RuntimeError("out of memory on the device")

    monkeypatch.setattr(loop, "output_spread", fails)
    cfg = tiny_config("configs/blog/dense.yaml")
    result = loop.train(cfg, tmp_path / cfg.name, verbose=0)
    metrics = runs.read_json(result.run_dir / runs.METRICS)
    assert metrics["status"] == "completed" and "output_spread" not in metrics
    assert (result.run_dir / runs.MODEL).exists()
    assert "output_spread not measured (RuntimeError: out of memory on the device)" in caplog.text
