"""DiagnosticsCallback on the failures people meet, trained in plain Keras (tests/diagnose/failures.py):
each failure is flagged, each healthy twin is not, on TensorFlow and on JAX."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from failures import train_conv, train_dense, train_vae

pytestmark = pytest.mark.slow
STEPS_PER_EPOCH = 12000 // 128 + 1


@pytest.fixture(scope="module")
def conv_mse():
    return train_conv("mse", seed=0)


def test_the_blogs_conv_model_with_mse_is_flagged_dark_within_its_first_epoch(conv_mse):
    _, watch, _ = conv_mse
    dark = next(p for p in watch.problems if p.code == "dark_output")
    assert dark.evidence["step"] < STEPS_PER_EPOCH
    assert dark.evidence["output_mean"] < 0.1 * dark.evidence["target_mean"]
    assert dark.evidence["logit_gradient"] < 0.01 * dark.evidence["bce_logit_gradient"]  # MSE's gradient vanished, BCE's would not
    assert "19 of 20 runs" in dark.message and "Use BCE." in dark.message  # the study's numbers (evidence.json)


def test_its_bce_twin_is_silent():
    _, watch, history = train_conv("binary_crossentropy", seed=0)
    assert watch.problems == []
    assert {"output_mean", "saturated_wrong", "logit_grad", "spread"} <= set(history.history)  # logged for History, CSV, TensorBoard


def test_stop_on_stops_training_at_the_lock():
    _, watch, history = train_conv("mse", seed=0, stop_on=("dark_output",))
    assert [p.code for p in watch.problems][-1] == "dark_output"
    assert watch.step < STEPS_PER_EPOCH  # stopped inside the first epoch
    with pytest.raises(ValueError, match="unknown problem codes"):
        train_conv("mse", seed=0, stop_on=("black",))


def test_a_vae_with_a_per_pixel_mean_loss_collapses_and_is_flagged():
    _, watch, _ = train_vae("mean", seed=0)
    collapse = next(p for p in watch.problems if p.code == "kl_collapse")
    assert collapse.evidence["active_units"] == 0 and collapse.evidence["latent_dim"] == 2
    assert "Sum the reconstruction loss over the pixels" in collapse.message
    _, twin, history = train_vae("sum", seed=0)
    assert twin.problems == [] and twin.measured[-1]["active_units"] == 2
    assert history.history["active_units"] == [2] and history.history["kl"][0] > 0  # a VAE's measures reach History too


def test_images_left_in_0_255_are_flagged_and_nothing_else_is_claimed():
    _, watch, _ = train_dense(255.0, seed=0)
    assert [p.code for p in watch.problems] == ["input_range"]
    assert watch.problems[0].evidence == {"data_min": 0.0, "data_max": 255.0}
    _, twin, _ = train_dense(1.0, seed=0)
    assert twin.problems == []


@pytest.mark.parametrize("loss, expected", [("mse", ["dark_output"]), ("binary_crossentropy", [])])
def test_on_jax_too(loss, expected):
    script = Path(__file__).with_name("failures.py")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, script, "conv", loss, "0"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax"
    assert [
        code for code in result["problems"] if code != "saturated_wrong"
    ] == expected  # on its way to the lock, saturation may come first
    assert {"output_mean", "saturated_wrong", "logit_grad", "spread"} <= set(result["logged"])


@pytest.mark.parametrize("steps_per_execution, probed", [(1, [25, 50, 75]), (10, [30, 50, 80])])
def test_probes_fall_on_the_right_steps_when_keras_runs_steps_in_chunks(steps_per_execution, probed):
    """Keras calls on_train_batch_end once per chunk of `steps_per_execution` steps: with chunks of
    10, the probes every 25 steps fall at the first chunk end at or after 25, 50 and 75 (30, 50,
    80), and the epoch ends at step 80 (80 batches of 25 of the 2,000 images)."""
    import keras
    from failures import dense, mnist

    from autoencoders import DiagnosticsCallback

    x, probe = mnist(2000)
    model = dense()
    model.compile(optimizer="adam", loss="binary_crossentropy", steps_per_execution=steps_per_execution)
    watch = DiagnosticsCallback(probe.reshape(len(probe), 784), every_steps=25, print_fn=None)
    x = x.reshape(len(x), 784)
    model.fit(x, x, epochs=2, batch_size=25, verbose=0, callbacks=[watch, keras.callbacks.Callback()])
    assert [m["step"] for m in watch.measured if not m["epoch_end"]] == probed  # the second epoch is not probed mid-way
    assert [m["step"] for m in watch.measured if m["epoch_end"]] == [80, 160]


def test_a_model_that_outputs_logits_is_read_through_a_sigmoid():
    """A linear output trained with BinaryCrossentropy(from_logits=True): the callback applies the
    sigmoid itself, so the probe's outputs are probabilities (an untrained model's near 0.5, where
    its raw logits are near 0)."""
    import keras
    from failures import mnist

    from autoencoders import DiagnosticsCallback

    x, probe = mnist(256)
    inputs = keras.Input((784,))
    model = keras.Model(inputs, keras.layers.Dense(784)(keras.layers.Dense(32, activation="relu")(inputs)))
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    watch = DiagnosticsCallback(probe.reshape(len(probe), 784), every_steps=None, print_fn=None)
    model.fit(x.reshape(len(x), 784), x.reshape(len(x), 784), epochs=1, batch_size=256, verbose=0, callbacks=[watch])
    assert watch.from_logits and watch.loss == "bce"
    assert 0.3 < watch.measured[-1]["output_mean"] < 0.7
