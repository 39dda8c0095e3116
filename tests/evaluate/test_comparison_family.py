"""One test per distinct quantity, a zero rule that knows the metric's scale, and percentages of
paired means: the three rules of a report's family of tests, each against hand-computed values."""

from types import SimpleNamespace as NS

import numpy as np
import pytest

from autoencoders import config as C
from autoencoders.evaluate.comparison import compare_groups, compare_metric, group_runs, own_tests, same_values, winner
from autoencoders.report.document import verdict_summary


def evaluation(loss: str, seed: int, **means: float):
    cfg = C.parse_config({"name": f"r-{loss}-{seed}", "seed": seed, "loss": {"name": loss}})
    return NS(run=NS(config=cfg, path=f"/runs/{cfg.name}", data_identity="data"), mean=lambda m: means[m])


FLOOR = 0.05  # the test set's entropy floor: the same for both losses, so BCE and BCE − floor differ alike


def pair_of_runs(bce_values, mse_values, ssim=(0.8, 0.8)):
    runs = []
    for loss, values in (("bce", bce_values), ("mse", mse_values)):
        for seed, value in enumerate(values):
            runs.append(evaluation(loss, seed, bce=value, bce_excess=value - FLOOR, ssim=ssim[loss == "mse"] + 0.01 * seed, mse=0.01))
    return group_runs(runs)


def test_pixel_bce_is_shown_with_the_floor_free_test_and_counted_once():
    groups = pair_of_runs([0.10, 0.11, 0.12, 0.13], [0.20, 0.215, 0.23, 0.245])
    [diffs] = compare_groups(groups, ("mse", "ssim", "bce", "bce_excess"))
    by = {d.metric: d for d in diffs}
    # four metrics, three distinct quantities: a family of three tests, not four
    assert by["bce"].tested_as == "bce_excess" and by["bce_excess"].tested_as is None
    assert {d.family_size for d in diffs} == {3}
    assert by["bce"].p_adjusted == by["bce_excess"].p_adjusted and by["bce"].winner == by["bce_excess"].winner == "bce"
    assert "the test of BCE − target entropy" in by["bce"].verdict
    assert [d.metric for d in own_tests(diffs)] == ["mse", "ssim", "bce_excess"]
    # asked alone, pixel BCE is a test of its own
    [alone] = compare_groups(groups, ("bce",))
    assert alone[0].tested_as is None and alone[0].winner == "bce"


def test_the_zero_rule_is_relative_to_the_values():
    # PSNR-sized values equal up to float32 rounding (~2e-6 of 20 dB): one number, no test
    assert same_values(np.array([20.0, 21.0, 22.0]), np.array([20.0 + 1e-6, 21.0 - 1e-6, 22.0 + 2e-6]))
    assert compare_metric("psnr", {0: 20.0, 1: 21.0, 2: 22.0}, {0: 20.0 + 1e-6, 1: 21.0 - 1e-6, 2: 22.0 + 2e-6}).p_value == 1.0
    # tiny values that differ by 10% are different, though every difference is below 1e-8 (np.allclose's atol)
    bce, mse = {0: 1.0e-9, 1: 1.2e-9, 2: 1.1e-9, 3: 1.3e-9}, {0: 1.1e-9, 1: 1.31e-9, 2: 1.2e-9, 3: 1.42e-9}
    assert not same_values(np.array(list(bce.values())), np.array(list(mse.values())))
    d = compare_metric("mse", bce, mse)
    assert d.p_value < 0.05 and d.winner == "bce"


def test_the_effects_percentage_is_of_the_paired_seeds_mean():
    # seed 3 was trained with MSE only: the effect (−1 on seeds 0-2) is 50% of those seeds' MSE mean (2), not of all four (26.5)
    d = compare_metric("mse", {0: 1.0, 1: 1.1, 2: 0.9}, {0: 2.0, 1: 2.1, 2: 1.9, 3: 100.0})
    assert d.diff.mean == pytest.approx(-1.0) and d.mse_paired_mean == pytest.approx(2.0)
    assert d.relative == pytest.approx(0.5) and "(50.0% of MSE's value)" in d.verdict


def test_the_verdict_rule_and_the_summary_line_agree():
    assert winner("mse", -0.1, 0.01) == "bce" and winner("psnr", -0.1, 0.01) == "mse"
    assert winner("mse", -0.1, 0.05) is None and winner("mse", -0.1, None) is None
    groups = pair_of_runs([0.10, 0.11, 0.12, 0.13], [0.20, 0.215, 0.23, 0.245])
    [diffs] = compare_groups(groups, ("mse", "bce", "bce_excess"))
    [line] = verdict_summary([("dense · mnist", diffs)])
    assert line.startswith("- **dense · mnist**: BCE better on pixel BCE (")
    assert "no significant difference on pixel MSE" in line and "MSE better" not in line
