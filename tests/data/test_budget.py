"""The budget read from headers: its limits hold for honest files and its sizes are right."""

import zlib

import numpy as np
import pytest

from autoencoders.data import budget
from autoencoders.data.loading import DataError


def test_deflate_never_expands_more_than_the_ratio_the_check_allows():
    """zlib at its best case (zeros, level 9) stays under MAX_DEFLATE_RATIO, so an honest npz,
    however compressible, is never taken for a crafted one."""
    zeros = bytes(50_000_000)
    for level in (1, 6, 9):
        assert len(zeros) / len(zlib.compress(zeros, level)) < budget.MAX_DEFLATE_RATIO
    # and over 1,000:1 at level 9: a 30,000 x 30,000 PNG of zeros (900,030,000 bytes with its rows'
    # filter bytes) deflates to under a megabyte (docs/data.md)
    assert 900_030_000 / (len(zeros) / len(zlib.compress(zeros, 9))) < 1_000_000


def test_an_honest_compressed_npz_of_zeros_passes_the_header_checks(tmp_path):
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, x_train=np.zeros((2000, 64, 64), np.uint8), x_test=np.zeros((10, 64, 64, 1), np.uint8))
    assert budget.npz_members(path) == {"x_train": ((2000, 64, 64), np.dtype(np.uint8)), "x_test": ((10, 64, 64, 1), np.dtype(np.uint8))}


def test_a_dataset_beyond_the_budget_is_mapped_and_the_log_says_its_sizes(monkeypatch, caplog):
    """100,000 RGB images of 128 x 128 (docs/data.md): 4.9 GB as bytes, 19.7 GB as float32."""
    monkeypatch.setenv(budget.MEMORY_ENV, str(24_000_000_000))
    with caplog.at_level("WARNING", logger="autoencoders.data.budget"):
        assert budget.fits_in_memory("patches", 100_000, (128, 128, 3)) is False
    assert "100,000 images of 128 x 128 x 3 are 4.92 GB as bytes and 19.66 GB as float32" in caplog.text
    assert "more than 40% of the 24.00 GB of memory available: reading them from a memory-mapped cache" in caplog.text
    monkeypatch.setenv(budget.MEMORY_ENV, str(50_000_000_000))
    assert budget.fits_in_memory("patches", 100_000, (128, 128, 3)) is True  # 19.66 GB is under 40% of 50 GB


def test_a_budget_that_is_no_number_is_named(monkeypatch):
    monkeypatch.setenv(budget.MEMORY_ENV, "lots")
    with pytest.raises(DataError, match="AUTOENCODERS_MEMORY_BYTES='lots': expected a number of bytes"):
        budget.available_memory()


def test_without_a_budget_the_memory_available_is_the_kernels(monkeypatch):
    monkeypatch.delenv(budget.MEMORY_ENV, raising=False)
    line = next(row for row in open("/proc/meminfo") if row.startswith("MemAvailable:"))
    kernel = int(line.split()[1]) * 1024
    assert abs(budget.available_memory() - kernel) < 0.2 * kernel  # read a moment apart
