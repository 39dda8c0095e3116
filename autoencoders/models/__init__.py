"""The models: the architecture registry (`architectures`, standard library only, so the config can
check `model.arch` without importing Keras), the output-head registry (`heads`), one module per family (dense, conv, vae,
res_conv) with its layers, the Autoencoder and VAE classes (`base`) and the losses.

`build_model(model_config, seed)`: the registered builder of `model.arch`, wrapped in `Autoencoder`
or `VAE`. Keras is imported only when a model is built or a class is asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.models.heads import HEADS

if TYPE_CHECKING:
    from autoencoders.models.base import VAE, Autoencoder


def build_model(model_config, seed: int = 0) -> Autoencoder:
    """A fresh, uncompiled model for `model_config` (an `autoencoders.config.ModelConfig` whose
    `input_shape` is resolved)."""
    from autoencoders.models.base import VAE, Autoencoder

    if model_config.input_shape is None:
        raise ValueError("model.input_shape is not resolved: load the data first (autoencoders.train.loop.resolve_input_shape)")
    arch, clip = ARCHITECTURES[model_config.arch], HEADS[model_config.output].clips_to_data_range
    encoder, decoder = arch.build(model_config)
    if arch.vae:
        return VAE(encoder, decoder, seed=seed, clip_to_data_range=clip, name=model_config.arch)
    return Autoencoder(encoder, decoder, clip_to_data_range=clip, name=model_config.arch)


def __getattr__(name: str):
    if name in ("Autoencoder", "VAE"):
        from autoencoders.models import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["VAE", "Autoencoder", "build_model"]
