"""Section 8 (how early and how rightly DiagnosticsCallback warns of the collapse): its runs are
section 7's, and its counts, precision, recall and timing are what hand-made results give."""

import json
import shutil

from autoencoders.study import early_warning
from autoencoders.train import run_folder as runs

from conftest import ROOT

COLLAPSE = ROOT / "results" / "study" / "collapse"


def test_the_runs_are_section_7s_conv_runs_at_adam_1e_3_on_mnist_and_fashion_mnist():
    configs = early_warning.settings()
    names = {cfg.name for cfg in configs}
    assert len(configs) == len(names) == 2 * 2 * 20
    expected = {
        f"collapse-conv-{d}-{loss}-adam0.001-s{s}" for d in ("mnist", "fashion_mnist") for loss in ("mse", "bce") for s in range(20)
    }
    assert names == expected
    assert all((COLLAPSE / name).is_dir() for name in names)  # the twin of each is committed
    assert {(cfg.training.epochs, cfg.training.batch_size, cfg.dataset.test_size) for cfg in configs} == {(1, 128, 2000)}


def result(name, dataset, loss, warned, lock, collapsed, val_pixel_mse=0.1):
    return {"name": name, "dataset": dataset, "loss": loss, "seed": 0, "steps": 469, "problems": ["dark_output"] if warned else [],
            "warned_step": warned, "lock_step": lock, "val_pixel_mse": val_pixel_mse, "dark_mse": 0.1026 if collapsed else 0.2,
            "collapsed": collapsed, "seconds": 30.0}  # fmt: skip


def twin_val_pixel_mse(name: str) -> float:
    return runs.read_history(COLLAPSE / name / runs.HISTORY)[-1]["val_pixel_mse"]


def test_the_section_counts_right_false_and_missed_warnings(tmp_path):
    folder, collapse_folder = tmp_path / "early_warning", tmp_path / "collapse"
    folder.mkdir()
    runs = [
        # right, 20 steps after the lock, and ending at its section-7 twin's validation MSE to the bit
        result(
            "collapse-conv-mnist-mse-adam0.001-s0", "mnist", "mse", 50, 30, True, twin_val_pixel_mse("collapse-conv-mnist-mse-adam0.001-s0")
        ),
        result("collapse-conv-mnist-mse-adam0.001-s1", "mnist", "mse", 50, 20, True),  # right, 30 steps after
        result("collapse-conv-mnist-mse-adam0.001-s2", "mnist", "mse", 50, None, False),  # false: it recovered
        result("collapse-conv-fashion_mnist-mse-adam0.001-s0", "fashion_mnist", "mse", None, None, True),  # missed
        result("collapse-conv-mnist-bce-adam0.001-s0", "mnist", "bce", None, None, False),  # silent and healthy
    ]
    for r in runs:
        (folder / f"{r['name']}.json").write_text(json.dumps(r))
    (folder / "broken.json").write_text("{not json")
    # the committed section-7 twin of s0 (collapsed at its end) and of the bce run (healthy)
    for name in ("collapse-conv-mnist-mse-adam0.001-s0", "collapse-conv-mnist-bce-adam0.001-s0"):
        shutil.copytree(COLLAPSE / name, collapse_folder / name)

    lines, summary = early_warning.section(folder, collapse_folder)

    counts = {key: summary[key] for key in ("runs", "collapsed", "warned", "right", "false", "missed")}
    assert counts == {"runs": 5, "collapsed": 3, "warned": 3, "right": 2, "false": 1, "missed": 1}
    assert (summary["precision"]["k"], summary["precision"]["n"]) == (2, 3) and (summary["recall"]["k"], summary["recall"]["n"]) == (2, 3)
    assert 0 < summary["precision"]["low"] < 2 / 3 < summary["precision"]["high"] < 1  # Wilson: inside (0, 1), around k/n
    assert summary["steps_after_lock"] == {"median": 25.0, "min": 20, "max": 30, "n": 2}
    assert summary["lock_step"]["median"] == 25.0 and summary["epoch_steps"] == 469
    # s0 collapsed there too (with the same bits), the bce run did not
    assert summary["same_outcome_as_section_7"] == {"same": 2, "same_bits": 1, "compared": 2}
    assert summary["not_used"] and summary["not_used"][0].startswith("broken.json")
    text = "\n".join(lines)
    assert text.startswith("## 8. ")
    assert "| mnist | MSE | 3 | 2 | 3 | 2 | 1 | 0 |" in text and "| fashion_mnist | MSE | 1 | 1 | 0 | 0 | 0 | 1 |" in text
    assert "**precision** 2 of 3 (67%" in text and "**recall** 2 of 3 (67%" in text
    assert "25 (20–30) steps after the lock" in text and "in 2 of 2, with the same validation pixel MSE to the bit in 1" in text
    assert "a probe of 64 images every 50 steps of\nthe first epoch, of 256 at the epoch's end" in text  # DiagnosticsCallback's defaults
    assert "one epoch, batch 128" in text


def test_without_runs_the_section_says_how_to_make_them(tmp_path):
    lines, summary = early_warning.section(tmp_path / "none", None)
    assert summary["runs"] == 0 and summary["precision"] is None
    assert any("python -m autoencoders early-warning" in line for line in lines) and not any(line.startswith("|") for line in lines)


def test_a_stopped_command_goes_on_with_the_runs_it_has_no_result_for(tmp_path):
    everything = early_warning.settings()
    for cfg in everything[:-3]:
        (tmp_path / f"{cfg.name}.json").write_text("{}")
    assert [cfg.name for cfg in early_warning.to_train(tmp_path, 20)] == [cfg.name for cfg in everything[-3:]]
    shards = [early_warning.to_train(tmp_path, 20, (k, 2)) for k in (0, 1)]
    assert sorted(cfg.name for shard in shards for cfg in shard) == sorted(cfg.name for cfg in everything[-3:])
    assert early_warning.early_warning_main(["--out", str(tmp_path), "--seeds", "1"]) == 0  # seed 0's four are all there: nothing trains


def test_the_manuals_figures_are_the_committed_sections():
    """docs/diagnose.md quotes section 8, as the committed early-warning runs give it."""
    _, s = early_warning.section(ROOT / "results" / "study" / "early_warning", COLLAPSE)
    assert s["runs"] == 80 and not s["not_used"]
    page = " ".join((ROOT / "docs" / "diagnose.md").read_text().split())
    assert (
        f"warned in {s['warned']} of {s['runs']} runs, {s['right']} of them rightly (precision {s['precision']['k']} of "
        f"{s['precision']['n']}); of the {s['collapsed']} runs that ended collapsed it warned in {s['right']} "
        f"(recall {s['recall']['k']} of {s['recall']['n']})"
    ) in page
    lag = s["steps_after_lock"]
    assert (
        f"It warned at step {s['warned_step']['median']:g} of {s['epoch_steps']}, a median of {lag['median']:g} steps "
        f"({lag['min']}–{lag['max']}) after the output locked"
    ) in page
    assert s["warned_step"]["min"] == s["warned_step"]["max"]  # one step for every warning, as the page says
