"""`res_conv`: a modern residual conv autoencoder, the design of latent-diffusion autoencoders
(Rombach et al. 2022, and the VQGAN encoder before it) scaled down to 2 CPU cores.

What makes it today's and not the blog's: residual blocks (GroupNorm, SiLU, 3x3 conv, twice, plus
the skip), strided convolutions instead of max-pooling on the way down, nearest upsampling then
a conv on the way up, a small spatial code (7x7x4 on MNIST, as their 4-channel latents), and a
head chosen by `model.output` (`autoencoders.models.heads`; today's are linear). Widths 8, 16, 32
and one residual block on each side, at the coarsest level, keep a full-MNIST epoch on 2 CPU
cores within the issue's 30 s on our training path (25.4-29.3 s; plain Keras 30.6-41.5 s:
benchmarks/results/bench_train_res_conv.json). A second block at half resolution made it
39-48 s against 25-32 s without (plain Keras, extrapolated from 12,800 images, a throwaway
script not kept; benchmarks/README.md).
Sides are padded to a multiple of 4 and cropped back, as for the other conv archs.
"""

from __future__ import annotations

import keras
from keras import layers

from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.models.base import LOSS_DTYPE
from autoencoders.models.heads import output_activation
from autoencoders.models.layers import UpSampledConv2D
from autoencoders.models.padding import crop, pad

#: channels at full, half and quarter resolution
WIDTHS = (8, 16, 32)
#: channels of the code at quarter resolution
CODE_CHANNELS = 4
#: GroupNorm puts this many channels in each group
CHANNELS_PER_GROUP = 4


def _norm_silu(h):
    groups = max(1, h.shape[-1] // CHANNELS_PER_GROUP)
    return layers.Activation("silu")(layers.GroupNormalization(groups=groups)(h))


def _residual_block(h):
    """GroupNorm, SiLU, 3x3 conv, twice, added to the input (same channels, so the skip is the
    identity)."""
    width = h.shape[-1]
    r = layers.Conv2D(width, 3, padding="same")(_norm_silu(h))
    r = layers.Conv2D(width, 3, padding="same")(_norm_silu(r))
    return layers.Add()([h, r])


def res_conv_parts(model_config):
    """Encoder: 3x3 conv to 8 channels, stride-2 convs to 16 and 32, a residual block at the
    coarsest level (the "mid" block of latent-diffusion autoencoders), then GroupNorm, SiLU and a
    3x3 conv to the 4-channel code. Decoder: the mirror, with nearest upsampling + 3x3 conv
    (`UpSampledConv2D`) to go up."""
    arch = ARCHITECTURES["res_conv"]
    shape = tuple(model_config.input_shape)
    padded = arch.padded_shape(shape)
    image = keras.Input(shape, name="image")
    h = layers.Conv2D(WIDTHS[0], 3, padding="same")(pad(image, shape, padded))
    for width in WIDTHS[1:]:
        h = layers.Conv2D(width, 3, strides=2, padding="same")(h)
    code = layers.Conv2D(CODE_CHANNELS, 3, padding="same", name="code")(_norm_silu(_residual_block(h)))
    encoder = keras.Model(image, code, name="encoder")

    code_in = keras.Input(arch.code_shape(model_config), name="code")
    h = _residual_block(layers.Conv2D(WIDTHS[-1], 3, padding="same")(code_in))
    for width in reversed(WIDTHS[:-1]):
        h = UpSampledConv2D(width, 3, padding="same")(h)
    out = layers.Conv2D(shape[-1], 3, padding="same", activation=output_activation(model_config), dtype=LOSS_DTYPE)(_norm_silu(h))
    decoder = keras.Model(code_in, crop(out, shape, padded), name="decoder")
    return encoder, decoder
