"""The gradient that reaches the output logits during training: the saturation argument, measured.

The claim: with a sigmoid output, MSE's gradient with respect to the logit carries p(1 - p) and
vanishes for saturated pixels, while BCE's is p - y. Whether that matters depends on how many
pixels sit saturated on the wrong side while the model trains, which only a measurement says.
`LogitGradientProbe` measures it at every epoch end on a fixed probe batch of training images:

- `logit_grad`: mean |d loss_pixel / d z| over the probe's pixels, for the run's own loss
  (z = the pre-sigmoid output; the per-pixel loss, so BCE and MSE runs are on one scale);
- `saturated_wrong`: share of probe pixels whose output is saturated (p < 0.01 or p > 0.99) on
  the wrong side (|p - y| > 0.5), exactly where MSE's gradient would vanish.
"""

from __future__ import annotations

from contextlib import contextmanager

import keras
import numpy as np
import tensorflow as tf

from autoencoders.models.losses import PIXEL_LOSSES
from autoencoders.train.speed.pipeline import in_batches

PROBE_SIZE = 1024
SATURATED = 0.01


def _sigmoid_layer(decoder: keras.Model) -> keras.layers.Layer:
    for layer in reversed(decoder.layers):
        if getattr(layer, "activation", None) is keras.activations.sigmoid:
            return layer
    raise ValueError(f"{decoder.name}: no layer with a sigmoid activation, so no output logits")


@contextmanager
def _linear(layer: keras.layers.Layer):
    activation = layer.activation
    layer.activation = keras.activations.linear
    try:
        yield layer
    finally:
        layer.activation = activation


def output_logits(model, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Pre-sigmoid outputs z with sigmoid(z) == model.reconstruct(x), shape of the images.

    The decoder runs eagerly with its sigmoid layer made linear, so whatever follows that layer
    (a reshape, the crop of a padded conv arch) shapes the logits as it shapes the images."""
    layer = _sigmoid_layer(model.decoder)
    code = model.encode(x, batch_size)  # a VAE's posterior mean, as in reconstruct()
    with _linear(layer):
        z = np.concatenate(
            [keras.ops.convert_to_numpy(model.decoder(code[i : i + batch_size], training=False)) for i in range(0, len(code), batch_size)]
        )
    return z.astype(np.float32)


def output_layer_inputs(model, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """What the sigmoid layer receives (the last hidden ReLU units), for counting units that are
    0 on every image: a dead unit passes no gradient back. In the conv decoders that layer
    upsamples its input itself (`UpSampledConv2D`), so this is the map before the upsampling,
    whose copies it only repeats: a unit (channel) is 0 everywhere in one exactly when in both."""
    layer = _sigmoid_layer(model.decoder)
    feeding = keras.Model(model.decoder.inputs, layer.input)
    code = model.encode(x, batch_size)
    return np.asarray(feeding.predict(in_batches(code, batch_size), batch_size=batch_size, verbose=0), dtype=np.float32)


def logit_gradient_stats(loss: str, z: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """Mean |d loss(t, sigmoid(z)) / d z| per pixel (by autodiff) and the wrong-side saturated share."""
    zt = tf.constant(z, tf.float32)
    tt = tf.constant(t, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        p = tf.sigmoid(zt)
        total = tf.reduce_sum(PIXEL_LOSSES[loss](tt, p))
    grad = tape.gradient(total, zt).numpy()
    p = p.numpy()
    wrong = (np.abs(p - t) > 0.5) & ((p < SATURATED) | (p > 1 - SATURATED))
    return {"logit_grad": float(np.mean(np.abs(grad))), "saturated_wrong": float(np.mean(wrong))}


class LogitGradientProbe(keras.callbacks.Callback):
    """Adds `logit_grad` and `saturated_wrong` to each epoch's logs (so to history.csv)."""

    def __init__(self, x: np.ndarray, t: np.ndarray, loss: str):
        super().__init__()
        self.x, self.t, self.loss = x[:PROBE_SIZE], t[:PROBE_SIZE], loss

    def measure(self) -> dict[str, float]:
        return logit_gradient_stats(self.loss, output_logits(self.model, self.x), self.t)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self.measure())


def probe_callback(cfg, data) -> LogitGradientProbe | None:
    """The `autoencoders.training_callbacks` entry point: the probe for a run whose config asks for
    it (`training.probe_gradients: true`, the study's runs)."""
    return LogitGradientProbe(data.x_train, data.t_train, cfg.loss.name) if cfg.training.probe_gradients else None
