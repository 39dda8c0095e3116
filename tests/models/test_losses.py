import keras
import numpy as np
import pytest

from autoencoders.models.losses import PixelMetric, ReconstructionLoss, kl_divergence

rng = np.random.default_rng(0)
T = rng.random((4, 28, 28, 1), dtype=np.float32)
P = np.clip(rng.random((4, 28, 28, 1), dtype=np.float32), 0.01, 0.99)


def test_bce_mean_equals_keras_binary_crossentropy_on_flattened_images():
    ours = ReconstructionLoss("bce", "mean").call(T, P)
    keras_bce = keras.losses.binary_crossentropy(T.reshape(4, -1), P.reshape(4, -1))
    np.testing.assert_allclose(ours, keras_bce, rtol=1e-5)


@pytest.mark.parametrize("name", ["bce", "mse"])
def test_sum_is_784_times_mean(name):
    mean = ReconstructionLoss(name, "mean").call(T, P)
    total = ReconstructionLoss(name, "sum").call(T, P)
    np.testing.assert_allclose(total, 784 * np.asarray(mean), rtol=1e-5)


def test_mse_is_the_mean_squared_pixel_error():
    np.testing.assert_allclose(ReconstructionLoss("mse").call(T, P), ((T - P) ** 2).reshape(4, -1).mean(1), rtol=1e-6)


def test_unknown_loss_or_reduction_is_refused():
    with pytest.raises(ValueError, match="loss must be one of"):
        ReconstructionLoss("l1")
    with pytest.raises(ValueError, match="reduction_over_pixels"):
        ReconstructionLoss("bce", "median")


def test_kl_is_zero_for_the_prior_and_matches_the_closed_form():
    zeros = np.zeros((3, 2), np.float32)
    np.testing.assert_allclose(kl_divergence(zeros, zeros), 0.0, atol=1e-7)
    mu, log_var = np.array([[1.0, -2.0]], np.float32), np.array([[0.5, -1.0]], np.float32)
    expected = 0.5 * np.sum(np.exp(log_var) + mu**2 - 1 - log_var)
    np.testing.assert_allclose(kl_divergence(mu, log_var), [expected], rtol=1e-6)


def test_pixel_metric_serialises_and_averages_per_image():
    metric = PixelMetric("mse")
    metric.update_state(T, P)
    again = PixelMetric.from_config(metric.get_config())
    again.update_state(T, P)
    assert float(again.result()) == pytest.approx(float(((T - P) ** 2).mean()), rel=1e-5)
    assert again.name == "pixel_mse"


# ---------------------------------------------------------------- the new likelihoods

from scipy import integrate  # noqa: E402

from autoencoders.models import losses as L  # noqa: E402


@pytest.mark.parametrize("lam", [1e-4, 0.01, 0.3, 0.4995, 0.5, 0.5004, 0.501, 0.7, 0.99])
def test_continuous_bernoulli_normaliser_matches_a_numerical_integral(lam):
    # C(lam) makes lam^x (1 - lam)^(1 - x) a density on [0, 1]: 1 / C = its integral
    integral, _ = integrate.quad(lambda x: lam**x * (1 - lam) ** (1 - x), 0.0, 1.0, epsabs=1e-13)
    log_c = float(L.log_cb_normaliser(np.float32(lam)))
    assert log_c == pytest.approx(-np.log(integral), rel=1e-5)


def test_continuous_bernoulli_is_a_normalised_density():
    x = np.linspace(0, 1, 20001, dtype=np.float32)
    for lam in (0.05, 0.5, 0.8):
        density = np.exp(-np.asarray(L.pixel_continuous_bernoulli(x, np.full_like(x, lam))))
        assert np.trapezoid(density, x) == pytest.approx(1.0, rel=1e-3)
        # BCE is not: exp(-BCE) integrates to 1 / C(lam) < 1
        bce = np.exp(-np.asarray(L.pixel_bce(x, np.full_like(x, lam))))
        assert np.trapezoid(bce, x) < 0.999


def test_normaliser_gradient_is_finite_at_one_half():
    import tensorflow as tf

    lam = tf.Variable([0.5, 0.4999, 0.3], dtype=tf.float32)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(L.log_cb_normaliser(lam))
    grad = tape.gradient(y, lam).numpy()
    assert np.all(np.isfinite(grad)) and abs(grad[0]) < 1e-3  # C is flat at 1/2


def test_gaussian_with_its_optimal_sigma_is_half_log_mse_plus_constants():
    per_pixel = np.asarray(L.pixel_gaussian(T, P))
    mse = float(((T - P) ** 2).mean())
    assert per_pixel.mean() == pytest.approx(0.5 * (1 + np.log(2 * np.pi * mse)), rel=1e-5)


def test_mae_is_the_mean_absolute_pixel_error():
    np.testing.assert_allclose(ReconstructionLoss("mae").call(T, P), np.abs(T - P).reshape(4, -1).mean(1), rtol=1e-6)


@pytest.mark.parametrize("name", list(L.PIXEL_LOSSES))
def test_every_loss_serialises_and_gives_one_finite_value_per_image(name):
    loss = ReconstructionLoss(name, "sum")
    again = ReconstructionLoss.from_config(loss.get_config())
    values = np.asarray(again.call(T, P))
    assert values.shape == (4,) and np.all(np.isfinite(values))
    np.testing.assert_allclose(values, np.asarray(loss.call(T, P)), rtol=1e-6)
