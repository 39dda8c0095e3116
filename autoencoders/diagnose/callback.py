"""`DiagnosticsCallback`: the study's answer, watching anyone's Keras autoencoder while it trains.

    model.fit(x, x, epochs=10, callbacks=[DiagnosticsCallback(x_val)])

On a fixed probe of the validation images it measures (`autoencoders.diagnose.measures`) every
`every_steps` steps of the first epoch, when a lock sets in, and at every epoch end: the output's
mean against the data's, the wrong-side saturated share, the output-logit gradient under the
model's own loss, the outputs' spread across inputs and, for a VAE (a model with an `encoder`
returning z_mean, z_log_var, ...), the KL per latent dimension and the active units. Each problem
it finds (`autoencoders.diagnose.problems`) is said once, in plain words with its evidence and
what helps; `stop_on=("dark_output",)` stops training on it. The epoch-end measures go into `logs`,
so they reach History, CSVLogger and TensorBoard.

Any Keras 3 backend: the measures are numpy, the model is called eagerly, and on JAX the trained
state is synced back to the model before a probe mid-epoch (`jax_state_sync`). Its cost is measured
by `benchmarks/bench_diagnose.py`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import keras
import numpy as np

from autoencoders.diagnose.measures import active_units, kl_per_dimension, logit_gradient, output_measures, target_measures
from autoencoders.diagnose.problems import KINDS, Problem, find_problems

#: Keras's names for the losses the measures know in closed form
LOSS_NAMES = {
    "bce": "bce",
    "binary_crossentropy": "bce",
    "binarycrossentropy": "bce",
    "mse": "mse",
    "mean_squared_error": "mse",
    "meansquarederror": "mse",
    "mae": "mae",
    "mean_absolute_error": "mae",
    "meanabsoluteerror": "mae",
}
#: the epoch-end measures logged, by their name in `logs`
LOGGED = {
    "output_mean": "output_mean",
    "saturated_wrong": "saturated_wrong",
    "logit_gradient": "logit_grad",
    "spread": "spread",
    "active_units": "active_units",
    "kl": "kl",
}


def loss_name(loss: Any) -> tuple[str | None, bool]:
    """The closed-form name of a compiled loss (a string, a function or a Loss object) and whether
    it takes logits (`from_logits=True`)."""
    if loss is None:
        return None, False
    name = loss if isinstance(loss, str) else getattr(loss, "pixel_loss", None) or getattr(loss, "__name__", None) or type(loss).__name__
    return LOSS_NAMES.get(str(name).lower().replace(" ", "")), bool(getattr(loss, "from_logits", False))


class DiagnosticsCallback(keras.callbacks.Callback):
    """Watches an autoencoder train and says, once each, which of the study's failures it sees.

    validation_images: images in the range the model is fed (N, ...); the first `probe_size` are the probe
        (at epoch ends; within the first epoch its first `step_probe_size`, a quarter of the images to
        run, which saw every lock of benchmarks/bench_diagnose.py's early-warning runs).
    targets: what the model should output for them (default: the images themselves).
    every_steps: measure every this many steps of the first epoch (None: epoch ends only).
    loss: 'bce', 'mse' or 'mae' when the compiled loss does not say (e.g. a custom train_step).
    stop_on: problem codes that stop training (`model.stop_training`), e.g. ("dark_output",).
    print_fn: where the words go (default: stderr); None to keep quiet and read `.problems`.
    log: measure -> its name in `logs` at epoch ends (default LOGGED; the study's probe logs two).
    """

    def __init__(
        self,
        validation_images,
        targets=None,
        *,
        probe_size: int = 256,
        step_probe_size: int = 64,
        every_steps: int | None = 50,
        loss: str | None = None,
        stop_on: Iterable[str] = (),
        print_fn: Callable[[str], Any] | None = lambda text: print(text, file=sys.stderr),
        log: Mapping[str, str] = LOGGED,
    ):
        super().__init__()
        self.images = np.asarray(validation_images[:probe_size])
        self.targets = self.images if targets is None else np.asarray(targets[:probe_size])
        self.every_steps, self.loss, self.print_fn, self.log = every_steps, loss, print_fn, dict(log)
        self.stop_on = set(stop_on)
        unknown = self.stop_on - set(KINDS)
        if unknown:
            raise ValueError(f"stop_on: unknown problem codes {sorted(unknown)}; the codes are {', '.join(KINDS)}")
        self.step_probe_size = step_probe_size
        self.problems: list[Problem] = []
        # what the measures need of the fixed targets, by probe length: computed here, once, and not
        # while the model trains (2.7 ms, the median in benchmarks/README.md's DiagnosticsCallback table)
        self.target_cache = {n: target_measures(self.targets[:n]) for n in {len(self.targets), min(step_probe_size, len(self.targets))}}
        self.measured: list[dict[str, Any]] = []
        self.epoch, self.step, self.from_logits, self.out_of_range = 0, 0, False, False
        self.steps_before, self.next_probe = 0, every_steps

    def on_train_begin(self, logs=None):
        compiled = getattr(self.model, "loss", None)
        name, self.from_logits = loss_name(compiled)
        self.loss = self.loss or name
        self.out_of_range = bool(self.targets.min() < 0 or self.targets.max() > 1)
        self.report({"data_min": float(self.images.min()), "data_max": float(self.images.max())})

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.steps_before = epoch, self.step
        self.next_probe = self.every_steps

    def on_train_batch_end(self, batch, logs=None):
        """With `steps_per_execution` k > 1 Keras calls this once per k steps, with the last one's
        index: the step is read from `batch`, and a probe falls at the first call at or after each
        multiple of `every_steps`."""
        self.step = self.steps_before + batch + 1
        if self.epoch == 0 and self.every_steps and batch + 1 >= self.next_probe:
            self.next_probe = ((batch + 1) // self.every_steps + 1) * self.every_steps
            self.report(self.measure(epoch_end=False))

    def on_epoch_end(self, epoch, logs=None):
        measures = self.measure(epoch_end=True)
        self.report(measures)
        if logs is not None:
            logs.update({logged: measures[key] for key, logged in self.log.items() if key in measures})

    def outputs(self, n: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """The first `n` probe images' reconstructions in [0, 1], and a VAE's (z_mean, z_log_var)."""
        images = self.images[:n]
        if hasattr(self.model, "jax_state_sync"):  # JAX keeps the trained state apart until an epoch ends
            self.model.jax_state_sync()
        encoder, decoder = getattr(self.model, "encoder", None), getattr(self.model, "decoder", None)
        posterior = None
        if isinstance(encoder, keras.Model) and isinstance(decoder, keras.Model):
            code = encoder(images, training=False)
            if isinstance(code, (list, tuple)) and len(code) >= 2:
                posterior = tuple(keras.ops.convert_to_numpy(part) for part in code[:2])
                code = code[0]  # decode the posterior mean
            output = decoder(code, training=False)
        else:
            output = self.model(images, training=False)
        if isinstance(output, dict):
            output = next(iter(output.values()))
        if isinstance(output, (list, tuple)):
            output = next(part for part in output if tuple(part.shape[1:]) == self.targets.shape[1:])
        p = keras.ops.convert_to_numpy(keras.ops.sigmoid(output) if self.from_logits else output)
        return np.asarray(p, np.float32).reshape(len(images), *self.targets.shape[1:]), posterior

    def measure(self, epoch_end: bool) -> dict[str, Any]:
        p, posterior = self.outputs(len(self.images) if epoch_end else self.step_probe_size)
        target = self.target_cache[len(p)]
        measures = output_measures(target["y"], p, self.loss, target) | {
            "step": self.step,
            "epoch": self.epoch,
            "epoch_end": epoch_end,
            "loss": self.loss,
        }
        measures["bce_logit_gradient"] = (
            measures["logit_gradient"] if self.loss == "bce" else float(np.mean(np.abs(logit_gradient("bce", p, target["y64"]))))
        )
        if posterior is not None:
            per_dimension = kl_per_dimension(*posterior)
            measures |= {"active_units": active_units(posterior[0]), "latent_dim": len(per_dimension), "kl": float(per_dimension.sum())}
        self.measured.append(measures)
        return measures

    def report(self, measures: dict[str, Any]) -> None:
        """Say each problem once; stop training on those asked for. With targets outside [0, 1]
        only the input range is said: every other rule compares outputs in [0, 1] with them."""
        if self.out_of_range and "data_min" not in measures:
            return
        said = {problem.code for problem in self.problems}
        for problem in find_problems(measures):
            if problem.code in said:
                continue
            self.problems.append(problem)
            if self.print_fn is not None:
                self.print_fn(f"DiagnosticsCallback: {problem.message}")
            if problem.code in self.stop_on and self.model is not None:
                self.model.stop_training = True
