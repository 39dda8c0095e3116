"""train.py as a user meets it: exit codes, messages, and nothing written on bad input."""

import subprocess
import sys

import pytest

from conftest import ROOT


def run_train(*args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], capture_output=True, text=True, cwd=cwd)


def test_help_lists_the_options():
    out = run_train("--help")
    assert out.returncode == 0
    for flag in ("--config", "--set", "--out", "--resume", "--overwrite"):
        assert flag in out.stdout


@pytest.mark.parametrize(
    ("content", "sets", "expected"),
    [
        ("name: x\ntraining: {epochs: -1}\n", [], "training.epochs = -1"),
        ("name: x\nloss: {name: l2}\n", [], "must be one of 'bce', 'mse', 'mae'"),
        ("name: x\nmodel: {arch: dense, latnet_dim: 3}\n", [], "did you mean 'model.latent_dim'"),
        ("name: x\n", ["training.epochs=abc"], "--set training.epochs=abc"),
        ("name: x\ndataset: [1, 2]\n", [], "dataset"),
        (
            "name: x\ndataset: {name: cifar10}\n",
            [],
            "dataset.name = 'cifar10': must be one of 'mnist', 'fashion_mnist', 'natural_patches', 'natural_patches_rgb', 'npz', 'image_folder'",
        ),
        ("name: x\nmodel: {arch: resnet}\n", [], "model.arch = 'resnet': must be one of 'dense', 'sparse_dense', 'deep_dense', 'conv'"),
        ("name: x\n", ["dataset.name=npz"], "dataset.path is required for dataset 'npz'"),
    ],
)
def test_bad_config_exits_2_naming_file_and_key_and_writes_nothing(tmp_path, content, sets, expected):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(content)
    args = ["--config", str(cfg), "--out", str(tmp_path / "runs")]
    for s in sets:
        args += ["--set", s]
    out = run_train(*args)
    assert out.returncode == 2
    assert expected in out.stderr
    assert "Traceback" not in out.stderr
    if not sets:
        assert str(cfg) in out.stderr
    assert not (tmp_path / "runs").exists()
    # and fast because TensorFlow is never imported for a bad config
    probe = f"import sys; from autoencoders.cli import train_main; rc = train_main({args!r}); print(rc, 'tensorflow' in sys.modules)"
    checked = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert checked.stdout.split() == ["2", "False"], checked.stderr


def test_missing_config_file_exits_2(tmp_path):
    out = run_train("--config", str(tmp_path / "nope.yaml"))
    assert out.returncode == 2 and "nope.yaml" in out.stderr


def test_resume_and_overwrite_together_are_refused(tmp_path):
    out = run_train("--config", str(ROOT / "configs/blog/dense.yaml"), "--resume", "--overwrite", "--out", str(tmp_path))
    assert out.returncode == 2 and "exclude" in out.stderr
    assert list(tmp_path.iterdir()) == []
