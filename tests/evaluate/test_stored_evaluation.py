"""The evaluation a run's training process stores (`evaluation.npz`): it is what evaluate.py would
compute, a report reads it without importing TensorFlow, and a stale or damaged one is never used."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import keras
import numpy as np
import pytest

from autoencoders.config import load_config
from autoencoders.data.loading import load_dataset
from autoencoders.evaluate import evaluation
from autoencoders.evaluate.evaluation import Evaluation, evaluate_run, load_run, stored_evaluation
from autoencoders.train import run_folder as runs

from conftest import ROOT, STORED_EVALUATION, TINY

pytestmark = pytest.mark.slow


def assert_same_evaluation(a: Evaluation, b: Evaluation) -> None:
    """Every field but the time it took and where it was made."""
    for f in fields(Evaluation):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name in ("run", "seconds", "stored"):
            continue
        if f.name == "per_image":
            assert x.keys() == y.keys()
            for metric in x:
                assert np.array_equal(x[metric], y[metric]), metric
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A dense run and a 2-d VAE run (latent plane, manifold and prior samples), trained here."""
    from autoencoders.train.loop import train

    out = tmp_path_factory.mktemp("stored")
    folders = {}
    for arch in ("dense", "vae"):
        cfg = load_config(ROOT / f"configs/blog/{arch}.yaml", [*TINY, STORED_EVALUATION, f"name={arch}"])
        result = train(cfg, out / arch, verbose=0)
        assert result.metrics == runs.read_json(out / arch / runs.METRICS)  # what train returns is what it wrote
        folders[arch] = out / arch
    return folders


@pytest.mark.parametrize("arch", ["dense", "vae"])
def test_a_finished_run_stores_the_evaluation_evaluate_would_make(trained, arch):
    run = load_run(trained[arch])
    stored = stored_evaluation(run)
    assert stored is not None and stored.stored
    fresh = evaluate_run(run, use_stored=False)
    assert not fresh.stored
    assert_same_evaluation(stored, fresh)
    assert evaluate_run(run).stored  # evaluate.py's path takes the stored one
    # the means outlive the model in metrics.json: every per-image metric, SSIM included; the pixel
    # MSE is that of the saved model's reconstructions of the whole test set, computed here
    metrics = runs.read_json(trained[arch] / runs.METRICS)
    assert metrics["evaluation"] == {name: float(np.mean(values)) for name, values in fresh.per_image.items()}
    assert "ssim" in metrics["evaluation"] and 0 < metrics["evaluation"]["ssim"] < 1
    x_test = np.asarray(load_dataset("mnist").x_test)
    recon = keras.saving.load_model(trained[arch] / runs.MODEL).reconstruct(x_test)
    assert metrics["evaluation"]["mse"] == pytest.approx(float(np.mean((recon.astype(np.float64) - x_test) ** 2)), rel=1e-5)
    if arch == "vae":
        assert stored.latent.shape == (10_000, 2) and stored.manifold is not None and stored.vae.keys() == fresh.vae.keys()
    else:
        assert stored.code_mean == fresh.code_mean and stored.class_names == fresh.class_names and isinstance(stored.class_names, tuple)


def test_a_stored_evaluation_of_another_model_or_other_code_is_not_used(trained, tmp_path, monkeypatch):
    other = tmp_path / "dense"
    shutil.copytree(trained["dense"], other)
    shutil.copy(trained["vae"] / runs.MODEL, other / runs.MODEL)  # a model file that is not the one evaluated
    assert stored_evaluation(load_run(other)) is None
    assert stored_evaluation(load_run(trained["dense"])) is not None
    monkeypatch.setattr(evaluation, "code_digest", lambda: b"another version of the package")
    assert stored_evaluation(load_run(trained["dense"])) is None


@pytest.mark.parametrize("damage", ["garbage", "no meta", "meta not json", "array missing"])
def test_a_damaged_stored_evaluation_is_named_and_the_run_evaluated_afresh(trained, tmp_path, caplog, damage):
    copy = tmp_path / "dense"
    shutil.copytree(trained["dense"], copy)
    path = copy / runs.EVALUATION
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    if damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not a zip file")
    else:
        if damage == "no meta":
            del arrays["meta"]
        elif damage == "meta not json":
            arrays["meta"] = np.array("{fingerprint")
        else:
            del arrays["grid_images"]
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    run = load_run(copy)
    with caplog.at_level(logging.WARNING, logger="autoencoders.evaluation"):
        assert stored_evaluation(run) is None
    assert f"{path}: damaged" in caplog.text
    fresh = evaluate_run(run)
    assert not fresh.stored
    assert_same_evaluation(fresh, stored_evaluation(load_run(trained["dense"])))


def test_a_report_on_stored_evaluations_imports_no_tensorflow_and_matches_one_made_afresh(tmp_path):
    """Two runs of a sweep, then evaluate.py in a fresh interpreter; the same report again after
    the stored evaluations are deleted."""
    sweep = tmp_path / "pair.yaml"
    sweep.write_text("name: pair-{loss.name}\nmodel: {arch: dense}\ngrid: {loss.name: [bce, mse]}\n")
    trained = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--config",
            str(sweep),
            "--out",
            str(tmp_path / "runs"),
            *[x for s in [*TINY, STORED_EVALUATION] for x in ("--set", s)],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert trained.returncode == 0, trained.stderr
    folders = sorted((tmp_path / "runs").glob("pair-*"))
    assert [(f / runs.EVALUATION).is_file() for f in folders] == [True, True]

    def report(out: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-X", "importtime", "evaluate.py", *map(str, folders), "--out", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )

    stored = report(tmp_path / "stored")
    assert stored.returncode == 0, stored.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in stored.stderr.splitlines() if line.startswith("import time:")}
    assert "numpy" in imported and "tensorflow" not in imported and "keras" not in imported
    text = (tmp_path / "stored" / "REPORT.md").read_text()
    assert (
        "2 of them were evaluated by the run's own training process right after it finished, and read here from its `evaluation.npz`"
        in text
    )
    assert "no model was evaluated here" in text

    for folder in folders:
        (folder / runs.EVALUATION).unlink()
    afresh = report(tmp_path / "afresh")
    assert afresh.returncode == 0, afresh.stderr
    assert "tensorflow" in afresh.stderr and "read here from" not in (tmp_path / "afresh" / "REPORT.md").read_text()

    def metrics(out: Path) -> list:
        summary = json.loads((out / "summary.json").read_text())
        return [(r["metrics"], r["per_class_mse"], r["code_mean"]) for r in summary["runs"]] + [summary["groups"]]

    assert metrics(tmp_path / "stored") == metrics(tmp_path / "afresh")


def test_ctrl_c_while_storing_the_evaluation_says_the_run_is_complete(tmp_path, monkeypatch, capsys):
    """The run is complete before its evaluation is stored, so an interrupt there must not tell the
    user to resume it: `--resume` would find nothing to do."""
    from autoencoders import cli
    from autoencoders.train import loop as training

    def interrupted(run_dir, metrics):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "store_run_evaluation", interrupted)
    args = [
        "--config",
        str(ROOT / "configs/blog/dense.yaml"),
        "--out",
        str(tmp_path),
        *[f"--set={s}" for s in [*TINY, STORED_EVALUATION, "name=run"]],
    ]
    assert cli.train_main(args) == 130
    stderr = capsys.readouterr().err
    assert f"interrupted (SIGINT) while storing the evaluation of the completed run {tmp_path / 'run'}" in stderr
    assert "resume with" not in stderr
    assert runs.run_status(tmp_path / "run") == "completed" and not (tmp_path / "run" / runs.EVALUATION).exists()
