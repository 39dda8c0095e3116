"""The per-pixel facts behind "why BCE and not MSE?", computed rather than asserted.

Everything here is numpy on one pixel: target y in [0, 1], prediction p = sigmoid(z) in (0, 1).
The study turns these into figures and numbers; the tests check each against autodiff or a
numerical optimiser, so the claims of the Findings rest on code that could have failed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize_scalar

from autoencoders.diagnose import measures
from autoencoders.evaluate.metrics import EPSILON, pixel_bce_map

TARGETS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)

PixelLoss = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _clip(p):
    return np.clip(p, EPSILON, 1.0 - EPSILON)


bce = pixel_bce_map  # the numpy BCE the metrics use, clipped like Keras


def mse(y, p):
    return np.square(y - p)


def mae(y, p):
    return np.abs(y - p)


def log_cosh(y, p):
    return np.log(np.cosh(p - y))


def log_cb_normaliser(lam):
    """log C(lam) of the continuous Bernoulli, in float64 (the training loss's own formula)."""
    from autoencoders.models.losses import log_cb_normaliser as keras_log_cb_normaliser

    return np.asarray(keras_log_cb_normaliser(np.asarray(lam, dtype=np.float64)), dtype=np.float64)


def continuous_bernoulli(y, p):
    """Negative log-density of the continuous Bernoulli with parameter p at y."""
    return bce(y, p) - log_cb_normaliser(p)


def cb_mean(lam):
    """E[x] under the continuous Bernoulli(lam): lam / (2 lam - 1) + 1 / (2 artanh(1 - 2 lam))."""
    lam = _clip(np.asarray(lam, dtype=np.float64))
    u = 1.0 - 2.0 * lam
    near = np.abs(u) < 1e-4
    safe = np.where(near, 0.5, u)  # any value away from 0 and 1: that branch is not used
    exact = lam / (-safe) + 1.0 / (2.0 * np.arctanh(safe))
    return np.where(near, 0.5 - u / 6.0, exact)  # series: 1/2 - u/6 + O(u^3)


PIXEL_LOSSES: dict[str, PixelLoss] = {
    "bce": bce,
    "mse": mse,
    "mae": mae,
    "log_cosh": log_cosh,
    "continuous_bernoulli": continuous_bernoulli,
}


def binary_entropy(y):
    """H(y) in nats: BCE's value at its minimum p = y (0 for y in {0, 1})."""
    return bce(y, y)


def numerical_minimum(loss: PixelLoss, y: float) -> tuple[float, float]:
    """argmin_p loss(y, p) over [0, 1] and the value there, by bounded Brent search (no formula)."""
    found = minimize_scalar(lambda p: float(loss(y, p)), bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-10})
    # the bounded search never evaluates the end points; a minimum there (y = 0 or 1) is checked
    best = min([(float(found.x), float(found.fun)), (0.0, float(loss(y, 0.0))), (1.0, float(loss(y, 1.0)))], key=lambda r: r[1])
    return best


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logit_gradient(loss: str, z, y):
    """d loss(y, sigmoid(z)) / dz in closed form, for logits z (the diagnosis's definition, which
    takes the output p = sigmoid(z))."""
    return measures.logit_gradient(loss, sigmoid(np.asarray(z, dtype=np.float64)), y)


def random_pairs_experiment(n_pairs: int = 10, repeats: int = 10_000, seed: int = 0) -> dict:
    """The Data Science SE answer's experiment (BCE and MSE of 10 random (y, p) pairs), repeated.

    Returns how often BCE > MSE for single pairs, their mean values and the spread of the ratio:
    the ratio varies a lot, so one loss's number tells little about the other's.
    """
    rng = np.random.default_rng(seed)
    y = rng.uniform(size=(repeats, n_pairs))
    p = rng.uniform(size=(repeats, n_pairs))
    b, m = bce(y, p), mse(y, p)
    ratio = b.mean(1) / m.mean(1)
    return {
        "pairs": int(y.size),
        "bce_greater_share": float(np.mean(b > m)),
        "bce_mean": float(b.mean()),
        "mse_mean": float(m.mean()),
        "entropy_mean": float(binary_entropy(y).mean()),
        "ratio_median": float(np.median(ratio)),
        "ratio_p05": float(np.quantile(ratio, 0.05)),
        "ratio_p95": float(np.quantile(ratio, 0.95)),
        "corr_bce_mse": float(np.corrcoef(b.mean(1), m.mean(1))[0, 1]),
        "corr_excess_mse": float(np.corrcoef((b - binary_entropy(y)).mean(1), m.mean(1))[0, 1]),
    }
