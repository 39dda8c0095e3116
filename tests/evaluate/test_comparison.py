"""Grouping and statistics on synthetic evaluations (no training needed)."""

import math
from types import SimpleNamespace as NS

import numpy as np
import pytest

from autoencoders import config as C
from autoencoders.evaluate.comparison import ComparisonError, check_comparable, compare_metric, group_runs, summarize


def fake_eval(loss="bce", seed=0, mse=0.01, data=None, **overrides):
    """An evaluation-like object: a real config, a run recording the identity of its data (`data`,
    or none recorded as in runs from before identities were)."""
    cfg = C.parse_config({"name": f"r-{loss}-{seed}", "seed": seed, "loss": {"name": loss}, **overrides})
    values = {"mse": np.full(4, mse)}
    return NS(run=NS(config=cfg, path=f"/runs/{cfg.name}", data_identity=data), mean=lambda m, v=values: float(v[m].mean()))


def test_runs_differing_only_in_loss_and_seed_form_one_pair():
    evs = [fake_eval(loss, s) for loss in ("bce", "mse") for s in (0, 1, 2)]
    evs.append(fake_eval("bce", 0, model={"arch": "conv"}))
    groups = group_runs(evs)
    assert len(groups) == 2
    pair = next(g for g in groups if g.is_pair)
    assert len(pair.members) == 6 and {*pair.by_loss()} == {"bce", "mse"}
    assert [ev.run.config.seed for ev in pair.by_loss()["mse"]] == [0, 1, 2]
    assert not next(g for g in groups if not g.is_pair).is_pair


def test_groups_follow_the_blog_posts_order_of_architectures_then_mnist_before_fashion():
    evs = [
        fake_eval("bce", model={"arch": "conv"}),
        fake_eval("bce", dataset={"name": "fashion_mnist"}),
        fake_eval("bce", model={"arch": "deep_dense"}),
        fake_eval("bce"),
    ]
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
    from autoencoders.data.datasets import DATASETS

    pinned = DATASETS["mnist"].source.identity()
    groups = group_runs([fake_eval("bce", data=None), fake_eval("mse", data=pinned)])
    assert len(groups) == 1 and groups[0].is_pair
