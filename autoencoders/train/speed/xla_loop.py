"""A chunk of training steps as one XLA program, for the models whose step XLA compiles on CPU.

With `steps_per_execution` Keras on TensorFlow still runs each step as its own XLA call, inside
a graph loop that pulls one batch at a time from a `tf.data` iterator. For the small dense
models and the dense VAE that call is a fifth to two fifths of the step (one thread, full MNIST:
dense 2.37 ms per step in Keras's loop against 1.90 here, deep dense 5.80 against 4.73, the VAE
0.97 against 0.59; benchmarks/bench_xla_loop.py). Here the pipeline
hands over a chunk's row numbers (`epoch_chunks`) and one XLA program gathers each batch from
the training arrays and calls the model's own `train_step`, chunk-long. The steps, their batches
and their order are the ones Keras's loop would run, so the same bits come out
(tests/train/test_xla_loop.py). Two programs are compiled, as Keras compiles two: the loop over full
batches, and the epoch's short last batch.

Only where it was measured: TensorFlow, the step XLA-compiled, on CPU, more than one step per
call (`worthwhile`). Elsewhere Keras's own train function is kept.
"""

from __future__ import annotations

import keras
import numpy as np

from autoencoders.data.mapped import is_mapped
from autoencoders.train.speed.pipeline import epoch_order, gathered, without_autotune


class StepsInOneCall:
    """`model.train_function` for the pipeline of `epoch_chunks`: each call trains on one chunk of
    up to `model.steps_per_execution` batches of `batch_size` rows of the arrays given to `bind`."""

    def __init__(self, model: keras.Model, batch_size: int):
        import tensorflow as tf

        self.model = model
        self.batch_size = batch_size
        self.images = self.targets = None
        self.streamed = False  # each chunk's rows arrive already gathered (`streamed_chunks`)
        self.full_batches = tf.function(self._full_batches, jit_compile=True)
        self.one_batch = tf.function(self._one_batch, jit_compile=True)

    def bind(self, images: np.ndarray, targets: np.ndarray) -> None:
        """The training arrays the row numbers point into; targets that are the images (every
        model but the denoising one) are gathered once per batch, not twice."""
        import tensorflow as tf

        self.streamed = is_mapped(images)
        if self.streamed:  # images read from disk: the pipeline gathers each chunk (`streamed_chunks`)
            self.images = self.targets = None
            return
        self.images = tf.constant(images)
        self.targets = None if targets is images else tf.constant(targets)

    def release(self) -> None:
        """Let go of the training arrays: an idle compiled model kept for a later run
        (`model_cache`) should not hold a dataset in memory."""
        self.images = self.targets = None
        self.streamed = False

    def _train_on(self, images, targets, rows) -> None:
        import tensorflow as tf

        batch = tf.gather(images, rows)
        self.model.train_step((batch, batch if targets is None else tf.gather(targets, rows)))

    def _full_batches(self, images, targets, rows, count):
        import tensorflow as tf

        batches = tf.reshape(rows, (-1, self.batch_size))

        def step(index):
            self._train_on(images, targets, batches[index])
            return (index + 1,)

        tf.while_loop(lambda index: index < count, step, (tf.constant(0),))
        return self.model.get_metrics_result()

    def _one_batch(self, images, targets, rows):
        self._train_on(images, targets, rows)
        return self.model.get_metrics_result()

    def __call__(self, iterator):
        if self.images is None and not self.streamed:
            raise RuntimeError("StepsInOneCall has no training arrays: build fit's data with training.training_batches")
        import tensorflow as tf

        if self.streamed:  # the chunk's images (and targets), gathered in its order: its rows are 0, 1, ...
            chunk, used = iterator.get_next()
            images, targets = chunk if isinstance(chunk, tuple) else (chunk, None)
            rows = tf.range(tf.shape(images)[0])
        else:
            (rows, used), images, targets = iterator.get_next(), self.images, self.targets
        used = int(used)
        full = used // self.batch_size
        logs = self.full_batches(images, targets, rows, tf.constant(full))  # a tensor: one program for every count
        if used > full * self.batch_size:  # the epoch's short last batch
            logs = self.one_batch(images, targets, rows[full * self.batch_size : used])
        return logs


def epoch_chunks(n: int, batch_size: int, steps_per_call: int, seed: int, first_epoch: int, epochs: int):
    """Epochs first_epoch..epochs-1 of `n` rows in `epoch_order`, as (row numbers, how many are
    used) per chunk of `steps_per_call` batches: an epoch's last chunk is padded to the same
    length, so every chunk fits one compiled program."""
    import tensorflow as tf

    rows_per_call = batch_size * steps_per_call

    def one_epoch(epoch):
        return tf.data.Dataset.from_tensor_slices(epoch_order(n, seed, epoch)).batch(rows_per_call)

    def padded(rows):
        used = tf.shape(rows)[0]
        return tf.pad(rows, [[0, rows_per_call - used]]), used

    return without_autotune(tf.data.Dataset.range(first_epoch, epochs).flat_map(one_epoch).map(padded))


def streamed_chunks(x, t, batch_size: int, steps_per_call: int, seed: int, first_epoch: int, epochs: int):
    """`epoch_chunks` for memory-mapped images (`autoencoders.data.mapped`): each chunk's rows read
    from disk in the pipeline's thread (`gathered`, scaled as every mapped batch is) and handed over
    with how many are used, so the one-program loop trains on data it cannot hold."""
    import tensorflow as tf

    chunks = epoch_chunks(len(x), batch_size, steps_per_call, seed, first_epoch, epochs)
    images = gathered(x if t is x else (x, t), chunks.map(lambda rows, used: rows))
    return without_autotune(tf.data.Dataset.zip((images, chunks.map(lambda rows, used: used))))


def worthwhile(model: keras.Model, gpu: bool) -> bool:
    """Where the one-program loop was measured faster: TensorFlow on CPU, the step XLA-compiled
    (`model.jit_compile` once compiled), more than one step per call."""
    return keras.backend.backend() == "tensorflow" and not gpu and model.jit_compile is True and model.steps_per_execution > 1
