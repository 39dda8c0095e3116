"""The gradient that reaches the output logits during training: the saturation argument, measured.

The claim: with a sigmoid output, MSE's gradient with respect to the logit carries p(1 - p) and
vanishes for saturated pixels, while BCE's is p - y. Whether that matters depends on how many
pixels sit saturated on the wrong side while the model trains, which only a measurement says.
The probe (`probe_callback`, the diagnosis's `DiagnosticsCallback`) measures it at every epoch end
on a fixed probe batch of training images:

- `logit_grad`: mean |d loss_pixel / d z| over the probe's pixels, for the run's own loss
  (z = the pre-sigmoid output; the per-pixel loss, so BCE and MSE runs are on one scale);
- `saturated_wrong`: share of probe pixels whose output is saturated (p < 0.01 or p > 0.99) on
  the wrong side (|p - y| > 0.5), exactly where MSE's gradient would vanish.
"""

from __future__ import annotations

from contextlib import contextmanager

import keras
import numpy as np

from autoencoders.diagnose import measures
from autoencoders.diagnose.callback import DiagnosticsCallback
from autoencoders.train.speed.pipeline import in_batches

PROBE_SIZE = 1024


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
    """Mean |d loss(t, sigmoid(z)) / d z| per pixel and the wrong-side saturated share, with the
    diagnosis's definitions (`autoencoders.diagnose.measures`, the ones the probe logs)."""
    p = 1.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))
    return {"logit_grad": float(np.mean(np.abs(measures.logit_gradient(loss, p, t)))), "saturated_wrong": measures.saturated_wrong(t, p)}


def probe_callback(cfg, data) -> DiagnosticsCallback:
    """The `probe_gradients` training callback (`callbacks.PROBE_GRADIENTS`; the study's runs name it
    in `training.callbacks`): the diagnosis's callback on a fixed probe of PROBE_SIZE training
    images, logging `logit_grad` and `saturated_wrong` at each epoch end under the run's own loss
    (so to history.csv), and saying nothing."""
    return DiagnosticsCallback(
        data.x_train[:PROBE_SIZE],
        data.t_train[:PROBE_SIZE],
        loss=cfg.loss.name,
        every_steps=None,
        print_fn=None,
        log={"logit_gradient": "logit_grad", "saturated_wrong": "saturated_wrong"},
    )
