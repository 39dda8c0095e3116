"""Configs ship with the package: by name from any folder, and inside the built wheel."""

import subprocess
import sys
import zipfile

import pytest

from autoencoders.config import config_path, shipped_configs

from conftest import ROOT

SHIPPED = sorted(p.relative_to(ROOT / "configs").as_posix() for p in (ROOT / "configs").rglob("*.yaml"))


def test_a_shipped_config_is_found_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shipped_configs() == ROOT / "configs"  # from the checkout (an editable install)
    for given in ("blog/dense", "blog/dense.yaml", "configs/blog/dense.yaml"):
        assert config_path(given) == ROOT / "configs/blog/dense.yaml"
    assert config_path("sweeps/quick_dense") == ROOT / "configs/sweeps/quick_dense.yaml"
    assert config_path("blog/no_such_model").as_posix() == "blog/no_such_model"  # stays as given: reading it says not found
    mine = tmp_path / "blog" / "dense.yaml"  # a file of the user's own wins over the shipped one
    mine.parent.mkdir()
    mine.write_text("name: mine\n")
    assert config_path("blog/dense.yaml").resolve() == mine


def test_train_py_takes_a_shipped_name_and_refuses_an_unknown_one(tmp_path):
    ok = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--config", "blog/dense", "--dry-run", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    unknown = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--config", "blog/nope", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert unknown.returncode == 2 and "blog/nope: config file not found" in unknown.stderr
    assert ok.returncode == 0, ok.stderr
    assert "blog-dense" in ok.stdout  # the shipped config's run, listed


@pytest.mark.slow
def test_the_wheel_carries_every_shipped_config_and_the_findings_templates(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = tmp_path.glob("autoencoders-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"autoencoders/configs/{name}" for name in SHIPPED} <= names and len(SHIPPED) > 30
    assert {"autoencoders/study/templates/findings.md.j2", "autoencoders/study/templates/answers.md.j2"} <= names
