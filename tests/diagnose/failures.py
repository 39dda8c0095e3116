"""The failures people meet, reproduced in plain Keras (not the suite's training path), and their
healthy twins: what the diagnosis tests train. Runnable as a script, so a test can train one under
another backend: `KERAS_BACKEND=jax python tests/diagnose/failures.py conv mse 0` prints the
problem codes the callback said and the names of the measures it logged, as JSON."""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers, ops  # noqa: E402

from autoencoders import DiagnosticsCallback  # noqa: E402
from autoencoders.data.loading import load_dataset  # noqa: E402

TRAIN_IMAGES, PROBE_IMAGES = 12000, 1000


def mnist(n: int = TRAIN_IMAGES):
    data = load_dataset("mnist")
    return np.asarray(data.x_train[:n]), np.asarray(data.x_test[:PROBE_IMAGES])  # float32, as a plain script has them


def blog_conv() -> keras.Model:
    """The blog's convolutional autoencoder, as the post wrote it (channels last)."""
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(16, 3, activation="relu", padding="same")(inputs)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
    x = layers.UpSampling2D(2)(x)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
    x = layers.UpSampling2D(2)(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    x = layers.UpSampling2D(2)(x)
    return keras.Model(inputs, layers.Conv2D(1, 3, activation="sigmoid", padding="same")(x))


def dense() -> keras.Model:
    inputs = keras.Input((784,))
    return keras.Model(inputs, layers.Dense(784, activation="sigmoid")(layers.Dense(32, activation="relu")(inputs)))


def train_conv(loss: str, seed: int, **callback):
    """The blog's conv autoencoder, Adam at Keras's default rate, one epoch (with MSE it locks dark
    in 19 of the study's 20 full-MNIST runs)."""
    keras.utils.set_random_seed(seed)
    x, probe = mnist()
    model = blog_conv()
    model.compile(optimizer="adam", loss=loss)
    watch = DiagnosticsCallback(probe, print_fn=None, **callback)
    history = model.fit(x, x, epochs=1, batch_size=128, verbose=0, callbacks=[watch])
    return model, watch, history


def train_dense(scale: float, seed: int, epochs: int = 2):
    """A dense autoencoder with BCE on images left in 0-255 (scale 255) or scaled to [0, 1]."""
    keras.utils.set_random_seed(seed)
    x, probe = mnist()
    x, probe = x.reshape(len(x), 784) * np.float32(scale), probe.reshape(len(probe), 784) * np.float32(scale)
    model = dense()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    watch = DiagnosticsCallback(probe, print_fn=None)
    history = model.fit(x, x, epochs=epochs, batch_size=256, verbose=0, callbacks=[watch])
    return model, watch, history


class Sampling(layers.Layer):
    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        return z_mean + ops.exp(0.5 * z_log_var) * keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)


class VAE(keras.Model):
    """The keras-io VAE example's shape (encoder giving z_mean, z_log_var, z; a custom train_step),
    with the reconstruction averaged over the pixels ('mean', the failure of keras PR #3383) or
    summed over them ('sum')."""

    def __init__(self, reduction: str, seed: int, **kwargs):
        super().__init__(**kwargs)
        inputs = keras.Input((28, 28, 1))
        h = layers.Dense(64, activation="relu")(layers.Flatten()(inputs))
        z_mean, z_log_var = layers.Dense(2)(h), layers.Dense(2)(h)
        self.encoder = keras.Model(inputs, [z_mean, z_log_var, Sampling(seed)([z_mean, z_log_var])])
        code = keras.Input((2,))
        out = layers.Reshape((28, 28, 1))(layers.Dense(784, activation="sigmoid")(layers.Dense(64, activation="relu")(code)))
        self.decoder = keras.Model(code, out)
        self.reduction = reduction
        self.tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.tracker]

    def train_step(self, data):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            bce = keras.losses.binary_crossentropy(data, self.decoder(z))  # per pixel
            reconstruction = ops.mean(bce) if self.reduction == "mean" else ops.mean(ops.sum(bce, axis=(1, 2)))
            kl = ops.mean(ops.sum(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1))
            loss = reconstruction + kl
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.trainable_weights), self.trainable_weights))
        self.tracker.update_state(loss)
        return {"loss": self.tracker.result()}


def train_vae(reduction: str, seed: int):
    keras.utils.set_random_seed(seed)
    x, probe = mnist()
    model = VAE(reduction, seed)
    model.compile(optimizer="adam")
    watch = DiagnosticsCallback(probe, print_fn=None, loss="bce")
    history = model.fit(x, epochs=1, batch_size=128, verbose=0, callbacks=[watch])
    return model, watch, history


if __name__ == "__main__":
    kind, loss, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    _, watch, history = train_conv(loss, seed) if kind == "conv" else train_dense(float(loss), seed)
    print(json.dumps({"backend": keras.backend.backend(), "problems": [p.code for p in watch.problems], "logged": sorted(history.history)}))
