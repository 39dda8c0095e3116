"""evaluate.py end to end on tiny real runs: every file, embedded figures, refusals, broken runs listed."""

import json
import subprocess
import sys

import matplotlib.image as mpimg
import pytest

from autoencoders import runs, training
from autoencoders.atomic import write_text

from conftest import ROOT


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    from autoencoders.config import load_config

    out = tmp_path_factory.mktemp("runs")
    tiny = ["dataset.train_size=512", "dataset.test_size=256", "training.epochs=2", "training.batch_size=64"]
    made = {}
    for loss in ("bce", "mse"):
        cfg = load_config(ROOT / "configs/blog/dense.yaml", [*tiny, f"loss.name={loss}"])
        made[loss] = training.train(cfg, out / cfg.name, verbose=0).run_dir
    fashion = load_config(ROOT / "configs/blog/dense.yaml", [*tiny, "loss.name=mse", "dataset.name=fashion_mnist"])
    made["fashion"] = training.train(fashion, out / fashion.name, verbose=0).run_dir
    return made


def evaluate(*args):
    return subprocess.run([sys.executable, str(ROOT / "evaluate.py"), *map(str, args)], capture_output=True, text=True)


def test_a_full_evaluate_of_two_real_runs_writes_every_file(tiny_runs, tmp_path):
    failed = tmp_path / "failed-run"
    write_text(failed / runs.CONFIG, "name: failed-run\n")
    runs.write_json(failed / runs.METRICS, {"status": "failed", "reason": "non-finite loss at epoch 2"})
    out = tmp_path / "report"
    done = evaluate(tiny_runs["bce"], tiny_runs["mse"], failed, "--out", out)
    assert done.returncode == 0, done.stderr

    md = (out / "REPORT.md").read_text()
    assert "python evaluate.py" in md  # the command that made it
    # the report opens with the verdicts and ends with the run inventory; the terminal shows the same verdicts
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Verdicts" and headings[-2:] == ["## Runs", "## Runs not evaluated"]
    [verdict] = [line for line in md.splitlines() if line.startswith("- **")]
    assert "one seed" in verdict and verdict.replace("**", "") in done.stdout
    assert done.stdout.index("Verdicts") < done.stdout.index("report: ")
    assert "| pixel MSE ↓ |" in md and "| SSIM ↑ |" in md and "one seed: cannot tell" in md
    assert "non-finite loss at epoch 2" in md  # a failed run is listed with its reason
    trained_on = next(line for line in md.splitlines() if "Trained on:" in line)  # the device behind each run
    assert "CPU only" in trained_on and "(2 runs)" in trained_on and "not recorded (1 run)" in trained_on
    html = (out / "REPORT.html").read_text()
    assert html.count("data:image/png;base64,") == md.count("![")  # every figure embedded
    assert 'src="figures/' not in html  # self-contained: no links to files beside it

    summary = json.loads((out / "summary.json").read_text())
    (group,) = summary["groups"]
    metrics = {d["metric"]: d for d in group["differences"]}
    assert set(metrics) == {"mse", "mae", "psnr", "ssim", "bce", "bce_excess"}
    by_path = {r["path"]: r for r in summary["runs"]}
    assert by_path[str(failed)]["status"] == "failed"
    bce_run = by_path[str(tiny_runs["bce"])]
    assert 0 < bce_run["metrics"]["ssim"] < 1 and bce_run["metrics"]["bce_excess"] > 0
    assert len(bce_run["per_class_mse"]) == 10
    assert bce_run["device"]["kind"] == "cpu" and bce_run["device"]["backend"] == "tensorflow"
    assert metrics["mse"]["bce"]["mean"] == pytest.approx(bce_run["metrics"]["mse"])
    assert "mse,bce-mse" in (out / "summary.csv").read_text().replace('"', "")

    pngs = sorted((out / "figures").glob("*.png"))
    assert {p.name.split("-")[-1] for p in pngs} >= {"grid.png", "loss.png", "common.png", "class.png"}
    for png in pngs:
        image = mpimg.imread(png)
        assert image.shape[0] > 100 and image.shape[1] > 100 and image.std() > 0


def test_runs_on_different_datasets_without_a_pair_are_refused(tiny_runs, tmp_path):
    done = evaluate(tiny_runs["bce"], tiny_runs["fashion"], "--out", tmp_path / "r")
    assert done.returncode == 2
    assert "different test sets" in done.stderr and "fashion_mnist" in done.stderr
    assert not (tmp_path / "r").exists()


def test_missing_run_folder_exits_2_and_writes_nothing(tmp_path):
    done = evaluate(tmp_path / "nope", "--out", tmp_path / "r")
    assert done.returncode == 2 and "nope" in done.stderr
    assert not (tmp_path / "r").exists()


def test_a_report_next_to_runs_replaces_only_its_own_entries(tiny_runs, tmp_path):
    out = tmp_path / "blog"
    (out / "runs" / "precious").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "figures").mkdir()
    (out / "figures" / "stale.png").write_bytes(b"old figure")
    done = evaluate(tiny_runs["bce"], tiny_runs["mse"], "--out", out, "--note", "Trained by `make blog`.")
    assert done.returncode == 0, done.stderr
    assert (out / "runs" / "precious").is_dir() and (out / "notes.txt").read_text() == "mine"
    assert not (out / "figures" / "stale.png").exists()  # figures/ is the report's: replaced whole
    assert "Trained by `make blog`." in (out / "REPORT.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == [
        "REPORT.html",
        "REPORT.md",
        "figures",
        "notes.txt",
        "runs",
        "summary.csv",
        "summary.json",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_out_that_is_a_file_is_refused(tiny_runs, tmp_path):
    (tmp_path / "a-file").write_text("x")
    done = evaluate(tiny_runs["bce"], tiny_runs["mse"], "--out", tmp_path / "a-file")
    assert done.returncode == 2 and "not a folder" in done.stderr
    assert (tmp_path / "a-file").read_text() == "x"


def test_a_report_on_user_data_names_its_classes_and_skips_what_the_data_lacks(tmp_path):
    """An npz with string labels whose test set lacks a class, next to unlabelled colour patches:
    per-class bars name the classes present, the unlabelled data gets no per-class section, and the
    report states each test set's true size."""
    import numpy as np

    from autoencoders.config import load_config
    from autoencoders.data import load_dataset

    mnist = load_dataset("mnist")
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    keep = mnist.y_test[:300] != 7  # no sevens among the test images
    np.savez(
        tmp_path / "digits.npz",
        x_train=mnist.x_train[:400],
        y_train=names[mnist.y_train[:400]],
        x_test=mnist.x_test[:300][keep],
        y_test=names[mnist.y_test[:300][keep]],
    )
    made = []
    for overrides in (
        ["dataset.name=npz", f"dataset.path={tmp_path / 'digits.npz'}"],
        ["dataset.name=natural_patches_rgb", "dataset.train_size=300", "dataset.test_size=200"],
    ):
        for loss in ("bce", "mse"):
            cfg = load_config(
                ROOT / "configs/blog/dense.yaml",
                [*overrides, f"loss.name={loss}", "training.epochs=1", "training.batch_size=64", "training.jit_compile=false"],
            )
            made.append(training.train(cfg, tmp_path / "runs" / cfg.name, verbose=0).run_dir)
    done = evaluate(*made, "--out", tmp_path / "report")
    assert done.returncode == 0, done.stderr
    md = (tmp_path / "report" / "REPORT.md").read_text()
    assert f"the full test set ({int(keep.sum()):,} or {9040:,} images)" in md  # evaluation uses every test image
    assert "10,000" not in md and "784" not in md
    figures = sorted(p.name for p in (tmp_path / "report" / "figures").iterdir())
    assert [f for f in figures if f.endswith("per-class.png")] == ["02-dense-npz-digits-npz-1-epochs-per-class.png"]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    by_name = {r["config"]: r for r in summary["runs"]}
    assert len(by_name["blog-dense-npz-bce-s0"]["per_class_mse"]) == 9  # every class but seven
    assert by_name["blog-dense-natural_patches_rgb-bce-s0"]["per_class_mse"] == []
