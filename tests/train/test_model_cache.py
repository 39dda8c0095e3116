"""autoencoders.train.speed.model_cache: a warm worker's reuse of an earlier run's compiled model changes no
result, is only offered to runs whose compiled functions are the same, and never hands out a
model whose `fit` did not return."""

import pytest

from autoencoders.train import loop as training
from autoencoders.train.speed import model_cache

from conftest import assert_same_run


@pytest.fixture
def cache():
    """The process's cache turned on as a warm worker turns it on, and off again afterwards."""
    model_cache.CACHE.clear()
    model_cache.CACHE.capacity, model_cache.CACHE.reused = 4, 0
    yield model_cache.CACHE
    model_cache.CACHE.capacity = 0
    model_cache.CACHE.clear()


@pytest.mark.parametrize("config", ["configs/blog/vae.yaml", "configs/blog/conv.yaml"])
def test_a_run_on_a_reused_compiled_model_is_the_run_on_a_new_one(tmp_path, tiny_config, cache, config):
    """The VAE also has sampling state, which the reused model must take from the new seed."""
    first = tiny_config(config, "seed=0", "training.epochs=2")
    second = tiny_config(config, "seed=1", "training.epochs=2")
    training.train(first, tmp_path / "first", verbose=0)
    training.train(second, tmp_path / "reused", verbose=0)
    assert cache.reused == 1
    cache.clear()
    training.train(second, tmp_path / "new", verbose=0)
    assert cache.reused == 1  # compiled anew
    assert_same_run(tmp_path / "reused", tmp_path / "new")


def test_the_key_ignores_what_the_seed_and_data_decide_and_keeps_what_is_compiled(tiny_config):
    base = training.compiled_key(tiny_config(), 4, gpu=False)
    for same in (
        ["seed=3"],
        ["training.epochs=7"],
        ["name=other"],
        ["dataset.name=fashion_mnist"],
        ["training.callbacks=[probe_gradients]"],
    ):
        assert training.compiled_key(tiny_config("configs/blog/dense.yaml", *same), 4, gpu=False) == base, same
    for other in (
        ["loss.name=mse"],
        ["training.learning_rate=0.01"],
        ["training.batch_size=32"],
        ["training.jit_compile=true"],
        ["model.latent_dim=16"],
        ["training.precision=mixed_bfloat16"],
    ):
        assert training.compiled_key(tiny_config("configs/blog/dense.yaml", *other), 4, gpu=False) != base, other
    assert training.compiled_key(tiny_config(), 5, gpu=False) != base  # steps per execution
    assert training.compiled_key(tiny_config(), 4, gpu=True) != base


def test_a_model_whose_fit_raised_is_not_kept(tmp_path, tiny_config, cache, monkeypatch):
    """Keras may hold a half-used iterator of the failed run: the next run compiles its own."""
    cfg = tiny_config("configs/blog/dense.yaml", "training.epochs=2")

    def crash(self, epoch, logs=None):
        raise RuntimeError("a bug in a callback")

    monkeypatch.setattr(training.EpochRecorder, "on_epoch_end", crash)
    with pytest.raises(RuntimeError, match="a bug in a callback"):
        training.train(cfg, tmp_path / "crashed", verbose=0)
    monkeypatch.undo()
    assert cache.take(training.compiled_key(cfg, 4, gpu=False)) is None
    training.train(cfg, tmp_path / "next", overwrite=True, verbose=0)
    assert cache.reused == 0


def test_the_cache_keeps_at_most_its_capacity_and_drops_the_oldest():
    cache = model_cache.CompiledModels(capacity=2)
    entries = [model_cache.Compiled(model=f"model {i}", optimizer_start=[], key=(i,)) for i in range(3)]
    for entry in entries:
        cache.give_back(entry)
    assert cache.take((0,)) is None and cache.take((2,)) is entries[2] and cache.take((1,)) is entries[1]
    assert cache.take((1,)) is None  # lent out: gone until given back
    assert cache.reused == 2
    off = model_cache.CompiledModels()
    off.give_back(entries[0])
    assert off.take((0,)) is None  # capacity 0 (a one-run process) keeps nothing
