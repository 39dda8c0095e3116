"""The statistics against values known without the libraries the code calls: Holm's adjustment
worked by hand, Wilson intervals published by Newcombe (1998), exact Wilcoxon signed-rank p-values
counted from the 2^n sign patterns, and Student's paired t-test on the sleep data (Cushny and
Peebles 1905) as R's `t.test(..., paired = TRUE)` reports it. None of these tests calls
statsmodels or scipy: a wrong call of theirs (a method name, an option, a changed default) fails
here, where a comparison with the same call could not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from autoencoders.evaluate.comparison import WILCOXON_MIN_PAIRS, compare_metric, correct, holm_adjusted
from autoencoders.study import collapse

# ------------------------------------------------------------------ Holm-Bonferroni, by hand
# Sort the m p-values, multiply the i-th smallest (i from 0) by m - i, take the running maximum
# in sorted order, clip at 1, put them back in the original order.


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.02, 0.03, 0.06, 0.06
        ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
        # sorted 0.005, 0.01, 0.03, 0.04, 0.5 -> 0.025, 0.04, 0.09, 0.08, 0.5 -> 0.025, 0.04, 0.09, 0.09, 0.5
        ([0.01, 0.04, 0.03, 0.005, 0.5], [0.04, 0.09, 0.09, 0.025, 0.5]),
        # 0.45 x 3 = 1.35, 0.8 x 2 = 1.6, 0.9: all clipped at 1
        ([0.45, 0.8, 0.9], [1.0, 1.0, 1.0]),
        # 0.2 x 3 = 0.6, 0.4 x 2 = 0.8, 0.7 x 1 = 0.7 -> 0.6, 0.8, 0.8
        ([0.4, 0.7, 0.2], [0.8, 0.8, 0.6]),
        ([0.02], [0.02]),  # a family of one is not adjusted
    ],
)
def test_holm_adjustments_worked_by_hand(p, expected):
    assert holm_adjusted(p) == pytest.approx(expected, abs=1e-12)


def test_holm_leaves_untested_entries_out_of_the_family():
    """None (no test made) is neither adjusted nor counted: a family of 3, not 5."""
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> 0.03, 0.06, 0.06
    assert holm_adjusted([0.01, None, 0.04, None, 0.03]) == [pytest.approx(0.03), None, pytest.approx(0.06), None, pytest.approx(0.06)]
    assert holm_adjusted([None, None]) == [None, None] and holm_adjusted([]) == []


def _differences(p_values: list[float]):
    """Real Differences (3 seeds, BCE lower on pixel MSE) carrying the given unadjusted p."""
    base = compare_metric("mse", {0: 0.010, 1: 0.011, 2: 0.012}, {0: 0.011, 1: 0.0125, 2: 0.0131})
    return [replace(base, p_value=p) for p in p_values]


def test_verdicts_follow_the_hand_adjusted_p_and_one_seed_is_no_member_of_the_family():
    one_seed = compare_metric("mse", {0: 0.01}, {0: 0.02})
    judged = correct([*_differences([0.01, 0.04, 0.03, 0.005, 0.5]), one_seed])
    assert [d.p_adjusted for d in judged[:-1]] == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.5])
    assert [d.family_size for d in judged[:-1]] == [5] * 5
    # 0.04 and 0.03 pass on their own but not after the adjustment: their verdicts say so
    assert [d.winner for d in judged[:-1]] == ["bce", None, None, "bce", None]
    assert "no significant difference (Holm p = 0.09, 3 seeds)" in judged[1].verdict
    assert "**BCE better**" in judged[0].verdict and "Holm p = 0.04" in judged[0].verdict
    assert judged[-1].p_adjusted is None and "cannot tell" in judged[-1].verdict
    assert [d.p_value for d in judged[:-1]] == [0.01, 0.04, 0.03, 0.005, 0.5]  # the raw p is kept beside


# ------------------------------------------------------------------ Wilson score intervals, published
# Newcombe RG (1998), "Two-sided confidence intervals for the single proportion: comparison of seven
# methods", Statistics in Medicine 17:857-872, Table II, method 3 (score, no continuity correction).


@pytest.mark.parametrize(
    ("collapsed", "total", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_a_collapse_rate_carries_newcombes_published_wilson_interval(collapsed, total, low, high):
    rate = collapse.collapse_rate(collapsed, total)
    assert (rate.low, rate.high) == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))
    assert f"{collapsed} of {total}" in str(rate)


def test_the_wilson_interval_at_the_edges_stays_inside_0_and_1():
    """n of n mirrors 0 of n: 20 of 20 is [1 - 0.1611, 1]."""
    every = collapse.collapse_rate(20, 20)
    assert every.low == pytest.approx(1 - 0.1611, abs=5e-5) and every.high == pytest.approx(1.0)
    # 4 of 5 by the score formula: centre (0.8 + z²/10) / (1 + z²/5), half-width z sqrt(0.8·0.2/5 + z²/100) / (1 + z²/5)
    four = collapse.collapse_rate(4, 5)
    assert (four.low, four.high) == (pytest.approx(0.3755, abs=5e-5), pytest.approx(0.9638, abs=5e-5))


# ------------------------------------------------------------------ Wilcoxon signed-rank, exact
# With n pairs and no ties or zeros each of the 2^n sign patterns is equally likely under the null;
# the exact two-sided p is 2 x (patterns with a rank sum at most as extreme) / 2^n.


def _pairs(diffs: list[float]) -> tuple[dict, dict]:
    mse = {s: 0.02 + 0.001 * s for s in range(len(diffs))}
    return {s: mse[s] + d for s, d in enumerate(diffs)}, mse


def test_wilcoxon_all_differences_of_one_sign_is_the_smallest_exact_p():
    assert WILCOXON_MIN_PAIRS == 6  # below 6 pairs the smallest possible p, 2/32, cannot reach 0.05
    six = compare_metric("mse", *_pairs([0.001, 0.002, 0.003, 0.004, 0.005, 0.006]))
    assert six.wilcoxon_p == pytest.approx(2 / 2**6)  # 0.03125: only "all +" and "all -" are as extreme
    ten = compare_metric("mse", *_pairs([-0.0011 * (i + 1) for i in range(10)]))
    assert ten.wilcoxon_p == pytest.approx(2 / 2**10)


def test_wilcoxon_one_smallest_difference_of_the_other_sign():
    """Ranks 1..6, the smallest negative: W- = 1. Patterns with W- <= 1: {} and {1}, so the exact
    one-sided p is 2/64 and the two-sided 4/64 = 0.0625."""
    d = compare_metric("mse", *_pairs([-0.0005, 0.002, 0.003, 0.004, 0.005, 0.006]))
    assert d.wilcoxon_p == pytest.approx(4 / 64)


def test_wilcoxon_is_not_run_below_six_pairs():
    few = compare_metric("mse", *_pairs([0.001, 0.002, 0.003, 0.004, 0.005]))
    assert few.wilcoxon_p is None and few.p_value is not None


# ------------------------------------------------------------------ paired t-test, a textbook example
# Student's sleep data (extra hours of sleep with two drugs, 10 patients; Cushny and Peebles 1905,
# R's `sleep` data set): t.test(extra ~ group, data = sleep, paired = TRUE) gives t = -4.0621,
# df = 9, p-value = 0.002833, mean difference -1.58, 95% CI [-2.4598858, -0.7001142].
SLEEP_DRUG_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_DRUG_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_the_paired_t_test_on_students_sleep_data():
    d = compare_metric("mse", dict(enumerate(SLEEP_DRUG_1)), dict(enumerate(SLEEP_DRUG_2)))
    assert d.diff.n == 10
    assert d.diff.mean == pytest.approx(-1.58)
    assert (d.diff.ci_low, d.diff.ci_high) == (pytest.approx(-2.4598858, abs=1e-7), pytest.approx(-0.7001142, abs=1e-7))
    assert d.p_value == pytest.approx(0.002833, abs=5e-7)
    assert d.winner == "bce"  # lower is better for pixel MSE, and drug 1 ("BCE") is lower
    # the unpaired means each come with their own t-interval: drug 1 mean 0.75, drug 2 mean 2.33
    assert d.bce.mean == pytest.approx(0.75) and d.mse.mean == pytest.approx(2.33)
