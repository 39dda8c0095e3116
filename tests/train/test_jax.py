"""The training path under KERAS_BACKEND=jax (GPU machines often carry JAX and no TensorFlow):
dense, conv and conv_vae train (two seeds each), a stopped dense run resumes to the undisturbed history, the conv decoders' one layer
for an upsampling and a conv is that pair under JAX too, and the run folders are the
same kind of folder, which evaluate.py (on TensorFlow) reads, and a run on images held as bytes or
mapped from disk is the run on float32 arrays, bit for bit. On CPU here; no GPU was measured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_faults import history_without_time, wait_for_epoch

from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.train import run_folder as runs

from conftest import ROOT, TINY_MEMORY, assert_same_run

pytest.importorskip("jax")
pytestmark = pytest.mark.slow

JAX_ENV = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
TINY = {"dataset.train_size": 256, "dataset.test_size": 128, "training.epochs": 2, "training.batch_size": 64}
# Long enough to be stopped mid-run: JAX trains an epoch of this in milliseconds, so many epochs
# (each one a checkpoint write) keep the run going well after the signal is sent.
SLOW = {"dataset.train_size": 512, "dataset.test_size": 128, "training.batch_size": 64, "training.epochs": 25}
# A dense arch, the blog's convolutional one and a convolutional variational one (padded to its
# grid, with its KL metric): the archs docs/training.md names as trained under JAX.
ARCHS = ["dense", "conv", "conv_vae"]


def command(config: Path, out: Path, settings: dict, *extra: str) -> list[str]:
    sets = [x for key, value in settings.items() for x in ("--set", f"{key}={value}")]
    return [sys.executable, "-m", "autoencoders", "train", "--config", str(config), "--out", str(out), *sets, *extra]


def test_each_kind_of_arch_trains_under_jax_and_evaluate_reads_the_runs(tmp_path):
    """Two seeds of each arch: the second reuses the first's compiled model (`model_cache`) on
    JAX too, to the bits of a run in a fresh process."""
    sweep_file = tmp_path / "archs.yaml"
    sweep_file.write_text(f"name: j-{{model.arch}}-s{{seed}}\ngrid: {{model.arch: [{', '.join(ARCHS)}], seed: [0, 1]}}\n")
    done = subprocess.run(command(sweep_file, tmp_path / "runs", TINY), capture_output=True, text=True, env=JAX_ENV, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"sweep done: {2 * len(ARCHS)} trained" in done.stdout
    for arch in ARCHS:
        metrics = runs.read_json(tmp_path / "runs" / f"j-{arch}-s0" / runs.METRICS)
        assert metrics["status"] == "completed" and metrics["epochs"] == 2
        assert metrics["device"]["backend"] == "jax" and metrics["xla"] is True  # JAX compiles every arch
        assert 0 < metrics["test"]["mse"] < 0.3
        if ARCHITECTURES[arch].vae:  # the KL is tracked on JAX too
            assert metrics["test"]["vae_kl"] > 0
            assert all(row["kl"] > 0 for row in runs.read_history(tmp_path / "runs" / f"j-{arch}-s0" / runs.HISTORY))
        assert "reusing the compiled model" in (tmp_path / "runs" / f".j-{arch}-s1.log").read_text()
    single = tmp_path / "dense-s1.yaml"  # the sweep's point (dense, seed 1) as a run of its own
    single.write_text("name: j-dense-s1\nseed: 1\nmodel: {arch: dense}\n")
    alone = subprocess.run(command(single, tmp_path / "alone", TINY), capture_output=True, text=True, env=JAX_ENV, cwd=ROOT)
    assert alone.returncode == 0, alone.stderr
    assert_same_run(tmp_path / "runs" / "j-dense-s1", tmp_path / "alone" / "j-dense-s1")
    report = subprocess.run(
        [
            sys.executable,
            str(ROOT / "evaluate.py"),
            *map(str, sorted((tmp_path / "runs").glob("j-*-s0"))),
            "--out",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "report" / "REPORT.md").read_text()
    assert f"({len(ARCHS)} runs)" in text and ", jax)" in text  # the devices line names the backend


def test_a_jax_run_on_bytes_or_mapped_images_is_the_run_on_float_arrays_bit_for_bit(tmp_path, digits_npz, digits_float_npz):
    """Issue 34's promise under JAX too: the dense model trained on real digits held as float32
    arrays (a float npz), as uint8 bytes in memory, and as uint8 mapped from disk (the memory
    budget set low, so the images are cached as a `.npy` and read from it) has the same history,
    weights and test metrics."""
    config = tmp_path / "dense.yaml"
    config.write_text("name: jm\nmodel: {arch: dense}\n")
    settings = {"dataset.name": "npz", "training.epochs": 2, "training.batch_size": 64}
    cache = tmp_path / "cache"
    for held, path, memory in (("floats", digits_float_npz, None), ("bytes", digits_npz, None), ("mapped", digits_npz, TINY_MEMORY)):
        env = {**JAX_ENV, "AUTOENCODERS_DATA": str(cache)} | ({"AUTOENCODERS_MEMORY_BYTES": memory} if memory else {})
        done = subprocess.run(command(config, tmp_path / held, {**settings, "dataset.path": path}), capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert bool(list(cache.rglob("*.npy"))) == (held == "mapped")  # only the mapped run wrote the images' cache
        assert runs.read_json(tmp_path / held / "jm" / runs.METRICS)["device"]["backend"] == "jax"
    for held in ("bytes", "mapped"):
        assert_same_run(tmp_path / "floats" / "jm", tmp_path / held / "jm")


def test_a_stopped_jax_run_resumes_to_the_undisturbed_history(tmp_path):
    config = ROOT / "configs/blog/dense.yaml"
    undisturbed = subprocess.run(command(config, tmp_path / "undisturbed", SLOW), capture_output=True, text=True, env=JAX_ENV)
    assert undisturbed.returncode == 0, undisturbed.stderr
    proc = subprocess.Popen(
        command(config, tmp_path / "stopped", SLOW), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=JAX_ENV
    )
    [name] = [p.name for p in (tmp_path / "undisturbed").iterdir() if p.is_dir()]
    wait_for_epoch(tmp_path / "stopped" / name, 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert runs.run_status(tmp_path / "stopped" / name) == "unfinished"
    resumed = subprocess.run(command(config, tmp_path / "stopped", SLOW, "--resume"), capture_output=True, text=True, env=JAX_ENV)
    assert resumed.returncode == 0, resumed.stderr
    assert history_without_time(tmp_path / "stopped" / name) == history_without_time(tmp_path / "undisturbed" / name)


UPSAMPLED_CONV_UNDER_JAX = """
import keras, numpy as np
import autoencoders
from autoencoders.config import ModelConfig
from autoencoders.data.loading import load_dataset
from autoencoders.models import build_model
from autoencoders.models.layers import UpSampledConv2D
assert keras.backend.backend() == "jax"
for shape, filters in [((28, 28, 1), 1), ((5, 3, 2), 8), ((7, 6, 3), 3)]:
    keras.utils.set_random_seed(3)
    pair = keras.Sequential([keras.Input(shape), keras.layers.UpSampling2D(2), keras.layers.Conv2D(filters, 3, padding="same")])
    keras.utils.set_random_seed(3)
    one = keras.Sequential([keras.Input(shape), UpSampledConv2D(filters, 3, padding="same")])
    x = np.random.default_rng(0).normal(size=(4, *shape)).astype(np.float32)
    print("pair", shape, filters, float(np.abs(np.asarray(one(x)) - np.asarray(pair(x))).max()))
committed = keras.saving.load_model("results/blog/runs/blog-denoising_conv-mnist-bce-s0/model.keras")
model = build_model(ModelConfig(arch="denoising_conv", input_shape=(28, 28, 1)))
model.set_weights(committed.get_weights())
digits = load_dataset("mnist").x_test[:64]
print("blog", float(np.abs(model.reconstruct(digits) - committed.reconstruct(digits)).max()))
"""


def test_the_upsampled_conv_computes_upsampling_then_a_conv_under_jax_too():
    """`UpSampledConv2D` is written in keras.ops alone: under JAX too it is the pair it replaces
    (odd sizes included), and the blog's trained denoising model, loaded into the graph built now,
    gives the same reconstructions of MNIST digits."""
    done = subprocess.run([sys.executable, "-c", UPSAMPLED_CONV_UNDER_JAX], capture_output=True, text=True, env=JAX_ENV, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    differences = [line.split() for line in done.stdout.splitlines() if line.startswith(("pair", "blog"))]
    assert [d[0] for d in differences] == ["pair"] * 3 + ["blog"]
    assert all(float(d[-1]) < 2e-6 for d in differences), differences


def test_todays_res_conv_with_a_linear_head_and_l1_trains_under_jax(tmp_path):
    """The GPU path of the study's new cells (Keras on JAX): res_conv, linear head, MAE."""
    settings = {**TINY, "loss.name": "mae"}
    done = subprocess.run(
        command(ROOT / "configs/today/res_conv.yaml", tmp_path, settings), capture_output=True, text=True, env=JAX_ENV, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run = tmp_path / "today-res_conv-linear-mnist-mae-s0"
    metrics = runs.read_json(run / runs.METRICS)
    assert metrics["device"]["backend"] == "jax" and metrics["status"] == "completed"
    assert 0 < metrics["test"]["mse"] < 0.3
    assert all(row["val_loss"] > 0 for row in runs.read_history(run / runs.HISTORY))
