import os

import numpy as np
import pytest

from autoencoders.atomic import atomic_path, write_text
from autoencoders.train import run_folder as runs


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "metrics.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_atomic_files_follow_the_umask_not_0600(tmp_path):
    write_text(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").stat().st_mode & 0o044  # group/other can read under the usual umask 022


def test_history_round_trip_with_stable_columns(tmp_path):
    rows = [{"epoch": 1, "val_loss": 0.5, "loss": 0.6, "seconds": 1.5}, {"epoch": 2, "val_loss": 0.4, "loss": 0.5, "seconds": 1.2}]
    runs.write_history(tmp_path / "h.csv", rows)
    assert (tmp_path / "h.csv").read_text().splitlines()[0] == "epoch,loss,val_loss,seconds"
    assert runs.read_history(tmp_path / "h.csv") == rows


def test_checkpoint_round_trip_keeps_only_the_latest_arrays(tmp_path):
    a = {"model": [np.arange(3.0), np.ones((2, 2))], "optimizer": [np.array(7)]}
    runs.save_checkpoint(tmp_path, 1, [{"epoch": 1}], a)
    runs.save_checkpoint(tmp_path, 2, [{"epoch": 1}, {"epoch": 2}], {k: [x + 1 for x in v] for k, v in a.items()})
    ckpt = runs.load_checkpoint(tmp_path)
    assert ckpt.epoch == 2 and len(ckpt.history) == 2
    np.testing.assert_array_equal(ckpt.arrays["model"][1], np.full((2, 2), 2.0))
    assert [p.name for p in (tmp_path / runs.CHECKPOINTS).glob("*.npz")] == ["epoch-0002.npz"]


def test_run_status(tmp_path):
    assert runs.run_status(tmp_path / "none") == "absent"
    (tmp_path / "r").mkdir()
    write_text(tmp_path / "r" / runs.CONFIG, "name: r\n")
    assert runs.run_status(tmp_path / "r") == "unfinished"
    runs.write_json(tmp_path / "r" / runs.METRICS, {"status": "failed", "value": float("nan")})
    assert runs.run_status(tmp_path / "r") == "failed"
    assert runs.read_json(tmp_path / "r" / runs.METRICS)["value"] is None
