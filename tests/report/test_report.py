"""evaluate.py end to end on tiny real runs: every file, embedded figures, refusals, broken runs listed."""

import json
import subprocess
import sys

import matplotlib.image as mpimg
import pytest

from autoencoders.atomic import write_text
from autoencoders.train import loop as training
from autoencoders.train import run_folder as runs

from conftest import ROOT, tracked_files


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
    from autoencoders.data.loading import load_dataset

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


def hand_made_context(**changes) -> dict:
    """A report's whole context, by hand: what `write_report` gives the template."""
    from autoencoders.report.document import RUN_COLUMNS, VERDICT_COLUMNS, Comparison, Table

    verdicts = Table(VERDICT_COLUMNS, [["pixel MSE ↓", "0.0111", "0.0222", "-0.0111 [-0.02, -0.002]", "0.013", "0.039", "–", "BCE better"]])
    comparison = Comparison(1, "dense · mnist · 3 epochs", ["run-bce-s0", "run-mse-s0"], verdicts=verdicts)
    comparison.figures = [{"subject": "loss curves", "file": "figures/01-loss.png"}]
    return {
        "title": "A hand-made report",
        "note": "",
        "verdicts": ["- **dense · mnist · 3 epochs**: BCE better on pixel MSE."],
        "statistics": "The statistics note.",
        "command": "python evaluate.py a b",
        "created": "2026-01-02 03:04 UTC",
        "device": "CPU test",
        "test_images": "the full test set (10,000 images)",
        "evaluated": 2,
        "eval_seconds": 3.25,
        "seconds_per_run": 1.625,
        "stored": 0,
        "stored_file": "evaluation.npz",
        "comparisons": [comparison],
        "sections": [{"heading": "A plug-in's section", "lines": ["| a | b |", "|---|---|", "| 1 | 2 |"]}],
        "runs": Table(RUN_COLUMNS, [["`run-bce-s0`", "dense", "mnist", "bce", "0", "3/3", "completed", "8.5", "1.9"]]),
        "training": {"runs": 2, "seconds": 17.4, "hours": 17.4 / 3600, "devices": "CPU only (2 runs)"},
        "skipped": Table(["run", "status", "reason"], [["`gone`", "failed", "non-finite loss at epoch 2"]]),
        **changes,
    }


def test_the_template_puts_each_context_value_in_its_own_place():
    """Rendered from a context made by hand: each value in the table cell or sentence it belongs to,
    every table laid out as `Table.lines()` lays it out for the study (one layout for both)."""
    from autoencoders.report.document import render

    context = hand_made_context()
    md = render(context)
    lines = md.splitlines()
    assert lines[:4] == ["# A hand-made report", "", "## Verdicts", ""] and md.endswith("non-finite loss at epoch 2 |\n")
    assert "| pixel MSE ↓ | 0.0111 | 0.0222 | -0.0111 [-0.02, -0.002] | 0.013 | 0.039 | – | BCE better |" in lines
    assert "Runs: `run-bce-s0`, `run-mse-s0`." in lines and "![loss curves](figures/01-loss.png)" in lines
    assert "evaluation took 3.2 s for 2 runs (1.62 s per run)." in md  # the prose numbers pass the filters
    assert "**17 s (0.00 h)**" in md and "Evaluation: 3 s." in md
    for table in (context["comparisons"][0].verdicts, context["runs"], context["skipped"]):
        start = lines.index(table.lines()[0])
        assert lines[start : start + len(table.rows) + 2] == table.lines()

    unpaired = hand_made_context(note="Trained by hand.", verdicts=[], statistics=None, training=None)
    unpaired["skipped"].rows = []
    md = render(unpaired)
    assert md.startswith("# A hand-made report\n\nTrained by hand.\n\nMade by `python evaluate.py a b` on 2026-01-02 03:04 UTC")
    assert "## Verdicts" not in md and "Training wall time" not in md and "## Runs not evaluated" not in md
    assert md.endswith("| `run-bce-s0` | dense | mnist | bce | 0 | 3/3 | completed | 8.5 | 1.9 |\n")


@pytest.mark.parametrize("key", ["title", "device", "training", "comparisons"])
def test_a_name_the_context_lacks_is_an_error_not_an_empty_string(key):
    import jinja2

    from autoencoders.report.document import render

    context = hand_made_context()
    del context[key]
    with pytest.raises(jinja2.UndefinedError):
        render(context)


def test_the_html_page_is_the_markdown_converted_inside_the_template(tmp_path):
    from autoencoders.report.document import render, to_html

    html = to_html(render(hand_made_context(comparisons=[])), tmp_path, "A <hand-made> report")
    assert html.startswith('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>A <hand-made> report</title>\n<style>\n')
    assert "<h1>A hand-made report</h1>" in html and "<td>non-finite loss at epoch 2</td>" in html
    assert html.endswith("</table>\n</body></html>\n")


def committed(path: str) -> str:
    """A file as the last commit holds it: `make demo` rewrites the quick report in the working tree
    from the user's own runs in results/runs/, and these tests are about what is committed."""
    return subprocess.run(["git", "show", f"HEAD:{path}"], cwd=ROOT, capture_output=True, text=True, check=True).stdout


RUN_FILES = ("config.yaml", "history.csv", "metrics.json", "model.keras")


@pytest.mark.slow
def test_the_committed_quick_report_is_remade_from_its_committed_runs(tmp_path):
    """docs/comparing.md: the quick comparison's report regenerates from the six runs committed
    beside it (config, history, metrics and model each), with the same verdict and the same metric
    table (its other lines hold times, dates and paths)."""
    report = "results/reports/quick-dense"
    folders = sorted({path.split("/")[4] for path in set(tracked_files(f"{report}/runs"))})
    assert folders == [f"quick-dense-mnist-{loss}-s{seed}" for loss in ("bce", "mse") for seed in range(3)]
    assert set(tracked_files(f"{report}/runs")) == {f"{report}/runs/{f}/{name}" for f in folders for name in RUN_FILES}
    done = evaluate(*(ROOT / report / "runs" / f for f in folders), "--out", tmp_path, "--title", "Quick comparison")
    assert done.returncode == 0, done.stderr

    def verdicts_and_metrics(text):
        lines = text.splitlines()
        verdicts = [line for line in lines if line.startswith("- **dense · mnist")]
        metric_rows = [line for line in lines if line.startswith("| ") and (" ↓ |" in line or " ↑ |" in line)]
        return verdicts, metric_rows

    verdicts, metric_rows = verdicts_and_metrics(committed(f"{report}/REPORT.md"))
    assert len(verdicts) == 1 and len(metric_rows) == 6  # pixel MSE, MAE, PSNR, SSIM, pixel BCE, BCE - target entropy
    assert verdicts_and_metrics((tmp_path / "REPORT.md").read_text()) == (verdicts, metric_rows)


def test_every_committed_report_has_its_runs_committed_beside_it():
    """README's map: the committed reports each come with their runs. Every run folder a committed
    comparison report names is tracked with the files a report is remade from; every one of the
    study's runs is tracked with them too, and the study counts what the repository holds."""
    tracked = set(tracked_files("results"))
    reports = sorted(path for path in tracked if path.endswith("summary.json") and path != "results/study/summary.json")
    assert {"results/reports/quick-dense/summary.json", "results/blog/summary.json", "results/compare/natural_patches/summary.json"} <= set(
        reports
    )
    for report in reports:
        named = [run["path"] for run in json.loads(committed(report))["runs"]]
        assert named and all(path.startswith(report.rsplit("/", 1)[0] + "/runs/") for path in named), report
        for path in named:
            assert {f"{path}/{name}" for name in RUN_FILES} <= tracked, path
    study = json.loads(committed("results/study/summary.json"))
    study_runs = {path.split("/")[3] for path in tracked if path.startswith("results/study/runs/")}
    assert study["runs"] == len(study_runs) == 262
    assert all({f"results/study/runs/{run}/{name}" for name in RUN_FILES} <= tracked for run in study_runs)
    lean = ("config.yaml", "history.csv", "metrics.json")  # the collapse and today runs keep no model
    collapse_runs = {p.split("/")[3] for p in tracked if p.startswith("results/study/collapse/collapse-")}
    assert study["collapse"]["runs"] == len(collapse_runs) == 1440
    assert all({f"results/study/collapse/{run}/{name}" for name in lean} <= tracked for run in collapse_runs)
    today_runs = {p.split("/")[4] for p in tracked if p.startswith("results/study/today/runs/")}
    assert study["today"]["runs"] == len(today_runs) == 300
