"""Natural-image patches from the real photographs that ship inside the scikit-image wheel.

Natural images are the opposite of MNIST: few pixels at exactly 0 or 1, most of them grey, which
is where the arguments for BCE are weakest. The recipe (see `datasets.PhotoPatches`) is fixed by
the registry entry and runs in integer arithmetic only (Pillow's box reduction and ITU-R 601-2
luma), so the patches are the same on every machine; every photo is checked against its pinned
SHA-256 before it is used. The patches are cached like MNIST (uint8, with the identity of the
recipe), so the cutting runs once per machine.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import logging
import math
from pathlib import Path

import numpy as np

from autoencoders.data.datasets import DatasetSpec, PhotoPatches
from autoencoders.data.loading import DataError, Dataset, Unavailable, cache_dir, load_cache, sha256, write_cache
from autoencoders.data.mapped import held

log = logging.getLogger(__name__)


def photo_dir() -> Path:
    """The folder of scikit-image's bundled photographs (`skimage/data` inside the wheel)."""
    try:
        return Path(str(importlib.resources.files("skimage") / "data"))
    except ModuleNotFoundError:
        raise DataError(
            "scikit-image is not installed; its wheel ships the photographs the natural patches are cut from (pip install scikit-image)"
        ) from None


def read_photo(path: Path, pinned: str, channels: int) -> np.ndarray:
    """One photograph as uint8 (H, W) or (H, W, 3), refused unless its bytes are the pinned ones."""
    from PIL import Image

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the photograph ({exc}); reinstall scikit-image") from exc
    if (got := sha256(raw)) != pinned:
        raise DataError(
            f"{path}: SHA-256 {got} does not match the pinned {pinned}; the file is corrupt or not the "
            "photograph this dataset is cut from (pip install --force-reinstall scikit-image)"
        )
    image = Image.open(io.BytesIO(raw)).convert("L" if channels == 1 else "RGB")
    return np.asarray(image)


def reduce(image: np.ndarray, max_side: int) -> np.ndarray:
    """Box-average by the smallest integer factor that brings the shorter side to <= max_side."""
    from PIL import Image

    factor = math.ceil(min(image.shape[:2]) / max_side)
    return image if factor == 1 else np.asarray(Image.fromarray(image).reduce(factor))


def patches_of(image: np.ndarray, size: int | tuple[int, int], stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Every patch of `size` (a side, or (height, width)) whose corner lies on the stride grid, as
    (n, height, width, C), and the (row, column) of each corner."""
    height, width = (size, size) if isinstance(size, int) else size
    image = image if image.ndim == 3 else image[..., np.newaxis]
    windows = np.lib.stride_tricks.sliding_window_view(image, (height, width), axis=(0, 1))[::stride, ::stride]
    rows, cols = windows.shape[:2]
    corners = np.stack(np.meshgrid(np.arange(rows) * stride, np.arange(cols) * stride, indexing="ij"), -1).reshape(-1, 2)
    return windows.reshape(rows * cols, *windows.shape[2:]).transpose(0, 2, 3, 1), corners


def order_key(photo: str, corner: np.ndarray) -> int:
    """A hash of (photo, row, column): sorting by it mixes the photos without any RNG."""
    return int.from_bytes(hashlib.sha256(f"{photo}:{corner[0]}:{corner[1]}".encode()).digest()[:8], "big")


def cut(recipe: PhotoPatches, folder: Path | None = None) -> dict[str, np.ndarray]:
    """The recipe's train and test patches as uint8 arrays, each set ordered by `order_key`, plus
    the source photo of each patch (`photo_train`, `photo_test`, as indices into sorted photos)."""
    folder = photo_dir() if folder is None else folder
    names = sorted(recipe.photos)
    unknown = set(recipe.test_photos) - set(names)
    if unknown:
        raise ValueError(f"test photos {sorted(unknown)} are not among the recipe's photos")
    split: dict[str, list] = {"train": [], "test": []}
    for index, name in enumerate(names):
        image = reduce(read_photo(folder / name, recipe.photos[name], recipe.channels), recipe.max_side)
        patches, corners = patches_of(image, recipe.patch, recipe.stride)
        keys = [order_key(name, corner) for corner in corners]
        split["test" if name in recipe.test_photos else "train"].append((patches, keys, np.full(len(patches), index, np.int16)))
    arrays = {}
    for part, pieces in split.items():
        patches = np.concatenate([p for p, _, _ in pieces])
        order = np.argsort(np.array([k for _, keys, _ in pieces for k in keys], dtype=np.uint64), kind="stable")
        arrays[f"x_{part}"] = np.ascontiguousarray(patches[order])
        arrays[f"photo_{part}"] = np.concatenate([s for _, _, s in pieces])[order]
    return arrays


def load_photo_patches(spec: DatasetSpec, config) -> Dataset:
    """The entry's patches from the cache, or cut from the photographs (and then cached)."""
    recipe: PhotoPatches = spec.source
    identity = recipe.identity()
    cache = cache_dir() / f"{spec.name}.npz"
    try:
        arrays, where = load_cache(cache, identity), f"cache {cache}"
    except Unavailable:
        folder = photo_dir()
        log.info("cutting %s from the photographs in %s (once; then cached)", spec.name, folder)
        arrays, where = cut(recipe, folder), f"scikit-image photographs {folder}"
        write_cache(cache, arrays, identity)
    return Dataset(
        name=spec.name,
        x_train=held(arrays["x_train"], cache),
        y_train=None,
        x_test=held(arrays["x_test"], cache),
        y_test=None,
        source=where,
        identity=identity,
    )
