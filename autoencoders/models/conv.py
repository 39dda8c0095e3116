"""The blog's convolutional autoencoders: conv (code 4x4x8 on MNIST) and denoising_conv (7x7x32)."""

from __future__ import annotations

import keras
from keras import layers

from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.models.base import LOSS_DTYPE
from autoencoders.models.heads import output_activation
from autoencoders.models.layers import UpSampledConv2D
from autoencoders.models.padding import crop, pad


def _conv(filters: int, padding: str = "same", activation: str = "relu", dtype=None):
    return layers.Conv2D(filters, 3, activation=activation, padding=padding, dtype=dtype)


def _upsampled_conv(filters: int, activation: str = "relu", dtype=None):
    """The blog's `UpSampling2D(2)` then 3x3 'same' `Conv2D`, computed at the low resolution (the
    same function and weights; on CPU the output pair takes a third of its time as two layers:
    `autoencoders.models.layers`)."""
    return UpSampledConv2D(filters, 3, activation=activation, padding="same", dtype=dtype)


def conv_parts(model_config):
    """Conv 16-8-8 with max-pooling to (H'/8, W'/8, 8); the decoder's third conv is 'valid', as in
    the blog, which takes MNIST's 16x16 back to 14x14 (sizes 8k - 4 come back exactly; others are
    padded to one)."""
    arch = ARCHITECTURES["conv"]
    shape = tuple(model_config.input_shape)
    padded = arch.padded_shape(shape)
    image = keras.Input(shape, name="image")
    h = pad(image, shape, padded)
    for filters in (16, 8, 8):
        h = layers.MaxPooling2D(2, padding="same")(_conv(filters)(h))
    encoder = keras.Model(image, h, name="encoder")

    code = keras.Input(arch.code_shape(model_config), name="code")
    h = _conv(8)(code)  # each layer made in the blog's order: Keras seeds an initializer when its layer is made
    h = _upsampled_conv(8)(h)
    h = _conv(16, padding="valid")(layers.UpSampling2D(2)(h))  # before a 'valid' conv, two layers are faster
    out = _upsampled_conv(shape[-1], activation=output_activation(model_config), dtype=LOSS_DTYPE)(h)
    decoder = keras.Model(code, crop(out, shape, padded), name="decoder")
    return encoder, decoder


def denoising_conv_parts(model_config):
    """Conv 32-32 with max-pooling to (H'/4, W'/4, 32), mirrored with upsampling."""
    arch = ARCHITECTURES["denoising_conv"]
    shape = tuple(model_config.input_shape)
    padded = arch.padded_shape(shape)
    image = keras.Input(shape, name="image")
    h = layers.MaxPooling2D(2, padding="same")(_conv(32)(pad(image, shape, padded)))
    h = layers.MaxPooling2D(2, padding="same")(_conv(32)(h))
    encoder = keras.Model(image, h, name="encoder")

    code = keras.Input(arch.code_shape(model_config), name="code")
    h = _conv(32)(code)
    h = _upsampled_conv(32)(h)
    out = _upsampled_conv(shape[-1], activation=output_activation(model_config), dtype=LOSS_DTYPE)(h)
    decoder = keras.Model(code, crop(out, shape, padded), name="decoder")
    return encoder, decoder
