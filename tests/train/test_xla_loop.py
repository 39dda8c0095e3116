"""`autoencoders.train.speed.xla_loop`: a chunk of training steps in one XLA program trains the same bits as
Keras's own loop, on the same batches in the same order, and is used only where it was measured."""

import math

import numpy as np
import pytest

from autoencoders import config as C
from autoencoders.train import loop as training
from autoencoders.train.speed import xla_loop

from conftest import ROOT, TINY, XLA_AS_SHIPPED

tf = pytest.importorskip("tensorflow")

# 3,000 images in batches of 16: 188 steps, 94 per call, so each epoch is two chunks and the
# second ends in a short batch of 8 images
SHORT_LAST_CHUNK = [*TINY, XLA_AS_SHIPPED, "dataset.train_size=3000", "training.batch_size=16", "training.epochs=2"]


def rows_of(chunks) -> list[np.ndarray]:
    return [rows[:used] for rows, used in chunks.as_numpy_iterator()]


def test_chunks_hold_the_rows_of_the_training_batches_in_their_order_and_resume_with_them():
    n, batch_size, per_call = 50, 8, 3  # 24 rows per chunk: 24, 24 and 2 per epoch
    x = np.arange(n, dtype=np.float32).reshape(n, 1)
    batches = np.concatenate([bx for bx, _ in training.epoch_batches(x, x, batch_size, 7, 0, 2).as_numpy_iterator()]).ravel()
    chunks = list(xla_loop.epoch_chunks(n, batch_size, per_call, 7, 0, 2).as_numpy_iterator())
    assert [len(rows) for rows, _ in chunks] == [24] * 6  # every chunk padded to one length: one compiled program
    assert [used for _, used in chunks] == [24, 24, 2] * 2
    assert np.array_equal(np.concatenate(rows_of(xla_loop.epoch_chunks(n, batch_size, per_call, 7, 0, 2))), batches)
    resumed = np.concatenate(rows_of(xla_loop.epoch_chunks(n, batch_size, per_call, 7, 1, 2)))
    assert np.array_equal(resumed, batches[n:])  # a run resumed after epoch 1 gets epoch 2's rows, as uninterrupted


def test_bytes_bound_to_the_program_read_as_the_correctly_rounded_division_which_a_constant_would_not_give():
    """Images held as bytes (the built-in sets) are divided in the program by 255 handed to it as an
    argument, since XLA computes x / 255 written into it as x * (1 / 255), off in the last bit for
    126 values."""
    from autoencoders.data.mapped import MappedImages

    stored = np.arange(256, dtype=np.uint8).reshape(256, 1)
    exact = (np.arange(256, dtype=np.float64) / 255).astype(np.float32).reshape(256, 1)  # rounded once from float64: exact
    bound = xla_loop.bound(MappedImages(stored, ROOT / "bytes"))
    scaled = tf.function(xla_loop.rows_of, jit_compile=True)(bound, tf.range(256)[::-1])  # as `full_batches` gets them
    assert scaled.dtype == tf.float32 and np.array_equal(scaled.numpy(), exact[::-1])
    divided = tf.function(lambda x: tf.cast(x, tf.float32) / 255, jit_compile=True)(tf.constant(stored))
    assert int(np.sum(divided.numpy() != exact)) == 126


def fitted(cfg: C.ExperimentConfig, ours: bool):
    """The model `cfg` trains by `fit` with our one-program loop, or with Keras's own train
    function on the batches of `epoch_batches`; its weights, optimizer state and history."""
    data = training.load_data(cfg)
    steps = math.ceil(len(data.x_train) / cfg.training.batch_size)
    model = training.compile_model(cfg, steps)
    assert isinstance(model.train_function, xla_loop.StepsInOneCall) and model.steps_per_execution == 94
    if not ours:
        model.train_function = None  # fit makes Keras's own: 94 steps per call, one XLA call per step
    schedule = (data.x_train, data.t_train, cfg.training.batch_size, cfg.seed, 0, cfg.training.epochs)
    batches = training.training_batches(model, *schedule) if ours else training.epoch_batches(*schedule)
    history = model.fit(batches, epochs=cfg.training.epochs, steps_per_epoch=steps, shuffle=False, verbose=0).history
    assert isinstance(model.train_function, xla_loop.StepsInOneCall) == ours
    return model.get_weights(), [v.numpy() for v in model.optimizer.variables], history


@pytest.mark.parametrize("arch", ["dense", "vae"])  # the VAE also draws its samples in the loop
def test_the_one_program_loop_trains_the_bits_of_kerass_own_loop(arch):
    cfg = C.load_config(ROOT / "configs" / "blog" / "dense.yaml", [*SHORT_LAST_CHUNK, f"model.arch={arch}", "model.latent_dim=null"])
    weights, slots, history = fitted(cfg, ours=True)
    kerass_weights, kerass_slots, kerass_history = fitted(cfg, ours=False)
    assert history == kerass_history  # every epoch's loss and metrics
    assert all(np.array_equal(a, b) for a, b in zip(weights, kerass_weights, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(slots, kerass_slots, strict=True))  # Adam's moments and its step count (2 x 188)


def test_the_loop_is_used_only_where_it_was_measured(tiny_config):
    def loop_of(*overrides, steps=4, gpu=False):
        model = training.compile_run(tiny_config("configs/blog/dense.yaml", *overrides), steps, gpu).model
        return isinstance(model.train_function, xla_loop.StepsInOneCall)

    assert loop_of(XLA_AS_SHIPPED)  # dense on CPU: XLA, 4 steps per call
    assert not loop_of()  # XLA off (the tests' tiny runs)
    assert not loop_of(XLA_AS_SHIPPED, "model.arch=conv", "model.latent_dim=null")  # conv: no XLA on CPU
    assert not loop_of(XLA_AS_SHIPPED, steps=131)  # a prime step count: one step per call
    assert not loop_of(XLA_AS_SHIPPED, gpu=True)  # not measured on a GPU


def test_training_without_the_arrays_is_refused_by_name(tiny_config):
    model = training.compile_model(tiny_config("configs/blog/dense.yaml", XLA_AS_SHIPPED), 4)
    with pytest.raises(RuntimeError, match="training_batches"):
        model.train_function(iter(xla_loop.epoch_chunks(256, 64, 4, 0, 0, 1)))


def test_a_compiled_model_kept_for_a_later_run_holds_no_training_arrays(tmp_path, tiny_config):
    """A warm worker keeps idle compiled models (`model_cache`); each would otherwise hold its
    last run's images (188 MB for MNIST's training set)."""
    from autoencoders.train.speed import model_cache

    cfg = tiny_config("configs/blog/dense.yaml", XLA_AS_SHIPPED)
    model_cache.CACHE.clear()
    model_cache.CACHE.capacity = 1
    try:
        training.train(cfg, tmp_path / "run", verbose=0)
        kept = model_cache.CACHE.take(training.compiled_key(cfg, 4, gpu=False))
    finally:
        model_cache.CACHE.capacity = 0
        model_cache.CACHE.clear()
    assert isinstance(kept.model.train_function, xla_loop.StepsInOneCall)
    assert kept.model.train_function.images is None
