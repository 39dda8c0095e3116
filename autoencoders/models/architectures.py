"""The architecture registry: one entry per `model.arch`, holding every fact about it.

An entry names its builder (model config -> encoder and decoder, two functional `keras.Model`s),
says whether it is a VAE, its default code size (or that its conv stack fixes the code shape), the
rule by which conv archs pad an image to a size their pooling divides (the output is cropped
back), its code shape for a given input, and whether XLA pays off for it on CPU (measured, see
benchmarks/README.md). Config validation, model building, training and evaluation read the entry,
so adding an architecture is one builder function and one entry here.

Any image shape (H, W, C) works with every arch when C is 1 or 3 and H, W >= MIN_SIDE (16). For
MNIST's 28x28x1 no arch pads, and every graph and parameter count of the blog's archs is exactly
the blog's (`res_conv` is not the blog's: it is today's design).

Standard library only: `autoencoders.config` reads this before TensorFlow is imported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autoencoders.registry import Registry, resolve

#: The smallest image side any arch accepts (SSIM's 11x11 window and the conv stacks need room).
MIN_SIDE = 16
CHANNELS = (1, 3)


def _same(side: int) -> int:
    return side


def _multiple_of_4(side: int) -> int:
    """Two 2x poolings (or stride-2 convs) and two 2x upsamplings give the size back exactly."""
    return 4 * math.ceil(side / 4)


def _eight_k_minus_4(side: int) -> int:
    """The blog's conv decoder (three 2x upsamplings, the third conv 'valid') gives back sizes
    8k - 4 exactly: the code's side k upsamples to 2k, 4k, loses 2 in the valid conv, then 8k - 4.
    28 = 8*4 - 4, so MNIST needs no padding."""
    return 8 * math.ceil((side + 4) / 8) - 4


@dataclass(frozen=True)
class Architecture:
    name: str
    summary: str  # one line, for tables
    builder: str | Callable  # (ModelConfig) -> (encoder, decoder)
    vae: bool = False
    latent_dim: int | None = None  # default code size; None: the code shape is fixed by the conv stack
    padded_side: Callable[[int], int] = _same  # an image side -> the side the model works at
    code_channels: int | None = None  # conv archs: channels of the spatial code
    pooling: int = 1  # conv archs: how much the encoder shrinks each (padded) side
    xla_on_cpu: bool = False

    def build(self, model_config) -> tuple[Any, Any]:
        return resolve(self.builder)(model_config)

    def padded_shape(self, image_shape: tuple[int, int, int]) -> tuple[int, int, int]:
        height, width, channels = image_shape
        return self.padded_side(height), self.padded_side(width), channels

    def code_shape(self, model_config) -> tuple[int, ...]:
        """The code's shape without the batch axis, for the config's input shape."""
        if self.latent_dim is not None:
            return (int(model_config.latent_dim),)
        height, width, _ = self.padded_shape(model_config.input_shape)
        return (math.ceil(height / self.pooling), math.ceil(width / self.pooling), int(self.code_channels))


ARCHITECTURES: Registry[Architecture] = Registry("architecture")
register = ARCHITECTURES.add

register(
    Architecture(
        name="dense",
        summary="H·W·C → Dense(32, relu) → Dense(H·W·C, sigmoid)",
        builder="autoencoders.models.dense:dense_parts",
        latent_dim=32,
        xla_on_cpu=True,
    )
)
register(
    Architecture(
        name="sparse_dense",
        summary="as dense, code with an L1 activity regulariser",
        builder="autoencoders.models.dense:sparse_dense_parts",
        latent_dim=32,
        xla_on_cpu=True,
    )
)
register(
    Architecture(
        name="deep_dense",
        summary="H·W·C-128-64-32-64-128-H·W·C (relu, sigmoid out)",
        builder="autoencoders.models.dense:deep_dense_parts",
        latent_dim=32,
        xla_on_cpu=True,
    )
)
register(
    Architecture(
        name="conv",
        summary="Conv 16-8-8 + max-pool; mirrored with up-sampling",
        builder="autoencoders.models.conv:conv_parts",
        padded_side=_eight_k_minus_4,
        code_channels=8,
        pooling=8,
    )
)
register(
    Architecture(
        name="denoising_conv",
        summary="Conv 32-32 + max-pool; mirrored",
        builder="autoencoders.models.conv:denoising_conv_parts",
        padded_side=_multiple_of_4,
        code_channels=32,
        pooling=4,
    )
)
register(
    Architecture(
        name="res_conv",
        summary="today's design: residual blocks (GroupNorm, SiLU), stride-2 convs, code 7x7x4 on MNIST",
        builder="autoencoders.models.res_conv:res_conv_parts",
        padded_side=_multiple_of_4,
        code_channels=4,
        pooling=4,
    )
)
register(
    Architecture(
        name="vae",
        summary="H·W·C → 64 → (z_mean, z_log_var); 2 → 64 → H·W·C",
        builder="autoencoders.models.vae:dense_vae_parts",
        vae=True,
        latent_dim=2,
        xla_on_cpu=True,
    )
)
register(
    Architecture(
        name="conv_vae",
        summary="keras-io VAE: Conv 32/64 stride 2, Dense 16, Conv2DTranspose decoder",
        builder="autoencoders.models.vae:conv_vae_parts",
        vae=True,
        latent_dim=2,
        padded_side=_multiple_of_4,
    )
)


def input_shape_problem(shape: tuple[int, int, int]) -> str | None:
    """Why no arch takes images of this (H, W, C) shape, or None if every arch does."""
    height, width, channels = shape
    if channels not in CHANNELS:
        return f"{channels} channels; allowed: 1 (grey) or 3 (RGB)"
    if min(height, width) < MIN_SIDE:
        return f"images of {height}x{width}; height and width must be at least {MIN_SIDE}"
    return None
