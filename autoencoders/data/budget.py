"""What a user's dataset will cost, read from its headers before anything is decoded.

A dataset is handed over by someone else, so its files are read as an attacker might have made
them: an npz member's `.npy` header can declare any shape, deflate lets a few megabytes expand to
gigabytes (up to 1032:1), and a PNG's header can declare 30,000 x 30,000 pixels whose deflated
zeros fit in under a megabyte. Each is found here from
the headers alone (the zip directory, the `.npy` header, the image header), within bounded time and
memory, and refused with a `DataError` that names the file, the size it declares and what is allowed,
before a byte of pixel data is decoded:

- an image whose header declares more than `MAX_IMAGE_PIXELS` pixels;
- an npz member whose `.npy` header declares more bytes than the zip directory says the member holds,
  or more than deflate could expand its compressed bytes to (`MAX_DEFLATE_RATIO`).

A dataset whose images, as float32, would take more than `MEMORY_SHARE` of the memory available
(`/proc/meminfo`'s MemAvailable; the environment variable `AUTOENCODERS_MEMORY_BYTES` sets another
budget) is not refused for its size: it is read from a memory-mapped cache on disk
(`autoencoders.data.mapped`). Refused then: a disk that cannot hold the cache, `dataset.binarize`
or `dataset.noise_factor` (they make new arrays of the whole set), and, not tested, an npz array in
Fortran order and a folder whose images decode to fractional values at their own size.
"""

from __future__ import annotations

import logging
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from autoencoders.data.loading import DataError

#: an image declaring more pixels than this is refused before it is decoded: about twice a
#: 48-megapixel phone photograph, and a ninth of the 30,000 x 30,000 PNG that made Pillow raise
#: DecompressionBombError in a traceback
MAX_IMAGE_PIXELS = 100_000_000
#: deflate cannot expand data by more than 1032:1 (zlib's technical details), so a member declaring
#: more than this many times its compressed bytes was not made by deflating its array
MAX_DEFLATE_RATIO = 1032
#: the images as float32 may take at most this share of the available memory: training holds them
#: and a TensorFlow copy of the training images at once, with the model and batches beside them
MEMORY_SHARE = 0.4
MEMORY_ENV = "AUTOENCODERS_MEMORY_BYTES"
FLOAT_BYTES = 4

log = logging.getLogger(__name__)


def gigabytes(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def available_memory() -> int:
    """Bytes of memory a new allocation can have without swapping: `AUTOENCODERS_MEMORY_BYTES` when
    set, else MemAvailable of /proc/meminfo, else the physical memory."""
    given = os.environ.get(MEMORY_ENV)
    if given:
        try:
            return int(given)
        except ValueError:
            raise DataError(f"{MEMORY_ENV}={given!r}: expected a number of bytes") from None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def image_pixels(path: Path, width: int, height: int) -> None:
    """Refuse an image whose header declares more than MAX_IMAGE_PIXELS pixels."""
    if width * height > MAX_IMAGE_PIXELS:
        raise DataError(
            f"{path}: its header declares {width} x {height} = {width * height:,} pixels; allowed: at most "
            f"{MAX_IMAGE_PIXELS:,} per image (decoded it would take {gigabytes(3 * width * height)} as RGB bytes)"
        )


def npy_header(stream) -> tuple[tuple[int, ...], bool, np.dtype] | None:
    """(shape, Fortran order, dtype) from the `.npy` header at the start of `stream` (the stream is
    left at the first byte of data), or None for a format version NumPy does not write."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    if version in ((2, 0), (3, 0)):  # 3.0 is 2.0's layout with a UTF-8 header; NumPy writes it only for non-Latin-1 field names
        return np.lib.format.read_array_header_2_0(stream)
    return None


def npz_members(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each member's declared shape and dtype, from the zip directory and the `.npy` headers
    only, after checking that each declared size is one its member can hold."""
    declared = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            key = info.filename.removesuffix(".npy")
            with archive.open(info) as member:
                header = npy_header(member)
            if header is None:  # no version NumPy writes: np.load refuses it
                continue
            shape, _, dtype = header
            size = math.prod(shape) * dtype.itemsize
            if size > info.file_size:
                raise DataError(
                    f"{path}: array {key!r} declares shape {shape} of {dtype} ({gigabytes(size)}) but the archive holds only "
                    f"{info.file_size:,} bytes of it; the file is truncated or was not written by np.savez"
                )
            if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 1024:
                raise DataError(
                    f"{path}: array {key!r} declares {gigabytes(info.file_size)} from {info.compress_size:,} compressed bytes, more than "
                    f"deflate can expand ({MAX_DEFLATE_RATIO}:1); the file was crafted or is corrupt"
                )
            declared[key] = (tuple(shape), dtype)
    return declared


def fits_in_memory(where: str, images: int, image_shape: tuple[int, ...]) -> bool:
    """Whether a dataset's images, as float32, take at most MEMORY_SHARE of the memory available;
    when not, say so (the loader then maps them from disk: `autoencoders.data.mapped`)."""
    need = images * math.prod(image_shape) * FLOAT_BYTES
    budget = available_memory()
    if need <= MEMORY_SHARE * budget:
        return True
    shape = " x ".join(str(n) for n in image_shape)
    log.warning(
        "%s: %s images of %s are %s as bytes and %s as float32, more than %s of the %s of memory available: "
        "reading them from a memory-mapped cache on disk, a batch at a time",
        where,
        f"{images:,}",
        shape,
        gigabytes(images * math.prod(image_shape)),
        gigabytes(need),
        f"{MEMORY_SHARE:.0%}",
        gigabytes(budget),
    )
    return False
