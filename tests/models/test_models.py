"""The architectures: the blog's graphs on MNIST-shaped input, any other shape, and .keras round trips."""

import json
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from autoencoders.config import ModelConfig
from autoencoders.data.loading import load_dataset
from autoencoders.models import VAE, Autoencoder, build_model
from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.models.layers import UpSampledConv2D

from conftest import ROOT

ARCHS = tuple(ARCHITECTURES)
#: the archs of the Keras blog and keras-io (every arch but today's res_conv)
BLOG_ARCHS = tuple(arch for arch in ARCHS if arch != "res_conv")
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
# Image shapes no blog model was made for: colour, non-square, sides that do not pool evenly.
OTHER_SHAPES = [(32, 32, 3), (21, 26, 3), (16, 16, 1), (17, 45, 1)]


def mnist_config(arch: str) -> ModelConfig:
    return ModelConfig(arch=arch, input_shape=(28, 28, 1))


def test_every_arch_but_res_conv_is_the_blogs():
    """The blog tests below run on every registered arch but today's: a new blog-style arch
    must be added to BLOG_PARAMS, not slip past them."""
    assert set(BLOG_ARCHS) == set(BLOG_PARAMS)


@pytest.mark.parametrize("arch", BLOG_ARCHS)
def test_every_arch_matches_the_blog_and_ends_in_a_sigmoid(arch):
    cfg = mnist_config(arch)
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
    assert isinstance(model, VAE) == ARCHITECTURES[arch].vae


def _layers(functional_config: dict) -> list[tuple[str, str]]:
    """(class, config without the auto-generated name) of each layer: the graph, minus naming."""
    out = []
    for layer in functional_config["layers"]:
        config = {k: v for k, v in layer["config"].items() if k not in ("name", "dtype")}
        out.append((layer["class_name"], json.dumps(config, sort_keys=True)))
    return out


def _upsampled_convs_merged(layer_list: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The committed graph as built now: each `UpSampling2D` followed by a 'same' `Conv2D` is one
    `UpSampledConv2D` with that Conv2D's settings (`autoencoders.models.layers`)."""
    out = []
    for name, config in layer_list:
        if out and out[-1][0] == "UpSampling2D" and name == "Conv2D" and json.loads(config)["padding"] == "same":
            out[-1] = ("UpSampledConv2D", config)
        else:
            out.append((name, config))
    return out


def _committed_blog_model(arch: str) -> str:
    return str(ROOT / "results/blog/runs" / f"blog-{arch}-mnist-bce-s0" / "model.keras")


@pytest.mark.parametrize("arch", BLOG_ARCHS)
def test_mnist_graphs_are_exactly_those_of_the_committed_blog_runs(arch):
    """The blog runs in results/blog were built before any arch took other shapes, and before
    the conv decoders computed an upsampling and the 'same' conv after it as one layer; a model
    built now for 28x28x1 has the same layers, in the same order, with the same settings."""
    with zipfile.ZipFile(_committed_blog_model(arch)) as archive:
        saved = json.loads(archive.read("config.json"))["config"]
    model = build_model(mnist_config(arch))
    for part in ("encoder", "decoder"):
        built = json.loads(json.dumps(keras.saving.serialize_keras_object(getattr(model, part))))["config"]
        assert _layers(built) == _upsampled_convs_merged(_layers(saved[part]["config"])), part


@pytest.mark.parametrize("arch", ["conv", "denoising_conv"])
def test_the_upsampled_convs_compute_the_committed_blog_models_function(arch):
    """The trained blog model's weights, loaded into the model built now (one layer where it had an
    upsampling and a conv), give its reconstructions of real MNIST digits to float32 rounding, and
    its gradients too: the same function, computed at the lower resolution."""
    committed = keras.saving.load_model(_committed_blog_model(arch))
    model = build_model(mnist_config(arch), seed=7)
    assert not any(np.array_equal(a, b) for a, b in zip(model.get_weights(), committed.get_weights()))
    model.set_weights(committed.get_weights())  # same variables, same order
    x = load_dataset("mnist").x_test[:64]
    np.testing.assert_allclose(model.reconstruct(x), committed.reconstruct(x), atol=2e-6)
    assert any(isinstance(layer, UpSampledConv2D) for layer in model.decoder.layers)
    assert not any(isinstance(layer, UpSampledConv2D) for layer in committed.decoder.layers)

    def gradients(m):
        variables = m.trainable_variables
        with tf.GradientTape() as tape:
            loss = keras.ops.mean(keras.losses.binary_crossentropy(x, m(x)))
        return [g.numpy() for g in tape.gradient(loss, variables)]

    for now, then in zip(gradients(model), gradients(committed)):
        np.testing.assert_allclose(now, then, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("shape", [(28, 28, 1), (5, 3, 2), (7, 6, 3)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("filters", [1, 8])
def test_upsampled_conv_is_upsampling_then_a_same_conv(shape, filters):
    """Any size, odd ones too (the borders are where a sub-pixel rewrite goes wrong), same
    initial weights from the same seed, outputs to float32 rounding."""

    def pair():
        keras.utils.set_random_seed(3)
        return keras.Sequential(
            [keras.Input(shape), keras.layers.UpSampling2D(2), keras.layers.Conv2D(filters, 3, padding="same", activation="relu")]
        )

    def one():
        keras.utils.set_random_seed(3)
        return keras.Sequential([keras.Input(shape), UpSampledConv2D(filters, 3, padding="same", activation="relu")])

    two_layers, one_layer = pair(), one()
    for a, b in zip(two_layers.get_weights(), one_layer.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).normal(size=(4, *shape)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(two_layers(x))
    assert one_layer.output_shape == two_layers.output_shape == (None, 2 * shape[0], 2 * shape[1], filters)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(one_layer(x)), expected, atol=1e-5)


def test_upsampled_conv_refuses_what_it_does_not_compute():
    with pytest.raises(ValueError, match="3x3, stride 1, 'same'"):
        UpSampledConv2D(4, 3, padding="valid")
    with pytest.raises(ValueError, match="3x3, stride 1, 'same'"):
        UpSampledConv2D(4, 5, padding="same")


@pytest.mark.parametrize("shape", OTHER_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_takes_any_shape_and_gives_it_back(arch, shape):
    cfg = ModelConfig(arch=arch, input_shape=shape)
    model = build_model(cfg)
    x = np.random.default_rng(1).random((3, *shape), dtype=np.float32)
    y = model.reconstruct(x)
    assert y.shape == x.shape and np.all((y >= 0) & (y <= 1))
    assert model.encode(x).shape == (3, *cfg.code_shape)
    assert model.predict(x, verbose=0).shape == x.shape
    padded = ARCHITECTURES[arch].padded_shape(shape)
    names = [layer.name for layer in model.encoder.layers + model.decoder.layers]
    assert ("pad" in names) == ("crop" in names) == (padded != shape)  # pad and crop come together, only when needed


def test_sparse_dense_has_the_l1_activity_regulariser_and_dense_has_none():
    sparse = build_model(ModelConfig(arch="sparse_dense", activity_l1=1e-4, input_shape=(28, 28, 1)))
    plain = build_model(mnist_config("dense"))
    assert sparse.encoder.get_layer("code").activity_regularizer.get_config()["l1"] == pytest.approx(1e-4)
    assert plain.encoder.get_layer("code").activity_regularizer is None


@pytest.fixture
def mixed_bfloat16():
    keras.config.set_dtype_policy("mixed_bfloat16")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("shape", [(28, 28, 1), (21, 26, 3)], ids=["mnist", "padded"])
@pytest.mark.parametrize("arch", ARCHS)
def test_under_mixed_bfloat16_every_arch_trains_and_its_sigmoid_output_is_float32(mixed_bfloat16, arch, shape):
    """bfloat16 rounds sigmoid(z) to 1 from z of about 5.5: the saturation the study measures
    must come from the loss, not the number format. The VAE and the sparse model's L1 penalty
    failed with a dtype error under mixed precision before."""
    model = build_model(ModelConfig(arch=arch, input_shape=shape))
    model.compile("adam", "binary_crossentropy")
    x = np.random.default_rng(0).random((8, *shape), dtype=np.float32)
    loss = model.fit(x, x, batch_size=4, epochs=1, verbose=0).history["loss"][0]
    assert model.compute_dtype == "bfloat16"  # the hidden layers do run in bfloat16
    assert np.isfinite(loss)
    assert model(x).dtype == "float32"
    after_sigmoid = model.decoder.layers[[layer.get_config().get("activation") for layer in model.decoder.layers].index("sigmoid") :]
    assert [layer.compute_dtype for layer in after_sigmoid] == ["float32"] * len(after_sigmoid)


def test_an_unresolved_input_shape_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="input_shape is not resolved"):
        build_model(ModelConfig(arch="dense"))


@pytest.mark.parametrize(
    ("arch", "shape"), [("dense", (28, 28, 1)), ("vae", (28, 28, 1)), ("conv_vae", (28, 28, 1)), ("conv", (21, 26, 3))]
)
def test_keras_file_round_trip_keeps_class_parts_and_outputs(tmp_path, arch, shape):
    model = build_model(ModelConfig(arch=arch, input_shape=shape), seed=3)
    model.compile("adam", "mse")
    x = np.random.default_rng(1).random((8, *shape), dtype=np.float32)
    model.fit(x, x, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert type(again) is type(model)
    assert isinstance(again, Autoencoder)
    np.testing.assert_allclose(again.reconstruct(x), model.reconstruct(x), atol=1e-6)
    np.testing.assert_allclose(again.encode(x), model.encode(x), atol=1e-6)
    assert again.optimizer.iterations.numpy() == model.optimizer.iterations.numpy()


def conv2d_params(inputs: int, filters: int) -> int:
    return 9 * inputs * filters + filters


def group_norm_params(channels: int) -> int:
    return 2 * channels


def residual_block_params(channels: int) -> int:
    return 2 * (group_norm_params(channels) + conv2d_params(channels, channels))


def test_res_conv_is_the_latent_diffusion_design_at_its_documented_size():
    """Counted by hand from docs/training.md's description: a 3x3 stem to 8 channels, stride-2
    convs to 16 and 32, a residual block, GroupNorm + SiLU + 3x3 conv to the 7x7x4 code; the
    decoder mirrors it (upsample + conv instead of the strided conv)."""
    model = build_model(mnist_config("res_conv"))
    encoder = (
        conv2d_params(1, 8) + conv2d_params(8, 16) + conv2d_params(16, 32)
        + residual_block_params(32) + group_norm_params(32) + conv2d_params(32, 4)
    )  # fmt: skip
    decoder = (
        conv2d_params(4, 32) + residual_block_params(32)
        + conv2d_params(32, 16) + conv2d_params(16, 8)
        + group_norm_params(8) + conv2d_params(8, 1)
    )  # fmt: skip
    assert (model.encoder.count_params(), model.decoder.count_params()) == (encoder, decoder) == (25_732, 25_681)
    assert model.encoder.output.shape[1:] == (7, 7, 4)
    kinds = {type(layer).__name__ for layer in model.layers[0].layers + model.layers[1].layers}
    assert {"GroupNormalization", "Add", "UpSampledConv2D"} <= kinds
    assert not kinds & {"MaxPooling2D", "ZeroPadding2D", "Cropping2D"}  # strided, and MNIST needs no padding
    assert [layer.get_config()["activation"] for layer in model.decoder.layers if "activation" in layer.get_config()][-1] == "sigmoid"


def test_vae_reconstruct_is_deterministic_but_the_forward_pass_samples():
    model = build_model(mnist_config("vae"), seed=0)
    x = np.random.default_rng(2).random((16, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(model.reconstruct(x), model.reconstruct(x))
    assert not np.allclose(model(x).numpy(), model(x).numpy())
