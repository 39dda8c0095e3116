"""The collapse detector on real runs (the study's conv model on MNIST: the MSE run that locked at
black, the BCE run that did not); the rate's Wilson interval against published values is in
tests/evaluate/test_statistics_known_values.py."""

import pytest

from autoencoders import config as C
from autoencoders.study import collapse
from autoencoders.train import run_folder as runs

from conftest import ROOT

STUDY_RUNS = ROOT / "results" / "study" / "runs"


@pytest.mark.parametrize("loss, expected", [("mse", True), ("bce", False)])
def test_the_detector_on_a_real_collapsed_run_and_a_real_healthy_one(loss, expected):
    run_dir = STUDY_RUNS / f"study-conv-mnist-{loss}-s0"
    dark = collapse.validation_dark_mse_of(C.load_config(run_dir / runs.CONFIG).dataset)
    assert dark == pytest.approx(0.11396, rel=1e-3)  # MNIST's test set: mostly black pixels
    by_epoch = collapse.collapsed_by_epoch(runs.read_history(run_dir / runs.HISTORY), dark)
    assert len(by_epoch) == 8
    assert by_epoch == [expected] * 8  # collapsed after epoch 1 and never recovered; or never collapsed


def test_the_detector_is_at_one_percent_of_the_dark_output():
    assert collapse.is_collapsed(0.0990, 0.1) and not collapse.is_collapsed(0.0989, 0.1)
    assert collapse.dark_output_mse([[0.0, 1.0], [0.5, 0.5]]) == pytest.approx(0.375)


def test_zero_of_twenty_is_not_a_rate_of_zero():
    rate = collapse.collapse_rate(0, 20)
    assert rate.low == 0 and rate.high == pytest.approx(0.161, abs=1e-3)  # Wilson: 0 of 20 still allows 16%
    with pytest.raises(ValueError, match="collapsed = 3 of total = 2"):
        collapse.collapse_rate(3, 2)
