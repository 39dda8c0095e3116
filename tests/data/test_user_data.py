"""The user's own images: real MNIST written to an npz and to PNG folders loads back to the
built-in arrays; a corpus of bad data is refused by train.py with exit 2, the file named,
nothing written and TensorFlow never imported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autoencoders.config import DatasetConfig
from autoencoders.data.loading import DataError, load_dataset

from conftest import ROOT

N_TRAIN, N_TEST = 300, 100


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def mnist_uint8(mnist):
    """The first images of real MNIST as the uint8 arrays a user would have."""

    def as_uint8(x):
        return np.rint(x[..., 0] * 255).astype(np.uint8)

    return {
        "x_train": as_uint8(mnist.x_train[:N_TRAIN]),
        "y_train": mnist.y_train[:N_TRAIN],
        "x_test": as_uint8(mnist.x_test[:N_TEST]),
        "y_test": mnist.y_test[:N_TEST],
    }


@pytest.fixture(autouse=True)
def private_cache(mnist_uint8, tmp_path, monkeypatch):
    """Image folders are cached after the first read: each test gets its own cache folder (MNIST,
    which the fixtures read first, comes from the shared one)."""
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "private-cache"))


def write_png_folder(root: Path, arrays: dict, *, classes: bool) -> Path:
    from PIL import Image

    for part in ("train", "test"):
        for i, (image, label) in enumerate(zip(arrays[f"x_{part}"], arrays[f"y_{part}"])):
            folder = root / part / str(label) if classes else root / part
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i:05d}.png")
    return root


@pytest.fixture(scope="module")
def png_folder(mnist_uint8, tmp_path_factory):
    return write_png_folder(tmp_path_factory.mktemp("pngs") / "digits", mnist_uint8, classes=True)


def load(name: str, path: Path, **options):
    return load_dataset(DatasetConfig(name=name, path=str(path), **options))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("layout", ["uint8 (N, H, W)", "uint8 (N, H, W, 1)", "float32 in [0, 1]"])
def test_npz_round_trip_gives_the_built_in_arrays(tmp_path, mnist, mnist_uint8, layout):
    arrays = dict(mnist_uint8)
    if "1)" in layout:
        arrays = {k: v[..., None] if k.startswith("x") else v for k, v in arrays.items()}
    if "float" in layout:
        arrays = {k: (v / np.float32(255)).astype(np.float32) if k.startswith("x") else v for k, v in arrays.items()}
    np.savez(tmp_path / "mine.npz", **arrays)
    got = load("npz", tmp_path / "mine.npz")
    np.testing.assert_array_equal(got.x_train, mnist.x_train[:N_TRAIN])
    np.testing.assert_array_equal(got.x_test, mnist.x_test[:N_TEST])
    np.testing.assert_array_equal(got.y_train, mnist.y_train[:N_TRAIN])  # labels 0..9 are their own indices
    assert got.class_names == tuple("0123456789")
    assert got.image_shape == (28, 28, 1) and got.x_train.dtype == np.float32


def test_npz_without_labels_and_with_string_labels(tmp_path, mnist_uint8):
    np.savez(tmp_path / "plain.npz", x_train=mnist_uint8["x_train"], x_test=mnist_uint8["x_test"])
    plain = load("npz", tmp_path / "plain.npz")
    assert plain.y_train is None and plain.class_names is None
    words = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    np.savez(
        tmp_path / "named.npz",
        x_train=mnist_uint8["x_train"],
        x_test=mnist_uint8["x_test"],
        y_train=words[mnist_uint8["y_train"]],
        y_test=words[mnist_uint8["y_test"]],
    )
    named = load("npz", tmp_path / "named.npz")
    assert named.class_names == tuple(sorted(words))
    assert [named.class_names[i] for i in named.y_test[:3]] == list(words[mnist_uint8["y_test"][:3]])


def test_npz_identity_is_the_files_sha256(tmp_path, mnist_uint8):
    import hashlib

    np.savez(tmp_path / "a.npz", **mnist_uint8)
    first = load("npz", tmp_path / "a.npz")
    assert first.identity == hashlib.sha256((tmp_path / "a.npz").read_bytes()).hexdigest()
    shutil.copy(tmp_path / "a.npz", tmp_path / "b.npz")
    assert load("npz", tmp_path / "b.npz").identity == first.identity  # the same data under another name
    changed = dict(mnist_uint8, x_test=mnist_uint8["x_test"][::-1])
    np.savez(tmp_path / "a.npz", **changed)
    assert load("npz", tmp_path / "a.npz").identity != first.identity


def test_png_folder_with_class_folders_gives_the_built_in_images_and_labels(png_folder, mnist, mnist_uint8):
    got = load("image_folder", png_folder, color_mode="grayscale")
    assert got.class_names == tuple("0123456789") and got.image_shape == (28, 28, 1)
    # Keras reads class folder by class folder; within a class, in file (= original) order
    for part, n in (("train", N_TRAIN), ("test", N_TEST)):
        images, labels = getattr(got, f"x_{part}"), getattr(got, f"y_{part}")
        original, original_labels = getattr(mnist, f"x_{part}")[:n], getattr(mnist, f"y_{part}")[:n]
        assert sorted(labels.tolist()) == sorted(original_labels.tolist())
        for digit in range(10):
            np.testing.assert_array_equal(images[labels == digit], original[original_labels == digit])


def test_png_folder_without_class_folders_is_in_file_order_and_unlabelled(tmp_path, mnist, mnist_uint8):
    root = write_png_folder(tmp_path / "flat", mnist_uint8, classes=False)
    got = load("image_folder", root, color_mode="grayscale")
    assert got.y_train is None and got.class_names is None
    np.testing.assert_array_equal(got.x_train, mnist.x_train[:N_TRAIN])
    np.testing.assert_array_equal(got.x_test, mnist.x_test[:N_TEST])


def test_png_folder_is_cached_by_a_manifest_of_its_files(tmp_path, mnist_uint8, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "cache"))
    root = write_png_folder(tmp_path / "digits", mnist_uint8, classes=True)
    first = load("image_folder", root, color_mode="grayscale")
    again = load("image_folder", root, color_mode="grayscale")
    assert "(cache " not in first.source and "(cache " in again.source
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    # change one pixel of one file: a new identity, so a fresh read, never the stale cache
    one = next((root / "test" / "7").glob("*.png"))
    pixels = np.asarray(Image.open(one)).copy()
    pixels[0, 0] = 255 - pixels[0, 0]
    Image.fromarray(pixels).save(one)
    changed = load("image_folder", root, color_mode="grayscale")
    assert changed.identity != first.identity and "(cache " not in changed.source
    assert not np.array_equal(changed.x_test, first.x_test)
    # the same folder read as RGB, or resized, is other data too
    assert load("image_folder", root).identity not in (first.identity, changed.identity)


def test_rgb_jpeg_folder_resized_to_image_size(tmp_path):
    from PIL import Image

    from autoencoders.data.natural_patches import photo_dir

    photos = photo_dir()
    for part, names in (("train", ["astronaut.png", "coffee.png", "rocket.jpg"]), ("test", ["chelsea.png"])):
        (tmp_path / "photos" / part).mkdir(parents=True)
        for name in names:
            Image.open(photos / name).convert("RGB").save(tmp_path / "photos" / part / f"{Path(name).stem}.jpg", quality=90)
    got = load("image_folder", tmp_path / "photos", image_size=(24, 40))
    assert got.x_train.shape == (3, 24, 40, 3) and got.x_test.shape == (1, 24, 40, 3)
    assert 0.0 <= got.x_train.min() and got.x_train.max() <= 1.0 and got.x_train.std() > 0.05
    with pytest.raises(DataError, match="images must share one size, or set dataset.image_size"):
        load("image_folder", tmp_path / "photos")  # photos of different sizes and no image_size


# --------------------------------------------------------------------------- bad data, through the CLI


def _npz(**arrays):
    def write(path: Path) -> Path:
        np.savez(path / "bad.npz", **arrays)
        return path / "bad.npz"

    return write


def _raw(data: bytes, name: str = "bad.npz"):
    def write(path: Path) -> Path:
        (path / name).write_bytes(data)
        return path / name

    return write


def _good_npz_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.zeros((4, 20, 20), np.uint8), x_test=np.zeros((2, 20, 20), np.uint8))
    return buffer.getvalue()


def _npy(shape, data: bytes = b"") -> bytes:
    """A .npy file's bytes: a header declaring `shape` of uint8, then `data` (however short)."""
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data


def _zip(members: dict[str, bytes], directory_size: dict[str, int] | None = None):
    """An npz written member by member, deflated; `directory_size` makes the zip's central directory
    claim another uncompressed size for a member (what a crafted archive can do)."""
    import zipfile

    def write(path: Path) -> Path:
        target = path / "bad.npz"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        data = bytearray(target.read_bytes())
        for name, size in (directory_size or {}).items():
            entry = data.index(b"PK\x01\x02")  # the central directory's entries, in order
            while data[entry + 46 : entry + 46 + len(name)] != name.encode():
                entry = data.index(b"PK\x01\x02", entry + 4)
            data[entry + 24 : entry + 28] = size.to_bytes(4, "little")  # the central directory's uncompressed size
        target.write_bytes(bytes(data))
        return target

    return write


X = np.full((4, 20, 20), 0.5, np.float32)
BAD_NPZ = {
    "declares more than it holds": (
        _zip({"x_train.npy": _npy((40000, 256, 256), bytes(1000)), "x_test.npy": _npy((2, 20, 20), bytes(800))}),
        "array 'x_train' declares shape (40000, 256, 256) of uint8 (2.62 GB) but the archive holds only 1,128 bytes of it",
    ),
    "directory claims a zip bomb": (
        _zip({"x_train.npy": _npy((4, 20, 20), bytes(1600)), "x_test.npy": _npy((2, 20, 20), bytes(800))}, {"x_train.npy": 4_000_000_000}),
        "array 'x_train' declares 4.00 GB from",
    ),
    "missing file": (lambda p: p / "nope.npz", "no such file (dataset.path of dataset 'npz')"),
    "a folder": (lambda p: p, "is a folder; dataset npz needs one .npz file"),
    "not a zip": (_raw(b"this is not an npz file at all"), "not a readable .npz file"),
    "truncated": (_raw(_good_npz_bytes()[:300]), "not a readable .npz file"),
    "a .npy array": (lambda p: (np.save(open(p / "bad.npz", "wb"), X), p / "bad.npz")[1], "is a single .npy array, not an .npz archive"),
    "missing x_test": (_npz(x_train=X), "missing array 'x_test' (it has x_train)"),
    "unknown key": (_npz(x_train=X, x_test=X, X_valid=X), "unexpected array 'X_valid'; allowed: x_train, x_test, y_train, y_test"),
    "y_train only": (_npz(x_train=X, x_test=X, y_train=np.zeros(4, int)), "has y_train but no y_test"),
    "labels of wrong length": (
        _npz(x_train=X, x_test=X, y_train=np.zeros(3, int), y_test=np.zeros(4, int)),
        "y_train has shape (3,); expected (4,)",
    ),
    "int64 pixels": (_npz(x_train=X.astype(np.int64), x_test=X), "x_train has dtype int64; allowed: uint8 (0-255) or float in [0, 1]"),
    "values above 1": (_npz(x_train=X * 255, x_test=X), "values from 127.5 to 127.5; float images must lie in [0, 1] (it looks like 0-255"),
    "negative values": (_npz(x_train=X - 1, x_test=X), "values from -0.5 to -0.5; float images must lie in [0, 1]"),
    "NaN": (
        _npz(x_train=np.where(np.arange(1600).reshape(4, 20, 20) == 7, np.nan, X), x_test=X),
        "1 NaN or infinite values (the first at index (0, 0, 7, 0))",
    ),
    "inf": (_npz(x_train=X, x_test=np.where(np.arange(800).reshape(2, 20, 20) == 0, np.inf, X[:2])), "x_test has 1 NaN or infinite values"),
    "train and test shapes differ": (
        _npz(x_train=X, x_test=np.zeros((2, 24, 20), np.float32)),
        "x_train images are (20, 20, 1) but x_test images are (24, 20, 1)",
    ),
    "2 channels": (_npz(x_train=np.zeros((4, 20, 20, 2), np.float32), x_test=X), "2 channels; allowed: 1 (grey) or 3 (RGB)"),
    "too small": (
        _npz(x_train=np.zeros((4, 8, 8), np.uint8), x_test=np.zeros((2, 8, 8), np.uint8)),
        "images of 8x8; height and width must be at least 16",
    ),
    "no images": (_npz(x_train=np.zeros((0, 20, 20), np.uint8), x_test=X), "x_train holds no images"),
    "Python objects": (
        lambda p: (np.savez(p / "bad.npz", x_train=np.array([X, "a"], dtype=object), x_test=X), p / "bad.npz")[1],
        "array 'x_train' cannot be read",
    ),
}


def _png(path: Path, size=(20, 20), value=128):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8)).save(path)
    return path


def _folder(*files):
    """A folder from (relative path, size) pairs; a size of None writes garbage bytes instead."""

    def write(root: Path) -> Path:
        folder = root / "imgs"
        folder.mkdir()
        for relative, size in files:
            if size is None:
                (folder / relative).parent.mkdir(parents=True, exist_ok=True)
                (folder / relative).write_bytes(b"\x89PNG garbage")
            else:
                _png(folder / relative, size)
        return folder

    return write


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares width x height grey pixels, with one row of data: what a
    decompression bomb looks like to a reader of headers."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(width + 1))) + chunk(b"IEND", b""))
    return path


def _bomb_folder(root: Path) -> Path:
    folder = _folder(("train/a.png", (20, 20)), ("test/c.png", (20, 20)))(root)
    _png_header(folder / "train" / "bomb.png", 30000, 30000)
    return folder


BAD_FOLDERS = {
    "decompression bomb": (_bomb_folder, "bomb.png: its header declares 30000 x 30000 = 900,000,000 pixels; allowed: at most 100,000,000"),
    "missing folder": (lambda p: p / "nope", "no such folder (dataset.path of dataset 'image_folder')"),
    "a file": (lambda p: _png(p / "one.png"), "is a file; dataset image_folder needs a folder with train/ and test/"),
    "no test/": (_folder(("train/a.png", (20, 20))), "test: missing; dataset image_folder needs"),
    "empty train/": (lambda p: (_folder(("test/a.png", (20, 20)))(p), (p / "imgs" / "train").mkdir(), p / "imgs")[2], "train: no images"),
    "unreadable image": (
        _folder(("train/a.png", (20, 20)), ("train/b.png", None), ("test/c.png", (20, 20))),
        "b.png: cannot read this image",
    ),
    "sizes differ": (_folder(("train/a.png", (20, 20)), ("train/b.png", (20, 24)), ("test/c.png", (20, 20))), "b.png: is 20x24 but"),
    "train/test sizes differ": (_folder(("train/a.png", (20, 20)), ("test/c.png", (24, 20))), "c.png: is 24x20 but"),
    "test class unknown": (_folder(("train/cat/a.png", (20, 20)), ("test/dog/b.png", (20, 20))), "class 'dog' has no folder in"),
    "image beside class folders": (
        _folder(("train/cat/a.png", (20, 20)), ("train/b.png", (20, 20)), ("test/cat/c.png", (20, 20))),
        "b.png: an image beside the class folders",
    ),
    "too small": (_folder(("train/a.png", (8, 8)), ("test/c.png", (8, 8))), "images of 8x8; height and width must be at least 16"),
}

PROBE = "import sys; from autoencoders.cli import train_main; rc = train_main({args!r}); print(rc, 'tensorflow' in sys.modules)"


def _train_probe(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize(
    ("name", "dataset", "case"),
    [*(("npz", "npz", c) for c in BAD_NPZ), *(("image_folder", "image_folder", c) for c in BAD_FOLDERS)],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_user_data_exits_2_naming_the_file_before_tensorflow_and_writes_nothing(tmp_path, name, dataset, case):
    make, expected = (BAD_NPZ if dataset == "npz" else BAD_FOLDERS)[case]
    (tmp_path / "data").mkdir()
    path = make(tmp_path / "data")
    out = tmp_path / "runs"
    args = [
        "--config",
        str(ROOT / "configs/blog/dense.yaml"),
        "--set",
        f"dataset.name={dataset}",
        "--set",
        f"dataset.path={path}",
        "--out",
        str(out),
    ]
    done = _train_probe(args)
    rc, tf_imported = done.stdout.split()[-2:]
    assert rc == "2", done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert str(path) in done.stderr or str(path.parent) in done.stderr  # the file (or its folder) is named
    assert tf_imported == "False"
    assert not out.exists()


@pytest.mark.parametrize("layout", ["npz", "npz of floats", "image_folder"])
def test_a_dataset_beyond_the_memory_budget_is_mapped_from_disk_with_the_same_numbers(tmp_path, mnist_uint8, monkeypatch, layout):
    """400 real MNIST images are 1,254,400 bytes as float32; with 2,000,000 bytes of memory (40%:
    800,000 for data) they are read from a memory-mapped cache (uint8 on disk, or float32 for an npz
    of floats), and every image, label and class name is what the in-memory load gives."""
    subset = {k: v[:300] if k.endswith("train") else v[:100] for k, v in mnist_uint8.items()}
    options = {"color_mode": "grayscale"} if layout == "image_folder" else {}
    if layout.startswith("npz"):
        if "floats" in layout:
            subset = {k: v / np.float32(255) if k.startswith("x") else v for k, v in subset.items()}
        path = tmp_path / "digits.npz"
        np.savez(path, **subset)
    else:
        path = write_png_folder(tmp_path / "digits", subset, classes=True)
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "cache"))
    name = layout.split()[0]
    loaded = load(name, path, **options)
    monkeypatch.setenv("AUTOENCODERS_MEMORY_BYTES", "2000000")
    mapped = load(name, path, **options)
    from autoencoders.data.mapped import on_disk

    # in memory: floats as a float32 array, bytes as bytes (scaled a batch at a time); beyond the budget: on disk
    assert type(loaded.x_train).__name__ == ("ndarray" if "floats" in layout else "MappedImages")
    assert not on_disk(loaded.x_train) and on_disk(mapped.x_train)
    assert "memory-mapped from" in mapped.source and mapped.identity == loaded.identity
    for key in ("x_train", "x_test"):
        assert getattr(mapped, key).raw.dtype == (np.float32 if "floats" in layout else np.uint8)  # bytes stay bytes on disk
        if "floats" not in layout:
            assert getattr(loaded, key).raw.dtype == np.uint8 and getattr(loaded, key).raw.shape[-1] == 1
        assert np.asarray(getattr(mapped, key)).tobytes() == np.asarray(getattr(loaded, key)).tobytes()
        rows = np.array([7, 0, 99, 3])
        assert getattr(mapped, key)[rows].tobytes() == getattr(loaded, key)[rows].tobytes()
    assert np.array_equal(mapped.y_train, loaded.y_train) and np.array_equal(mapped.y_test, loaded.y_test)
    assert mapped.class_names == loaded.class_names and mapped.class_names is not None


def test_an_image_that_only_tensorflow_cannot_decode_is_named_and_nothing_is_written(tmp_path, mnist_uint8):
    """A PNG cut short after its header: Pillow reads the size, decoding fails; train.py names it."""
    root = write_png_folder(
        tmp_path / "digits", {k: v[:20] if k.endswith("train") else v[:5] for k, v in mnist_uint8.items()}, classes=True
    )
    broken = sorted((root / "train").rglob("*.png"))[7]
    broken.write_bytes(broken.read_bytes()[:60])
    out = tmp_path / "runs"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "--config",
            str(ROOT / "configs/blog/dense.yaml"),
            "--set",
            "dataset.name=image_folder",
            "--set",
            f"dataset.path={root}",
            "--set",
            "dataset.color_mode=grayscale",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert f"{broken}: the image does not decode" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_a_user_npz_trains_through_train_py_and_the_run_records_its_data(tmp_path, mnist_uint8):
    np.savez(tmp_path / "digits.npz", **mnist_uint8)
    out = tmp_path / "runs"
    args = [
        sys.executable,
        str(ROOT / "train.py"),
        "--config",
        str(ROOT / "configs/blog/dense.yaml"),
        "--set",
        "dataset.name=npz",
        "--set",
        f"dataset.path={tmp_path / 'digits.npz'}",
        "--set",
        "training.epochs=1",
        "--out",
        str(out),
    ]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run = out / "blog-dense-npz-bce-s0"
    import hashlib

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["identity"] == hashlib.sha256((tmp_path / "digits.npz").read_bytes()).hexdigest()
    assert (metrics["data"]["train_images"], metrics["data"]["test_images"], metrics["data"]["image_shape"]) == (
        N_TRAIN,
        N_TEST,
        [28, 28, 1],
    )
    import yaml

    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model"]["input_shape"] == [28, 28, 1]  # filled in from the file
    # the data changes under an unfinished run: --resume refuses to mix the two
    (run / "metrics.json").unlink()
    np.savez(tmp_path / "digits.npz", **dict(mnist_uint8, x_test=mnist_uint8["x_test"][::-1]))
    again = subprocess.run([*args, "--resume"], capture_output=True, text=True)
    assert again.returncode == 2 and "the data changed since this run started" in again.stderr


def test_nested_folders_are_read_in_keras_order(tmp_path, mnist_uint8):
    """Files in a class folder and in its sub-folder: the manifest lists exactly what Keras reads."""
    from PIL import Image

    root = tmp_path / "nested"
    for part in ("train", "test"):
        for i, name in enumerate(["z.png", "sub/a.png", "sub/deeper/m.png", "b.png"]):
            path = root / part / "digits" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(mnist_uint8["x_train"][i]).save(path)
    got = load("image_folder", root, color_mode="grayscale")
    # Keras: folder "digits" (b.png, z.png), then "digits/sub" (a.png), then "digits/sub/deeper" (m.png)
    expected = mnist_uint8["x_train"][[3, 0, 1, 2]] / np.float32(255)
    np.testing.assert_array_equal(got.x_train[..., 0], expected)


def test_the_first_read_of_a_folder_shows_its_progress_on_a_terminal(png_folder, monkeypatch):
    """Hashing and decoding count the files on a terminal's stderr (tqdm: the count and the time
    left); on anything else (a log, a pipe) nothing is drawn."""
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr("autoencoders.data.user_files.PROGRESS_EVERY_S", 0)  # every step drawn, however fast
    load("image_folder", png_folder, color_mode="grayscale")
    drawn = terminal.getvalue()
    assert f"reading {png_folder}" in drawn and f"{N_TRAIN + N_TEST}/{N_TRAIN + N_TEST}" in drawn
    assert f"decoding {png_folder / 'train'}" in drawn and f"{N_TRAIN}/{N_TRAIN}" in drawn
    assert f"decoding {png_folder / 'test'}" in drawn and f"{N_TEST}/{N_TEST}" in drawn
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    monkeypatch.setenv("AUTOENCODERS_DATA", str(png_folder.parent / "another-cache"))
    load("image_folder", png_folder, color_mode="grayscale")
    assert piped.getvalue() == ""
