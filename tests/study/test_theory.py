"""The numerical facts the study reports: minima, floors, gradients, inequalities."""

import numpy as np
import pytest

from autoencoders.study import theory as T

Y = np.random.default_rng(0).uniform(size=8)


@pytest.mark.parametrize("loss", ["bce", "mse", "mae", "log_cosh"])
@pytest.mark.parametrize("y", [*T.TARGETS, *Y])
def test_every_symmetric_loss_is_minimised_at_p_equal_y(loss, y):
    p, _ = T.numerical_minimum(T.PIXEL_LOSSES[loss], y)
    assert p == pytest.approx(y, abs=2e-6)


@pytest.mark.parametrize("y", [*T.TARGETS, *Y])
def test_bce_floor_is_the_binary_entropy_and_only_mse_like_losses_reach_zero(y):
    _, bce_min = T.numerical_minimum(T.bce, y)
    entropy = -(y * np.log(y) + (1 - y) * np.log(1 - y)) if 0 < y < 1 else 0.0
    assert bce_min == pytest.approx(entropy, abs=1e-6)
    assert T.binary_entropy(y) == pytest.approx(entropy, abs=1e-6)
    assert T.numerical_minimum(T.mse, y)[1] == pytest.approx(0.0, abs=1e-12)


def test_the_floor_of_a_set_of_pixels_is_their_mean_entropy():
    t = np.random.default_rng(1).uniform(size=50)
    floor = np.mean([T.numerical_minimum(T.bce, y)[1] for y in t])
    assert floor == pytest.approx(float(np.mean(T.binary_entropy(t))), rel=1e-6)


@pytest.mark.parametrize("y", [0.1, 0.25, 0.4, 0.6, 0.75, 0.9])
def test_continuous_bernoulli_is_not_minimised_at_lambda_equal_y_but_at_mean_equal_y(y):
    lam, _ = T.numerical_minimum(T.continuous_bernoulli, y)
    assert abs(lam - y) > 0.05
    assert float(T.cb_mean(lam)) == pytest.approx(y, abs=1e-4)


def test_cb_mean_is_a_half_at_a_half_and_monotone():
    lam = np.linspace(0.001, 0.999, 999)
    mean = T.cb_mean(lam)
    assert float(T.cb_mean(0.5)) == pytest.approx(0.5)
    assert np.all(np.diff(mean) > 0) and mean[0] < 0.2 and mean[-1] > 0.8


@pytest.mark.parametrize("loss", ["bce", "mse", "mae"])
@pytest.mark.parametrize("y", [0.0, 0.3, 1.0])
def test_logit_gradients_match_autodiff(loss, y):
    import tensorflow as tf

    from autoencoders.models.losses import PIXEL_LOSSES

    z = np.linspace(-12, 12, 97)
    zt = tf.Variable(z, dtype=tf.float64)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(PIXEL_LOSSES[loss](tf.constant(y, tf.float64), tf.sigmoid(zt)))
    autodiff = tape.gradient(value, zt).numpy()
    np.testing.assert_allclose(T.logit_gradient(loss, z, y), autodiff, atol=1e-6)


def test_mse_gradient_saturates_on_the_wrong_side_and_bce_does_not():
    # target 1, logit -10: p = 4.5e-5, badly wrong
    assert abs(T.logit_gradient("bce", -10.0, 1.0)) > 0.99
    assert abs(T.logit_gradient("mse", -10.0, 1.0)) < 1e-4


def test_pinsker_bce_is_at_least_entropy_plus_twice_mse():
    """BCE(y, p) - H(y) - 2 (y - p)^2 = KL(y || p) - 2 TV^2 >= 0 (Pinsker's inequality): per pixel
    BCE >= H(y) + 2 MSE > MSE, so "BCE is larger than MSE" is true of every pixel and every model."""
    y, p = np.meshgrid(np.linspace(0, 1, 201), np.linspace(0.001, 0.999, 201))
    assert (T.bce(y, p) - T.binary_entropy(y) - 2.0 * T.mse(y, p)).min() > -1e-9


def test_random_pairs_bce_always_exceeds_mse_and_the_ratio_varies():
    r = T.random_pairs_experiment(repeats=2000)
    assert r["bce_greater_share"] == 1.0
    assert r["ratio_p95"] > 1.5 * r["ratio_p05"]
    assert r["entropy_mean"] == pytest.approx(0.5, abs=0.02)  # E[H(U)] = 1/2 nat
