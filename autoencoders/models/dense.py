"""The blog's fully connected autoencoders: dense, sparse_dense and deep_dense.

The image (H, W, C) is flattened to H·W·C inside the encoder and reshaped back in the decoder, so
for MNIST's 28x28x1 (784 pixels) the parameters are exactly the blog's.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from autoencoders.models.base import LOSS_DTYPE
from autoencoders.models.heads import output_activation


def _flat_parts(model_config, hidden: tuple[int, ...] = (), activity_l1: float = 0.0):
    """H·W·C -> hidden... -> latent (relu) and back, mirrored; sigmoid output per pixel and channel."""
    shape = tuple(model_config.input_shape)
    image = keras.Input(shape, name="image")
    h = layers.Flatten()(image)
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    regularizer = keras.regularizers.L1(activity_l1) if activity_l1 > 0 else None
    # a penalised code computes in float32, as the sigmoid output: Keras cannot add a bfloat16
    # penalty to the float32 loss (a TypeError under mixed precision)
    code = layers.Dense(
        model_config.latent_dim, activation="relu", activity_regularizer=regularizer, name="code", dtype=LOSS_DTYPE if regularizer else None
    )(h)
    encoder = keras.Model(image, code, name="encoder")

    code_in = keras.Input((model_config.latent_dim,), name="code")
    h = code_in
    for units in reversed(hidden):
        h = layers.Dense(units, activation="relu")(h)
    h = layers.Dense(math.prod(shape), activation=output_activation(model_config), dtype=LOSS_DTYPE)(h)
    decoder = keras.Model(code_in, layers.Reshape(shape, dtype=LOSS_DTYPE)(h), name="decoder")
    return encoder, decoder


def dense_parts(model_config):
    return _flat_parts(model_config)


def sparse_dense_parts(model_config):
    return _flat_parts(model_config, activity_l1=model_config.activity_l1)


def deep_dense_parts(model_config):
    return _flat_parts(model_config, hidden=(128, 64))
