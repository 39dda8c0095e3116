"""The output-head registry: what the decoder's last layer computes, one entry per `model.output`.

The study's collapse is MSE *through a sigmoid*: a pixel pushed far to one side has a sigmoid
gradient p(1 - p) near zero, so MSE's error signal cannot bring it back, while BCE's gradient with
respect to the logit is p - y, which does not vanish when a pixel saturates on the wrong side.
Many of today's image autoencoders (latent-diffusion ones, for instance) end in a linear layer
and train with L1 or L2 on the raw output, so the question "does the advice survive there?"
needs the head as a setting of its own.

An entry holds every fact about a head: the activation of the decoder's last layer, the losses
that apply to its output, and whether reconstructions are clipped to the data's range [0, 1]
before any metric or figure sees them (a linear output can leave it; clipping puts every head on
the metrics' common scale). BCE on a linear output read as logits *is* the sigmoid head's BCE, so
the linear head does not offer it again.

Standard library only: `autoencoders.config` reads this before TensorFlow is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from autoencoders.registry import Registry


@dataclass(frozen=True)
class OutputHead:
    name: str
    summary: str  # one line: the config reference and configs/schema.json describe model.output with it
    activation: str  # the Keras activation of the decoder's last layer
    losses: tuple[str, ...]  # the `loss.name`s that apply to this head's output
    clips_to_data_range: bool  # reconstructions clipped to [0, 1] before metrics and figures


HEADS: Registry[OutputHead] = Registry("output head")
HEADS.add(
    OutputHead(
        name="sigmoid",
        summary="a sigmoid per pixel, in (0, 1), as in the Keras blog",
        activation="sigmoid",
        losses=("bce", "mse", "mae", "gaussian", "continuous_bernoulli"),
        clips_to_data_range=False,
    )
)
HEADS.add(
    OutputHead(
        name="linear",
        summary="the raw output, as in today's residual autoencoders, clipped to [0, 1] for metrics and figures",
        activation="linear",
        losses=("mse", "mae", "gaussian"),
        clips_to_data_range=True,
    )
)


def output_activation(model_config) -> str:
    """The activation of the decoder's last layer for `model_config.output`."""
    return HEADS[model_config.output].activation
