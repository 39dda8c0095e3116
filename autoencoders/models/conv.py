"""The blog's convolutional autoencoders: conv (code 4x4x8) and denoising_conv (code 7x7x32)."""

from __future__ import annotations

import keras
from keras import layers

from autoencoders.models.dense import IMAGE_SHAPE


def _conv(filters: int, padding: str = "same", activation: str = "relu"):
    return layers.Conv2D(filters, 3, activation=activation, padding=padding)


def conv_parts():
    """Conv 16-8-8 with max-pooling to (4, 4, 8); the decoder's third conv is 'valid' to go
    from 16x16 back to 14x14, as in the blog."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    h = image
    for filters in (16, 8, 8):
        h = layers.MaxPooling2D(2, padding="same")(_conv(filters)(h))
    encoder = keras.Model(image, h, name="encoder")

    code = keras.Input((4, 4, 8), name="code")
    h = layers.UpSampling2D(2)(_conv(8)(code))
    h = layers.UpSampling2D(2)(_conv(8)(h))
    h = layers.UpSampling2D(2)(_conv(16, padding="valid")(h))
    decoder = keras.Model(code, _conv(1, activation="sigmoid")(h), name="decoder")
    return encoder, decoder


def denoising_conv_parts():
    """Conv 32-32 with max-pooling to (7, 7, 32), mirrored with upsampling."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    h = layers.MaxPooling2D(2, padding="same")(_conv(32)(image))
    h = layers.MaxPooling2D(2, padding="same")(_conv(32)(h))
    encoder = keras.Model(image, h, name="encoder")

    code = keras.Input((7, 7, 32), name="code")
    h = layers.UpSampling2D(2)(_conv(32)(code))
    h = layers.UpSampling2D(2)(_conv(32)(h))
    decoder = keras.Model(code, _conv(1, activation="sigmoid")(h), name="decoder")
    return encoder, decoder
