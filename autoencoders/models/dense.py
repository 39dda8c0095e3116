"""The blog's fully connected autoencoders: dense, sparse_dense and deep_dense.

Images come in as (28, 28, 1) for every architecture; the dense models flatten to 784 inside
the encoder and reshape back in the decoder, so parameters are exactly the blog's.
"""

from __future__ import annotations

import keras
from keras import layers

IMAGE_SHAPE = (28, 28, 1)
PIXELS = 28 * 28


def _decoder(latent_dim: int, hidden: tuple[int, ...]) -> keras.Model:
    code = keras.Input((latent_dim,), name="code")
    h = code
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    h = layers.Dense(PIXELS, activation="sigmoid")(h)
    return keras.Model(code, layers.Reshape(IMAGE_SHAPE)(h), name="decoder")


def dense_parts(latent_dim: int, hidden: tuple[int, ...] = (), activity_l1: float = 0.0):
    """784 -> hidden... -> latent (relu) and back, mirrored; sigmoid output."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    h = layers.Flatten()(image)
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    regularizer = keras.regularizers.L1(activity_l1) if activity_l1 > 0 else None
    code = layers.Dense(latent_dim, activation="relu", activity_regularizer=regularizer, name="code")(h)
    encoder = keras.Model(image, code, name="encoder")
    return encoder, _decoder(latent_dim, tuple(reversed(hidden)))
