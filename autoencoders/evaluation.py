"""Evaluate saved runs afresh on the full test set, with metrics that ignore the training loss.

A run folder is read without trusting it: a missing, unfinished or failed run comes back as a
`Run` with its status and reason (it is listed in the report, never silently dropped), and only
completed runs are evaluated. Evaluation reloads `model.keras`, reconstructs all 10,000 test
images in large batches, and keeps per-image values so statistics can be taken over images,
classes and seeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from autoencoders import config as C
from autoencoders import metrics as M
from autoencoders import runs

GRID_CLASSES = tuple(range(10))
PRIOR_SAMPLES = 64  # decoded draws from the prior, an 8x8 picture


@dataclass
class Run:
    path: Path
    status: str  # completed | failed | unfinished | invalid
    reason: str | None = None
    config: C.ExperimentConfig | None = None
    history: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.config is None:
            return self.path.name
        return f"{self.config.loss.name.upper()} · seed {self.config.seed}"


def load_run(path: str | Path) -> Run:
    """Read a run folder; problems become a status and a reason, never an exception."""
    path = Path(path)
    if not (path / runs.CONFIG).exists():
        return Run(path, "invalid", f"not a run folder (no {runs.CONFIG})")
    try:
        cfg = C.load_config(path / runs.CONFIG)
    except C.ConfigError as e:
        return Run(path, "invalid", f"unreadable config: {e}")
    history = runs.read_history(path / runs.HISTORY) if (path / runs.HISTORY).exists() else []
    status = runs.run_status(path)
    if status == "unfinished":
        return Run(path, status, f"unfinished: {len(history)} of {cfg.training.epochs} epochs", cfg, history)
    metrics = runs.read_json(path / runs.METRICS)
    if status != "completed":
        return Run(path, status, metrics.get("reason", "failed"), cfg, history, metrics)
    if not (path / runs.MODEL).exists():
        return Run(path, "invalid", f"completed but {runs.MODEL} is missing", cfg, history, metrics)
    return Run(path, status, None, cfg, history, metrics)


@lru_cache(maxsize=2)
def _dataset(name: str):
    from autoencoders.data import load_dataset

    return load_dataset(name)


def test_set(cfg: C.ExperimentConfig):
    """The full test set as this run sees it: its noise (seeded as in training) and binarisation."""
    from autoencoders.data import prepare

    d = cfg.dataset
    return prepare(_dataset(d.name), train_size=d.train_size, test_size=None, noise_factor=d.noise_factor, binarize=d.binarize, seed=cfg.seed)


def ssim(t: np.ndarray, p: np.ndarray, batch: int = 2048) -> np.ndarray:
    """Per-image SSIM from `tf.image.ssim` (11x11 Gaussian window, images of peak 1)."""
    import tensorflow as tf

    return np.concatenate([tf.image.ssim(t[i : i + batch], p[i : i + batch], max_val=1.0).numpy() for i in range(0, len(t), batch)])


@dataclass
class Evaluation:
    run: Run
    per_image: dict[str, np.ndarray]  # metric -> (n_test,)
    labels: np.ndarray  # (n_test,) class of each test image
    grid_images: np.ndarray  # reconstructions of the fixed grid images (one per class)
    grid_inputs: np.ndarray  # what the model was given for them (noisy for denoising runs)
    grid_targets: np.ndarray
    seconds: float
    vae: dict[str, float] | None = None
    code_mean: float | None = None  # mean activation of the code over the test set (the blog's sparsity figure)
    grid_codes: np.ndarray | None = None  # (10, h, w, c) codes of the grid images (conv models)
    latent: np.ndarray | None = None  # 2-d codes of the test set (VAEs with latent_dim 2)
    manifold: np.ndarray | None = None  # decoded 15x15 grid of z values (latent_dim 2)
    prior_samples: np.ndarray | None = None  # decoded `prior_points(PRIOR_SAMPLES)` (latent_dim 2)

    def mean(self, metric: str) -> float:
        return float(np.mean(self.per_image[metric]))

    def per_class(self, metric: str = "mse") -> np.ndarray:
        return np.array([self.per_image[metric][self.labels == c].mean() for c in GRID_CLASSES])


def prior_points(n: int, latent_dim: int = 2) -> np.ndarray:
    """n fixed draws z ~ N(0, I) (seed 0): every VAE decodes the same ones."""
    return np.random.default_rng(0).standard_normal((n, latent_dim)).astype(np.float32)


def grid_indices(labels: np.ndarray) -> np.ndarray:
    """The first test image of each class: the same images in every grid."""
    return np.array([int(np.argmax(labels == c)) for c in GRID_CLASSES])


def evaluate_run(run: Run, batch_size: int = 4096) -> Evaluation:
    import keras

    import autoencoders.models  # noqa: F401  (registers the classes load_model needs)
    from autoencoders.losses import ReconstructionLoss, kl_divergence

    start = time.perf_counter()
    cfg = run.config
    data = test_set(cfg)
    model = keras.saving.load_model(run.path / runs.MODEL)
    vae = cfg.model.arch in C.VAE_ARCHS
    if vae:  # one encoder pass gives the code (the posterior mean) and the KL term
        z_mean, z_log_var = (np.asarray(a, np.float32) for a in model.encoder.predict(data.x_test, batch_size=batch_size, verbose=0))
        codes = z_mean
    else:
        codes = model.encode(data.x_test, batch_size)
    recon = model.decode(codes, batch_size)  # = model.reconstruct(x_test), without encoding twice
    t = data.t_test
    per_image = {name: fn(t, recon) for name, fn in M.PER_IMAGE_METRICS.items()}
    per_image["ssim"] = ssim(t, recon)
    idx = grid_indices(data.y_test)
    ev = Evaluation(run, per_image, data.y_test, recon[idx], data.x_test[idx], t[idx], 0.0)

    if not vae:
        ev.code_mean = float(np.mean(codes))
        if codes.ndim == 4:  # spatial codes of the conv models: the blog draws them
            ev.grid_codes = codes[idx]
    else:
        ev.vae = {
            "kl": float(np.mean(kl_divergence(z_mean, z_log_var))),
            "reconstruction": float(np.mean(ReconstructionLoss(cfg.loss.name, cfg.loss.reduction).call(t, recon))),
        }
        if z_mean.shape[1] == 2:
            from autoencoders.plots import manifold_grid_points

            ev.latent = z_mean
            ev.manifold = model.decode(manifold_grid_points(15), batch_size)
            ev.prior_samples = model.decode(prior_points(PRIOR_SAMPLES), batch_size)
    ev.seconds = time.perf_counter() - start
    return ev
