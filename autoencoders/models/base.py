"""The two model classes every architecture is built from.

Encoder and decoder are separate functional `keras.Model`s (as in the keras-io examples) so a
user can encode, decode and plot codes directly; the wrapper only chains them. Both classes are
registered for `.keras` saving, so `keras.saving.load_model` gives back the same object with its
`encoder` and `decoder` (what keras-io issues #38, #509 and #1061 report as broken for VAEs).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from autoencoders.models import (
    losses,  # the module, not its names: `import autoencoders.models.losses` imports Keras, whose hook imports this
)
from autoencoders.train.speed.pipeline import in_batches

# Layers whose outputs go straight into the loss (the sigmoid output and what follows it, a
# penalised code) compute in float32 under every dtype policy, as Keras's mixed-precision guide
# advises for a model's last layer; the losses themselves are float32 (`autoencoders.models.losses`).
# In bfloat16, with 8 bits of mantissa, sigmoid(z) rounds to exactly 1 from z of about 5.5 on, and
# its gradient p(1 - p) to 0: the very saturation the study measures would come from the number
# format instead of from the loss.
LOSS_DTYPE = "float32"
#: the most bytes of reconstructions `Autoencoder.in_chunks` holds at once
CHUNK_BYTES = 256 << 20


@keras.saving.register_keras_serializable(package="autoencoders")
class Autoencoder(keras.Model):
    """x -> encoder -> code -> decoder -> reconstruction (images in [0, 1]).

    `clip_to_data_range`: the decoder's output can leave [0, 1] (a linear head,
    `autoencoders.models.heads`), so `decode` and everything built on it (evaluation, figures)
    clip it to the data's range; training sees the raw output."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, clip_to_data_range: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.clip_to_data_range = bool(clip_to_data_range)
        self.built = True  # both parts are built functional models: nothing left to build

    def call(self, inputs, training=False):
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def encoder_outputs(self, x, batch_size: int = 2048):
        """What the encoder returns for each image (the code; a VAE's z_mean and z_log_var), fed
        through `pipeline.in_batches` so the pass ends without waiting for tf.data's autotuning."""
        return self.encoder.predict(in_batches(x, batch_size), batch_size=batch_size, verbose=0)

    def code_of(self, outputs):
        """The code among the encoder's outputs, as float32 whatever the policy (for a VAE, the
        posterior mean)."""
        return np.asarray(outputs, dtype=np.float32)

    def encode(self, x, batch_size: int = 2048):
        """The code of each image (for a VAE, the posterior mean)."""
        return self.code_of(self.encoder_outputs(x, batch_size))

    def decode(self, code, batch_size: int = 2048):
        """Images from codes, as float32 whatever the policy, clipped to [0, 1] where the head can
        leave that range."""
        images = np.asarray(self.decoder.predict(in_batches(code, batch_size), batch_size=batch_size, verbose=0), dtype=np.float32)
        return np.clip(images, 0.0, 1.0, out=images) if self.clip_to_data_range else images

    def reconstruct(self, x, batch_size: int = 2048):
        """Deterministic reconstructions, float32: what every evaluation and figure uses (for a
        VAE, the posterior mean decoded: no sampling noise)."""
        return self.decode(self.encode(x, batch_size), batch_size)

    def in_chunks(self, x, batch_size: int = 2048):
        """The set `x` streamed through the model in chunks of whole batches: (rows, the encoder's
        outputs, the float32 reconstructions) per chunk. A chunk is as many batches as fit in
        `CHUNK_BYTES` of reconstructions (at least one, and batches no larger than that), so a test
        set of MNIST's size is one chunk and one of large images held on disk
        (`autoencoders.data.mapped`) never sits in memory whole; whole batches keep each image's
        reconstruction what one pass would give."""
        per_image = 4 * int(np.prod(x.shape[1:]))
        batch_size = min(batch_size, max(1, CHUNK_BYTES // per_image))  # large images: a batch within CHUNK_BYTES too
        rows_per_chunk = max(1, CHUNK_BYTES // (per_image * batch_size)) * batch_size
        for start in range(0, len(x), rows_per_chunk):
            rows = slice(start, min(start + rows_per_chunk, len(x)))
            outputs = self.encoder_outputs(x[rows], batch_size)
            yield rows, outputs, self.decode(self.code_of(outputs), batch_size)

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "clip_to_data_range": self.clip_to_data_range,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


@keras.saving.register_keras_serializable(package="autoencoders")
class VAE(Autoencoder):
    """Variational autoencoder: the encoder returns (z_mean, z_log_var), z_log_var = log(sigma^2).

    The KL term is added with `add_loss`, so Keras's own train and test steps (and therefore
    validation) see reconstruction + KL with no custom step, on any backend; the mean KL per
    image is tracked as the `kl` metric so history.csv shows both terms.
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, seed: int = 0, **kwargs):
        super().__init__(encoder, decoder, **kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.kl_tracker = keras.metrics.Mean(name="kl")

    def call(self, inputs, training=False):
        z_mean, z_log_var = self.encoder(inputs, training=training)
        eps = keras.random.normal(ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator)
        z = z_mean + ops.exp(0.5 * z_log_var) * eps
        # the KL in float32, as the reconstruction loss, whatever the policy (no-op casts in float32)
        self.add_loss(ops.mean(losses.kl_divergence(ops.cast(z_mean, "float32"), ops.cast(z_log_var, "float32"))))
        return self.decoder(z, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras's loss (reconstruction plus the KL added in `call`), tracking the KL as the `kl`
        metric here and not in `call`: JAX lets metrics change only in this stateless step. Each
        batch's mean KL counts once per image, so the epoch's `kl` is the mean over images."""
        for mean_kl in self.losses:  # the KL of `call` (the VAE's layers add no other loss); none while Keras builds the step
            self.kl_tracker.update_state(mean_kl, sample_weight=ops.cast(ops.shape(x)[0], mean_kl.dtype))
        return super().compute_loss(x, y, y_pred, sample_weight, training)

    def code_of(self, outputs):
        """The posterior mean, of (z_mean, z_log_var, ...)."""
        return np.asarray(outputs[0], dtype=np.float32)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
