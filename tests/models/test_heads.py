"""Output heads (`model.output`): every arch with the linear head and each of its losses in the
study trains an epoch on real MNIST; a linear head's raw output is clipped to [0, 1] for every metric; the config
refuses a loss the head does not take."""

import math

import keras
import numpy as np
import pytest

from autoencoders import config as C
from autoencoders.config import ConfigError, ModelConfig
from autoencoders.models import build_model
from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.models.heads import HEADS
from autoencoders.train import loop as training
from autoencoders.train import run_folder as runs

from conftest import ROOT, TINY

#: the linear (head, loss) pairs of the study's outcome table (issue 33); its sigmoid pairs, BCE and
#: MSE, train for an epoch with every arch in tests/train/test_training.py
#: (test_every_arch_and_loss_trains_on_colour_patches_and_on_a_non_square_npz)
STUDY_PAIRS = [("linear", "mse"), ("linear", "mae")]


def last_activation(decoder: keras.Model) -> str:
    return [layer.get_config()["activation"] for layer in decoder.layers if "activation" in layer.get_config()][-1]


@pytest.mark.slow
@pytest.mark.parametrize(("head", "loss"), STUDY_PAIRS, ids=lambda v: v)
@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_every_arch_trains_an_epoch_with_the_linear_head_and_each_loss_of_the_study(tmp_path, tiny_config, arch, head, loss):
    cfg = tiny_config("configs/blog/conv.yaml", f"model.arch={arch}", f"model.output={head}", f"loss.name={loss}")
    run = training.train(cfg, tmp_path / cfg.name, verbose=0).run_dir
    (row,) = runs.read_history(run / runs.HISTORY)
    assert all(math.isfinite(row[key]) for key in ("loss", "val_loss", "val_pixel_mse", "val_pixel_bce"))
    metrics = runs.read_json(run / runs.METRICS)
    assert metrics["status"] == "completed"

    model = keras.saving.load_model(run / runs.MODEL)
    assert last_activation(model.decoder) == HEADS[head].activation
    assert model.clip_to_data_range == (head == "linear")
    data = training.load_data(cfg)
    recon = model.reconstruct(data.x_test)
    assert recon.min() >= 0 and recon.max() <= 1
    assert float(np.mean((recon - data.t_test) ** 2)) == pytest.approx(metrics["test"]["mse"], rel=1e-4)


def test_a_linear_head_gives_raw_outputs_and_reconstruct_clips_them_to_the_data_range(tmp_path):
    model = build_model(ModelConfig(arch="dense", output="linear", input_shape=(28, 28, 1)))
    x = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
    raw = keras.ops.convert_to_numpy(model(x))
    assert raw.min() < 0  # a linear layer's output is not confined to [0, 1]
    np.testing.assert_array_equal(model.reconstruct(x), np.minimum(np.maximum(raw, 0), 1))
    model.save(tmp_path / "linear.keras")
    assert keras.saving.load_model(tmp_path / "linear.keras").clip_to_data_range
    sigmoid = build_model(ModelConfig(arch="dense", input_shape=(28, 28, 1)))
    assert not sigmoid.clip_to_data_range and last_activation(sigmoid.decoder) == "sigmoid"


def test_a_linear_runs_metrics_are_those_of_its_clipped_output(tmp_path, tiny_config):
    """Its training loss (MSE of the raw output) can only exceed the MSE of the clipped output
    that its curves and test metrics report, since clipping moves every pixel towards [0, 1]."""
    cfg = tiny_config("configs/blog/dense.yaml", "model.output=linear", "loss.name=mse", "training.epochs=2")
    run = training.train(cfg, tmp_path / cfg.name, verbose=0).run_dir
    history = runs.read_history(run / runs.HISTORY)
    assert all(row["val_loss"] >= row["val_pixel_mse"] for row in history)
    model = keras.saving.load_model(run / runs.MODEL)
    data = training.load_data(cfg)
    raw = keras.ops.convert_to_numpy(model(data.x_test))
    clipped_mse = float(np.mean((np.minimum(np.maximum(raw, 0), 1) - data.t_test) ** 2))
    assert runs.read_json(run / runs.METRICS)["test"]["mse"] == pytest.approx(clipped_mse, rel=1e-4)
    assert history[-1]["val_pixel_mse"] == pytest.approx(clipped_mse, rel=1e-4)


def test_the_linear_head_trains_with_the_gaussian_loss_it_takes(tmp_path, tiny_config):
    cfg = tiny_config("configs/blog/vae.yaml", "model.output=linear", "loss.name=gaussian")
    run = training.train(cfg, tmp_path / cfg.name, verbose=0).run_dir
    (row,) = runs.read_history(run / runs.HISTORY)
    assert math.isfinite(row["loss"]) and math.isfinite(row["val_pixel_mse"])
    recon = keras.saving.load_model(run / runs.MODEL).reconstruct(training.load_data(cfg).x_test)
    assert recon.min() >= 0 and recon.max() <= 1


@pytest.mark.parametrize("loss", ["bce", "continuous_bernoulli"])
def test_the_linear_head_refuses_a_loss_for_probabilities_naming_both_keys(loss):
    with pytest.raises(ConfigError) as refused:
        C.load_config(ROOT / "configs/today/res_conv.yaml", [f"loss.name={loss}"])
    message = str(refused.value)
    assert f"loss.name = '{loss}'" in message and "linear output head takes mse, mae or gaussian" in message
    assert ("set model.output to sigmoid" in message) == (loss == "bce")


def test_an_unknown_head_and_the_probe_on_a_linear_head_are_refused():
    with pytest.raises(ConfigError, match=r"model.output = 'tanh': must be one of 'sigmoid', 'linear'"):
        C.load_config(ROOT / "configs/blog/dense.yaml", ["model.output=tanh"])
    with pytest.raises(ConfigError, match=r"training.callbacks = \['probe_gradients'\]: probe_gradients works with model.output sigmoid"):
        C.load_config(ROOT / "configs/today/res_conv.yaml", ["training.callbacks=[probe_gradients]"])


def test_every_config_without_a_head_keeps_the_blogs_sigmoid():
    assert C.load_config(ROOT / "configs/blog/conv.yaml", TINY).model.output == "sigmoid"
    assert set(HEADS["sigmoid"].losses) == set(C.LOSSES)  # the blog's head takes every loss
    assert set(HEADS["linear"].losses) < set(C.LOSSES)
