"""Datasets larger than memory (autoencoders.data.mapped): real MNIST written to an npz trains and
evaluates to the same bits whether its images were loaded or memory-mapped from disk, streamed
evaluation gives every per-image number of a single pass, and a damaged cache is named with exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from autoencoders.config import DatasetConfig
from autoencoders.data import mapped
from autoencoders.data.loading import DataError, forget_sources, load_dataset

from conftest import ROOT, TINY_MEMORY, assert_same_run


def load(path, monkeypatch, *, mapped_: bool):
    if mapped_:
        monkeypatch.setenv("AUTOENCODERS_MEMORY_BYTES", TINY_MEMORY)
    else:
        monkeypatch.delenv("AUTOENCODERS_MEMORY_BYTES", raising=False)
    return load_dataset(DatasetConfig(name="npz", path=str(path)))


#: how a run's images were held: float32 arrays (the reference), uint8 bytes in memory, mapped from disk
HELD = ("floats", "bytes", "mapped")


@pytest.mark.parametrize("arch", ["dense", "conv", "vae"])
def test_a_run_on_bytes_or_mapped_images_is_the_run_on_float_arrays_bit_for_bit(tmp_path, monkeypatch, digits_npz, digits_float_npz, arch):
    """The same images held three ways: float32 arrays (a float npz), uint8 bytes in memory and
    uint8 mapped from disk (a uint8 npz, the memory budget set low). The dense model trains in the
    one-program XLA loop each way (the bytes in memory bound to it and divided there, the
    mapped ones read for each call's 12 batches in pieces of 5, 5 and 2, the last padded); the conv model in Keras's loop; the VAE in the one-program loop (94 batches
    of 32 a call, read 40, 40, 14), its mapped run stopped after epoch 1 and resumed: the
    histories, weights, optimizer state, test metrics and every per-image evaluation number are
    the same."""
    from autoencoders.config import load_config
    from autoencoders.evaluate.evaluation import evaluate_run, load_run
    from autoencoders.train import run_folder
    from autoencoders.train.loop import train
    from autoencoders.train.speed import xla_loop

    streamed = []
    chunks_of = xla_loop.streamed_chunks
    monkeypatch.setattr(xla_loop, "streamed_chunks", lambda *a, **k: streamed.append(a) or chunks_of(*a, **k))
    monkeypatch.setattr(xla_loop, "STREAMED_READ_BYTES", 5 * 256 * 784 * 4)  # 5 of the blog's dense batches
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "cache"))
    paths = {"floats": digits_float_npz, "bytes": digits_npz, "mapped": digits_npz}

    def config(held):
        return load_config(
            ROOT / f"configs/blog/{arch}.yaml",
            [
                "dataset.name=npz",
                f"dataset.path={paths[held]}",
                "training.epochs=2",
                "training.jit_compile=auto",
                "training.store_evaluation=false",
            ],
        )

    runs = {}
    for held in HELD:
        dataset = load(paths[held], monkeypatch, mapped_=held == "mapped")
        assert (type(dataset.x_train) is np.ndarray, mapped.on_disk(dataset.x_train)) == (held == "floats", held == "mapped")
        run_dir = tmp_path / held
        if held == "mapped" and arch == "vae":  # stopped right after epoch 1 was saved, then resumed
            save = run_folder.save_checkpoint

            def save_then_stop(folder, epoch, *a, **k):
                save(folder, epoch, *a, **k)
                if epoch == 1:
                    raise KeyboardInterrupt

            monkeypatch.setattr(run_folder, "save_checkpoint", save_then_stop)
            with pytest.raises(KeyboardInterrupt):
                train(config(held), run_dir, dataset=dataset, verbose=0)
            monkeypatch.setattr(run_folder, "save_checkpoint", save)
            assert run_folder.run_status(run_dir) == "unfinished"
        runs[held] = train(config(held), run_dir, dataset=dataset, resume=True, verbose=0).run_dir
    # the mapped runs of the dense models trained in the one-program loop, reading in pieces (the
    # bytes in memory are bound to the program, as float arrays are)
    expected = {"dense": [(256, 12, 5)], "conv": [], "vae": [(32, 94, 40)] * 2}[arch]
    assert [(a[2], a[3], xla_loop.steps_per_read(a[0], a[1], a[2], a[3])) for a in streamed] == expected
    evaluations = {}
    for held, run_dir in runs.items():
        load(paths[held], monkeypatch, mapped_=held == "mapped")  # the budget evaluate_run's own load sees
        forget_sources()
        evaluations[held] = evaluate_run(load_run(run_dir), use_stored=False)
    for held in HELD[1:]:
        assert_same_run(runs["floats"], runs[held])
        for metric, values in evaluations["floats"].per_image.items():
            assert values.tobytes() == evaluations[held].per_image[metric].tobytes(), (held, metric)
        assert evaluations["floats"].grid_images.tobytes() == evaluations[held].grid_images.tobytes()
        assert evaluations["floats"].code_mean == evaluations[held].code_mean
    if arch == "dense":  # `diagnose` reads a mapped set's subset and sums its mean image in chunks
        from autoencoders.diagnose.command import diagnose

        told = {}
        for held in HELD:
            load(paths[held], monkeypatch, mapped_=held == "mapped")
            told[held] = diagnose(str(runs["floats"] / "model.keras"), str(paths[held]), images=500)
        for held in HELD[1:]:
            assert told[held]["problems"] == told["floats"]["problems"]
            for baseline, scored in told["floats"]["scores"].items():
                assert told[held]["scores"][baseline] == pytest.approx(scored, rel=1e-6), (held, baseline)


@pytest.mark.parametrize("config", ["blog/dense.yaml", "blog/vae.yaml"])
def test_evaluation_streamed_in_chunks_gives_every_number_of_one_pass(tmp_path, monkeypatch, tiny_config, config):
    """With chunks of three batches of 1,024 (CHUNK_BYTES shrunk) the 10,000 test images stream
    through the model in four pieces, the last one short: every per-image value, the grid, the
    code mean and a VAE's terms are those of one pass."""
    import keras

    from autoencoders.evaluate.evaluation import evaluate_run, load_run
    from autoencoders.models import base
    from autoencoders.train.loop import train

    cfg = tiny_config(f"configs/{config}", "training.store_evaluation=false")
    run = load_run(train(cfg, tmp_path / "run", verbose=0).run_dir)
    whole = evaluate_run(run, batch_size=1024, use_stored=False)
    monkeypatch.setattr(base, "CHUNK_BYTES", 3 * 1024 * 28 * 28 * 4)
    chunks = [
        rows
        for rows, _, _ in base.Autoencoder.in_chunks(
            keras.saving.load_model(run.path / "model.keras"), np.zeros((10_000, 28, 28, 1), np.float32), 1024
        )
    ]
    assert [(r.start, r.stop) for r in chunks] == [(0, 3072), (3072, 6144), (6144, 9216), (9216, 10_000)]
    streamed = evaluate_run(run, batch_size=1024, use_stored=False)
    for metric, values in whole.per_image.items():
        assert values.tobytes() == streamed.per_image[metric].tobytes(), metric
    assert whole.grid_images.tobytes() == streamed.grid_images.tobytes()
    assert (whole.code_mean, whole.vae) == (streamed.code_mean, streamed.vae)


def test_binarize_or_noise_on_bytes_in_memory_gives_the_arrays_of_floats(monkeypatch, tmp_path, digits_npz, digits_float_npz):
    """Bytes held in memory are scaled whole for binarize and noise: the inputs and targets are
    those the float32 arrays give, to the bit."""
    from autoencoders.data.loading import prepare

    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "cache"))
    as_bytes, as_floats = load(digits_npz, monkeypatch, mapped_=False), load(digits_float_npz, monkeypatch, mapped_=False)
    assert mapped.is_mapped(as_bytes.x_train) and not mapped.on_disk(as_bytes.x_train)
    for options in ({"binarize": True, "noise_factor": 0.0}, {"binarize": False, "noise_factor": 0.5}):
        a = prepare(as_bytes, train_size=1000, test_size=None, seed=3, **options)
        b = prepare(as_floats, train_size=1000, test_size=None, seed=3, **options)
        for key in ("x_train", "t_train", "x_test", "t_test"):
            got = getattr(a, key)
            assert type(got) is np.ndarray and got.tobytes() == getattr(b, key).tobytes(), (options, key)


def test_binarize_or_noise_on_mapped_images_is_refused_by_name(monkeypatch, tmp_path, digits_npz):
    from autoencoders.data.loading import prepare

    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "cache"))
    dataset = load(digits_npz, monkeypatch, mapped_=True)
    for options in ({"binarize": True, "noise_factor": 0.0}, {"binarize": False, "noise_factor": 0.5}):
        with pytest.raises(DataError, match=rf"{digits_npz}.*dataset.binarize and dataset.noise_factor"):
            prepare(dataset, train_size=None, test_size=None, seed=0, **options)


def test_an_interrupted_cache_write_is_rebuilt_and_a_truncated_one_is_named_with_exit_2(tmp_path, monkeypatch, digits_npz):
    """A cache folder without its completion marker (a write that was killed) counts as absent; a
    complete one whose .npy lost bytes is refused by train.py within a second of reading it,
    naming the file, exit 2, and no run folder is written."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("AUTOENCODERS_DATA", str(cache))
    dataset = load(digits_npz, monkeypatch, mapped_=True)
    folder = dataset.x_train.path.parent
    (folder / mapped.COMPLETE).unlink()
    again = load(digits_npz, monkeypatch, mapped_=True)
    assert (folder / mapped.COMPLETE).is_file() and np.asarray(again.x_test).tobytes() == np.asarray(dataset.x_test).tobytes()

    npy = folder / "x_train.npy"
    npy.write_bytes(npy.read_bytes()[:-784])  # the last image cut off
    out = tmp_path / "runs"
    done = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--config",
            "configs/blog/dense.yaml",
            "--set",
            "dataset.name=npz",
            "--set",
            f"dataset.path={digits_npz}",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "AUTOENCODERS_MEMORY_BYTES": TINY_MEMORY, "AUTOENCODERS_DATA": str(cache)},
    )
    assert done.returncode == 2, done.stderr
    size = npy.stat().st_size
    assert f"{npy}: the cache file is {size:,} bytes but its header declares {size + 784:,} (uint8 (3000, 28, 28, 1))" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_mapped_images_read_each_row_as_the_float32_nearest_to_its_value_over_255(tmp_path):
    """x / 255 in float32 is one correctly rounded number per byte value, so scaling per batch
    gives what scaling the whole array gives: every uint8 value, read in a shuffled batch, is the
    float32 nearest v / 255 (checked against exact fractions, half a unit in the last place)."""
    from fractions import Fraction

    values = np.arange(256, dtype=np.uint8).reshape(16, 4, 4, 1)
    path = tmp_path / "x.npy"
    np.save(path, values)
    images = mapped.MappedImages(mapped.open_npy(path), path)
    order = np.random.default_rng(0).permutation(16)
    batch = images[order]
    assert batch.dtype == np.float32
    for got, v in zip(batch.reshape(-1), values[order].reshape(-1)):
        assert abs(Fraction(float(got)) - Fraction(int(v), 255)) <= Fraction(float(np.spacing(got))) / 2, v
    assert isinstance(images[2:5], mapped.MappedImages) and len(images[2:5]) == 3


def test_the_training_pipeline_scales_mapped_bytes_to_the_same_floats_as_numpy(tmp_path):
    """Batches cross into TensorFlow as bytes and are divided by 255 there: for every byte value,
    in a shuffled order, the pipeline's floats are numpy's (the row test above checks numpy's
    against exact fractions), and targets that are the images are the same batch."""
    import tensorflow as tf

    from autoencoders.train.speed.pipeline import gathered

    values = np.arange(256, dtype=np.uint8).reshape(16, 4, 4, 1)
    path = tmp_path / "x.npy"
    np.save(path, values)
    images = mapped.MappedImages(mapped.open_npy(path), path)
    order = np.random.default_rng(1).permutation(16)
    rows = tf.data.Dataset.from_tensor_slices(order.astype(np.int64)).batch(5)
    batches = list(gathered((images, images), rows).as_numpy_iterator())
    x = np.concatenate([b[0] for b in batches])
    assert x.dtype == np.float32 and x.tobytes() == images[order].tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in batches)


def test_a_disk_too_small_for_the_cache_is_refused_with_both_sizes_and_nothing_written(tmp_path, monkeypatch, digits_npz):
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1_000_000, 1_000_000))
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "cache"))
    with pytest.raises(DataError) as refused:
        load(digits_npz, monkeypatch, mapped_=True)
    assert f"{tmp_path / 'cache'}: the dataset's memory-mapped cache needs 2.9 MB of disk but 1.0 MB are free" in str(refused.value)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_lengthened_cache_is_named_and_a_killed_writers_staging_folder_is_removed(tmp_path, monkeypatch, digits_npz):
    import socket

    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "cache"))
    dataset = load(digits_npz, monkeypatch, mapped_=True)
    assert dataset.x_test[3].shape == (28, 28, 1)  # one image, as from an array
    npy = dataset.x_test.path
    with npy.open("ab") as f:
        f.write(b"\0" * 10)
    with pytest.raises(DataError, match=rf"{npy}: the cache file is [\d,]+ bytes but its header declares"):
        mapped.open_npy(npy)
    folder = npy.parent
    shutil.rmtree(folder)
    dead = 2**22 + 12345  # above Linux's default pid_max of 2**22: no such process
    stale = folder.with_name(f".{folder.name}.{socket.gethostname()}-{dead}.tmp")
    other_host = folder.with_name(f".{folder.name}.elsewhere-{dead}.tmp")
    for leftover in (stale, other_host):
        leftover.mkdir()
        (leftover / "x_train.npy").write_bytes(b"half")
    load(digits_npz, monkeypatch, mapped_=True)
    assert not stale.exists() and other_host.exists() and (folder / mapped.COMPLETE).is_file()
