"""The training path under KERAS_BACKEND=jax (GPU machines often carry JAX and no TensorFlow):
every arch trains, a stopped run resumes to the undisturbed history, and the run folders are the
same kind of folder, which evaluate.py (on TensorFlow) reads. On CPU here; no GPU was measured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, assert_same_run
from test_faults import history_without_time, wait_for_epoch

from autoencoders import runs
from autoencoders.architectures import ARCHITECTURES

pytest.importorskip("jax")
pytestmark = pytest.mark.slow

JAX_ENV = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
TINY = {"dataset.train_size": 256, "dataset.test_size": 128, "training.epochs": 2, "training.batch_size": 64}
# Long enough to be stopped mid-run: JAX trains an epoch of this in milliseconds, so many epochs
# (each one a checkpoint write) keep the run going well after the signal is sent.
SLOW = {"dataset.train_size": 512, "dataset.test_size": 128, "training.batch_size": 64, "training.epochs": 25}
# One dense arch and one convolutional variational one (padded to its grid, with its KL metric).
ARCHS = ["dense", "conv_vae"]


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
    report = subprocess.run([sys.executable, str(ROOT / "evaluate.py"), *map(str, sorted((tmp_path / "runs").glob("j-*-s0"))),
                             "--out", str(tmp_path / "report")], capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "report" / "REPORT.md").read_text()
    assert f"({len(ARCHS)} runs)" in text and ", jax)" in text  # the devices line names the backend


def test_a_stopped_jax_run_resumes_to_the_undisturbed_history(tmp_path):
    config = ROOT / "configs/blog/dense.yaml"
    undisturbed = subprocess.run(command(config, tmp_path / "undisturbed", SLOW), capture_output=True, text=True, env=JAX_ENV)
    assert undisturbed.returncode == 0, undisturbed.stderr
    proc = subprocess.Popen(command(config, tmp_path / "stopped", SLOW), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=JAX_ENV)
    [name] = [p.name for p in (tmp_path / "undisturbed").iterdir() if p.is_dir()]
    wait_for_epoch(tmp_path / "stopped" / name, 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert runs.run_status(tmp_path / "stopped" / name) == "unfinished"
    resumed = subprocess.run(command(config, tmp_path / "stopped", SLOW, "--resume"), capture_output=True, text=True, env=JAX_ENV)
    assert resumed.returncode == 0, resumed.stderr
    assert history_without_time(tmp_path / "stopped" / name) == history_without_time(tmp_path / "undisturbed" / name)
