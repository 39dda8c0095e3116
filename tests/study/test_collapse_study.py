"""Section 7 of the study: rates per cell from run folders, the persistence count, the replay of a
run's first steps, the mechanism statistics, and the committed study against its run folders."""

import json
import math

import numpy as np
import pytest

from autoencoders import config as C
from autoencoders.study import collapse
from autoencoders.study import collapse_rates as collapse_study
from autoencoders.sweep import schedule as sweep
from autoencoders.train import run_folder as runs

from conftest import ROOT

SWEEP = ROOT / "configs" / "sweeps" / "collapse_conv_adam.yaml"


def write_run(folder, cfg, val_pixel_mse, status="completed"):
    """A run folder as train.py leaves it, minus the model (the collapse sweeps keep none);
    `val_pixel_mse`: its one epoch's, or a list with one per epoch."""
    path = folder / cfg.name
    path.mkdir(parents=True)
    by_epoch = val_pixel_mse if isinstance(val_pixel_mse, list) else [val_pixel_mse]
    runs.write_text(path / runs.CONFIG, C.dump_yaml(cfg))
    runs.write_history(
        path / runs.HISTORY,
        [
            {"epoch": epoch, "seconds": 1.0, "val_pixel_mse": value, "logit_grad": 0.01, "saturated_wrong": 0.0}
            for epoch, value in enumerate(by_epoch, start=1)
        ],
    )
    if status:
        runs.write_json(path / runs.METRICS, {"name": cfg.name, "status": status, "epochs": len(by_epoch)})
    return path


def test_rates_per_cell_come_from_the_run_folders(tmp_path):
    configs = [c for c in sweep.expand(SWEEP) if c.dataset.name == "mnist" and c.training.learning_rate == 0.001 and c.seed < 5]
    dark = collapse_study.dark_mse(configs[0].dataset)
    collapsed_seeds = {"mse": {0, 1, 2, 3}, "bce": set()}
    for cfg in configs:
        write_run(tmp_path, cfg, dark * (0.995 if cfg.seed in collapsed_seeds[cfg.loss.name] else 0.3))
    extra = next(c for c in sweep.expand(SWEEP) if c.seed == 7)
    write_run(tmp_path, extra, dark, status=None)  # unfinished: left out and named
    (tmp_path / "collapse-broken").mkdir()
    (tmp_path / "collapse-broken" / runs.METRICS).write_text("{not json")
    emptied = next(c for c in sweep.expand(SWEEP) if c.seed == 8)
    (write_run(tmp_path, emptied, dark) / runs.HISTORY).write_text("")  # completed, but no epoch recorded

    found, problems = collapse_study.load_runs(tmp_path)
    assert len(found) == 10
    assert f"{emptied.name}: {runs.HISTORY} holds no epoch" in problems
    assert any(extra.name in p and "unfinished" in p for p in problems)
    assert any("collapse-broken" in p and "metrics.json" in p for p in problems)
    rates = collapse_study.rates(collapse_study.by_cell(found))
    mse = rates[collapse_study.Cell("conv", "mnist", "adam", 0.001, "mse")]
    bce = rates[collapse_study.Cell("conv", "mnist", "adam", 0.001, "bce")]
    assert (mse.collapsed, mse.runs, bce.collapsed, bce.runs) == (4, 5, 0, 5)
    assert (mse.low, mse.high) == (pytest.approx(0.3755, abs=5e-5), pytest.approx(0.9638, abs=5e-5))  # Wilson score interval of 4 of 5


def test_the_validation_dark_mse_is_that_of_the_runs_test_subset():
    cfg = sweep.expand(SWEEP)[0]
    from autoencoders.train.loop import load_data

    assert collapse_study.dark_mse(cfg.dataset) == pytest.approx(collapse.dark_output_mse(load_data(cfg).t_test))
    assert cfg.dataset.test_size == 2000


def test_persistence_counts_runs_that_stay_dark_recover_or_go_dark_late():
    def history(*values):
        return [{"epoch": i + 1, "val_pixel_mse": v} for i, v in enumerate(values)]

    counted = collapse_study.persistence(
        [
            (history(0.1, 0.1, 0.1), 0.1),
            (history(0.1, 0.1, 0.02), 0.1),
            (history(0.03, 0.02, 0.02), 0.1),
            (history(0.03, 0.1), 0.1),
            (history(0.1), 0.1),
        ]
    )  # the last: one epoch, not a full-length run
    assert (counted.dark_first, counted.dark_first_and_last, counted.healthy_first, counted.dark_later) == (2, 1, 2, 1)
    assert (counted.runs, counted.longest) == (4, 3)


def test_the_replay_of_the_first_steps_is_the_trained_run(tmp_path, tiny_config):
    """early_state rebuilds the run from its seed and replays its batches: after as many steps as
    the real run took, its model is the real run's model (same mean output on the probe)."""
    import keras

    from autoencoders.train.loop import load_data, train

    cfg = tiny_config("configs/blog/conv.yaml", "loss.name=mse", "seed=3", "training.batch_size=128", "name=replay")
    train(cfg, tmp_path / "replay", verbose=0)
    steps = math.ceil(cfg.dataset.train_size / cfg.training.batch_size)
    state = collapse_study.early_state(cfg, steps=steps, probe_size=256)
    trained = keras.saving.load_model(tmp_path / "replay" / runs.MODEL)
    probe = load_data(cfg).x_train[:256]
    assert state[f"mean_output_step{steps}"] == pytest.approx(float(np.mean(trained.reconstruct(probe))), rel=1e-5)
    assert state["mean_output_step0"] == pytest.approx(0.5, abs=0.05)  # a fresh sigmoid output sits near 0.5
    assert 0 <= state[f"dead_units_step{steps}"] <= 1


def test_mechanism_tests_are_mann_whitney_with_holm_over_the_section(monkeypatch, tmp_path):
    cell = collapse_study.Cell("conv", "mnist", "adam", 0.001, "mse")
    members = [collapse_study.CollapseRun(tmp_path / f"s{i}", None, [{"val_pixel_mse": 0.1 if i < 6 else 0.02}], 0.1) for i in range(9)]
    values = {
        m.path.name: {k: float(i + (5 if not m.collapsed else 0)) for k in collapse_study.mechanism_labels()} for i, m in enumerate(members)
    }
    values[members[0].path.name]["dead_units_step0"] = math.nan  # an unmeasured value drops that measure's test
    monkeypatch.setattr(collapse_study, "mechanism_values", lambda run: values[run.path.name])
    uniform = collapse_study.CollapseRun(tmp_path / "u", None, [{"val_pixel_mse": 0.1}], 0.1)
    tests = collapse_study.mechanism({cell: members, collapse_study.Cell("dense", "mnist", "adam", 0.001, "mse"): [uniform] * 3})
    assert {t.measure for t in tests} == set(collapse_study.mechanism_labels()) - {"dead_units_step0"}
    assert all(len(t.collapsed) == 6 and len(t.healthy) == 3 for t in tests)  # the all-collapsed cell is not tested
    # 9 seeds split 6/3 in 84 ways: the permutation p is exact, and here the extreme split (1/84, two-sided)
    assert [t.p_value for t in tests] == pytest.approx([2 / 84] * len(tests))  # every measure splits the seeds the same way
    assert [t.p_holm for t in tests] == pytest.approx(
        [min(1.0, len(tests) * 2 / 84)] * len(tests)
    )  # Holm: m equal p-values each become m p
    few = collapse_study.mechanism({cell: members[4:]})  # 2 collapsed, 3 healthy: shown, not tested
    assert few and all(t.p_value is None and t.p_holm is None for t in few)


def test_the_committed_study_counts_its_committed_collapse_runs():
    """results/study/summary.json's collapse rates are the rates of the run folders beside it."""
    summary = json.loads((ROOT / "results" / "study" / "summary.json").read_text())["collapse"]
    found, _ = collapse_study.load_runs(ROOT / "results" / "study" / "collapse")
    assert summary["runs"] == len(found) >= 20
    rates = collapse_study.rates(collapse_study.by_cell(found))
    assert {
        (c["arch"], c["dataset"], c["optimizer"], c["learning_rate"], c["loss"]): (c["collapsed"], c["runs"]) for c in summary["cells"]
    } == {(k.arch, k.dataset, k.optimizer, k.learning_rate, k.loss): (r.collapsed, r.runs) for k, r in rates.items()}


def test_the_section_writes_the_rate_table_and_figure_from_a_collapse_folder(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "collapse"
    configs = [c for c in sweep.expand(SWEEP) if c.dataset.name == "mnist" and c.training.learning_rate == 0.01 and c.seed < 3]
    dark = collapse_study.dark_mse(configs[0].dataset)
    for cfg in configs:  # every MSE seed dark, every BCE seed healthy: no mixed cell, nothing to replay
        write_run(folder, cfg, dark if cfg.loss.name == "mse" else 0.02)

    refused = subprocess.run(
        [sys.executable, str(ROOT / "evaluate.py"), "--collapse", str(folder), "--out", str(tmp_path / "r"), str(folder / configs[0].name)],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "--collapse" in refused.stderr and "only with --study" in refused.stderr
    assert not (tmp_path / "r").exists()
    md, summary = collapse_study.section(tmp_path, folder, collapse_study.persistence([]))
    text = "\n".join(md)
    assert "| conv · mnist | MSE | not trained | not trained | 3/3 [0.44, 1.00] | not trained |" in text
    assert "| conv · mnist | BCE | not trained | not trained | 0/3 [0.00, 0.56] | not trained |" in text
    assert (tmp_path / "7-collapse-rates.png").stat().st_size > 10_000 and "figures/7-collapse-rates.png" in text
    cells = json.loads(json.dumps(summary))["cells"]
    assert sorted((c["loss"], c["collapsed"], c["runs"]) for c in cells) == [("bce", 0, 3), ("mse", 3, 3)]


def test_mse_against_bce_is_wilcoxon_paired_by_seed_and_identical_weights_are_not_tested(monkeypatch, tmp_path):
    from types import SimpleNamespace

    def run(loss, seed, collapsed):
        return collapse_study.CollapseRun(
            tmp_path / f"{loss}{seed}", SimpleNamespace(seed=seed), [{"val_pixel_mse": 0.1 if collapsed else 0.02}], 0.1
        )

    mse_cell = collapse_study.Cell("conv", "mnist", "adam", 0.001, "mse")
    cells = {
        mse_cell: [run("mse", s, s != 4) for s in range(7)],
        collapse_study.Cell("conv", "mnist", "adam", 0.001, "bce"): [run("bce", s, False) for s in range(7)],
        collapse_study.Cell("conv", "fashion_mnist", "adam", 0.001, "mse"): [run("fmse", s, False) for s in range(7)],
    }  # never collapsed: not contrasted

    def values(r):
        seed, loss = r.config.seed, r.path.name[:3]
        return {
            k: (float(seed) if k.endswith("step0") and not k.startswith("logit") else seed + (0.5 * seed + 1 if loss == "bce" else 0.0))
            for k in collapse_study.mechanism_labels()
        }

    monkeypatch.setattr(collapse_study, "mechanism_values", values)
    tests = collapse_study.loss_contrast(cells)
    assert {t.cell for t in tests} == {mse_cell} and all(len(t.mse) == 7 for t in tests)
    by_measure = {t.measure: t for t in tests}
    assert by_measure["mean_output_step0"].p_value is None and by_measure["mean_output_step0"].p_holm is None  # same weights
    grad = by_measure["logit_grad_step50"]
    assert grad.p_value == pytest.approx(2 / 2**7)  # all 7 pairs one sign (BCE higher): the exact signed-rank test's smallest p
    tested = [t for t in tests if t.p_value is not None]
    assert [t.p_value for t in tested] == pytest.approx([2 / 2**7] * len(tested))
    assert [t.p_holm for t in tested] == pytest.approx(
        [min(1.0, len(tested) * 2 / 2**7)] * len(tested)
    )  # Holm: m equal p-values each become m p


def test_the_rate_figure_draws_cells_where_every_seed_or_none_collapsed(tmp_path):
    """20 of 20 has a Wilson upper bound a hair below 1.0 in floating point; the figure must still
    draw it (matplotlib refuses a negative error bar)."""
    from matplotlib import image

    from autoencoders.study import figures as study_figures

    every, none, some = collapse.collapse_rate(20, 20), collapse.collapse_rate(0, 20), collapse.collapse_rate(4, 20)
    assert every.high < every.rate  # the case itself: the bound rounds to just inside the rate
    settings = [f"{o.capitalize()} {lr:g}" for o, lr in collapse_study.OPTIMIZER_SETTINGS]
    panels = [("denoising_conv", {("mnist", "mse"): [None, every, None, some], ("mnist", "bce"): [None, none, None, None]})]
    path = study_figures.collapse_rates(panels, settings, tmp_path / "rates.png")
    assert image.imread(path).shape[0] > 100


def test_long_runs_check_the_one_epoch_verdict_elsewhere_and_are_not_counted_as_rates(tmp_path):
    """The long_conv_*.yaml runs share the collapse folder: they fill the persistence table, never a
    rate cell."""
    long_sweep = ROOT / "configs" / "sweeps" / "long_conv_adam.yaml"
    configs = [c for c in sweep.expand(long_sweep) if c.training.learning_rate == 0.01]
    assert {c.training.epochs for c in configs} == {8} and {c.name[: len(collapse_study.LONG_PREFIX)] for c in configs} == {
        collapse_study.LONG_PREFIX
    }
    dark = collapse_study.dark_mse(configs[0].dataset)
    by_seed = {0: [dark] * 8, 1: [dark] * 3 + [0.05] * 5, 2: [0.06] * 4 + [dark] * 4}  # stays dark, recovers, goes dark late
    for cfg in configs:
        write_run(tmp_path, cfg, by_seed[cfg.seed] if cfg.loss.name == "mse" else [0.05] * 8)
    one_epoch = next(c for c in sweep.expand(SWEEP) if c.dataset.name == "mnist" and c.loss.name == "mse")
    write_run(tmp_path, one_epoch, dark)

    md, summary = collapse_study.section(tmp_path, tmp_path, collapse_study.persistence([]))
    assert [(c["loss"], c["collapsed"], c["runs"]) for c in summary["cells"]] == [("mse", 1, 1)]  # the long runs are no rate
    lasting = {c["loss"]: c for c in json.loads(json.dumps(summary))["persistence_long"]}
    assert {k: lasting["mse"][k] for k in ("runs", "longest", "dark_first", "dark_first_and_last", "healthy_first", "dark_later")} == {
        "runs": 3,
        "longest": 8,
        "dark_first": 2,
        "dark_first_and_last": 1,
        "healthy_first": 1,
        "dark_later": 1,
    }
    assert (lasting["bce"]["dark_first"], lasting["bce"]["dark_later"]) == (0, 0)
    assert "| conv · mnist · MSE · Adam 0.01 | 3 | 8 | 2 | 1 | 1 | 1 |" in "\n".join(md)
