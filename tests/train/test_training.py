"""Real training on tiny subsets of real MNIST: every shipped config with both losses, determinism,
kill-and-resume, NaN handling."""

import math
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from autoencoders import config as C
from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.train import loop as training
from autoencoders.train import run_folder as runs

from conftest import ROOT, SHIPPED_CONFIGS, TINY, XLA_AS_SHIPPED


def _history_without_time(run_dir):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in runs.read_history(run_dir / runs.HISTORY)]


def two_losses(path) -> tuple[str, str]:
    """The two losses each shipped config is trained with: BCE and MSE for the sigmoid head, the
    linear head's MSE and MAE (it refuses BCE: autoencoders.models.heads)."""
    return ("bce", "mse") if C.load_config(path).model.output == "sigmoid" else ("mse", "mae")


@pytest.mark.parametrize(
    ("path", "loss"), [(path, loss) for path in SHIPPED_CONFIGS for loss in two_losses(path)], ids=lambda v: getattr(v, "stem", v)
)
def test_every_shipped_config_trains_with_each_loss_into_a_complete_reloadable_run(tmp_path, tiny_config, path, loss):
    cfg = tiny_config(path.relative_to(ROOT), f"loss.name={loss}", XLA_AS_SHIPPED)  # each arch's own XLA choice
    result = training.train(cfg, tmp_path / cfg.name, verbose=0)
    run = result.run_dir

    assert C.load_config(run / runs.CONFIG) == cfg  # the saved config reproduces the run
    (row,) = runs.read_history(run / runs.HISTORY)
    for key in ("loss", "val_loss", "val_pixel_mse", "val_pixel_bce", "pixel_mse", "pixel_bce", "seconds"):
        assert math.isfinite(row[key]), key
    if cfg.model.arch in {"vae", "conv_vae"}:
        assert {"kl", "reconstruction", "val_kl", "val_reconstruction"} <= row.keys()
        assert row["val_loss"] == pytest.approx(row["val_reconstruction"] + row["val_kl"], rel=1e-3)
    elif cfg.model.output != "sigmoid":  # the common-scale metrics see the clipped output, the loss the raw one
        assert loss == "mae" or row["val_loss"] >= row["val_pixel_mse"]
    else:  # the training loss is one of the two common-scale metrics
        assert row["val_loss"] == pytest.approx(row[f"val_pixel_{loss}"], rel=1e-4 if cfg.model.arch != "sparse_dense" else 0.5)

    metrics = runs.read_json(run / runs.METRICS)
    assert metrics["status"] == "completed" and metrics["epochs"] == 1
    assert set(metrics["test"]) >= {"mse", "mae", "psnr", "bce", "bce_excess"}
    if cfg.model.arch in {"vae", "conv_vae"}:  # validation samples z; test metrics decode the posterior mean
        assert metrics["test"]["vae_kl"] > 0 and metrics["test"]["vae_reconstruction"] > 0
    else:
        assert metrics["test"]["mse"] == pytest.approx(row["val_pixel_mse"], rel=1e-3)

    model = keras.saving.load_model(run / runs.MODEL)
    data = training.load_data(cfg)
    recon = model.reconstruct(data.x_test)
    assert recon.shape == data.t_test.shape
    assert float(np.mean((recon - data.t_test) ** 2)) == pytest.approx(metrics["test"]["mse"], rel=1e-4)
    # how much the outputs vary across the first 2,000 test images over how much the images do
    first = slice(0, 2000)
    column_sd = lambda images: np.mean(np.std(np.asarray(images[first], np.float64), axis=0))  # noqa: E731
    assert metrics["output_spread"] == pytest.approx(column_sd(recon) / column_sd(data.t_test), rel=1e-4)
    assert (run / runs.CHECKPOINTS / runs.STATE).exists()
    assert any((run / runs.TENSORBOARD).rglob("events.out.tfevents.*"))


@pytest.mark.parametrize("path", ["configs/blog/dense.yaml", "configs/blog/conv.yaml"])
def test_same_config_and_seed_give_the_same_history(tmp_path, tiny_config, path):
    cfg = tiny_config(path, "training.epochs=2")
    training.train(cfg, tmp_path / "a", verbose=0)
    training.train(cfg, tmp_path / "b", verbose=0)
    a, b = _history_without_time(tmp_path / "a"), _history_without_time(tmp_path / "b")
    assert len(a) == 2
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            assert ra[k] == pytest.approx(rb[k], rel=1e-6, abs=1e-9), k
    other = tiny_config(path, "training.epochs=2", "seed=1")
    training.train(other, tmp_path / "c", verbose=0)
    assert _history_without_time(tmp_path / "c")[0]["loss"] != pytest.approx(a[0]["loss"], rel=1e-6)


def test_a_killed_run_resumes_from_its_last_finished_epoch_and_matches_an_uninterrupted_one(tmp_path):
    overrides = [*TINY, "dataset.train_size=2048", "training.epochs=4"]
    args = [sys.executable, str(ROOT / "train.py"), "--config", str(ROOT / "configs/blog/dense.yaml"), "--out", str(tmp_path / "killed")]
    for o in overrides:
        args += ["--set", o]
    cfg = C.load_config(ROOT / "configs/blog/dense.yaml", overrides)
    run = tmp_path / "killed" / cfg.name

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        state = run / runs.CHECKPOINTS / runs.STATE
        if state.exists() and runs.read_json(state)["epoch"] >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = runs.load_checkpoint(run).epoch
    assert 2 <= killed_at < 4, "the run should have been killed mid-way"
    assert runs.run_status(run) == "unfinished"

    done = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    training.train(cfg, tmp_path / "straight" / cfg.name, verbose=0)

    resumed, straight = _history_without_time(run), _history_without_time(tmp_path / "straight" / cfg.name)
    assert [r["epoch"] for r in resumed] == [1, 2, 3, 4]
    for ra, rb in zip(resumed, straight, strict=True):
        for k in ra:
            assert ra[k] == pytest.approx(rb[k], rel=1e-5), (ra["epoch"], k)


def test_vae_resume_restores_optimizer_and_sampling_state(tmp_path, tiny_config, monkeypatch):
    cfg = tiny_config("configs/blog/vae.yaml", "training.epochs=3")
    training.train(cfg, tmp_path / "straight", verbose=0)

    real_save = runs.save_checkpoint

    def save_then_die(run_dir, epoch, *a, **k):
        real_save(run_dir, epoch, *a, **k)
        if epoch == 1:
            raise KeyboardInterrupt  # like Ctrl-C right after epoch 1 was saved

    monkeypatch.setattr(runs, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        training.train(cfg, tmp_path / "resumed", verbose=0)
    monkeypatch.setattr(runs, "save_checkpoint", real_save)
    assert runs.run_status(tmp_path / "resumed") == "unfinished"
    training.train(cfg, tmp_path / "resumed", resume=True, verbose=0)

    a, b = _history_without_time(tmp_path / "straight"), _history_without_time(tmp_path / "resumed")
    assert len(b) == 3
    for ra, rb in zip(a, b, strict=True):
        for k in ra:
            assert ra[k] == pytest.approx(rb[k], rel=1e-5), (ra["epoch"], k)


def test_a_nan_loss_stops_the_run_and_marks_it_failed(tmp_path, tiny_config, monkeypatch):
    cfg = tiny_config("configs/blog/dense.yaml", "training.epochs=3")
    real = training.prepare_data

    def poisoned(c, dataset):
        data = real(c, dataset)
        x = np.array(data.x_train)  # floats, whatever the images are held as
        x[0, 0, 0, 0] = np.nan
        return type(data)(x, x, data.y_train, data.x_test, data.t_test, data.y_test)

    monkeypatch.setattr(training, "prepare_data", poisoned)
    result = training.train(cfg, tmp_path / "nan", verbose=0)
    assert result.metrics["status"] == "failed"
    assert "non-finite" in result.metrics["reason"] and "epoch 1" in result.metrics["reason"]
    assert not (tmp_path / "nan" / runs.MODEL).exists()
    assert runs.run_status(tmp_path / "nan") == "failed"
    with pytest.raises(training.RunError, match="failed"):
        training.train(cfg, tmp_path / "nan", resume=True, verbose=0)


def test_existing_runs_are_never_overwritten_silently(tmp_path, tiny_config):
    cfg = tiny_config()
    training.train(cfg, tmp_path / "r", verbose=0)
    before = (tmp_path / "r" / runs.METRICS).read_text()
    with pytest.raises(training.RunError, match="--overwrite"):
        training.train(cfg, tmp_path / "r", verbose=0)
    assert training.train(cfg, tmp_path / "r", resume=True, verbose=0).metrics["status"] == "completed"
    assert (tmp_path / "r" / runs.METRICS).read_text() == before
    with pytest.raises(training.RunError, match="differs"):
        training.train(tiny_config("configs/blog/dense.yaml", "loss.name=mse"), tmp_path / "r", resume=True, verbose=0)


def test_mixed_bfloat16_trains_close_to_float32_and_does_not_leak_into_the_next_run(tmp_path, tiny_config):
    fp32 = training.train(tiny_config("configs/blog/dense.yaml", "training.epochs=2"), tmp_path / "fp32", verbose=0)
    bf16 = training.train(
        tiny_config("configs/blog/dense.yaml", "training.epochs=2", "training.precision=mixed_bfloat16"), tmp_path / "bf16", verbose=0
    )
    reloaded = keras.saving.load_model(tmp_path / "bf16" / runs.MODEL)
    assert reloaded.compute_dtype == "bfloat16"
    assert reloaded.reconstruct(np.zeros((2, 28, 28, 1), np.float32)).dtype == np.float32  # metrics and SSIM need float32
    assert bf16.metrics["test"]["bce"] == pytest.approx(fp32.metrics["test"]["bce"], rel=0.05)
    again = training.compile_model(tiny_config())
    assert again.compute_dtype == "float32"


@pytest.mark.parametrize(("steps", "expected"), [(235, 47), (469, 67), (1875, 125), (128, 128), (131, 1), (4, 4)])
def test_steps_per_execution_always_divides_the_epoch(steps, expected):
    assert training.steps_per_execution(steps) == expected
    assert steps % training.steps_per_execution(steps) == 0


@pytest.mark.parametrize("loss", ["mae", "gaussian", "continuous_bernoulli"])
@pytest.mark.parametrize("path", ["configs/blog/dense.yaml", "configs/blog/vae.yaml"])
def test_the_new_losses_train_save_and_reload(tmp_path, tiny_config, path, loss):
    cfg = tiny_config(path, f"loss.name={loss}", "loss.reduction=sum")
    run = training.train(cfg, tmp_path / cfg.name, verbose=0).run_dir
    metrics = runs.read_json(run / runs.METRICS)
    assert metrics["status"] == "completed"
    model = keras.saving.load_model(run / runs.MODEL)
    assert getattr(model, "optimizer", None) is None  # the final model carries weights only
    (row,) = runs.read_history(run / runs.HISTORY)
    assert math.isfinite(row["loss"]) and math.isfinite(row["val_loss"])


@pytest.mark.parametrize(("path", "loss"), [("configs/blog/dense.yaml", "bce"), ("configs/blog/conv_vae.yaml", "mse")])
def test_gradient_probe_logs_what_autodiff_gives_for_the_saved_model(tmp_path, tiny_config, path, loss):
    from autoencoders.study import gradient_probe as gradients
    from autoencoders.study import theory

    cfg = tiny_config(path, f"loss.name={loss}", "training.epochs=2", "training.callbacks=[probe_gradients]")
    run = training.train(cfg, tmp_path / cfg.name, verbose=0).run_dir
    history = runs.read_history(run / runs.HISTORY)
    assert all(0 < row["logit_grad"] < 1 and 0 <= row["saturated_wrong"] < 1 for row in history)

    model = keras.saving.load_model(run / runs.MODEL)
    data = training.load_data(cfg)
    x, t = data.x_train[: gradients.PROBE_SIZE], data.t_train[: gradients.PROBE_SIZE]
    z = gradients.output_logits(model, x)
    np.testing.assert_allclose(theory.sigmoid(z), model.reconstruct(x), atol=1e-5)  # they are the logits
    stats = gradients.logit_gradient_stats(loss, z, t)
    assert stats["logit_grad"] == pytest.approx(history[-1]["logit_grad"], rel=1e-4)
    # the closed form the probe logs, against autodiff through the suite's own pixel loss
    import tensorflow as tf

    from autoencoders.models.losses import PIXEL_LOSSES

    logits = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        total = tf.reduce_sum(PIXEL_LOSSES[loss](tf.constant(t), tf.sigmoid(logits)))
    assert stats["logit_grad"] == pytest.approx(float(np.mean(np.abs(tape.gradient(total, logits).numpy()))), rel=1e-3)


@pytest.fixture(scope="module")
def odd_npz(tmp_path_factory):
    """A user npz of real images whose sides are odd, unequal and not multiples of 8: MNIST digits
    cropped to 21x26, as uint8 the way a user would save them."""
    from autoencoders.data.loading import load_dataset

    mnist = load_dataset("mnist")
    crop = (slice(None), slice(3, 24), slice(1, 27), 0)
    path = tmp_path_factory.mktemp("odd") / "digits-21x26.npz"
    np.savez(
        path,
        x_train=np.rint(mnist.x_train[:256][crop] * 255).astype(np.uint8),
        x_test=np.rint(mnist.x_test[:128][crop] * 255).astype(np.uint8),
    )
    return path


@pytest.mark.parametrize("loss", ["bce", "mse"])
@pytest.mark.parametrize("arch", list(ARCHITECTURES))
@pytest.mark.parametrize("data", ["natural_patches_rgb", "npz 21x26"])
def test_every_arch_and_loss_trains_on_colour_patches_and_on_a_non_square_npz(tmp_path, tiny_config, odd_npz, data, arch, loss):
    overrides = ["dataset.name=natural_patches_rgb"] if data.startswith("natural") else ["dataset.name=npz", f"dataset.path={odd_npz}"]
    cfg = tiny_config("configs/blog/dense.yaml", *overrides, f"model.arch={arch}", "model.latent_dim=null", f"loss.name={loss}")
    # shapes are tested here (TINY turns XLA off); XLA on the real path in the first test
    result = training.train(cfg, tmp_path / cfg.name, verbose=0)
    metrics = result.metrics
    shape = [32, 32, 3] if data.startswith("natural") else [21, 26, 1]
    assert metrics["status"] == "completed" and metrics["data"]["image_shape"] == shape
    (row,) = runs.read_history(result.run_dir / runs.HISTORY)
    assert math.isfinite(row["val_pixel_mse"]) and math.isfinite(row["val_pixel_bce"])
    model = keras.saving.load_model(result.run_dir / runs.MODEL)
    data_ = training.load_data(C.load_config(result.run_dir / runs.CONFIG))
    recon = model.reconstruct(data_.x_test)
    assert recon.shape == data_.t_test.shape == (128, *shape)
    assert float(np.mean((recon - data_.t_test) ** 2)) == pytest.approx(metrics["test"]["mse"], rel=1e-4)


def test_gradient_probe_sees_through_the_crop_of_a_padded_conv_model(tmp_path, tiny_config):
    """conv pads 32x32 to 36x36 and crops its output back: the probe's logits are the cropped ones."""
    from autoencoders.study import gradient_probe as gradients
    from autoencoders.study import theory

    cfg = tiny_config("configs/blog/conv.yaml", "dataset.name=natural_patches_rgb", "training.callbacks=[probe_gradients]")
    run = training.train(cfg, tmp_path / cfg.name, verbose=0).run_dir
    model = keras.saving.load_model(run / runs.MODEL)
    assert "crop" in [layer.name for layer in model.decoder.layers]
    data = training.load_data(cfg)
    x = data.x_train[: gradients.PROBE_SIZE]
    z = gradients.output_logits(model, x)
    assert z.shape == x.shape == (256, 32, 32, 3)
    np.testing.assert_allclose(theory.sigmoid(z), model.reconstruct(x), atol=1e-5)
    (row,) = runs.read_history(run / runs.HISTORY)
    assert row["logit_grad"] == pytest.approx(
        gradients.logit_gradient_stats("bce", z, data.t_train[: gradients.PROBE_SIZE])["logit_grad"], rel=1e-4
    )


def test_a_finished_run_writes_its_config_as_tensorboard_hparams_and_its_test_metrics(tmp_path, tiny_config):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata
    from tensorboard.util import tensor_util

    cfg = tiny_config("configs/blog/dense.yaml", "loss.name=mse")
    run = training.train(cfg, tmp_path / cfg.name, verbose=0).run_dir
    events = EventAccumulator(str(run / runs.TENSORBOARD), size_guidance={"tensors": 0})
    events.Reload()
    start = metadata.parse_session_start_info_plugin_data(events.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.SESSION_START_INFO_TAG])
    assert start.group_name == cfg.name
    assert start.hparams["loss.name"].string_value == "mse" and start.hparams["training.epochs"].number_value == 1
    assert start.hparams["model.input_shape"].string_value == "[28, 28, 1]"
    test = runs.read_json(run / runs.METRICS)["test"]
    (mse,) = events.Tensors("test/mse")
    assert mse.step == 1 and float(tensor_util.make_ndarray(mse.tensor_proto)) == pytest.approx(test["mse"], rel=1e-6)
