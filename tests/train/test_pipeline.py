"""The input pipelines of `autoencoders.train.speed.pipeline`: autotuning off (its thread made `fit` and
`predict` wait after their last batch; the time is measured in benchmarks/bench_pipeline.py),
the same batches in the same order, and the same predictions as Keras's own numpy path."""

import keras
import numpy as np
import pytest

from autoencoders import config as C
from autoencoders.models import build_model
from autoencoders.train import loop as training
from autoencoders.train.speed import pipeline

from conftest import ROOT, TINY

tf = pytest.importorskip("tensorflow")


def test_batches_for_predict_and_validation_come_in_order_with_autotuning_off():
    x = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
    t = x[::-1].copy()
    batches = pipeline.in_batches((x, t), 4)
    assert batches.options().autotune.enabled is False
    got = list(batches.as_numpy_iterator())
    assert [len(bx) for bx, _ in got] == [4, 4, 2]  # the last batch is the remainder, nothing dropped
    assert np.array_equal(np.concatenate([bx for bx, _ in got]), x) and np.array_equal(np.concatenate([bt for _, bt in got]), t)


def test_the_training_batches_have_autotuning_off_and_cover_each_epoch_once():
    x = np.arange(12, dtype=np.float32).reshape(12, 1)
    batches = training.epoch_batches(x, x, 5, seed=3, first_epoch=0, epochs=2)
    assert batches.options().autotune.enabled is False
    seen = np.concatenate([bx for bx, _ in batches.as_numpy_iterator()]).ravel()
    assert sorted(seen[:12]) == sorted(seen[12:]) == list(range(12)) and not np.array_equal(seen[:12], seen[12:])


def test_evaluate_gets_images_and_targets_as_x_and_y_on_every_backend(monkeypatch):
    x, t = np.zeros((3, 2), np.float32), np.ones((3, 2), np.float32)
    batches, targets = pipeline.evaluate_arguments(x, t, 2)
    assert targets is None and [(len(bx), len(bt)) for bx, bt in batches.as_numpy_iterator()] == [(2, 2), (1, 1)]  # (image, target) pairs
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert pipeline.in_batches(x, 2) is x  # Keras batches arrays itself there
    inputs, targets = pipeline.evaluate_arguments(x, t, 2)
    assert inputs is x and targets is t  # not the tuple as x, which Keras would read as two inputs


@pytest.mark.parametrize("arch", ["dense", "conv", "vae"])
def test_reconstructions_through_the_pipeline_are_the_bits_of_kerass_numpy_path(arch):
    cfg = C.load_config(ROOT / "configs" / "blog" / f"{arch}.yaml", TINY)
    data = training.load_data(cfg)
    model = build_model(cfg.model, seed=0)
    ours = model.reconstruct(data.x_test, 48)  # 128 images: two full batches and a remainder
    codes = model.encoder.predict(data.x_test, batch_size=48, verbose=0)
    codes = codes[0] if isinstance(codes, list) else codes  # a VAE's posterior mean
    kerass = model.decoder.predict(codes, batch_size=48, verbose=0)
    assert ours.shape == data.t_test.shape and np.array_equal(ours, np.asarray(kerass, np.float32))
    assert np.array_equal(model.reconstruct(np.asarray(data.x_test, np.float64), 48), ours)  # float64 in: cast as Keras would
