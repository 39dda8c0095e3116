"""scripts/make_large_patches.py: the real large dataset has the size its docstring and
docs/data.md give, and its patches are the photographs' own pixels."""

from __future__ import annotations

import sys

import numpy as np

from autoencoders.data.datasets import DATASETS
from autoencoders.data.natural_patches import photo_dir, read_photo

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import make_large_patches as large  # noqa: E402


def photos():
    recipe = DATASETS["natural_patches_rgb"].source
    return {name: read_photo(photo_dir() / name, sha, 3) for name, sha in recipe.photos.items()}, recipe.test_photos


def test_the_default_grid_cuts_126887_patches_of_which_7500_from_the_test_photographs():
    images, test_photos = photos()
    sets = large.plan(images, test_photos, large.PATCH, large.STRIDE)
    assert (len(sets["train"]), len(sets["test"])) == (119_387, 7_500)
    assert {name for name, _, _ in sets["test"]} == {"coffee.png", "chelsea.png"}
    assert not {name for name, _, _ in sets["train"]} & {"coffee.png", "chelsea.png"}
    assert round(sum(map(len, sets.values())) * 128 * 128 * 3 / 1e9, 2) == 6.24  # bytes
    assert round(sum(map(len, sets.values())) * 128 * 128 * 3 * 4 / 1e9, 2) == 24.95  # float32


def test_the_npz_holds_the_photographs_pixels_at_each_corner_and_loads_as_a_users_npz(tmp_path, monkeypatch):
    """A coarse grid (stride 160) written, then read back through dataset npz: each patch is the
    crop of its photograph that Pillow gives at its (row, column)."""
    from PIL import Image

    from autoencoders.config import DatasetConfig
    from autoencoders.data.loading import load_dataset

    out = tmp_path / "patches.npz"
    assert large.main(["--out", str(out), "--stride", "160", "--patch", "32"]) == 0
    images, test_photos = photos()
    sets = large.plan(images, test_photos, 32, 160)
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "cache"))
    dataset = load_dataset(DatasetConfig(name="npz", path=str(out)))
    for part, x in (("train", dataset.x_train), ("test", dataset.x_test)):
        assert len(x) == len(sets[part])
        for i in (0, len(x) // 2, len(x) - 1):
            name, row, col = sets[part][i]
            crop = np.asarray(Image.open(photo_dir() / name).convert("RGB").crop((col, row, col + 32, row + 32)))
            assert np.array_equal(np.rint(x[i] * 255).astype(np.uint8), crop), (part, i)
