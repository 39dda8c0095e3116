import keras
import numpy as np
import pytest

from autoencoders.losses import PixelMetric, ReconstructionLoss, kl_divergence

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
