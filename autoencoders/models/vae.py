"""Encoders and decoders of the two VAEs: the blog's dense one and the keras-io convolutional one."""

from __future__ import annotations

import math

import keras
from keras import layers

from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.models.base import LOSS_DTYPE
from autoencoders.models.heads import output_activation
from autoencoders.models.padding import crop, pad


def _posterior(h, latent_dim: int):
    return layers.Dense(latent_dim, name="z_mean")(h), layers.Dense(latent_dim, name="z_log_var")(h)


def dense_vae_parts(model_config):
    """Blog: H·W·C -> 64 relu -> (z_mean, z_log_var); z -> 64 relu -> H·W·C sigmoid."""
    shape = tuple(model_config.input_shape)
    latent_dim, intermediate_dim = model_config.latent_dim, model_config.intermediate_dim
    image = keras.Input(shape, name="image")
    h = layers.Dense(intermediate_dim, activation="relu")(layers.Flatten()(image))
    encoder = keras.Model(image, list(_posterior(h, latent_dim)), name="encoder")

    z = keras.Input((latent_dim,), name="z")
    h = layers.Dense(intermediate_dim, activation="relu")(z)
    out = layers.Reshape(shape, dtype=LOSS_DTYPE)(
        layers.Dense(math.prod(shape), activation=output_activation(model_config), dtype=LOSS_DTYPE)(h)
    )
    return encoder, keras.Model(z, out, name="decoder")


def conv_vae_parts(model_config):
    """keras-io 'Variational AutoEncoder': Conv 32/64 stride 2, Dense 16, mirrored transposes
    (sides padded to a multiple of 4; MNIST's 28 is one)."""
    shape = tuple(model_config.input_shape)
    padded = ARCHITECTURES["conv_vae"].padded_shape(shape)
    latent_dim = model_config.latent_dim
    image = keras.Input(shape, name="image")
    h = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(pad(image, shape, padded))
    h = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(h)
    h = layers.Dense(16, activation="relu")(layers.Flatten()(h))
    encoder = keras.Model(image, list(_posterior(h, latent_dim)), name="encoder")

    z = keras.Input((latent_dim,), name="z")
    quarter = (padded[0] // 4, padded[1] // 4, 64)
    h = layers.Reshape(quarter)(layers.Dense(math.prod(quarter), activation="relu")(z))
    h = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(h)
    h = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(h)
    out = layers.Conv2DTranspose(shape[-1], 3, activation=output_activation(model_config), padding="same", dtype=LOSS_DTYPE)(h)
    return encoder, keras.Model(z, crop(out, shape, padded), name="decoder")
