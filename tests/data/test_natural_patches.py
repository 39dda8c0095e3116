"""Natural-image patches from scikit-image's photographs: pinned, deterministic, split by photo."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from autoencoders.data.datasets import DATASETS
from autoencoders.data.loading import DataError, load_dataset
from autoencoders.data.natural_patches import cut, patches_of, photo_dir, read_photo, reduce

NAMES = ("natural_patches", "natural_patches_rgb")


@pytest.fixture(scope="module", params=NAMES)
def name(request):
    return request.param


@pytest.fixture(scope="module")
def cut_now(name):
    """The patches cut afresh from the photographs (not the cache)."""
    return cut(DATASETS[name].source)


def test_every_photo_matches_its_pinned_sha256_and_is_a_real_photograph():
    recipe = DATASETS["natural_patches"].source
    for photo, pinned in recipe.photos.items():
        image = read_photo(photo_dir() / photo, pinned, channels=1)
        assert min(image.shape) >= 300, photo  # photographs, not icons
        assert image.std() > 10, photo  # not a flat or synthetic image


def test_a_corrupt_photograph_is_refused_by_name(tmp_path):
    recipe = DATASETS["natural_patches_rgb"].source
    for photo in recipe.photos:
        shutil.copy(photo_dir() / photo, tmp_path / photo)
    bad = tmp_path / "coffee.png"
    raw = bytearray(bad.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="does not match the pinned") as info:
        cut(recipe, tmp_path)
    assert str(bad) in str(info.value)


def test_sizes_shapes_and_range_match_the_entry(name, cut_now):
    spec = DATASETS[name]
    assert cut_now["x_train"].shape == (spec.train_size, *spec.image_shape)
    assert cut_now["x_test"].shape == (spec.test_size, *spec.image_shape)
    assert cut_now["x_train"].dtype == np.uint8
    assert spec.train_size >= 40_000 and spec.test_size >= 9_000  # tens of thousands to train on


def test_train_and_test_come_from_different_photographs(name, cut_now):
    recipe = DATASETS[name].source
    photos = sorted(recipe.photos)
    train_photos = {photos[i] for i in np.unique(cut_now["photo_train"])}
    test_photos = {photos[i] for i in np.unique(cut_now["photo_test"])}
    assert test_photos == set(recipe.test_photos)
    assert train_photos == set(photos) - set(recipe.test_photos)
    assert not train_photos & test_photos


def test_cutting_is_deterministic_and_the_loaded_dataset_is_the_cut(name, cut_now):
    again = cut(DATASETS[name].source)
    for key in cut_now:
        np.testing.assert_array_equal(again[key], cut_now[key])
    loaded = load_dataset(name)  # from the cache (or cut and cached by this call)
    np.testing.assert_array_equal(loaded.x_test, cut_now["x_test"] / np.float32(255))
    assert loaded.y_train is None and loaded.class_names is None
    assert loaded.identity == DATASETS[name].source.identity()


def test_the_first_patches_mix_the_photographs(name, cut_now):
    """dataset.train_size takes the first N patches: they must not all come from one photo."""
    first = cut_now["photo_train"][:500]
    assert len(np.unique(first)) == len(np.unique(cut_now["photo_train"]))


def test_natural_images_are_mostly_grey_pixels(name, cut_now):
    x = cut_now["x_test"]
    assert np.mean((x > 0) & (x < 255)) > 0.95


def test_a_patch_is_the_photo_at_its_corner():
    image = reduce(read_photo(photo_dir() / "camera.png", DATASETS["natural_patches"].source.photos["camera.png"], 1), 512)
    patches, corners = patches_of(image, 28, 8)
    assert len(patches) == len(corners) == 61 * 61
    for k in (0, 100, len(patches) - 1):
        row, col = corners[k]
        np.testing.assert_array_equal(patches[k, ..., 0], image[row : row + 28, col : col + 28])


def test_large_photos_are_box_reduced_by_an_integer_factor():
    retina = read_photo(photo_dir() / "retina.jpg", DATASETS["natural_patches"].source.photos["retina.jpg"], 3)
    small = reduce(retina, 512)
    assert retina.shape[:2] == (1411, 1411) and small.shape[:2] == (471, 471)  # factor 3 (Pillow keeps the last partial box)
    np.testing.assert_allclose(
        small[:470, :470].astype(float), retina[:1410, :1410].reshape(470, 3, 470, 3, 3).mean(axis=(1, 3)), atol=1.0
    )  # to the integer


def test_changing_the_recipe_changes_the_identity_so_an_old_cache_is_not_reused():
    recipe = DATASETS["natural_patches"].source
    assert dataclasses.replace(recipe, stride=7).identity() != recipe.identity()
    assert dataclasses.replace(recipe, test_photos=("moon.png",)).identity() != recipe.identity()
