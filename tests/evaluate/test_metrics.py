import numpy as np
import pytest

from autoencoders.evaluate import metrics as M

rng = np.random.default_rng(0)
T = rng.random((6, 28, 28, 1)).astype(np.float32)


def test_perfect_reconstruction():
    s = M.summarize(T, T)
    assert s["mse"] == 0.0 and s["mae"] == 0.0
    assert s["psnr"] == M.PSNR_CAP_DB
    assert s["bce_excess"] == pytest.approx(0.0, abs=1e-9)
    entropy = -(T * np.log(np.clip(T, 1e-7, 1 - 1e-7)) + (1 - T) * np.log(1 - np.clip(T, 1e-7, 1 - 1e-7)))  # H(y) per pixel, written out
    assert s["bce"] == pytest.approx(float(entropy.mean()), rel=1e-5)


def test_hand_computed_values_on_a_tiny_array():
    t = np.array([[0.0, 1.0, 0.5, 0.5]])
    p = np.array([[0.5, 0.5, 0.5, 1.0]])
    assert M.mse(t, p)[0] == pytest.approx((0.25 + 0.25 + 0 + 0.25) / 4)
    assert M.mae(t, p)[0] == pytest.approx((0.5 + 0.5 + 0 + 0.5) / 4)
    assert M.psnr(t, p)[0] == pytest.approx(10 * np.log10(1 / 0.1875))
    # entropy of a 0.5 pixel is ln 2; of a 0 or 1 pixel (clipped) about 1e-7
    half, ends = np.array([[0.5, 0.5]]), np.array([[0.0, 1.0]])
    assert M.bce(half, half)[0] == pytest.approx(np.log(2), rel=1e-6)
    assert M.bce(ends, ends)[0] == pytest.approx(0.0, abs=1e-6)


def test_bce_excess_is_positive_away_from_the_target_and_bce_is_not_zero_at_it():
    p = np.clip(T + 0.1, 0, 1)
    assert np.all(M.bce_excess(T, p) > 0)
    assert np.all(M.bce(T, T) > 0.1)  # the floor: BCE of a perfect grey-level reconstruction


def test_summarize_batches_equal_one_pass():
    p = rng.random(T.shape).astype(np.float32)
    a, b = M.summarize(T, p, batch=2), M.summarize(T, p, batch=1000)
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-6)


def test_summarize_over_uneven_chunks_is_summarize_to_the_bit():
    """A test set streamed in chunks of any sizes sums its means in the same blocks."""
    p = rng.random(T.shape).astype(np.float32)
    cuts = [0, 1, 4, 5, len(T)]
    chunks = [(T[a:b], p[a:b]) for a, b in zip(cuts, cuts[1:])]
    assert M.summarize_chunks(chunks, batch=2) == M.summarize(T, p, batch=2)
