"""Datasets larger than memory: the images stay bytes on disk and become floats one batch at a time.

A folder of 100,000 photos at 128x128x3 is 4.9 GB as bytes and 19.7 GB as the float32 arrays an
in-memory dataset holds. When a user's dataset would take more than `budget.MEMORY_SHARE` of the
memory available as float32, its images are written once (bytes as bytes; float images, and
resized folder images, not tested, as float32) to
uncompressed `.npy` files in the data cache, keyed by the data's identity as the npz caches are,
and memory-mapped. `MappedImages` then stands where the float32 array stood: slicing it is free,
and indexing it reads just those rows and scales them with the very formula an in-memory load
uses (x / 255 in float32), so every batch holds the same numbers either way. uint8 images that
do fit in memory (the built-in datasets, a user's uint8 npz or folder) are held the same way, as
bytes in memory (`held`): a quarter of the float32 arrays, with the same batches.

Training gathers each batch by index in the same (seed, epoch) order as from memory
(`train.loop.epoch_batches`), and evaluation streams the test set in chunks of whole batches
(`models.base.Autoencoder.in_chunks`): a run is the same whether its data was mapped or loaded
(tests/data/test_mapped.py trains the dense and conv models on a uint8 npz both ways, on
TensorFlow, and compares the bits).

A cache is a folder written whole into a temporary name and renamed; on opening, each `.npy`
must be exactly as long as its header declares, so a truncated or lengthened cache is a
`DataError` naming the file, not a crash mid-epoch (its bytes are not re-hashed: a bit flipped in
place is not found).
"""

from __future__ import annotations

import math
import os
import shutil
import socket
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from autoencoders.data.budget import gigabytes, npy_header
from autoencoders.data.loading import DataError, scale_images, to_float32

#: rows read per step when a mapped array is copied, checked or scaled in full (bounded memory)
ROWS_PER_READ = 1024
COMPLETE = "complete"  # the marker file written last: a folder without it is an interrupted write


class MappedImages:
    """Images (N, H, W, C) held as stored, on disk as a memory-mapped `.npy` (uint8 0-255 or float32
    in [0, 1]) or in memory as uint8 (`held`), that read as float32 in [0, 1]: `images[rows]` (an
    index array, an int) reads those rows and scales them; `images[a:b]` is another `MappedImages`
    (nothing is read). `np.asarray(images)` reads everything, so code that would do that for a
    whole set streams instead."""

    def __init__(self, raw: np.ndarray, path: Path):
        self.raw, self.path = raw, path

    shape = property(lambda self: self.raw.shape)
    ndim = property(lambda self: self.raw.ndim)
    dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return MappedImages(self.raw[key], self.path)
        return to_float32(self.raw[key])

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError(f"{self!r} holds bytes that are scaled as they are read: it cannot be viewed without a copy")
        scaled = to_float32(np.asarray(self.raw))
        return scaled if dtype is None else scaled.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"MappedImages({self.path}, {self.raw.dtype} {self.raw.shape})"


def is_mapped(images) -> bool:
    """Images held as stored and scaled a batch at a time (on disk or as bytes in memory)."""
    return isinstance(images, MappedImages)


def on_disk(images) -> bool:
    return is_mapped(images) and isinstance(images.raw, np.memmap)


def held(images: np.ndarray, source: Path) -> MappedImages | np.ndarray:
    """Images that fit in memory (a built-in set, a user's): uint8 ones kept as bytes (a quarter of float32) and
    scaled a batch at a time as mapped ones are, so they train and evaluate to the same bits as
    the float32 arrays they would have become (tests/data/test_mapped.py); float ones as float32.
    (N, H, W) gets a channel axis."""
    if images.dtype != np.uint8:
        return scale_images(images)
    return MappedImages(images[..., np.newaxis] if images.ndim == 3 else images, Path(source))


def row_chunks(n: int, rows: int = ROWS_PER_READ) -> Iterable[slice]:
    return (slice(start, min(start + rows, n)) for start in range(0, n, rows))


def write_npy(path: Path, shape: tuple[int, ...], dtype: np.dtype, fill: Callable[[np.ndarray], None]) -> None:
    """Create the `.npy` at `path` of `shape` and `dtype` and let `fill` write its rows (a memmap)."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    try:
        fill(array)
        array.flush()
    finally:
        del array


def open_npy(path: Path) -> np.ndarray:
    """A cached `.npy`, memory-mapped read-only, refused unless the file holds every byte its header
    declares (a truncated cache would otherwise fail at a random batch, or not at all)."""
    try:
        with path.open("rb") as f:
            header = npy_header(f)
            if header is None:
                raise ValueError("not a version 1.0 or 2.0 .npy header")
            shape, fortran, dtype = header
            offset = f.tell()
        size = path.stat().st_size
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy cache ({exc}); delete {path.parent} to rebuild it") from exc
    declared = offset + math.prod(shape) * dtype.itemsize
    if fortran or dtype not in (np.uint8, np.float32):
        raise DataError(
            f"{path}: the cache holds {dtype} {shape}{' in Fortran order' if fortran else ''}, not what this suite writes; delete {path.parent} to rebuild it"
        )
    if size != declared:
        raise DataError(
            f"{path}: the cache file is {size:,} bytes but its header declares {declared:,} ({dtype} {shape}); "
            f"it is truncated or damaged: delete {path.parent} to rebuild it"
        )
    return np.load(path, mmap_mode="r", allow_pickle=False)


def cache_folder(root: Path, identity: str) -> Path:
    return root / f"mapped-{identity[:24]}"


def build_cache(folder: Path, write: Callable[[Path], None], needs_bytes: int) -> None:
    """Write the cache folder through `write(temporary folder)`, then rename it into place, so no
    reader ever sees half of one. Refused (nothing written) when the disk cannot hold it."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder.parent).free
    if needs_bytes > free:
        raise DataError(
            f"{folder.parent}: the dataset's memory-mapped cache needs {gigabytes(needs_bytes)} of disk but "
            f"{gigabytes(free)} are free; free some space or point AUTOENCODERS_DATA at a larger disk"
        )
    host = socket.gethostname()
    for stale in folder.parent.glob(f".{folder.name}.{host}-*.tmp"):  # left by a writer on this machine that was killed
        if not pid_alive(stale.name.removesuffix(".tmp").rsplit("-", 1)[-1]):
            shutil.rmtree(stale, ignore_errors=True)
    staging = folder.with_name(f".{folder.name}.{host}-{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        write(staging)
        (staging / COMPLETE).write_text("ok\n")
        if not (folder / COMPLETE).is_file():
            shutil.rmtree(folder, ignore_errors=True)  # an incomplete one; a complete one may be mapped by another process
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / COMPLETE).is_file():  # another process finished the same cache first: use that one (not tested)
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def pid_alive(pid: str) -> bool:
    """Whether the process of this machine that named a staging folder may still be writing it
    (staging folders carry the host's name, so another machine's on a shared file system are
    never touched)."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def open_cache(folder: Path) -> dict[str, MappedImages] | None:
    """The cache's x_train and x_test mapped, or None when there is no complete cache."""
    if not (folder / COMPLETE).is_file():
        return None
    return {key: MappedImages(open_npy(folder / f"{key}.npy"), folder / f"{key}.npy") for key in ("x_train", "x_test")}


def value_range(images: np.ndarray) -> tuple[float, float, int]:
    """(min, max, count of non-finite values) of an array read in bounded chunks."""
    low, high, bad = math.inf, -math.inf, 0
    for rows in row_chunks(len(images)):
        chunk = np.asarray(images[rows])
        finite = np.isfinite(chunk)
        bad += int((~finite).sum())
        if finite.any():
            low, high = min(low, float(chunk[finite].min())), max(high, float(chunk[finite].max()))
    return low, high, bad
