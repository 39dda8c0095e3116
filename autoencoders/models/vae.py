"""Encoders and decoders of the two VAEs: the blog's dense one and the keras-io convolutional one."""

from __future__ import annotations

import keras
from keras import layers

from autoencoders.models.dense import IMAGE_SHAPE, PIXELS


def _posterior(h, latent_dim: int):
    return layers.Dense(latent_dim, name="z_mean")(h), layers.Dense(latent_dim, name="z_log_var")(h)


def dense_vae_parts(latent_dim: int, intermediate_dim: int):
    """Blog: 784 -> 64 relu -> (z_mean, z_log_var); z -> 64 relu -> 784 sigmoid."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    h = layers.Dense(intermediate_dim, activation="relu")(layers.Flatten()(image))
    encoder = keras.Model(image, list(_posterior(h, latent_dim)), name="encoder")

    z = keras.Input((latent_dim,), name="z")
    h = layers.Dense(intermediate_dim, activation="relu")(z)
    out = layers.Reshape(IMAGE_SHAPE)(layers.Dense(PIXELS, activation="sigmoid")(h))
    return encoder, keras.Model(z, out, name="decoder")


def conv_vae_parts(latent_dim: int):
    """keras-io 'Variational AutoEncoder': Conv 32/64 stride 2, Dense 16, mirrored transposes."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    h = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(image)
    h = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(h)
    h = layers.Dense(16, activation="relu")(layers.Flatten()(h))
    encoder = keras.Model(image, list(_posterior(h, latent_dim)), name="encoder")

    z = keras.Input((latent_dim,), name="z")
    h = layers.Reshape((7, 7, 64))(layers.Dense(7 * 7 * 64, activation="relu")(z))
    h = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(h)
    h = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(h)
    out = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(h)
    return encoder, keras.Model(z, out, name="decoder")
