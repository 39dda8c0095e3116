"""A plain (not editable) install carries everything the commands need: `pip install .` into a
fresh virtual environment, then `ae-train --config blog/dense` in an empty folder trains, with the
configs, templates and the diagnosis's evidence read from the installed package, not the checkout.

The fresh environment borrows this one's dependencies through a .pth file (no network, and
TensorFlow is not installed twice); the package itself is built and installed from the checkout."""

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_a_plain_install_trains_a_shipped_config_by_name_in_an_empty_folder(tmp_path):
    venv, empty = tmp_path / "venv", tmp_path / "empty"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", ROOT], check=True, timeout=600, cwd=tmp_path
    )
    assert (site / "autoencoders" / "configs" / "blog" / "dense.yaml").is_file()
    empty.mkdir()
    done = subprocess.run(
        [venv / "bin" / "ae-train", "--config", "blog/dense", "--set", "training.epochs=1", "--set", "dataset.train_size=2048"],
        cwd=empty,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = empty / "results" / "runs" / "blog-dense-mnist-bce-s0"
    assert (run / "model.keras").is_file() and (run / "metrics.json").is_file()
    where = subprocess.run(
        [python, "-c", "import autoencoders.diagnose.problems as p; print(p.__file__, bool(p.study_evidence()))"],
        cwd=empty, capture_output=True, text=True, check=True, timeout=120,
    ).stdout.split()  # fmt: skip
    assert Path(where[0]).is_relative_to(site) and where[1] == "True"
