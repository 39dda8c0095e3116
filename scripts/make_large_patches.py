"""A real dataset larger than memory: 128x128x3 patches of scikit-image's colour photographs.

    python scripts/make_large_patches.py --out data/large_patches.npz

cuts every 128 x 128 patch whose corner lies on a 5-pixel grid of the eight colour photographs
that `natural_patches_rgb` uses, at their full resolution: 126,887 patches, 119,387 for training
and 7,500 for testing (the patches of coffee.png and chelsea.png, so no test patch comes from a
training photograph), 6.24 GB as bytes and 24.95 GB as the float32 arrays an in-memory dataset
would hold (tests/data/test_large_patches.py). Each set is ordered by `natural_patches.order_key`
(a hash of photo, row and column), as `natural_patches_rgb` is. Every photograph is checked against its pinned SHA-256.

The npz is written uncompressed, 2,048 patches at a time, into a temporary name renamed at the end. Train on it with
`--set dataset.name=npz --set dataset.path=data/large_patches.npz`: it does not fit in memory as
float32, so it is read from a memory-mapped cache (docs/data.md, "How big a dataset can be").
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autoencoders.data.datasets import DATASETS  # noqa: E402
from autoencoders.data.natural_patches import order_key, photo_dir, read_photo  # noqa: E402

PATCH = 128
STRIDE = 5
ROWS_PER_WRITE = 2048


def corners(height: int, width: int, patch: int, stride: int) -> np.ndarray:
    """(row, column) of every patch corner on the stride grid, row-major."""
    rows, cols = np.arange(0, height - patch + 1, stride), np.arange(0, width - patch + 1, stride)
    return np.stack(np.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)


def plan(photos: dict[str, np.ndarray], test_photos: tuple[str, ...], patch: int, stride: int) -> dict[str, list[tuple[str, int, int]]]:
    """Each set's patches as (photo, row, column), in `order_key` order."""
    sets: dict[str, list[tuple[int, str, int, int]]] = {"train": [], "test": []}
    for name, image in sorted(photos.items()):
        for row, col in corners(image.shape[0], image.shape[1], patch, stride):
            sets["test" if name in test_photos else "train"].append((order_key(name, np.array([row, col])), name, int(row), int(col)))
    return {part: [(name, row, col) for _, name, row, col in sorted(items, key=lambda item: item[0])] for part, items in sets.items()}


def write_npz(path: Path, photos: dict[str, np.ndarray], sets: dict[str, list[tuple[str, int, int]]], patch: int) -> None:
    """An uncompressed npz of x_train and x_test, streamed ROWS_PER_WRITE patches at a time."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(staging, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for part, items in sets.items():
                with archive.open(f"x_{part}.npy", "w", force_zip64=True) as member:
                    shape = (len(items), patch, patch, 3)
                    np.lib.format.write_array_header_2_0(member, {"descr": "|u1", "fortran_order": False, "shape": shape})
                    for start in range(0, len(items), ROWS_PER_WRITE):
                        chunk = np.stack(
                            [photos[name][row : row + patch, col : col + patch] for name, row, col in items[start : start + ROWS_PER_WRITE]]
                        )
                        member.write(chunk.tobytes())
                    print(f"x_{part}: {len(items):,} patches", file=sys.stderr)
        staging.replace(path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the .npz to write")
    parser.add_argument("--stride", type=int, default=STRIDE, help=f"pixels between patch corners (default {STRIDE})")
    parser.add_argument("--patch", type=int, default=PATCH, help=f"side of a patch (default {PATCH})")
    args = parser.parse_args(argv)
    recipe = DATASETS["natural_patches_rgb"].source  # its colour photographs, pinned, and its test photographs
    folder = photo_dir()
    photos = {name: read_photo(folder / name, sha, 3) for name, sha in recipe.photos.items()}
    sets = plan(photos, recipe.test_photos, args.patch, args.stride)
    n = sum(len(items) for items in sets.values())
    size = n * args.patch * args.patch * 3
    print(
        f"{n:,} patches of {args.patch}x{args.patch}x3 ({len(sets['train']):,} train, {len(sets['test']):,} test): "
        f"{size / 1e9:.2f} GB as bytes, {4 * size / 1e9:.2f} GB as float32",
        file=sys.stderr,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(args.out, photos, sets, args.patch)
    print(f"wrote {args.out} ({math.ceil(args.out.stat().st_size / 1e6):,} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
