"""`build_model(model_config, seed)`: the registered builder of `model.arch` (see
`autoencoders.architectures`), wrapped in `Autoencoder` or `VAE`."""

from __future__ import annotations

from autoencoders.architectures import ARCHITECTURES
from autoencoders.models.base import VAE, Autoencoder


def build_model(model_config, seed: int = 0) -> Autoencoder:
    """A fresh, uncompiled model for `model_config` (an `autoencoders.config.ModelConfig` whose
    `input_shape` is resolved)."""
    if model_config.input_shape is None:
        raise ValueError("model.input_shape is not resolved: load the data first (training.resolve_input_shape)")
    arch = ARCHITECTURES[model_config.arch]
    encoder, decoder = arch.build(model_config)
    if arch.vae:
        return VAE(encoder, decoder, seed=seed, name=model_config.arch)
    return Autoencoder(encoder, decoder, name=model_config.arch)


__all__ = ["Autoencoder", "VAE", "build_model"]
