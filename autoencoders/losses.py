"""Reconstruction losses and the VAE's KL term, written once with `keras.ops`.

Every loss here returns one value per image (shape `(batch,)`); Keras then averages over the
batch. The `reduction` decides how the pixels of one image are combined: `mean` is the per-pixel
average (what `keras.losses.binary_crossentropy` gives for a flattened image), `sum` adds the
pixels up (the blog's VAE multiplies by 784 for exactly this). Keeping the reduction explicit is
what lets a BCE-trained and an MSE-trained run be put on the same scale later.
"""

from __future__ import annotations

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


PIXEL_LOSSES: dict[str, LossFn] = {"bce": pixel_bce, "mse": pixel_mse}


def _reduce_pixels(values, reduction: str):
    axes = tuple(range(1, len(values.shape)))
    return ops.sum(values, axis=axes) if reduction == "sum" else ops.mean(values, axis=axes)


@keras.saving.register_keras_serializable(package="autoencoders")
class ReconstructionLoss(keras.losses.Loss):
    """`name` in {bce, mse} reduced over an image's pixels by `reduction` in {mean, sum}."""

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
    """

    def __init__(self, loss: str = "mse", reduction: str = "mean", name: str | None = None, dtype=None):
        def fn(y_true, y_pred):
            y_pred, y_true = ops.cast(y_pred, "float32"), ops.cast(y_true, "float32")
            return _reduce_pixels(PIXEL_LOSSES[loss](y_true, y_pred), reduction)

        super().__init__(fn, name=name or f"pixel_{loss}", dtype=dtype)
        self.loss = loss
        self.reduction = reduction

    def get_config(self):
        return {"loss": self.loss, "reduction": self.reduction, "name": self.name, "dtype": self.dtype}
