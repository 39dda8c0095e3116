"""What a reconstruction says about the training that made it: numpy only, so the callback (on any
Keras backend), the `diagnose` command and the study measure with one definition each.

Each measure takes targets `y` and outputs `p` in [0, 1], shape (N, ...), the same images in the
same order:
- `output_mean` against `target_mean`: a dark-locked model outputs about 0 whatever the data's mean;
- `saturated_wrong`: the share of pixels saturated (p < 0.01 or p > 0.99) on the wrong side
  (|p - y| > 0.5), exactly where MSE's gradient through a sigmoid vanishes;
- `logit_gradient`: mean |d loss / d z| per pixel for z the pre-sigmoid output, in closed form;
- `spread`: how much the outputs differ across inputs, as a share of how much the targets do
  (the "same image for every input" failure is a spread near 0);
- `dark_share`: the pixel MSE as a share of the all-dark output's (1 when locked dark);
- for a VAE, the KL per latent dimension and the active units (Burda et al., 2016: a dimension
  whose posterior mean varies across inputs by more than 0.01).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: a pixel is saturated below this or above 1 minus this
SATURATED = 0.01
#: a latent dimension is active when the variance of its posterior mean over the inputs exceeds this
ACTIVE_VARIANCE = 0.01


def pixel_mse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.square(np.asarray(y, np.float64) - p)))


def dark_output_mse(y: np.ndarray) -> float:
    """The pixel MSE of the all-dark output (every pixel 0): the mean of y²."""
    return float(np.mean(np.square(np.asarray(y, np.float64))))


def bright_output_mse(y: np.ndarray) -> float:
    """The pixel MSE of the all-bright output (every pixel 1): the mean of (1 - y)²."""
    return float(np.mean(np.square(1.0 - np.asarray(y, np.float64))))


def logit_gradient(loss: str, p, y):
    """d loss(y, p) / d z per pixel for p = sigmoid(z), in closed form (the chain rule through the
    sigmoid):
    bce: p - y (the log undoes the sigmoid: no p(1 - p) factor, no saturation);
    mse: 2 (p - y) p (1 - p) (vanishes when p saturates at 0 or 1, even on the wrong side);
    mae: sign(p - y) p (1 - p)."""
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    if loss == "bce":
        return p - y
    if loss == "mse":
        return 2.0 * (p - y) * p * (1.0 - p)
    if loss == "mae":
        return np.sign(p - y) * p * (1.0 - p)
    raise ValueError(f"no closed-form logit gradient for {loss!r}; choose bce, mse or mae")


def saturated_wrong(y: np.ndarray, p: np.ndarray) -> float:
    p = np.asarray(p)
    wrong = (np.abs(p - y) > 0.5) & ((p < SATURATED) | (p > 1 - SATURATED))
    return float(np.mean(wrong))


def column_spread(x) -> float:
    """Mean over pixels of the standard deviation across images (axis 0)."""
    return float(np.mean(np.std(np.asarray(x, np.float64), axis=0)))


#: test images on which a run's `output_spread` is measured when its training ends
#: (`train.loop.output_spread`): all of a collapse-rate run's 2,000, and at most `SPREAD_BYTES` of
#: them as float32 (2,000 of 128x128x3 would be 393 MB, and `spread` copies them as float64)
SPREAD_IMAGES = 2000
SPREAD_BYTES = 64 << 20


def spread(y: np.ndarray, p: np.ndarray) -> float:
    """How much the outputs vary across images, over how much the targets do: about 1 when the
    outputs vary as the images do, 0 for one output for every input."""
    target = column_spread(y)
    return column_spread(p) / target if target > 0 else float("nan")


def target_measures(y: np.ndarray) -> dict[str, Any]:
    """What `output_measures` needs of the targets alone: computed once per probe by a caller that
    measures the same targets again and again (the callback: a third of a probe's cost was these)."""
    y32 = np.asarray(y, np.float32)
    return {
        "y": y32,
        "y64": y32.astype(np.float64),
        "target_mean": float(np.mean(y32, dtype=np.float64)),
        "target_spread": column_spread(y32),
        "dark_mse": dark_output_mse(y32),
        "bright_mse": bright_output_mse(y32),
    }


def output_measures(y: np.ndarray, p: np.ndarray, loss: str | None = None, target: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Every measure of one probe: outputs `p` of the targets `y` (and the logit gradient under
    `loss`, when it is one with a closed form). `target`: `target_measures(y)`, when the caller has it."""
    target = target_measures(y) if target is None else target
    p = np.asarray(p, np.float32)
    p64 = p.astype(np.float64)  # once, for the three float64 measures (the same bits as each converting p)
    mse = pixel_mse(target["y64"], p64)
    dark, bright, spread_of_targets = target["dark_mse"], target["bright_mse"], target["target_spread"]
    measures = {
        "output_mean": float(np.mean(p, dtype=np.float64)),
        "target_mean": target["target_mean"],
        "saturated_wrong": saturated_wrong(target["y"], p),
        "spread": column_spread(p64) / spread_of_targets if spread_of_targets > 0 else float("nan"),
        "pixel_mse": mse,
        "dark_share": mse / dark if dark > 0 else float("nan"),
        "bright_share": mse / bright if bright > 0 else float("nan"),
    }
    if loss in ("bce", "mse", "mae"):
        measures["logit_gradient"] = float(np.mean(np.abs(logit_gradient(loss, p64, target["y64"]))))
    return measures


def kl_per_dimension(z_mean: np.ndarray, z_log_var: np.ndarray) -> np.ndarray:
    """KL(q(z|x) || N(0, 1)) per latent dimension, averaged over the inputs (z_log_var is log σ²)."""
    z_mean, z_log_var = np.asarray(z_mean, np.float64), np.asarray(z_log_var, np.float64)
    return np.mean(-0.5 * (1.0 + z_log_var - np.square(z_mean) - np.exp(z_log_var)), axis=0)


def active_units(z_mean: np.ndarray) -> int:
    return int(np.sum(np.var(np.asarray(z_mean, np.float64), axis=0) > ACTIVE_VARIANCE))
