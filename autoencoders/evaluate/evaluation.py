"""Evaluate saved runs afresh on the full test set, with metrics that ignore the training loss.

A run folder is read without trusting it: a missing, unfinished or failed run comes back as a
`Run` with its status and reason (it is listed in the report, never silently dropped), and only
completed runs are evaluated. Evaluation reloads `model.keras`, reconstructs the whole test set
(whatever its size and image shape) in large batches, and keeps per-image values so statistics
can be taken over images, classes (when the data has labels) and seeds. A run is evaluated only
on the data it was trained on: the identity its metrics.json records must match the data's now.

The training process evaluates its run as soon as it is complete (TensorFlow, the test set and the
model are loaded there already) and stores the result as `evaluation.npz` in the run folder; a
report reads it instead of evaluating again, and so imports no TensorFlow at all when every run has
one. It is a cache, keyed by a fingerprint of everything the evaluation depends on besides the
data (the model file, this package's code, the numeric libraries' versions): a stale or damaged
one is ignored and the run evaluated afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zipfile
from dataclasses import dataclass, field, fields
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

from autoencoders import config as C
from autoencoders.errors import os_error_message
from autoencoders.evaluate import metrics as M
from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.train import run_folder as runs

GRID_IMAGES = 10  # test images in a reconstruction grid: one per class (up to 10), or evenly spaced
PRIOR_SAMPLES = 64  # decoded draws from the prior, an 8x8 picture

log = logging.getLogger(__name__)


@dataclass
class Run:
    path: Path
    status: str  # completed | failed | unfinished | invalid
    reason: str | None = None
    config: C.ExperimentConfig | None = None
    history: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)

    @property
    def data_identity(self) -> str | None:
        """The identity of the data the run was trained on (None for runs made before it was recorded)."""
        return (self.metrics.get("data") or {}).get("identity")

    @property
    def label(self) -> str:
        if self.config is None:
            return self.path.name
        return f"{self.config.loss.name.upper()} · seed {self.config.seed}"


def load_run(path: str | Path) -> Run:
    """Read a run folder; problems become a status and a reason, never an exception: a damaged
    file of one run is listed in the report with its name, and the other runs are evaluated."""
    path = Path(path)
    if not (path / runs.CONFIG).exists():
        return Run(path, "invalid", f"not a run folder (no {runs.CONFIG})")
    try:
        cfg = C.load_config(path / runs.CONFIG)
    except C.ConfigError as e:
        return Run(path, "invalid", f"unreadable config: {e}")
    try:
        history = runs.read_history(path / runs.HISTORY) if (path / runs.HISTORY).exists() else []
        status = runs.run_status(path)
        metrics = runs.read_json(path / runs.METRICS) if status != "unfinished" else {}
    except runs.CorruptFile as e:
        return Run(path, "invalid", f"damaged: {e}", cfg)
    except OSError as e:
        return Run(path, "invalid", f"unreadable: {os_error_message(e)}", cfg)
    if status == "unfinished":
        trained = f"{len(history)} of {cfg.training.epochs} epochs trained"
        if len(history) >= cfg.training.epochs:
            trained = f"all {cfg.training.epochs} epochs trained but the final evaluation and save did not finish"
        return Run(path, status, f"{trained}; resume it with train.py --resume", cfg, history)
    if status != "completed":
        return Run(path, status, metrics.get("reason", "failed"), cfg, history, metrics)
    if not (path / runs.MODEL).exists():
        return Run(path, "invalid", f"completed but {runs.MODEL} is missing", cfg, history, metrics)
    return Run(path, status, None, cfg, history, metrics)


def test_set(cfg: C.ExperimentConfig):
    """The full test set as this run sees it: its noise (seeded as in training) and binarisation."""
    from autoencoders.data.loading import prepare, source_dataset

    d = cfg.dataset
    return prepare(
        source_dataset(d), train_size=d.train_size, test_size=None, noise_factor=d.noise_factor, binarize=d.binarize, seed=cfg.seed
    )


#: images per compiled SSIM call, at most: 2048, or fewer where 2048 images would take more than
#: SSIM_BYTES as float32 (the op holds several arrays of the batch's size: one train.py run that
#: evaluated 7,500 images of 128x128x3 in batches of 2048 peaked at 8.4 GB resident; seen once, not
#: a benchmark)
SSIM_BATCH = 2048
SSIM_BYTES = 64 << 20


def ssim_batch(image_shape: tuple[int, ...]) -> int:
    """Images per SSIM call for images of `image_shape`: 2048 for MNIST (6.4 MB) and the 32x32x3
    patches (25 MB), 341 for 128x128x3."""
    return max(1, min(SSIM_BATCH, SSIM_BYTES // (4 * int(np.prod(image_shape)))))


@cache
def compiled_ssim():
    """`tf.image.ssim` compiled by XLA. Every report evaluates the full test set of each run, and
    the op's 11x11 depthwise convolutions run eagerly at 8.3 s per 10,000 MNIST images on 2 CPU
    cores, compiled at 3.0-3.5 s (benchmarks/README.md, "SSIM compiled"); the values differ from
    the eager op's by at most 5e-6 there (float32 sums in another order)."""
    import tensorflow as tf

    return tf.function(lambda t, p: tf.image.ssim(t, p, max_val=1.0), jit_compile=True)


def ssim(t: np.ndarray, p: np.ndarray, batch: int | None = None, pad_to: int | None = None) -> np.ndarray:
    """Per-image SSIM from `tf.image.ssim` (11x11 Gaussian window, images of peak 1), `batch`
    images a call (default `ssim_batch`). Every batch is padded to `pad_to` images (default:
    `batch`, or the set's size when it is smaller), so a test set compiles one program; a set
    streamed in chunks passes the whole set's figure."""
    batch = ssim_batch(t.shape[1:]) if batch is None else batch
    pad_to = min(batch, len(t)) if pad_to is None else pad_to
    scores = []
    for i in range(0, len(t), batch):
        n = len(t[i : i + batch])
        pad = [(0, pad_to - n)] + [(0, 0)] * (t.ndim - 1)
        scores.append(compiled_ssim()(np.pad(t[i : i + batch], pad), np.pad(p[i : i + batch], pad)).numpy()[:n])
    return np.concatenate(scores)


@dataclass
class Evaluation:
    run: Run
    per_image: dict[str, np.ndarray]  # metric -> (n_test,)
    labels: np.ndarray | None  # (n_test,) class of each test image, None when the data has no labels
    grid_images: np.ndarray  # reconstructions of the fixed grid images (`grid_indices`)
    grid_inputs: np.ndarray  # what the model was given for them (noisy for denoising runs)
    grid_targets: np.ndarray
    seconds: float
    class_names: tuple[str, ...] | None = None  # names of the label values
    grid_titles: tuple[str, ...] = ()  # a title per grid column: the class, or the test image's index
    vae: dict[str, float] | None = None
    code_mean: float | None = None  # mean activation of the code over the test set (the blog's sparsity figure)
    grid_codes: np.ndarray | None = None  # (10, h, w, c) codes of the grid images (conv models)
    latent: np.ndarray | None = None  # 2-d codes of the test set (VAEs with latent_dim 2)
    manifold: np.ndarray | None = None  # decoded 15x15 grid of z values (latent_dim 2)
    prior_samples: np.ndarray | None = None  # decoded `prior_points(PRIOR_SAMPLES)` (latent_dim 2)
    stored: bool = False  # read from the run's evaluation.npz, made by its training process (not evaluated here)

    def mean(self, metric: str) -> float:
        return float(np.mean(self.per_image[metric]))

    @property
    def classes(self) -> list[int]:
        """The classes (label values) that have test images, in order; none without labels."""
        return [] if self.labels is None else np.unique(self.labels).tolist()

    @property
    def class_labels(self) -> list[str]:
        """The name of each of `classes` (the value itself when the data names none)."""
        return [self.class_names[c] if self.class_names else str(c) for c in self.classes]

    def per_class(self, metric: str = "mse") -> np.ndarray:
        """Mean of `metric` over the test images of each of `classes`."""
        values = self.per_image[metric]
        return np.array([values[self.labels == c].mean() for c in self.classes])


def prior_points(n: int, latent_dim: int = 2) -> np.ndarray:
    """n fixed draws z ~ N(0, I) (seed 0): every VAE decodes the same ones."""
    return np.random.default_rng(0).standard_normal((n, latent_dim)).astype(np.float32)


def grid_indices(labels: np.ndarray | None, n_test: int, n_classes: int = 0) -> np.ndarray:
    """The same test images in every grid: the first of each class (up to GRID_IMAGES classes that
    have one), or, without labels, GRID_IMAGES images evenly spaced over the test set."""
    if labels is not None:
        present = [c for c in range(max(n_classes, int(labels.max()) + 1)) if np.any(labels == c)][:GRID_IMAGES]
        return np.array([int(np.argmax(labels == c)) for c in present])
    return np.unique(np.linspace(0, n_test - 1, min(GRID_IMAGES, n_test)).round().astype(int))


def evaluate_run(run: Run, batch_size: int = 4096, *, use_stored: bool = True) -> Evaluation:
    """The run's evaluation: the one its training process stored, if it is still valid, else afresh."""
    if use_stored and (stored := stored_evaluation(run)) is not None:
        return stored
    import keras

    from autoencoders.data.loading import DataError, source_dataset
    from autoencoders.models.losses import ReconstructionLoss, kl_divergence

    start = time.perf_counter()
    cfg = run.config
    dataset = source_dataset(cfg.dataset)
    if run.data_identity and run.data_identity != dataset.identity:
        raise DataError(
            f"trained on other data than {dataset.source} holds now (identity {run.data_identity[:16]}..., "
            f"now {dataset.identity[:16]}...); evaluate it on the data it was trained on"
        )
    data = test_set(cfg)
    model = keras.saving.load_model(run.path / runs.MODEL)
    vae = ARCHITECTURES[cfg.model.arch].vae
    names = dataset.class_names
    n_test = len(data.t_test)
    idx = grid_indices(data.y_test, n_test, len(names or ()))
    titles = tuple(names[data.y_test[i]] for i in idx) if data.y_test is not None and names else tuple(f"#{i}" for i in idx)
    # the test set streams through the model in chunks (one for a set of MNIST's size); every
    # value kept is per image, so the chunking changes no number (tests/data/test_mapped.py)
    per_chunk: dict[str, list[np.ndarray]] = {
        name: [] for name in (*M.PER_IMAGE_METRICS, "ssim", "codes", "z_log_var", "vae_reconstruction")
    }
    grid_images = np.zeros((len(idx), *data.t_test.shape[1:]), np.float32)
    for rows, outputs, recon in model.in_chunks(data.x_test, batch_size):
        t = np.asarray(data.t_test[rows], np.float32)
        for name, fn in M.PER_IMAGE_METRICS.items():
            per_chunk[name].append(fn(t, recon))
        per_chunk["ssim"].append(ssim(t, recon, pad_to=min(ssim_batch(t.shape[1:]), n_test)))
        per_chunk["codes"].append(model.code_of(outputs))
        if vae:
            per_chunk["z_log_var"].append(np.asarray(outputs[1], np.float32))
            per_chunk["vae_reconstruction"].append(np.asarray(ReconstructionLoss(cfg.loss.name, cfg.loss.reduction).call(t, recon)))
        here = (idx >= rows.start) & (idx < rows.stop)
        grid_images[here] = recon[idx[here] - rows.start]
    joined = {name: np.concatenate(parts) for name, parts in per_chunk.items() if parts}
    per_image = {name: joined[name] for name in (*M.PER_IMAGE_METRICS, "ssim")}
    codes = joined["codes"]
    ev = Evaluation(
        run, per_image, data.y_test, grid_images, data.x_test[idx], data.t_test[idx], 0.0, class_names=names, grid_titles=titles
    )

    if not vae:
        ev.code_mean = float(np.mean(codes))
        if codes.ndim == 4:  # spatial codes of the conv models: the blog draws them
            ev.grid_codes = codes[idx]
    else:
        z_mean = codes
        ev.vae = {
            "kl": float(np.mean(kl_divergence(z_mean, joined["z_log_var"]))),
            "reconstruction": float(np.mean(joined["vae_reconstruction"])),
        }
        if z_mean.shape[1] == 2:
            from autoencoders.report.plots import manifold_grid_points

            ev.latent = z_mean
            ev.manifold = model.decode(manifold_grid_points(15), batch_size)
            ev.prior_samples = model.decode(prior_points(PRIOR_SAMPLES), batch_size)
    ev.seconds = time.perf_counter() - start
    return ev


@lru_cache(maxsize=1)
def code_digest() -> bytes:
    """This package's code and the numeric libraries' versions: an evaluation made under other
    code or other versions may differ, so a stored one is only used under the same."""
    digest = hashlib.sha256()
    package = Path(__file__).parents[1]  # the whole package, not only evaluate/
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    for library in ("tensorflow", "keras", "numpy"):
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{library}={version}".encode())
    return digest.digest()


def fingerprint(run_dir: Path) -> str:
    """What a run's evaluation depends on besides its data (which its metrics.json pins): the
    model file's bytes and `code_digest`."""
    return hashlib.sha256(code_digest() + (Path(run_dir) / runs.MODEL).read_bytes()).hexdigest()


def store_evaluation(ev: Evaluation) -> Path:
    """Write `ev` into its run folder (atomically): arrays as arrays, the rest as JSON."""
    arrays, meta = {}, {"fingerprint": fingerprint(ev.run.path)}
    for f in fields(Evaluation):
        value = getattr(ev, f.name)
        if f.name in ("run", "stored"):
            continue
        if f.name == "per_image":
            arrays.update({f"per_image.{metric}": values for metric, values in value.items()})
        elif isinstance(value, np.ndarray):
            arrays[f.name] = value
        else:
            meta[f.name] = list(value) if isinstance(value, tuple) else value
    path = ev.run.path / runs.EVALUATION
    with runs.atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
    return path


def stored_evaluation(run: Run) -> Evaluation | None:
    """The evaluation the run's training process stored, or None: there is none, it was made for
    another model file or other code, or it is damaged (then a warning names it)."""
    path = run.path / runs.EVALUATION
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            if meta.pop("fingerprint", None) != fingerprint(run.path):
                return None
            arrays = {name: stored[name] for name in stored.files if name != "meta"}
        per_image = {name.removeprefix("per_image."): arrays.pop(name) for name in list(arrays) if name.startswith("per_image.")}
        tuples = {f.name for f in fields(Evaluation) if str(f.type).startswith("tuple")}
        meta = {name: tuple(value) if name in tuples and value is not None else value for name, value in meta.items()}
        return Evaluation(run, per_image, **arrays, **meta, stored=True)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:  # json.JSONDecodeError is a ValueError
        log.warning("%s: damaged (%s: %s); evaluating the run afresh", path, type(exc).__name__, exc)
        return None
