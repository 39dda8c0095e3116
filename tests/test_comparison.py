"""Grouping and statistics on synthetic evaluations (no training needed)."""

import math
from dataclasses import replace
from types import SimpleNamespace as NS

import numpy as np
import pytest

from autoencoders import config as C
from autoencoders.comparison import WILCOXON_MIN_PAIRS, ComparisonError, check_comparable, compare_metric, correct, group_runs, summarize


def fake_eval(loss="bce", seed=0, mse=0.01, data=None, **overrides):
    """An evaluation-like object: a real config, a run recording the identity of its data (`data`,
    or none recorded as in runs from before identities were)."""
    cfg = C.parse_config({"name": f"r-{loss}-{seed}", "seed": seed, "loss": {"name": loss}, **overrides})
    values = {"mse": np.full(4, mse)}
    return NS(run=NS(config=cfg, path=f"/runs/{cfg.name}", data_identity=data), mean=lambda m, v=values: float(v[m].mean()))


def test_runs_differing_only_in_loss_and_seed_form_one_pair():
    evs = [fake_eval(l, s) for l in ("bce", "mse") for s in (0, 1, 2)]
    evs.append(fake_eval("bce", 0, model={"arch": "conv"}))
    groups = group_runs(evs)
    assert len(groups) == 2
    pair = next(g for g in groups if g.is_pair)
    assert len(pair.members) == 6 and {*pair.by_loss()} == {"bce", "mse"}
    assert [ev.run.config.seed for ev in pair.by_loss()["mse"]] == [0, 1, 2]
    assert not next(g for g in groups if not g.is_pair).is_pair


def test_groups_follow_the_blog_posts_order_of_architectures_then_mnist_before_fashion():
    evs = [fake_eval("bce", model={"arch": "conv"}), fake_eval("bce", dataset={"name": "fashion_mnist"}),
           fake_eval("bce", model={"arch": "deep_dense"}), fake_eval("bce")]
    order = [(g.config.model.arch, g.config.dataset.name) for g in group_runs(evs)]
    assert order == [("dense", "mnist"), ("dense", "fashion_mnist"), ("deep_dense", "mnist"), ("conv", "mnist")]


def test_runs_on_different_datasets_are_never_grouped_and_a_request_with_no_common_test_set_is_refused():
    groups = group_runs([fake_eval("bce"), fake_eval("mse", dataset={"name": "fashion_mnist"})])
    assert len(groups) == 2
    with pytest.raises(ComparisonError, match="different test sets") as e:
        check_comparable(groups)
    assert "dataset.name=fashion_mnist" in str(e.value)
    with pytest.raises(ComparisonError):
        check_comparable(group_runs([fake_eval("bce"), fake_eval("mse", dataset={"test_size": 100})]))
    check_comparable(group_runs([fake_eval("bce"), fake_eval("mse"), fake_eval("bce", dataset={"name": "fashion_mnist"})]))


def test_summary_statistics_match_hand_computation():
    s = summarize([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and s.sd == pytest.approx(1.0)
    half = 4.302652729911275 / math.sqrt(3)  # t_{0.975, 2}
    assert s.ci_low == pytest.approx(2 - half) and s.ci_high == pytest.approx(2 + half)
    one = summarize([5.0])
    assert one.n == 1 and one.sd is None and one.ci_low is None


def test_a_consistent_difference_is_significant_and_names_the_winner():
    bce = {0: 0.010, 1: 0.011, 2: 0.0105, 3: 0.0102}
    mse = {s: v + 0.002 + 0.0001 * s for s, v in bce.items()}
    d = compare_metric("mse", bce, mse)
    assert d.winner == "bce" and d.p_value < 0.01
    assert d.diff.mean == pytest.approx(-0.00215)
    assert "BCE better" in d.verdict
    # for a higher-is-better metric the same numbers make MSE the winner
    assert compare_metric("psnr", bce, mse).winner == "mse"


def test_noise_gives_no_significant_difference_and_one_seed_cannot_tell():
    d = compare_metric("mse", {0: 0.010, 1: 0.012, 2: 0.011}, {0: 0.011, 1: 0.010, 2: 0.0115})
    assert d.winner is None and d.p_value > 0.05 and "no significant difference" in d.verdict
    one = compare_metric("mse", {0: 0.010}, {0: 0.012})
    assert one.winner is None and one.p_value is None and "cannot tell" in one.verdict


def test_only_seeds_trained_with_both_losses_are_paired():
    d = compare_metric("mse", {0: 0.01, 1: 0.02, 5: 0.03}, {0: 0.011, 1: 0.021})
    assert d.diff.n == 2 and d.bce.n == 3 and d.mse.n == 2
    assert compare_metric("mse", {0: 0.01}, {1: 0.01}).verdict == "no seed trained with both losses"


def paired(effect: float, noise: float, seeds: int = 3, seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    mse = {s: 0.02 + 0.001 * s for s in range(seeds)}
    return {s: v + effect + noise * rng.standard_normal() for s, v in mse.items()}, mse


def test_holm_adjusts_over_the_whole_family_as_statsmodels_does_and_verdicts_follow_the_adjusted_p():
    from statsmodels.stats.multitest import multipletests

    family = [compare_metric("mse", *paired(effect, 0.0004, seed=i)) for i, effect in enumerate([-0.003, -0.0015, -0.0008, 0.0, 0.0004, 0.002])]
    family.append(compare_metric("mse", {0: 0.01}, {0: 0.02}))  # one seed: no p, not part of the family
    raw = [d.p_value for d in family[:-1]]
    judged = correct(family)
    for method in ("holm", "fdr_bh"):  # the fixed p-values give statsmodels' own adjustments
        assert multipletests(raw, method=method)[1].shape == (6,)
    np.testing.assert_allclose([d.p_adjusted for d in judged[:-1]], multipletests(raw, method="holm")[1])
    assert all(d.family_size == 6 for d in judged[:-1])
    assert judged[-1].p_adjusted is None and "cannot tell" in judged[-1].verdict
    for before, after in zip(family[:-1], judged[:-1]):
        assert after.p_value == before.p_value and after.p_adjusted >= before.p_value
        assert (after.winner is not None) == (after.p_adjusted < 0.05)
        assert f"Holm p = {after.p_adjusted:.2g}" in after.verdict


def test_holm_against_statsmodels_on_fixed_p_values():
    from statsmodels.stats.multitest import multipletests

    fixed = [0.01, 0.04, 0.03, 0.005, 0.5]
    diffs = [replace(compare_metric("mse", *paired(-0.001, 0.0001)), p_value=p) for p in fixed]
    adjusted = [d.p_adjusted for d in correct(diffs)]
    np.testing.assert_allclose(adjusted, [0.04, 0.09, 0.09, 0.025, 0.5])  # Holm: sorted p times (m - rank), running max
    np.testing.assert_allclose(adjusted, multipletests(fixed, method="holm")[1])
    np.testing.assert_allclose(multipletests(fixed, method="fdr_bh")[1], [0.025, 0.05, 0.05, 0.025, 0.5])
    # p = 0.04 and 0.03 pass on their own but not after the adjustment: their verdicts say so
    assert [d.winner for d in correct(diffs)] == ["bce", None, None, "bce", None]
    assert "no significant difference (Holm p = 0.09, 3 seeds)" in correct(diffs)[1].verdict


def test_holm_adjusted_leaves_untested_entries_out_of_the_family():
    """The one correction every table uses: a None (no test made) is neither adjusted nor counted."""
    from statsmodels.stats.multitest import multipletests

    from autoencoders.comparison import holm_adjusted

    adjusted = holm_adjusted([0.01, None, 0.04, None, 0.03])
    assert adjusted[1] is None and adjusted[3] is None
    np.testing.assert_allclose([adjusted[0], adjusted[2], adjusted[4]], multipletests([0.01, 0.04, 0.03], method="holm")[1])
    assert holm_adjusted([None, None]) == [None, None]


def test_wilcoxon_checks_the_t_test_only_with_enough_pairs():
    from scipy import stats

    few = compare_metric("mse", *paired(-0.002, 0.0003, seeds=WILCOXON_MIN_PAIRS - 1))
    assert few.wilcoxon_p is None and few.p_value is not None
    bce, mse = paired(-0.002, 0.0003, seeds=10)
    many = compare_metric("mse", bce, mse)
    assert many.wilcoxon_p == pytest.approx(stats.wilcoxon([bce[s] - mse[s] for s in range(10)]).pvalue)
    assert many.wilcoxon_p == pytest.approx(2 / 2**10)  # all 10 differences negative: the exact test's smallest p


def test_user_data_groups_by_the_identity_of_the_data_not_by_its_path():
    npz = {"name": "npz", "path": "a/mine.npz"}
    same_file_elsewhere = {"name": "npz", "path": "b/copy.npz"}
    groups = group_runs([fake_eval("bce", dataset=npz, data="aaa"), fake_eval("mse", dataset=same_file_elsewhere, data="aaa")])
    assert len(groups) == 1 and groups[0].is_pair
    changed = group_runs([fake_eval("bce", dataset=npz, data="aaa"), fake_eval("mse", dataset=npz, data="bbb")])
    assert len(changed) == 2
    with pytest.raises(ComparisonError, match="different test sets") as e:
        check_comparable(changed)
    assert "data aaa" in str(e.value) and "data bbb" in str(e.value)


def test_a_built_in_run_without_a_recorded_identity_pairs_with_one_that_has_it():
    from autoencoders.datasets import DATASETS

    pinned = DATASETS["mnist"].source.identity()
    groups = group_runs([fake_eval("bce", data=None), fake_eval("mse", data=pinned)])
    assert len(groups) == 1 and groups[0].is_pair
