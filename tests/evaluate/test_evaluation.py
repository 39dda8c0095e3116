"""Reading run folders without trusting them, and the SSIM metric."""

import numpy as np
import pytest

from autoencoders.atomic import write_text
from autoencoders.evaluate.evaluation import grid_indices, load_run, ssim
from autoencoders.train import run_folder as runs

CONFIG = "name: r\n"


def test_ssim_is_one_for_a_perfect_reconstruction_and_lower_otherwise():
    t = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(ssim(t, t), 1.0, atol=1e-5)
    noisy = np.clip(t + 0.2 * np.random.default_rng(1).standard_normal(t.shape).astype(np.float32), 0, 1)
    assert np.all(ssim(t, noisy) < 0.9)


def test_ssim_in_padded_batches_scores_each_image_as_alone():
    """Batches of 2 over 5 images pad the last batch with blank images: each image's score must be
    the one it gets scored alone, so the padding neither shifts nor changes any score."""
    rng = np.random.default_rng(2)
    t = rng.random((5, 28, 28, 1)).astype(np.float32)
    scale = np.float32([0.05, 0.1, 0.2, 0.3, 0.4]).reshape(5, 1, 1, 1)  # a different score each
    noisy = np.clip(t + scale * rng.standard_normal(t.shape, dtype=np.float32), 0, 1)
    alone = [ssim(t[i : i + 1], noisy[i : i + 1])[0] for i in range(5)]
    np.testing.assert_allclose(ssim(t, noisy, batch=2), alone, atol=1e-5)
    assert np.all(np.diff(alone) < -0.01)  # five different scores: a shift would show


def test_grid_images_are_the_first_of_each_class():
    labels = np.array([3, 0, 1, 0, 2, 9, 4, 5, 6, 7, 8, 1])
    idx = grid_indices(labels, len(labels), 10)
    assert list(labels[idx]) == list(range(10))
    assert idx[0] == 1 and idx[1] == 2


def test_grid_images_skip_classes_without_test_images_and_stop_at_ten():
    labels = np.array([4, 4, 0, 2])  # classes 1 and 3 have no test image
    assert list(labels[grid_indices(labels, 4, 5)]) == [0, 2, 4]
    many = np.arange(30) % 15
    assert len(grid_indices(many, 30, 15)) == 10


def test_without_labels_the_grid_images_are_evenly_spaced_and_distinct():
    assert list(grid_indices(None, 1001)) == [0, 111, 222, 333, 444, 556, 667, 778, 889, 1000]
    assert list(grid_indices(None, 3)) == [0, 1, 2]


@pytest.mark.parametrize(
    ("files", "status", "reason"),
    [
        ({}, "invalid", "not a run folder"),
        ({runs.CONFIG: "name: [unclosed\n"}, "invalid", "unreadable config"),
        ({runs.CONFIG: CONFIG, runs.HISTORY: "epoch,loss,seconds\n1,0.5,1.0\n"}, "unfinished", "1 of 50 epochs"),
        ({runs.CONFIG: CONFIG, runs.METRICS: '{"status": "failed", "reason": "non-finite loss at epoch 3"}'}, "failed", "epoch 3"),
        ({runs.CONFIG: CONFIG, runs.METRICS: '{"status": "completed"}'}, "invalid", "model.keras is missing"),
    ],
)
def test_broken_runs_come_back_with_a_status_and_a_reason(tmp_path, files, status, reason):
    (tmp_path / "r").mkdir()
    for name, text in files.items():
        write_text(tmp_path / "r" / name, text)
    run = load_run(tmp_path / "r")
    assert run.status == status
    assert reason in run.reason


def test_ssim_of_colour_images_averages_the_channels():
    rng = np.random.default_rng(3)
    t = rng.random((2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(ssim(t, t), 1.0, atol=1e-5)
    spoiled = t.copy()
    spoiled[..., 0] = rng.random((2, 32, 32)).astype(np.float32)  # one channel replaced by noise
    per_channel = [ssim(t[..., c : c + 1], spoiled[..., c : c + 1]) for c in range(3)]
    np.testing.assert_allclose(ssim(t, spoiled), np.mean(per_channel, axis=0), rtol=1e-4)
    assert np.all(ssim(t, spoiled) < 0.75)
