"""Sweeps on Ray (`--backend ray`), through a real local Ray (`ray.init(address="local",
num_cpus=2)`) and real training: the same run folders as the local scheduler's, finished runs
skipped, a failing run isolated, and a run whose Ray worker is killed mid-training retried and
resumed to the history of a run never disturbed."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from test_faults import history_without_time

from autoencoders import config as C
from autoencoders.data.loading import load_dataset
from autoencoders.sweep import schedule as sweep
from autoencoders.train import run_folder as runs

from conftest import ROOT, assert_same_run

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread_per_run")]  # tests/conftest.py


# Real MNIST written to the user's npz format (512 training images): the point asking for more
# training images than the file has fails on its data, after the sweep started, as a user's would.
SWEEP = """name: r-{loss.name}-n{dataset.train_size}
dataset: {name: npz, path: DATA, test_size: 128}
training: {epochs: 2, batch_size: 64, jit_compile: false, store_evaluation: false}
grid:
  loss.name: [bce, mse]
  dataset.train_size: [256, 100000]
"""
# Long enough to kill its Ray worker mid-run (its training process is paused meanwhile: `parent_lost`).
SLOW = {"training.epochs": 12, "training.batch_size": 8}


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ray-data")
    mnist = load_dataset("mnist")

    def as_uint8(x):
        return np.rint(x[..., 0] * 255).astype(np.uint8)

    np.savez(folder / "digits.npz", x_train=as_uint8(mnist.x_train[:512]), x_test=as_uint8(mnist.x_test[:128]))
    path = folder / "sweep.yaml"
    path.write_text(SWEEP.replace("DATA", str(folder / "digits.npz")))
    return path


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_a_ray_sweep_writes_the_local_schedulers_run_folders_isolates_a_failure_and_skips_finished_runs(local_ray, sweep_file, tmp_path):
    from autoencoders.sweep.ray_backend import schedule_on_ray

    configs = sweep.expand(sweep_file)
    lines: list[str] = []
    on_ray = schedule_on_ray(configs, tmp_path / "ray", echo=lines.append).outcomes
    local = sweep.schedule(configs, tmp_path / "local", echo=lambda _: None).outcomes
    assert [(o.name, o.status) for o in on_ray] == [(o.name, o.status) for o in local]
    statuses = {o.name: o.status for o in on_ray}
    assert statuses == {"r-bce-n256": "completed", "r-bce-n100000": "failed", "r-mse-n256": "completed", "r-mse-n100000": "failed"}
    failure = next(o for o in on_ray if o.status == "failed")
    assert "train_size" in failure.reason and "512" in failure.reason  # the run's own message, from its log
    for name in ("r-bce-n256", "r-mse-n256"):
        assert_same_run(tmp_path / "ray" / name, tmp_path / "local" / name)
    assert any(line.startswith("[4/4] ") for line in lines)  # the local scheduler's progress lines

    again = schedule_on_ray(configs, tmp_path / "ray", echo=lambda _: None).outcomes
    assert {o.name: o.status for o in again} == statuses | {"r-bce-n256": "skipped", "r-mse-n256": "skipped"}
    assert all("train_size" in o.reason for o in again if o.status == "failed")  # tried again: nothing was written


def parent_lost(run_dir: Path, take_away: Callable[[psutil.Process], None]) -> None:
    """Take away the Ray worker (`take_away(worker)`) under the run's training process, the one
    holding the run's lock, with that process paused until its parent is gone: it notices a lost
    parent within half a second, and on a fast host a dozen short epochs finish sooner, so the
    retry would find a completed run instead of resuming one."""
    lock = str(runs.lock_path(run_dir))
    [trainer] = [proc for proc in psutil.process_iter() if any(f.path == lock for f in _open_files(proc))]
    worker = trainer.parent()
    trainer.suspend()
    try:
        take_away(worker)
        worker.wait(timeout=30)  # psutil.TimeoutExpired if the worker outlives its node
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            trainer.resume()  # it sees its parent gone and stops, its last finished epoch kept


def _open_files(proc: psutil.Process) -> list:
    try:
        return proc.open_files()
    except psutil.Error:  # gone, or not ours to read
        return []


def test_a_run_whose_ray_worker_is_killed_is_retried_and_resumes_to_the_undisturbed_history(local_ray, sweep_file, tmp_path):
    from autoencoders.sweep.ray_backend import schedule_on_ray

    cfg = C.replace(sweep.expand(sweep_file)[0], SLOW)  # r-bce-n256
    undisturbed = sweep.schedule([cfg], tmp_path / "undisturbed", echo=lambda _: None).outcomes
    assert undisturbed[0].status == "completed"

    out = tmp_path / "ray"
    result: list = []
    sweep_thread = threading.Thread(target=lambda: result.append(schedule_on_ray([cfg], out, echo=lambda _: None)))
    sweep_thread.start()
    state = out / cfg.name / runs.CHECKPOINTS / runs.STATE
    killed = False
    for _ in range(1200):  # up to 2 minutes for epoch 2
        if state.exists() and runs.read_json(state).get("epoch", 0) >= 2:
            parent_lost(out / cfg.name, lambda worker: worker.send_signal(signal.SIGKILL))
            killed = True
            break
        threading.Event().wait(0.1)
    assert killed, "the run never reached epoch 2"
    sweep_thread.join(timeout=300)
    [outcome] = result[0].outcomes
    assert outcome.status == "completed", outcome.reason
    assert runs.run_status(out / cfg.name) == "completed"
    assert f"resuming {out / cfg.name} after epoch" in (out / f".{cfg.name}.log").read_text()  # the retry's log: it resumed
    assert history_without_time(out / cfg.name) == history_without_time(tmp_path / "undisturbed" / cfg.name)


def test_the_command_line_runs_a_sweep_on_a_local_ray_and_refuses_ray_options_without_it(sweep_file, tmp_path):
    cmd = [sys.executable, str(ROOT / "train.py"), "--config", str(sweep_file), "--out", str(tmp_path / "runs")]
    wrong = subprocess.run([*cmd, "--num-gpus", "1"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "options of --backend ray" in wrong.stderr and not (tmp_path / "runs").exists()
    unreachable = subprocess.run([*cmd, "--backend", "ray", "--address", "127.0.0.1:1"], capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 2 and "--address 127.0.0.1:1: no Ray cluster answers there" in unreachable.stderr
    assert not (tmp_path / "runs").exists()
    too_big = subprocess.run([*cmd, "--backend", "ray", "--num-gpus", "1"], capture_output=True, text=True)
    assert too_big.returncode == 2 and "no node of the Ray cluster can run a task of --num-cpus 1 --num-gpus 1" in too_big.stderr
    done = subprocess.run([*cmd, "--backend", "ray", "--set", "training.epochs=1"], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr  # the two points asking for 100000 images fail; the sweep finishes the others
    assert "sweep done: 2 trained, 0 already complete, 2 failed" in done.stdout
    assert {runs.run_status(tmp_path / "runs" / n) for n in ("r-bce-n256", "r-mse-n256")} == {"completed"}
