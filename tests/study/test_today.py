"""Study section 9 (autoencoders/study/today.py): each output head and loss against sigmoid + BCE,
paired by seed, Holm within each model × dataset, read from the runs' metrics.json alone."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from autoencoders.study import findings, today
from autoencoders.study.collapse_rates import CollapseRun

ROOT = Path(__file__).resolve().parents[2]
TODAY = ROOT / "results" / "study" / "today"
RUNS = TODAY / "runs"
METRICS = ("mse", "ssim", "psnr", "bce_excess")


def run(head: str, loss: str, seed: int, mse: float, ssim: float = 0.5, dark_mse: float = 0.1, history=None, spread=None) -> CollapseRun:
    config = SimpleNamespace(
        seed=seed,
        model=SimpleNamespace(arch="dense", output=head),
        dataset=SimpleNamespace(name="mnist"),
        loss=SimpleNamespace(name=loss),
        training=SimpleNamespace(optimizer="adam", learning_rate=0.001, batch_size=128),
    )
    evaluation = {"mse": mse, "ssim": ssim, "psnr": -10 * math.log10(mse), "bce_excess": mse}
    history = history or [{"epoch": 1, "val_pixel_mse": mse}]
    metrics = {"evaluation": evaluation, "train_seconds": 2.0 + seed} | ({} if spread is None else {"output_spread": spread})
    return CollapseRun(Path(f"{head}-{loss}-s{seed}"), config, history, dark_mse, metrics)


def test_a_setting_is_compared_with_sigmoid_bce_by_a_paired_t_test_whose_p_is_known_in_closed_form():
    # linear + MSE lower than sigmoid + BCE by 1, 2 and 3 (× 1e-3) in seeds 0-2: mean 2, sd 1, t = 2√3;
    # with 2 degrees of freedom the two-sided p is 1 - t / sqrt(t² + 2) exactly
    reference = [run("sigmoid", "bce", s, 0.02) for s in range(3)]
    linear = [run("linear", "mse", s, 0.02 - 0.001 * (s + 1)) for s in range(3)]
    fam = today.family("dense", "mnist", reference + linear, ("mse",))
    [contrast] = [c for c in fam["contrasts"] if c["setting"] == "linear + MSE"]
    t = 2 * math.sqrt(3)
    assert contrast["diff"] == pytest.approx(-0.002)
    assert contrast["p"] == pytest.approx(1 - t / math.sqrt(t * t + 2), rel=1e-6)
    # settings without runs are not tests: the family has one test, so Holm leaves its p alone
    assert contrast["family_size"] == 1 and contrast["p_holm"] == pytest.approx(contrast["p"])
    assert [c["p"] for c in fam["contrasts"] if c["setting"] != "linear + MSE"] == [None, None]


def test_holm_multiplies_the_smallest_p_by_the_family_size_and_verdicts_follow_the_metrics_direction():
    seeds = range(6)
    members = [run("sigmoid", "bce", s, 0.02 + 0.0001 * s, ssim=0.8 + 0.001 * s) for s in seeds]
    # sigmoid + MSE: far lower pixel MSE (better) but far lower SSIM (worse) in every seed
    members += [run("sigmoid", "mse", s, 0.01 + 0.0001 * s * s, ssim=0.5 + 0.002 * s) for s in seeds]
    fam = today.family("conv", "mnist", members, ("mse", "ssim"))
    tested = [c for c in fam["contrasts"] if c["p"] is not None]
    assert len(tested) == 2 and all(c["family_size"] == 2 for c in tested)
    smallest = min(tested, key=lambda c: c["p"])
    assert smallest["p_holm"] == pytest.approx(2 * smallest["p"])
    verdicts = {c["metric"]: c["verdict"] for c in tested}
    assert verdicts == {"mse": "better", "ssim": "worse"}


def test_dark_runs_train_time_and_the_epoch_a_target_is_reached_are_counted_per_setting():
    dark_history = [{"epoch": 1, "val_pixel_mse": 0.0995}, {"epoch": 2, "val_pixel_mse": 0.0995}]  # within 1% of 0.1
    healthy = [{"epoch": 1, "val_pixel_mse": 0.05}, {"epoch": 2, "val_pixel_mse": 0.009}]  # reaches 10% of 0.1 at epoch 2
    members = [run("sigmoid", "bce", s, 0.009 + 0.001 * s, history=healthy, spread=0.9) for s in range(3)]
    members += [run("sigmoid", "mse", s, 0.1 - 0.002 * s * s, history=dark_history if s < 2 else healthy, spread=0.9) for s in range(3)]
    # linear + MAE: one constant output that is not dark (spread 0.01 and 0.04 under the rule's 0.05)
    members += [run("linear", "mae", s, 0.08, history=healthy, spread=(0.01, 0.04, 0.5)[s]) for s in range(3)]
    members += [run("linear", "mse", s, 0.02, history=healthy, spread=None if s == 0 else 0.8) for s in range(3)]
    rows = {r["setting"]: r for r in today.family("dense", "mnist", members, ("mse",))["rows"]}
    assert (rows["sigmoid + MSE"]["dark_first"], rows["sigmoid + MSE"]["dark_last"]) == (2, 2)
    assert (rows["sigmoid + BCE"]["dark_first"], rows["sigmoid + BCE"]["dark_last"]) == (0, 0)
    assert rows["sigmoid + BCE"]["reach_epoch"] == 2 and math.isinf(rows["sigmoid + MSE"]["reach_epoch"])
    assert rows["sigmoid + BCE"]["train_seconds"] == 3.0  # median of 2, 3, 4
    assert (rows["linear + MAE"]["dark_last"], rows["linear + MAE"]["constant"]) == (0, 2)
    assert rows["sigmoid + BCE"]["constant"] == 0
    assert rows["linear + MSE"]["constant"] is None  # one run without the measure: not counted as healthy


def test_without_runs_the_section_says_so(tmp_path):
    md, summary = today.section(tmp_path, METRICS)
    assert summary["runs"] == 0 and "(No runs of these sweeps were given" in "\n".join(md)
    assert len(summary["missing"]) == 9
    assert summary["collapse"]["runs"] == 0 and "(No such runs in" in "\n".join(md)


def test_a_completed_run_without_a_stored_evaluation_is_named_and_left_out(monkeypatch, tmp_path):
    (tmp_path / "runs").mkdir()
    unevaluated = run("sigmoid", "bce", 0, 0.01)
    unevaluated.metrics.pop("evaluation")
    found = [unevaluated, run("sigmoid", "mse", 0, 0.02)]
    monkeypatch.setattr(today, "load_runs", lambda folder, prefix: (found, []) if prefix == today.PREFIX else ([], []))
    _, summary = today.section(tmp_path, METRICS)
    assert summary["runs"] == 1
    assert summary["not_used"] == ["sigmoid-bce-s0: metrics.json holds no evaluation (training stores it as the run ends)"]


def test_a_diverged_run_is_not_a_constant_output_and_a_second_run_of_a_seed_is_left_out(monkeypatch, tmp_path):
    (tmp_path / "runs").mkdir()
    found = [run("sigmoid", "bce", s, 0.01 + 0.001 * s, spread=0.9) for s in range(3)]
    found[1].metrics["output_spread"] = None  # NaN, as JSON stores it
    twin = run("sigmoid", "bce", 2, 0.05, spread=0.9)
    found.append(CollapseRun(Path("again-s2"), twin.config, twin.history, twin.dark_mse, twin.metrics))
    monkeypatch.setattr(today, "load_runs", lambda folder, prefix: (list(found), []) if prefix == today.PREFIX else ([], []))
    _, summary = today.section(tmp_path, METRICS)
    [row] = [r for r in summary["families"][0]["rows"] if r["setting"] == "sigmoid + BCE"]
    assert (row["runs"], row["constant"]) == (3, 0)
    assert row["metrics"]["mse"]["mean"] == pytest.approx(0.011)  # the first run of seed 2, not its twin
    assert summary["not_used"] == ["again-s2: the same model, data, setting and seed as sigmoid-bce-s2; only one is compared"]


def test_collapse_rates_per_head_and_loss_with_wilson_intervals(monkeypatch, tmp_path):
    def one_epoch(arch, head, loss, lr, seed, val_mse):
        training = SimpleNamespace(optimizer="adam", learning_rate=lr)
        config = SimpleNamespace(
            seed=seed,
            model=SimpleNamespace(arch=arch, output=head),
            dataset=SimpleNamespace(name="mnist"),
            loss=SimpleNamespace(name=loss),
            training=training,
        )
        return CollapseRun(tmp_path / f"{arch}-{head}-{loss}-{lr}-{seed}", config, [{"val_pixel_mse": val_mse}], 0.1)

    runs = [one_epoch("res_conv", "sigmoid", "mse", 0.01, s, 0.0999) for s in range(3)]  # within 1% of the dark 0.1
    runs += [one_epoch("res_conv", "sigmoid", "bce", 0.01, s, 0.01) for s in range(3)]
    runs += [one_epoch("dense", "linear", "mae", 0.001, s, float("nan") if s == 0 else 0.02) for s in range(3)]
    monkeypatch.setattr(today, "load_runs", lambda folder, prefix: (runs, ["collapse-today-x: unfinished"]))
    (tmp_path / "collapse").mkdir()
    rates = today.collapse_rates(tmp_path / "collapse")
    rows = {(r["arch"], r["setting"]): r["rates"] for r in rates["rows"]}
    assert set(rows) == {("res_conv", "sigmoid + MSE"), ("res_conv", "sigmoid + BCE"), ("dense", "linear + MAE")}
    assert [x["text"] for x in rows[("res_conv", "sigmoid + MSE")]] == ["not trained", "3/3 [0.44, 1.00]"]
    assert [x["text"] for x in rows[("res_conv", "sigmoid + BCE")]] == ["not trained", "0/3 [0.00, 0.56]"]
    assert rows[("dense", "linear + MAE")][0]["diverged"] == 1 and rows[("dense", "linear + MAE")][0]["collapsed"] == 0
    assert rates["runs"] == 9 and rates["not_used"] == ["collapse-today-x: unfinished"]
    assert rates["settings"] == ["Adam 1e-3", "Adam 1e-2"]


@pytest.mark.skipif(not RUNS.is_dir(), reason="the committed today's-practice runs")
def test_the_committed_runs_make_the_section_and_the_findings_answer_from_their_own_numbers(monkeypatch):
    monkeypatch.chdir(ROOT)  # the folder as make study names it, relative, as the committed report shows it
    md, summary = today.section(TODAY.relative_to(ROOT), METRICS)
    text = "\n".join(md)
    assert summary["runs"] == 300 and summary["not_used"] == []  # the whole outcome grid, every run used
    dense_mnist = next(f for f in summary["families"] if (f["arch"], f["dataset"]) == ("dense", "mnist"))
    assert [r["runs"] for r in dense_mnist["rows"]] == [10, 10, 10, 10]  # seeds 0-9 of every setting
    # the table's mean is the mean of the runs' own metrics.json
    folders = sorted(RUNS.glob("today-dense-linear-mnist-mae-s*"))
    stored = [json.loads((folder / "metrics.json").read_text())["evaluation"]["ssim"] for folder in folders]
    mae_row = next(r for r in dense_mnist["rows"] if r["setting"] == "linear + MAE")
    assert mae_row["runs"] == len(folders) and mae_row["metrics"]["ssim"]["mean"] == pytest.approx(sum(stored) / len(stored), rel=1e-12)
    for t in summary["tally"]:
        assert t["better"] + t["worse"] + t["None"] == t["tests"]
    assert "## 9. What should I use today?" in text
    # the committed study is this rendering of the committed runs: its summary and its section 9
    committed = json.loads((ROOT / "results" / "study" / "summary.json").read_text())["today"]
    assert json.loads(json.dumps(summary)) == committed
    assert text in (ROOT / "results" / "study" / "REPORT.md").read_text()
    # the Findings' short answer follows the tally: a setting is named only if it was better more often than worse
    study = json.loads((ROOT / "results" / "study" / "summary.json").read_text())
    study["today"] = json.loads(json.dumps(summary))
    page = findings.render(study)
    ahead = [t["setting"] for t in summary["tally"] if t["better"] > t["worse"]]
    answer = page[page.index("What should I use today") :]
    assert ("no other setting beat it more often than it lost" in answer) == (not ahead)
    for t in summary["tally"]:
        assert f"| {t['setting']} | {t['tests']} | {t['better']} | {t['worse']} | {t['None']} |" in answer
