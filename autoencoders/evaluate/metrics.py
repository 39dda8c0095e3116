"""Reconstruction metrics that do not depend on the loss a model was trained with.

All take clean targets `t` and reconstructions `p` in [0, 1] with shape (N, ...) and return one
value per image, so callers can average, group by class or bootstrap as they need.
BCE uses the same clipping as Keras (1e-7) and the same clipping for the target's own entropy,
so `bce_excess` is exactly 0 for a perfect reconstruction and >= 0 otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

EPSILON = 1e-7
# PSNR of a perfect reconstruction is infinite; it is capped here (MSE floored at 1e-10).
PSNR_CAP_DB = 100.0


def _per_image(values: np.ndarray) -> np.ndarray:
    return values.reshape(len(values), -1).mean(axis=1, dtype=np.float64)


def pixel_bce_map(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPSILON, 1.0 - EPSILON)
    return -(t * np.log(p) + (1.0 - t) * np.log1p(-p))


def mse(t, p) -> np.ndarray:
    return _per_image(np.square(t - p))


def mae(t, p) -> np.ndarray:
    return _per_image(np.abs(t - p))


def psnr(t, p) -> np.ndarray:
    """Peak signal-to-noise ratio in dB for images with peak 1, capped at PSNR_CAP_DB."""
    return 10.0 * np.log10(1.0 / np.maximum(mse(t, p), 10 ** (-PSNR_CAP_DB / 10)))


def bce(t, p) -> np.ndarray:
    return _per_image(pixel_bce_map(t, p))


def bce_excess(t, p) -> np.ndarray:
    """BCE minus the target's own entropy (a KL divergence per pixel; 0 at p == t)."""
    return _per_image(pixel_bce_map(t, p) - pixel_bce_map(t, t))


PER_IMAGE_METRICS = {"mse": mse, "mae": mae, "psnr": psnr, "bce": bce, "bce_excess": bce_excess}


def summarize(t: np.ndarray, p: np.ndarray, batch: int = 2000) -> dict[str, float]:
    """Mean of every per-image metric over the set, computed in batches to bound memory."""
    return summarize_chunks(((t[i : i + batch], p[i : i + batch]) for i in range(0, len(t), batch)), batch)


def summarize_chunks(chunks: Iterable[tuple[np.ndarray, np.ndarray]], batch: int = 2000) -> dict[str, float]:
    """`summarize` over a set given as consecutive (targets, reconstructions) chunks of any sizes
    (a test set streamed from disk): each image's values do not depend on its neighbours, and the
    means are summed in blocks of `batch` images of the whole set, so any chunking gives the same
    numbers (tests/evaluate/test_metrics.py)."""
    values: dict[str, list[np.ndarray]] = {name: [] for name in PER_IMAGE_METRICS}
    for t, p in chunks:
        t, p = np.asarray(t, np.float32), np.asarray(p, np.float32)
        for name, fn in PER_IMAGE_METRICS.items():
            values[name].append(fn(t, p))
    result = {}
    for name, parts in values.items():
        per_image = np.concatenate(parts)
        result[name] = sum(float(per_image[i : i + batch].sum()) for i in range(0, len(per_image), batch)) / len(per_image)
    return result
