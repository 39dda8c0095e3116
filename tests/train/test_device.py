"""The device record, the thread share of concurrent runs, the CPU-only XLA choice, and
`python -m autoencoders`: the entry a sweep starts its runs with, which needs no checkout."""

import shutil
import subprocess
import sys

import pytest

from autoencoders import config as C
from autoencoders.sweep import schedule as sweep
from autoencoders.train import device
from autoencoders.train import loop as training
from autoencoders.train import run_folder as runs

from conftest import ROOT

CPU = {"kind": "cpu", "gpus": [], "cpu": "Some CPU", "cores": 2, "machine": "x86_64", "backend": "tensorflow", "intra_op_threads": None}
GPU = {**CPU, "kind": "gpu", "gpus": ["NVIDIA H100"], "backend": "jax"}


def test_concurrent_runs_share_the_cores_and_one_run_keeps_the_defaults(monkeypatch):
    monkeypatch.setattr(device, "usable_cores", lambda: 8)
    assert device.thread_env(4, {})[device.INTRA_ENV] == "2" and device.thread_env(4, {})[device.INTER_ENV] == "1"
    assert device.thread_env(16, {})[device.INTRA_ENV] == "1"  # never zero threads (0 would mean "all" to TensorFlow)
    assert device.INTRA_ENV not in device.thread_env(1, {})
    assert device.thread_env(4, {device.INTRA_ENV: "3"})[device.INTRA_ENV] == "3"  # the user's own choice wins


def test_a_sweep_run_gets_its_share_and_this_package_first(monkeypatch):
    monkeypatch.setattr(device, "usable_cores", lambda: 2)
    monkeypatch.delenv(device.INTRA_ENV, raising=False)
    env = sweep.run_env(jobs=2)
    assert env[device.INTRA_ENV] == "1" and env["PYTHONPATH"].split(":")[0] == str(ROOT)
    command = sweep.train_command(ROOT / "x.yaml", ROOT / "out", "--resume")
    assert command[1:4] == ["-m", "autoencoders", "train"] and not any(part.endswith("train.py") for part in command)


def test_device_phrases_name_the_gpu_or_the_cpu_and_count_runs():
    assert device.phrase(GPU) == "1 GPU (NVIDIA H100; jax)"
    assert device.phrase({**CPU, "intra_op_threads": "1"}) == "CPU only: Some CPU (2 cores, 1 thread, tensorflow)"
    assert device.phrase({**CPU, "intra_op_threads": "4"}) == "CPU only: Some CPU (2 cores, 4 threads, tensorflow)"
    assert device.phrase(None) == "not recorded"
    assert device.phrase_counts([CPU, None, CPU]) == f"{device.phrase(CPU)} (2 runs); not recorded (1 run)"


def test_the_measured_cpu_xla_choice_applies_on_cpu_only():
    dense = C.load_config(ROOT / "configs/blog/dense.yaml")
    conv = C.load_config(ROOT / "configs/blog/conv.yaml")
    assert training.use_xla(dense) is True and training.use_xla(conv) is False  # measured on CPU
    assert training.use_xla(dense, gpu=True) == "auto" == training.use_xla(conv, gpu=True)  # nothing measured there: Keras decides
    forced = C.replace(conv, {"training.jit_compile": True})
    assert training.use_xla(forced, gpu=True) is True and training.use_xla(forced) is True


def test_python_m_autoencoders_names_its_commands():
    done = subprocess.run([sys.executable, "-m", "autoencoders"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "train,evaluate" in done.stderr


@pytest.mark.slow
def test_a_sweep_runs_from_a_copy_of_the_package_alone(tmp_path):
    """No train.py, no checkout: only the package, as on a cluster worker or a non-editable install.
    The run records the device it trained on."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "autoencoders", site / "autoencoders", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "sweep.yaml").write_text(
        "name: copy-{seed}\ndataset: {name: mnist, train_size: 256, test_size: 128}\nmodel: {arch: dense}\n"
        "training: {epochs: 1, batch_size: 64, jit_compile: false}\ngrid: {seed: [0]}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "autoencoders", "train", "--config", str(tmp_path / "sweep.yaml"), "--out", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        cwd=site,
        env={**device.thread_env(1), "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list(tmp_path.rglob("train.py"))
    metrics = runs.read_json(tmp_path / "runs/copy-0" / runs.METRICS)
    assert metrics["status"] == "completed"
    assert metrics["device"]["kind"] == "cpu" and metrics["device"]["cores"] == device.usable_cores() and metrics["xla"] is False
