"""The user's own images: one .npz file, or a folder of PNG/JPEG files.

Nothing here trusts the files. Every problem (a missing key, values outside [0, 1], NaN, an
image that does not decode, train and test images of different shapes, an empty folder) is a
`DataError` that names the file and says what is allowed, raised before a run folder exists.

- `npz`: arrays `x_train`, `x_test` (uint8 0-255, or float in [0, 1]) of shape (N, H, W) or
  (N, H, W, C), and optionally `y_train`, `y_test` (integer or string labels, one per image).
- `image_folder`: `train/` and `test/` folders read with Keras's own
  `keras.utils.image_dataset_from_directory` and its conventions: class sub-folders give labels
  (classes in alphanumeric order), files in sorted order, `color_mode` grayscale or rgb,
  `image_size` to resize. Unlike Keras, `image_size: null` keeps the images' own size, which
  must then be one size for all. The decoded images are cached, keyed by a manifest of the
  folder (every file's path and SHA-256), so a changed file is never served from the cache.

A dataset's identity is the SHA-256 of the npz file, or of the folder's manifest plus the
color mode and size it is read at: the run folder records it and `evaluate.py` compares it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from autoencoders.config import DatasetConfig
from autoencoders.data import budget, mapped
from autoencoders.data.datasets import DatasetSpec
from autoencoders.data.loading import DataError, Dataset, Unavailable, cache_dir, load_cache, sha256, write_cache
from autoencoders.models.architectures import input_shape_problem

log = logging.getLogger(__name__)

NPZ_IMAGES = ("x_train", "x_test")
NPZ_LABELS = ("y_train", "y_test")
#: The file types Keras's image_dataset_from_directory reads; anything else in the folder is ignored.
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_DECODE_BATCH = 512
PROGRESS_EVERY_S = 0.5  # the least time between two redraws of the progress bar


def _user_path(config: DatasetConfig, kind: str) -> Path:
    path = Path(config.path).expanduser()
    other = "npz" if kind == "folder" else "image_folder"
    if not path.exists():
        raise DataError(f"{path}: no such {kind} (dataset.path of dataset {config.name!r})")
    if kind == "file" and path.is_dir():
        raise DataError(f"{path}: is a folder; dataset npz needs one .npz file (for a folder of images set dataset.name: {other})")
    if kind == "file" and not path.is_file():  # a device (/dev/zero), a pipe: reading it might never end
        raise DataError(f"{path}: not a regular file; dataset npz needs an .npz file")
    if kind == "folder" and not path.is_dir():
        raise DataError(
            f"{path}: is a file; dataset image_folder needs a folder with train/ and test/ (for an .npz set dataset.name: {other})"
        )
    return path


# --------------------------------------------------------------------------- npz


def check_layout(dtype: np.dtype, shape: tuple[int, ...], where: str) -> None:
    """What the header alone says: uint8 or float, (N, H, W) or (N, H, W, C), some images, a shape
    every arch takes."""
    if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
        hint = "; convert with x.astype(np.uint8) if it holds 0-255" if np.issubdtype(dtype, np.integer) else ""
        raise DataError(f"{where} has dtype {dtype}; allowed: uint8 (0-255) or float in [0, 1]{hint}")
    if len(shape) not in (3, 4):
        raise DataError(f"{where} has shape {shape}; allowed: (N, H, W) or (N, H, W, C)")
    shape = shape + (1,) if len(shape) == 3 else shape
    if shape[0] == 0:
        raise DataError(f"{where} holds no images (shape {shape})")
    if problem := input_shape_problem(shape[1:]):
        raise DataError(f"{where} has shape {shape}: {problem}")


def check_values(low: float, high: float, non_finite: int, where: str, first_bad: tuple[int, ...] | None = None) -> None:
    """Float images: every pixel a number in [0, 1]."""
    if non_finite:
        at = f" (the first at index {first_bad})" if first_bad is not None else ""
        raise DataError(f"{where} has {non_finite} NaN or infinite values{at}; every pixel must be a number in [0, 1]")
    if low < 0 or high > 1:
        hint = " (it looks like 0-255: divide by 255, or store it as uint8)" if low >= 0 and high <= 255 else ""
        raise DataError(f"{where} has values from {low:g} to {high:g}; float images must lie in [0, 1]{hint}")


def check_images(images: np.ndarray, where: str) -> np.ndarray:
    """(N, H, W) or (N, H, W, C) uint8, or float in [0, 1] with no NaN/inf; returns it 4-D."""
    check_layout(images.dtype, images.shape, where)
    images = images[..., np.newaxis] if images.ndim == 3 else images
    if images.dtype != np.uint8:
        finite = np.isfinite(images)
        if not finite.all():
            first = tuple(int(i) for i in np.argwhere(~finite)[0])
            check_values(0.0, 1.0, int((~finite).sum()), where, first)
        check_values(float(images.min()), float(images.max()), 0, where)
    return images


def _labels(arrays: dict[str, np.ndarray], counts: dict[str, int], path: Path) -> tuple[dict, tuple[str, ...] | None]:
    """Label arrays -> class indices into the sorted distinct labels, which become the class names."""
    given = [key for key in NPZ_LABELS if key in arrays]
    if not given:
        return {"y_train": None, "y_test": None}, None
    if len(given) == 1:
        missing = next(key for key in NPZ_LABELS if key not in given)
        raise DataError(f"{path}: has {given[0]} but no {missing}; give labels for both sets or for neither")
    for key, images in zip(NPZ_LABELS, NPZ_IMAGES):
        labels = arrays[key]
        if labels.ndim != 1 or len(labels) != counts[images]:
            raise DataError(f"{path}: {key} has shape {labels.shape}; expected ({counts[images]},), one label per image of {images}")
        if labels.dtype.kind not in "iuUS":
            raise DataError(f"{path}: {key} has dtype {labels.dtype}; allowed: integer or string labels")
    if (arrays["y_train"].dtype.kind in "US") != (arrays["y_test"].dtype.kind in "US"):
        raise DataError(f"{path}: y_train is {arrays['y_train'].dtype} but y_test is {arrays['y_test'].dtype}; use one kind of label")
    names, indices = np.unique(np.concatenate([arrays["y_train"], arrays["y_test"]]), return_inverse=True)
    n_train = counts["x_train"]
    return {"y_train": indices[:n_train].astype(np.int64), "y_test": indices[n_train:].astype(np.int64)}, tuple(str(n) for n in names)


def load_npz(spec: DatasetSpec, config: DatasetConfig) -> Dataset:
    """The user's .npz, checked array by array."""
    path = _user_path(config, "file")
    try:
        declared = budget.npz_members(path)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error):
        declared = {}  # not an npz whose headers read: np.load below says what it is
    if all(key in declared and len(declared[key][0]) in (3, 4) for key in NPZ_IMAGES):
        shapes = [declared[key][0] for key in NPZ_IMAGES]
        if not budget.fits_in_memory(str(path), shapes[0][0] + shapes[1][0], shapes[0][1:] + (1,) * (len(shapes[0]) == 3)):
            return load_npz_mapped(spec, path, declared)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from exc
    arrays: dict[str, np.ndarray] = {}
    try:
        loaded = np.load(io.BytesIO(raw), allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: is a single .npy array, not an .npz archive; save with np.savez(path, x_train=..., x_test=...)")
        with loaded as npz:
            unknown = [key for key in npz.files if key not in NPZ_IMAGES + NPZ_LABELS]
            if unknown:
                raise DataError(f"{path}: unexpected array {unknown[0]!r}; allowed: {', '.join(NPZ_IMAGES + NPZ_LABELS)}")
            missing = [key for key in NPZ_IMAGES if key not in npz.files]
            if missing:
                raise DataError(
                    f"{path}: missing array {missing[0]!r} (it has {', '.join(npz.files) or 'none'}); "
                    f"required: x_train, x_test; optional: y_train, y_test"
                )
            for key in npz.files:
                try:
                    arrays[key] = npz[key]
                except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                    raise DataError(f"{path}: array {key!r} cannot be read ({exc}); the file is corrupt or holds Python objects") from exc
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from exc
    images = {key: check_images(arrays[key], f"{path}: {key}") for key in NPZ_IMAGES}
    if images["x_train"].shape[1:] != images["x_test"].shape[1:]:
        raise DataError(
            f"{path}: x_train images are {images['x_train'].shape[1:]} but x_test images are "
            f"{images['x_test'].shape[1:]}; train and test images must have one shape"
        )
    labels, class_names = _labels(arrays, {key: len(images[key]) for key in NPZ_IMAGES}, path)
    return Dataset(
        name=spec.name,
        x_train=mapped.held(images["x_train"], path),
        y_train=labels["y_train"],
        x_test=mapped.held(images["x_test"], path),
        y_test=labels["y_test"],
        source=f"npz {path}",
        identity=sha256(raw),
        class_names=class_names,
    )


def load_npz_mapped(spec: DatasetSpec, path: Path, declared: dict[str, tuple[tuple[int, ...], np.dtype]]) -> Dataset:
    """The user's .npz read from a memory-mapped copy of its images (`autoencoders.data.mapped`),
    made once per file (keyed by its SHA-256) by streaming each array out of the archive in
    bounded chunks; the checks are `load_npz`'s, on the headers and on each chunk."""
    if unknown := [key for key in declared if key not in NPZ_IMAGES + NPZ_LABELS]:
        raise DataError(f"{path}: unexpected array {unknown[0]!r}; allowed: {', '.join(NPZ_IMAGES + NPZ_LABELS)}")
    shapes = {}
    for key in NPZ_IMAGES:
        shape, dtype = declared[key]
        check_layout(dtype, shape, f"{path}: {key}")
        shapes[key] = shape + (1,) if len(shape) == 3 else shape
    if shapes["x_train"][1:] != shapes["x_test"][1:]:
        raise DataError(
            f"{path}: x_train images are {shapes['x_train'][1:]} but x_test images are "
            f"{shapes['x_test'][1:]}; train and test images must have one shape"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:  # the labels only: one small array each, checked before the images are copied
            label_arrays = {key: npz[key] for key in NPZ_LABELS if key in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: the labels cannot be read ({exc}); the file is corrupt or holds Python objects") from exc
    labels, class_names = _labels(label_arrays, {key: shapes[key][0] for key in NPZ_IMAGES}, path)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from exc
    identity = digest.hexdigest()
    folder = mapped.cache_folder(cache_dir(), identity)
    images = mapped.open_cache(folder)
    if images is None:
        stored = {key: np.dtype(np.uint8 if declared[key][1] == np.uint8 else np.float32) for key in NPZ_IMAGES}
        need = sum(math.prod(shapes[key]) * stored[key].itemsize for key in NPZ_IMAGES)

        def write(staging: Path) -> None:
            for key in NPZ_IMAGES:
                _copy_member(path, key, shapes[key], declared[key][1], staging / f"{key}.npy", stored[key])

        log.info("%s: writing its images to the memory-mapped cache %s (once per file)", path, folder)
        mapped.build_cache(folder, write, need)
        images = mapped.open_cache(folder)
    return Dataset(
        name=spec.name,
        x_train=images["x_train"],
        y_train=labels["y_train"],
        x_test=images["x_test"],
        y_test=labels["y_test"],
        source=f"npz {path} (memory-mapped from {folder})",
        identity=identity,
        class_names=class_names,
    )


def _copy_member(path: Path, key: str, shape: tuple[int, ...], dtype: np.dtype, target: Path, stored: np.dtype) -> None:
    """Stream array `key` of the archive into the `.npy` at `target` as `stored` (uint8 as it is,
    float as float32), checking float values chunk by chunk."""
    where = f"{path}: {key}"
    row_bytes = math.prod(shape[1:]) * dtype.itemsize
    low, high, bad = math.inf, -math.inf, 0

    def fill(out: np.ndarray) -> None:
        nonlocal low, high, bad
        try:
            archive = zipfile.ZipFile(path)
            names = archive.namelist()
            member = archive.open(f"{key}.npy" if f"{key}.npy" in names else key)  # np.savez adds .npy; np.load reads either
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise DataError(f"{where} cannot be read ({exc}); the file is corrupt") from exc
        with archive, member:
            _, fortran, _ = budget.npy_header(member)
            if fortran:
                raise DataError(f"{where} is stored in Fortran order; save a C-ordered array (np.ascontiguousarray) to map it")
            for rows in mapped.row_chunks(shape[0]):
                count = rows.stop - rows.start
                try:
                    data = member.read(count * row_bytes)
                except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                    raise DataError(f"{where} cannot be read ({exc}); the file is corrupt") from exc
                if len(data) != count * row_bytes:
                    raise DataError(
                        f"{where} ends after {rows.start + len(data) // row_bytes:,} of its {shape[0]:,} images; the file is truncated"
                    )
                chunk = np.frombuffer(data, dtype).reshape(count, *shape[1:])
                if stored != np.uint8:
                    chunk_low, chunk_high, chunk_bad = mapped.value_range(chunk)
                    low, high, bad = min(low, chunk_low), max(high, chunk_high), bad + chunk_bad
                out[rows] = chunk
        if stored != np.uint8:
            check_values(low, high, bad, where)

    mapped.write_npy(target, shape, stored, fill)  # an error writing the cache is the disk's (exit 74), not the file's


# --------------------------------------------------------------------------- image folder


def _class_folders(split: Path) -> list[str]:
    """Keras's rule: the non-hidden sub-folders are the classes (sorted)."""
    return sorted(p.name for p in split.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(split: Path, classes: list[str]) -> list[Path]:
    """The files Keras will read, in its order, for the checks and the manifest: per class folder,
    its sub-folders walked in sorted order, the files of each sorted (Keras's iter_valid_files)."""
    folders = [split / c for c in classes] if classes else [split]
    files = []
    for folder in folders:
        for root, _, names in sorted(os.walk(folder), key=lambda walked: walked[0]):
            files += [Path(root) / name for name in sorted(names) if name.lower().endswith(IMAGE_SUFFIXES)]
    return files


def _native_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file's header; an unreadable file is named."""
    from PIL import Image, UnidentifiedImageError

    pillows_cap, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # ours is checked below, with the file named
    try:
        with Image.open(path) as image:  # reads the header only
            budget.image_pixels(path, image.width, image.height)
            return image.height, image.width
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read this image ({exc}); allowed: {', '.join(IMAGE_SUFFIXES)} files that decode") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = pillows_cap


def progress(total: int, what: str):
    """A progress bar on a terminal (the count of files and the time left), for the first read of a
    big folder: hashing and decoding 100,000 files takes minutes. Nothing when stderr is no terminal
    (a log, a test), since each redraw would be a line."""
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit=" files", disable=None, file=sys.stderr, mininterval=PROGRESS_EVERY_S, leave=False)


def _manifest_identity(root: Path, files: list[Path], config: DatasetConfig) -> str:
    digest = hashlib.sha256(f"image_folder color_mode={config.color_mode} image_size={config.image_size}\n".encode())
    with progress(len(files), f"reading {root}") as bar:
        for path in files:
            digest.update(file_line(root, path))
            bar.update()
    return digest.hexdigest()


def file_line(root: Path, path: Path) -> bytes:
    """The manifest's line for one file: its path in the folder and its SHA-256."""
    try:
        return f"{path.relative_to(root).as_posix()}\t{sha256(path.read_bytes())}\n".encode()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from exc


def _decode(
    split: Path, classes: list[str], files: list[Path], config: DatasetConfig, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Images (float32 0-255 as Keras gives them) and labels, read by Keras; a file that does not
    decode is found and named."""
    images, labels = [], []
    for x, y in _decoded_batches(split, classes, files, config, size):
        images.append(x)
        if y is not None:
            labels.append(y)
    return np.concatenate(images), (np.concatenate(labels).astype(np.int64) if classes else None)


def _decoded_batches(split: Path, classes: list[str], files: list[Path], config: DatasetConfig, size: tuple[int, int]):
    """(images, labels or None) a batch at a time, in the files' order, with a progress bar."""
    import keras

    dataset = keras.utils.image_dataset_from_directory(
        split,
        labels="inferred" if classes else None,
        color_mode=config.color_mode,
        image_size=size,
        batch_size=None,
        shuffle=False,
        verbose=False,
    )
    if [Path(p) for p in dataset.file_paths] != files:  # our checks and manifest must cover exactly what Keras reads
        raise DataError(f"{split}: Keras lists other files than expected; put images only in class folders or only at the top")
    position = 0
    with progress(len(files), f"decoding {split}") as bar:
        for batch in _batches(dataset):
            if isinstance(batch, Exception):
                _name_undecodable(files[position : position + _DECODE_BATCH], config, batch)
            x, y = batch if classes else (batch, None)
            yield x, y
            position += len(x)
            bar.update(len(x))


def in_training_classes(labels: np.ndarray, classes: list[str], train_classes: list[str]) -> np.ndarray:
    """Labels that index `classes` (one split's folders) as indices into the training classes:
    test labels must name the training set's classes, which the test split may have fewer of."""
    return np.array([train_classes.index(classes[i]) for i in labels], np.int64)


def _decode_mapped(
    folder: Path, splits: dict, train_classes: list[str], config: DatasetConfig, size: tuple[int, int], channels: int
) -> None:
    """Decode the folder's images batch by batch straight into a memory-mapped cache (never all of
    them in memory): uint8 as the files hold them when they are read at their own size, float32
    scaled as `load_image_folder` scales resized ones (x / 255), so either way a batch holds the
    numbers an in-memory load gives."""
    resized = config.image_size is not None
    stored = np.dtype(np.float32 if resized else np.uint8)
    need = sum(len(files) for _, _, files in splits.values()) * size[0] * size[1] * channels * stored.itemsize

    def write(staging: Path) -> None:
        labels = {}
        for part, (split, classes, files) in splits.items():
            got = []

            def fill(out: np.ndarray) -> None:
                position = 0
                for x, y in _decoded_batches(split, classes, files, config, size):
                    if not resized and not np.array_equal(x, np.round(x)):
                        raise DataError(f"{split}: Keras decoded fractional pixel values at the images' own size; set dataset.image_size")
                    out[position : position + len(x)] = x / np.float32(255) if resized else x.astype(np.uint8)
                    position += len(x)
                    if y is not None:
                        got.append(y)

            mapped.write_npy(staging / f"x_{part}.npy", (len(files), *size, channels), stored, fill)
            if got:
                found = np.concatenate(got).astype(np.int64)
                labels[f"y_{part}"] = in_training_classes(found, classes, train_classes)
        np.savez(staging / "labels.npz", **labels)

    log.info("decoding the images into the memory-mapped cache %s (once per folder)", folder)
    mapped.build_cache(folder, write, need)


def _batches(dataset):
    """Batches of the Keras dataset; a decoding error is yielded (not raised) so the caller can
    name the file, since TensorFlow's message does not."""
    import tensorflow as tf

    iterator = iter(dataset.batch(_DECODE_BATCH).as_numpy_iterator())
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except (tf.errors.OpError, ValueError) as exc:
            yield exc
            return


def _name_undecodable(files: list[Path], config: DatasetConfig, error: Exception) -> None:
    import tensorflow as tf

    channels = 1 if config.color_mode == "grayscale" else 3
    for path in files:
        try:
            tf.io.decode_image(tf.io.read_file(str(path)), channels=channels, expand_animations=False)
        except (tf.errors.OpError, ValueError) as exc:
            raise DataError(f"{path}: the image does not decode ({exc.__class__.__name__}: {str(exc).strip()[:200]})") from exc
    raise DataError(f"{files[0].parent}: an image among {files[0].name}..{files[-1].name} does not decode ({error})")


def load_image_folder(spec: DatasetSpec, config: DatasetConfig) -> Dataset:
    """train/ and test/ of PNG/JPEG files, read with Keras's conventions."""
    root = _user_path(config, "folder")
    splits = {}
    for part in ("train", "test"):
        split = root / part
        if not split.is_dir():
            raise DataError(
                f"{split}: missing; dataset image_folder needs {root}/train/ and {root}/test/ with the images "
                "(in class sub-folders for labels)"
            )
        classes = _class_folders(split)
        if classes and (loose := [p for p in split.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]):
            raise DataError(
                f"{loose[0]}: an image beside the class folders of {split}; put every image in a class folder, "
                "or use no class folders at all"
            )
        files = _image_files(split, classes)
        if not files:
            raise DataError(
                f"{split}: no images (allowed: {', '.join(IMAGE_SUFFIXES)} files"
                + (f" in the class folders {', '.join(classes)})" if classes else ")")
            )
        splits[part] = (split, classes, files)
    train_classes, test_classes = splits["train"][1], splits["test"][1]
    if bool(train_classes) != bool(test_classes):
        with_classes = "train" if train_classes else "test"
        raise DataError(f"{root}: {with_classes}/ has class folders but the other set does not; use them in both or in neither")
    if unknown := sorted(set(test_classes) - set(train_classes)):
        raise DataError(
            f"{root / 'test' / unknown[0]}: class {unknown[0]!r} has no folder in {root / 'train'}; "
            f"the training classes are {', '.join(train_classes)}"
        )

    size = config.image_size
    if size is None:  # the images' own size, which must then be one size for all
        first = splits["train"][2][0]
        size = _native_size(first)
        for _, _, files in splits.values():
            for path in files:
                if (got := _native_size(path)) != size:
                    raise DataError(
                        f"{path}: is {got[0]}x{got[1]} but {first} is {size[0]}x{size[1]}; images must share one size, "
                        "or set dataset.image_size: [height, width] to resize them all"
                    )
    else:
        for _, _, files in splits.values():
            for path in files:
                _native_size(path)
    channels = 1 if config.color_mode == "grayscale" else 3
    if problem := input_shape_problem((*size, channels)):
        raise DataError(f"{root}: {problem} (set dataset.image_size to resize)")
    in_memory = budget.fits_in_memory(f"image folder {root}", sum(len(files) for _, _, files in splits.values()), (*size, channels))

    identity = _manifest_identity(root, splits["train"][2] + splits["test"][2], config)
    if not in_memory:
        folder = mapped.cache_folder(cache_dir(), identity)
        if (images := mapped.open_cache(folder)) is None:
            _decode_mapped(folder, splits, train_classes, config, size, channels)
            images = mapped.open_cache(folder)
        try:
            with np.load(folder / "labels.npz", allow_pickle=False) as stored_labels:
                labels = {key: stored_labels[key] for key in stored_labels.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise DataError(f"{folder / 'labels.npz'}: the cache's labels cannot be read ({exc}); delete {folder} to rebuild it") from exc
        return Dataset(
            name=spec.name,
            x_train=images["x_train"],
            y_train=labels.get("y_train"),
            x_test=images["x_test"],
            y_test=labels.get("y_test"),
            source=f"image folder {root} (memory-mapped from {folder})",
            identity=identity,
            class_names=tuple(train_classes) or None,
        )
    cache = cache_dir() / f"image_folder-{identity[:24]}.npz"
    try:
        arrays, where = load_cache(cache, identity), f"image folder {root} (cache {cache})"
    except Unavailable:
        arrays = {}
        for part, (split, classes, files) in splits.items():
            images, labels = _decode(split, classes, files, config, size)
            exact = np.array_equal(images, np.round(images))  # not resized: keep the uint8 values exactly
            arrays[f"x_{part}"] = images.astype(np.uint8) if exact else images / np.float32(255)
            if labels is not None:
                arrays[f"y_{part}"] = in_training_classes(labels, classes, train_classes)
        write_cache(cache, arrays, identity)
        where = f"image folder {root}"
    return Dataset(
        name=spec.name,
        x_train=mapped.held(arrays["x_train"], cache),
        y_train=arrays.get("y_train"),
        x_test=mapped.held(arrays["x_test"], cache),
        y_test=arrays.get("y_test"),
        source=where,
        identity=identity,
        class_names=tuple(train_classes) or None,
    )
