"""`build_model(model_config, seed)`: one registered builder per `model.arch`."""

from __future__ import annotations

from collections.abc import Callable

from autoencoders.config import VAE_ARCHS
from autoencoders.models.base import VAE, Autoencoder
from autoencoders.models.conv import conv_parts, denoising_conv_parts
from autoencoders.models.dense import dense_parts
from autoencoders.models.vae import conv_vae_parts, dense_vae_parts


_PARTS: dict[str, Callable] = {
    "dense": lambda m: dense_parts(m.latent_dim),
    "sparse_dense": lambda m: dense_parts(m.latent_dim, activity_l1=m.activity_l1),
    "deep_dense": lambda m: dense_parts(m.latent_dim, hidden=(128, 64)),
    "conv": lambda m: conv_parts(),
    "denoising_conv": lambda m: denoising_conv_parts(),
    "vae": lambda m: dense_vae_parts(m.latent_dim, m.intermediate_dim),
    "conv_vae": lambda m: conv_vae_parts(m.latent_dim),
}


def build_model(model_config, seed: int = 0) -> Autoencoder:
    """A fresh, uncompiled model for `model_config` (an `autoencoders.config.ModelConfig`)."""
    encoder, decoder = _PARTS[model_config.arch](model_config)
    if model_config.arch in VAE_ARCHS:
        return VAE(encoder, decoder, seed=seed, name=model_config.arch)
    return Autoencoder(encoder, decoder, name=model_config.arch)


__all__ = ["Autoencoder", "VAE", "VAE_ARCHS", "build_model"]
