"""Reconstruction losses and the VAE's KL term, written once with `keras.ops`.

Every loss here returns one value per image (shape `(batch,)`); Keras then averages over the
batch. The `reduction` decides how the pixels of one image are combined: `mean` is the per-pixel
average (what `keras.losses.binary_crossentropy` gives for a flattened image), `sum` adds the
pixels up (the blog's VAE multiplies by 784 for exactly this). Keeping the reduction explicit is
what lets a BCE-trained and an MSE-trained run be put on the same scale later.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
from keras import ops

# Same clipping as Keras's own binary cross-entropy on probabilities.
EPSILON = 1e-7

LossFn = Callable[[object, object], object]


def pixel_bce(y_true, y_pred):
    """Element-wise binary cross-entropy on probabilities, clipped like Keras."""
    y_pred = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true * ops.log(y_pred) + (1.0 - y_true) * ops.log(1.0 - y_pred))


def pixel_mse(y_true, y_pred):
    return ops.square(y_true - y_pred)


def pixel_mae(y_true, y_pred):
    return ops.abs(y_true - y_pred)


def log_cb_normaliser(lam):
    """log C(lam) of the continuous Bernoulli (Loaiza-Ganem & Cunningham, 2019), where
    p(x | lam) = C(lam) lam^x (1 - lam)^(1 - x) on [0, 1] and C(lam) = 2 artanh(1 - 2 lam) / (1 - 2 lam).

    C is smooth at lam = 1/2 (where it is 2) but the formula is 0/0 there, so within 1e-3 of it
    the series 2 (1 + u^2/3 + u^4/5 + u^6/7), u = 1 - 2 lam, is used instead (error < 1e-19).
    """
    lam = ops.clip(lam, EPSILON, 1.0 - EPSILON)
    u = 1.0 - 2.0 * lam
    near = ops.abs(u) < 2e-3
    safe = ops.where(near, ops.ones_like(u), u)  # keeps the unused branch (and its gradient) finite
    exact = ops.log((ops.log1p(safe) - ops.log1p(-safe)) / safe)  # 2 artanh(u) = log1p(u) - log1p(-u)
    u2 = ops.square(u)
    series = ops.log(2.0 * (1.0 + u2 / 3.0 + ops.square(u2) / 5.0 + u2 * ops.square(u2) / 7.0))
    return ops.where(near, series, exact)


def pixel_continuous_bernoulli(y_true, y_pred):
    """Negative log-likelihood of the continuous Bernoulli: BCE minus log C. Unlike BCE it is a
    normalised density on [0, 1], so it is a true likelihood for grey pixels."""
    return pixel_bce(y_true, y_pred) - log_cb_normaliser(y_pred)


GAUSSIAN_MIN_VARIANCE = math.exp(-12.0)  # log sigma >= -6, as in the sigma-VAE paper


def pixel_gaussian(y_true, y_pred):
    """Gaussian negative log-likelihood with sigma learned in closed form: the "optimal sigma-VAE"
    (Rybkin, Daniilidis & Levine, 2021). The maximum-likelihood sigma^2 for the batch is its mean
    squared error, so sigma needs no parameter and follows the decoder's actual error; the
    reconstruction term then weighs (y - p)^2 / sigma^2 against the KL, not a fixed MSE."""
    err2 = ops.square(y_true - y_pred)
    var = ops.maximum(ops.mean(err2), GAUSSIAN_MIN_VARIANCE)
    return 0.5 * (err2 / var + ops.log(var) + math.log(2.0 * math.pi))


PIXEL_LOSSES: dict[str, LossFn] = {
    "bce": pixel_bce,
    "mse": pixel_mse,
    "mae": pixel_mae,
    "gaussian": pixel_gaussian,
    "continuous_bernoulli": pixel_continuous_bernoulli,
}


def _reduce_pixels(values, reduction: str):
    axes = tuple(range(1, len(values.shape)))
    return ops.sum(values, axis=axes) if reduction == "sum" else ops.mean(values, axis=axes)


@keras.saving.register_keras_serializable(package="autoencoders")
class ReconstructionLoss(keras.losses.Loss):
    """A `PIXEL_LOSSES` loss reduced over an image's pixels by `reduction` in {mean, sum}."""

    def __init__(self, loss: str = "bce", reduction_over_pixels: str = "mean", name: str | None = None, **kwargs):
        if loss not in PIXEL_LOSSES:
            raise ValueError(f"loss must be one of {sorted(PIXEL_LOSSES)}, got {loss!r}")
        if reduction_over_pixels not in ("mean", "sum"):
            raise ValueError(f"reduction_over_pixels must be 'mean' or 'sum', got {reduction_over_pixels!r}")
        super().__init__(name=name or f"{loss}_{reduction_over_pixels}", **kwargs)
        self.loss = loss
        self.reduction_over_pixels = reduction_over_pixels

    def call(self, y_true, y_pred):
        # in float32 even under mixed precision: bfloat16 sums over 784 pixels lose digits
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "float32")
        return _reduce_pixels(PIXEL_LOSSES[self.loss](y_true, y_pred), self.reduction_over_pixels)

    def get_config(self):
        return {**super().get_config(), "loss": self.loss, "reduction_over_pixels": self.reduction_over_pixels}


def kl_divergence(z_mean, z_log_var):
    """KL(q(z|x) || N(0, I)) summed over latent dimensions, one value per image.

    `z_log_var` is log(sigma^2) throughout (the blog mixes log-sigma and log-var; here the
    sampling uses exp(0.5 * z_log_var) to match).
    """
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


@keras.saving.register_keras_serializable(package="autoencoders")
class PixelMetric(keras.metrics.MeanMetricWrapper):
    """Per-image `loss` in {bce, mse} averaged over pixels (or summed, with reduction='sum').

    Every run tracks pixel MSE and pixel BCE whatever its training loss, so runs trained with
    different losses are compared on one scale; the VAE also tracks its reconstruction term.
    `clip`: measure the output clipped to [0, 1], as evaluation sees a head that can leave that
    range (`autoencoders.models.heads`), so every head's curves share the scale.
    """

    def __init__(self, loss: str = "mse", reduction: str = "mean", name: str | None = None, dtype=None, clip: bool = False):
        def fn(y_true, y_pred):
            y_pred, y_true = ops.cast(y_pred, "float32"), ops.cast(y_true, "float32")
            if clip:
                y_pred = ops.clip(y_pred, 0.0, 1.0)
            return _reduce_pixels(PIXEL_LOSSES[loss](y_true, y_pred), reduction)

        super().__init__(fn, name=name or f"pixel_{loss}", dtype=dtype)
        self.loss = loss
        self.reduction = reduction
        self.clip = clip

    def get_config(self):
        return {"loss": self.loss, "reduction": self.reduction, "name": self.name, "dtype": self.dtype, "clip": self.clip}
