"""The diagnosis's measures and rules against values worked out by hand."""

import numpy as np
import pytest

from autoencoders.diagnose import measures as M
from autoencoders.diagnose.problems import KINDS, find_problems


def test_logit_gradients_by_hand():
    # p = 0.5, y = 1: BCE p - y = -0.5; MSE 2(p - y)p(1 - p) = 2(-0.5)(0.25) = -0.25; MAE sign(p - y)p(1 - p) = -0.25
    assert M.logit_gradient("bce", 0.5, 1.0) == -0.5
    assert M.logit_gradient("mse", 0.5, 1.0) == -0.25
    assert M.logit_gradient("mae", 0.5, 1.0) == -0.25
    # saturated on the wrong side (p = 1e-4, y = 1): BCE keeps almost all of it, MSE almost none
    assert M.logit_gradient("bce", 1e-4, 1.0) == pytest.approx(-0.9999)
    assert abs(M.logit_gradient("mse", 1e-4, 1.0)) < 2e-4
    with pytest.raises(ValueError, match="no closed-form"):
        M.logit_gradient("gaussian", 0.5, 1.0)


def test_the_closed_form_is_the_derivative_of_keras_own_losses():
    """Against autodiff through Keras's binary_crossentropy and mean_squared_error on logits."""
    import keras
    import tensorflow as tf

    z = tf.constant(np.linspace(-6, 6, 13, dtype=np.float32).reshape(1, 13))
    y = tf.constant(np.linspace(0, 1, 13, dtype=np.float32).reshape(1, 13))
    for name, loss in (("bce", keras.losses.binary_crossentropy), ("mse", keras.losses.mean_squared_error)):
        with tf.GradientTape() as tape:
            tape.watch(z)
            total = 13 * loss(y, tf.sigmoid(z))  # Keras averages over the last axis: times 13 is the sum
        p = tf.sigmoid(z).numpy()
        np.testing.assert_allclose(tape.gradient(total, z).numpy(), M.logit_gradient(name, p, y.numpy()), atol=2e-5)


def test_saturation_spread_and_dark_share_by_hand():
    y = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]], np.float32)
    p = np.array([[0.0, 0.0, 0.995, 0.5], [1.0, 0.005, 0.3, 0.0]], np.float32)
    # wrong side and saturated: (0, 1) p=0 y=1 only; (1, 2) p=0.3 is not saturated
    assert M.saturated_wrong(y, p) == 1 / 8
    assert M.spread(y, np.repeat(p[:1], 2, axis=0)) == 0.0  # one output for every input
    assert M.spread(y, y) == 1.0
    assert M.dark_output_mse(y) == 0.5 and M.bright_output_mse(y) == 0.5
    measured = M.output_measures(y, np.zeros_like(y), "mse")
    assert measured["dark_share"] == 1.0 and measured["output_mean"] == 0.0 and measured["logit_gradient"] == 0.0


def test_measures_from_cached_targets_are_those_of_the_targets_themselves():
    """The callback measures each probe's targets once (`target_measures`); a cache computed for
    other targets must not leak in, and the cached path gives the same numbers as the direct one."""
    y = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]], np.float32)
    p = np.array([[0.0, 0.0, 0.995, 0.5], [1.0, 0.005, 0.3, 0.0]], np.float32)
    cached = M.output_measures(y, p, "bce", M.target_measures(y))
    assert cached == M.output_measures(y, p, "bce")
    # by hand: squared errors 0,1,0.000025,0.25 and 0,0.000025,0.49,0 over 8 pixels; mean y 0.5, mean y² 0.5
    assert cached["pixel_mse"] == pytest.approx((1 + 0.25 + 0.49 + 2 * 0.000025) / 8)
    assert cached["target_mean"] == 0.5 and cached["dark_share"] == pytest.approx(cached["pixel_mse"] / 0.5)
    other = M.output_measures(y, p, "bce", M.target_measures(1 - y))
    assert other["target_mean"] == 0.5 and other["pixel_mse"] != cached["pixel_mse"]


def test_kl_and_active_units_by_hand():
    z_mean = np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.05]])
    z_log_var = np.zeros((2, 3))
    # KL of N(m, 1) from N(0, 1) is m²/2: dims 0 (m = 0), 1 (m = ±1), 2 (m = 0, 0.05)
    np.testing.assert_allclose(M.kl_per_dimension(z_mean, z_log_var), [0.0, 0.5, 0.000625])
    assert M.active_units(z_mean) == 1  # variances 0, 1, 0.000625: only the second above 0.01


def locked_dark_measures(**changes):
    return {
        "output_mean": 0.0005,
        "target_mean": 0.13,
        "dark_share": 1.0,
        "bright_share": 0.2,
        "spread": 0.01,
        "saturated_wrong": 0.1,
    } | changes


def test_the_rules_find_a_lock_and_only_a_lock():
    assert [p.code for p in find_problems(locked_dark_measures())] == ["dark_output"]
    # an untrained model's outputs near 0.5 are no better than all-dark, but are not locked
    assert "dark_output" not in [p.code for p in find_problems(locked_dark_measures(output_mean=0.5, dark_share=2.0))]
    # within 1% of the all-dark output's MSE is locked (the study's collapse rule), 2% is not
    assert [p.code for p in find_problems(locked_dark_measures(dark_share=0.99))] == ["dark_output"]
    assert "dark_output" not in [p.code for p in find_problems(locked_dark_measures(dark_share=0.98, spread=0.5))]


def test_constant_output_and_kl_collapse_are_judged_at_epoch_ends():
    healthy = {"output_mean": 0.12, "target_mean": 0.13, "dark_share": 0.3, "bright_share": 0.2, "saturated_wrong": 0.0}
    assert find_problems(healthy | {"spread": 0.01, "epoch_end": False, "active_units": 0}) == []
    assert [p.code for p in find_problems(healthy | {"spread": 0.01, "epoch_end": True})] == ["constant_output"]
    collapsed = find_problems(healthy | {"spread": 0.01, "epoch_end": True, "active_units": 0, "latent_dim": 2, "kl": 1e-6})
    assert [p.code for p in collapsed] == ["kl_collapse"]  # the cause, not also its symptom


def test_every_problem_message_fills_in_its_numbers():
    measures = locked_dark_measures(
        data_min=0.0, data_max=255.0, bright_share=1.0, output_mean=0.9995, target_mean=0.13, active_units=0, latent_dim=2, kl=1e-6,
        logit_gradient=1e-5, bce_logit_gradient=0.2, loss="mse", step=50, epoch_end=True,
    )  # fmt: skip
    for code in KINDS:
        from autoencoders.diagnose.problems import words

        text = words(code, measures)
        assert "{" not in text and "n/a" not in text, (code, text)
    assert "after 50 steps" in words("dark_output", measures)
    assert "MSE's logit gradient 1.0e-05 (BCE's would be 0.2)" in words("dark_output", measures)


def test_the_callback_is_public_and_import_autoencoders_stays_free_of_keras():
    import subprocess
    import sys

    code = (
        "import sys, autoencoders; before = 'keras' in sys.modules or 'tensorflow' in sys.modules\n"
        "from autoencoders import DiagnosticsCallback\n"
        "print(before, DiagnosticsCallback.__module__, 'keras' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", "autoencoders.diagnose.callback", "True"]
