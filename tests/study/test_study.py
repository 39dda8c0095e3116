"""evaluate.py --study: the analytic report without runs, and the measured parts on tiny real runs."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from autoencoders import config as C
from autoencoders.train import loop as training
from autoencoders.train import run_folder as runs

from conftest import ROOT, TINY


def evaluate(*args):
    return subprocess.run([sys.executable, str(ROOT / "evaluate.py"), *map(str, args)], capture_output=True, text=True)


def test_without_runs_the_study_has_its_analytic_parts(tmp_path):
    """Also section 8, from the early-warning runs in the output folder (the report is written to a
    staging folder first: the runs must be read from the folder it is published to)."""
    shutil.copytree(ROOT / "results" / "study" / "early_warning", tmp_path / "study" / "early_warning")
    done = evaluate("--study", "--out", tmp_path / "study")
    assert done.returncode == 0, done.stderr
    md = (tmp_path / "study" / "REPORT.md").read_text()
    for n in range(1, 7):
        assert f"## {n}. " in md
    assert "No runs with `training.callbacks: [probe_gradients]`" in md and "(No VAE runs" in md
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    warnings = summary["early_warning"]
    assert warnings["runs"] == len(list((ROOT / "results" / "study" / "early_warning").glob("*.json"))) > 0
    assert warnings["folder"] == str(tmp_path / "study" / "early_warning") and "(No early-warning runs" not in md
    targets = {row["y"]: row for row in summary["landscapes"]["targets"]}
    for y, row in targets.items():
        assert row["bce_argmin"] == pytest.approx(y, abs=1e-5) and row["bce_min"] == pytest.approx(row["entropy"], abs=1e-6)
    # the floor is the test set's mean pixel entropy, computed here independently
    from autoencoders.data.loading import load_dataset

    floors = summary["landscapes"]["floors"]
    assert set(floors) == {"mnist", "fashion_mnist", "natural_patches", "natural_patches_rgb"}  # every built-in
    for name in floors:
        data = load_dataset(name)
        x = np.asarray(data.x_test, np.float64)
        entropy = -(x * np.log(np.clip(x, 1e-7, 1 - 1e-7)) + (1 - x) * np.log(1 - np.clip(x, 1e-7, 1 - 1e-7)))  # H(y), written out here
        assert floors[name]["floor"] == pytest.approx(float(entropy.mean()), rel=1e-4)
        assert (floors[name]["test_images"], floors[name]["image_shape"]) == (len(data.x_test), list(data.image_shape))
    assert floors["mnist"]["floor"] < floors["fashion_mnist"]["floor"] < floors["natural_patches"]["floor"]
    assert floors["mnist"]["grey_share"] < 0.2 and floors["natural_patches"]["grey_share"] > 0.95  # natural images are grey
    assert summary["scale"]["random_pairs"]["bce_greater_share"] == 1.0
    html = (tmp_path / "study" / "REPORT.html").read_text()
    assert html.count("data:image/png;base64,") == md.count("![")


def test_no_runs_is_refused_without_study(tmp_path):
    done = evaluate("--out", tmp_path / "r")
    assert done.returncode == 2 and "RUN_DIR" in done.stderr
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def tiny_study_runs(tmp_path_factory):
    from autoencoders.config import load_config

    out = tmp_path_factory.mktemp("study-runs")
    made = []
    for loss in ("bce", "mse"):
        for seed in (0, 1):
            cfg = load_config(
                ROOT / "configs/blog/dense.yaml",
                [*TINY, "training.epochs=2", "training.callbacks=[probe_gradients]", f"loss.name={loss}", f"seed={seed}"],
            )
            made.append(training.train(cfg, out / cfg.name, verbose=0).run_dir)
        cfg = load_config(ROOT / "configs/blog/vae.yaml", [*TINY, f"loss.name={loss}", "loss.reduction=sum"])
        made.append(training.train(cfg, out / cfg.name, verbose=0).run_dir)
    return made


def test_the_measured_parts_use_the_runs(tiny_study_runs, tmp_path):
    from autoencoders.evaluate.evaluation import evaluate_run, load_run
    from autoencoders.study.report import dataset_floor, write_study

    loaded = [load_run(p) for p in tiny_study_runs]
    evaluations = [evaluate_run(r) for r in loaded]
    summary = write_study(tmp_path, loaded, evaluations, command="test")
    md = (tmp_path / "REPORT.md").read_text()

    measured = {m["loss"]: m for m in summary["gradients"]["measured"]}
    assert set(measured) == {"bce", "mse"}
    history = runs.read_history(tiny_study_runs[0] / runs.HISTORY)
    assert measured["bce"]["grad_first"] == pytest.approx(
        np.mean(
            [
                r[0]["logit_grad"]
                for r in (runs.read_history(p / runs.HISTORY) for p in tiny_study_runs if "bce" in p.name and "vae" not in p.name)
            ]
        )
    )
    assert history[0]["logit_grad"] > 0

    # the per-image split BCE = floor + excess gives back the dataset's floor (full test set)
    (ours,) = summary["landscapes"]["ours"]
    assert ours["floor"] == pytest.approx(dataset_floor(C.DatasetConfig(name="mnist"))["floor"], rel=1e-4)
    assert ours["bce"] == pytest.approx(ours["floor"] + ours["excess"], rel=1e-6)

    assert set(summary["vae"]) == {"BCE (sum)", "MSE (sum)"}
    assert all(v["kl"] > 0 for v in summary["vae"].values())
    (group,) = summary["outcome"]["groups"]
    assert {d["metric"] for d in group["differences"]} == {"mse", "ssim", "psnr", "bce_excess"}
    # the report opens with section 4's verdicts, the reach test is paired per seed
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Verdicts" and summary["outcome"]["verdicts"][0] in md.split(headings[1])[0]
    [reach] = [r for r in summary["gradients"]["reach"] if r["group"] == group["title"]]
    assert reach["bce_sooner"] + reach["mse_sooner"] + reach["ties"] == len(reach["seeds"]) == len(reach["bce"])
    for name in ("1-landscapes", "2-scale", "3-measured-gradients", "5-vae-samples", "5-vae-manifold"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 10_000
        assert f"figures/{name}.png" in md
