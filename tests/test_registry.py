"""The two registries: one entry is all a new dataset or a new architecture needs."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from autoencoders import config as C
from autoencoders.data.datasets import DATASETS, DatasetSpec
from autoencoders.data.loading import Dataset, load_dataset
from autoencoders.models.architectures import ARCHITECTURES, Architecture
from autoencoders.registry import Registry
from autoencoders.train import loop as training
from autoencoders.train import run_folder as runs

from conftest import ROOT, TINY, XLA_AS_SHIPPED


def mnist_crops(spec: DatasetSpec, config: C.DatasetConfig) -> Dataset:
    """A dataset made in a test: real MNIST digits cropped to 24x20 (a shape no other entry has)."""
    mnist = load_dataset("mnist")
    return Dataset(
        name=spec.name,
        x_train=mnist.x_train[:600, 2:26, 4:24],
        y_train=mnist.y_train[:600],
        x_test=mnist.x_test[:200, 2:26, 4:24],
        y_test=mnist.y_test[:200],
        source="MNIST crops",
        identity="mnist-crops-24x20",
        class_names=mnist.class_names,
    )


def bottleneck_parts(model_config):
    """An architecture made in a test: one Dense layer each way, sigmoid out."""
    shape = tuple(model_config.input_shape)
    image = keras.Input(shape)
    code = keras.layers.Dense(model_config.latent_dim, activation="relu")(keras.layers.Flatten()(image))
    code_in = keras.Input((model_config.latent_dim,))
    out = keras.layers.Reshape(shape)(keras.layers.Dense(int(np.prod(shape)), activation="sigmoid")(code_in))
    return keras.Model(image, code, name="encoder"), keras.Model(code_in, out, name="decoder")


def for_this_test(registry: Registry, monkeypatch) -> Registry:
    """The registry with its entries restored after the test (an entry added in it is gone)."""
    monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    return registry


@pytest.fixture
def crops(monkeypatch):
    return for_this_test(DATASETS, monkeypatch).add(
        DatasetSpec(
            name="mnist_crops",
            title="MNIST crops",
            loader=mnist_crops,
            image_shape=(24, 20, 1),
            train_size=600,
            test_size=200,
            class_names=tuple("0123456789"),
        )
    )


@pytest.fixture
def bottleneck(monkeypatch):
    return for_this_test(ARCHITECTURES, monkeypatch).add(
        Architecture(name="bottleneck", summary="one Dense each way", builder=bottleneck_parts, latent_dim=8)
    )


def test_a_dataset_entry_is_all_a_new_dataset_needs_to_train(tmp_path, crops):
    cfg = C.load_config(ROOT / "configs/blog/conv.yaml", [*TINY, "dataset.name=mnist_crops"])
    assert cfg.model.input_shape == (24, 20, 1)  # from the entry
    assert cfg.name == "blog-conv-mnist_crops-bce-s0"
    result = training.train(cfg, tmp_path / cfg.name, verbose=0)
    assert result.metrics["status"] == "completed"
    assert result.metrics["data"]["identity"] == "mnist-crops-24x20"
    model = keras.saving.load_model(result.run_dir / runs.MODEL)
    assert model.reconstruct(np.zeros((2, 24, 20, 1), np.float32)).shape == (2, 24, 20, 1)
    with pytest.raises(C.ConfigError, match="must be between 1 and 600"):
        C.load_config(ROOT / "configs/blog/conv.yaml", ["dataset.name=mnist_crops", "dataset.train_size=601"])


def test_an_architecture_entry_is_all_a_new_architecture_needs_to_train(tmp_path, bottleneck):
    cfg = C.load_config(
        ROOT / "configs/blog/dense.yaml",
        [*TINY, XLA_AS_SHIPPED, "model.arch=bottleneck", "model.latent_dim=null", "dataset.name=natural_patches_rgb"],
    )
    assert cfg.model.latent_dim == 8 and cfg.model.code_shape == (8,)
    result = training.train(cfg, tmp_path / cfg.name, verbose=0)
    assert result.metrics["status"] == "completed" and result.metrics["xla"] is False  # the entry's CPU choice
    model = keras.saving.load_model(result.run_dir / runs.MODEL)
    assert model.encode(np.zeros((3, 32, 32, 3), np.float32)).shape == (3, 8)


def test_config_errors_list_what_the_registries_hold_now(tmp_path, crops, bottleneck):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\ndataset: {name: mnist_crop}\nmodel: {arch: botleneck}\n")
    with pytest.raises(C.ConfigError) as info:
        C.load_config(path)
    message = str(info.value)
    assert "'natural_patches_rgb', 'npz', 'image_folder', 'mnist_crops' (did you mean 'mnist_crops'?)" in message
    assert "'conv_vae', 'bottleneck' (did you mean 'bottleneck'?)" in message


def test_a_registry_never_changes_what_a_name_means():
    with pytest.raises(ValueError, match="dataset 'mnist' is already registered"):
        DATASETS.add(DatasetSpec(name="mnist", title="other", loader=mnist_crops))
    with pytest.raises(KeyError, match="unknown architecture 'nope'; expected one of dense, sparse_dense"):
        ARCHITECTURES["nope"]  # noqa: B018
    registry: Registry = Registry("thing")
    assert registry.position("anything") == 0 and len(registry) == 0


def test_every_entry_names_a_loader_or_builder_that_exists():
    from autoencoders.registry import resolve

    for spec in DATASETS.values():
        assert callable(resolve(spec.loader)), spec.name
    for arch in ARCHITECTURES.values():
        assert callable(resolve(arch.builder)), arch.name
