import keras
import numpy as np
import pytest

from autoencoders.config import ARCHS, ModelConfig
from autoencoders.models import VAE, Autoencoder, build_model

# Parameter counts of the Keras blog's models (and the keras-io conv VAE), from their summaries.
BLOG_PARAMS = {
    "dense": 50_992,
    "sparse_dense": 50_992,
    "deep_dense": 222_384,
    "conv": 4_385,
    "denoising_conv": 28_353,
    "vae": 101_652,
    "conv_vae": 134_165,
}


@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_matches_the_blog_and_ends_in_a_sigmoid(arch):
    cfg = ModelConfig(arch=arch)
    model = build_model(cfg)
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    y = model.reconstruct(x)
    assert model.count_params() == BLOG_PARAMS[arch]
    assert isinstance(model.encoder, keras.Model) and isinstance(model.decoder, keras.Model)
    assert y.shape == (5, 28, 28, 1)
    assert np.all((y >= 0) & (y <= 1))
    activations = [layer.get_config()["activation"] for layer in model.decoder.layers if "activation" in layer.get_config()]
    assert activations[-1] == "sigmoid"
    code = model.encode(x)
    assert code.shape == (5, *cfg.code_shape)
    assert isinstance(model, VAE) == (arch in {"vae", "conv_vae"})


def test_sparse_dense_has_the_l1_activity_regulariser_and_dense_has_none():
    sparse = build_model(ModelConfig(arch="sparse_dense", activity_l1=1e-4))
    plain = build_model(ModelConfig(arch="dense"))
    assert sparse.encoder.get_layer("code").activity_regularizer.get_config()["l1"] == pytest.approx(1e-4)
    assert plain.encoder.get_layer("code").activity_regularizer is None


@pytest.mark.parametrize("arch", ["dense", "vae", "conv_vae"])
def test_keras_file_round_trip_keeps_class_parts_and_outputs(tmp_path, arch):
    model = build_model(ModelConfig(arch=arch), seed=3)
    model.compile("adam", "mse")
    x = np.random.default_rng(1).random((8, 28, 28, 1), dtype=np.float32)
    model.fit(x, x, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert type(again) is type(model)
    assert isinstance(again, Autoencoder)
    np.testing.assert_allclose(again.reconstruct(x), model.reconstruct(x), atol=1e-6)
    np.testing.assert_allclose(again.encode(x), model.encode(x), atol=1e-6)
    assert again.optimizer.iterations.numpy() == model.optimizer.iterations.numpy()


def test_vae_reconstruct_is_deterministic_but_the_forward_pass_samples():
    model = build_model(ModelConfig(arch="vae"), seed=0)
    x = np.random.default_rng(2).random((16, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(model.reconstruct(x), model.reconstruct(x))
    assert not np.allclose(model(x).numpy(), model(x).numpy())
