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

from autoencoders.data.loading import BYTE_MAX
from autoencoders.data.mapped import is_mapped, on_disk
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
        self.reads_per_call = 1  # streamed: the pieces one call's chunk arrives in
        self.full_batches = tf.function(self._full_batches, jit_compile=True)
        self.one_batch = tf.function(self._one_batch, jit_compile=True)

    def bind(self, images: np.ndarray, targets: np.ndarray) -> None:
        """The training arrays the row numbers point into; targets that are the images (every
        model but the denoising one) are gathered once per batch, not twice."""
        self.streamed = streams(images, targets)
        if self.streamed:  # images read from disk: the pipeline gathers each chunk (`streamed_chunks`)
            self.images = self.targets = None
            self.reads_per_call = -(
                -self.model.steps_per_execution // steps_per_read(images, targets, self.batch_size, self.model.steps_per_execution)
            )
            return
        self.images = bound(images)
        self.targets = None if targets is images else bound(targets)

    def release(self) -> None:
        """Let go of the training arrays: an idle compiled model kept for a later run
        (`model_cache`) should not hold a dataset in memory."""
        self.images = self.targets = None
        self.streamed = False

    def _train_on(self, images, targets, rows) -> None:
        batch = rows_of(images, rows)
        self.model.train_step((batch, batch if targets is None else rows_of(targets, rows)))

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

        if not self.streamed:
            rows, used = iterator.get_next()
            return self.train_chunk(self.images, self.targets, rows, int(used))
        for _ in range(self.reads_per_call):  # the call's batches in pieces, each gathered in its order
            chunk, used = iterator.get_next()
            images, targets = chunk if isinstance(chunk, tuple) else (chunk, None)
            logs = self.train_chunk(images, targets, tf.range(tf.shape(images)[0]), int(used))
        return logs

    def train_chunk(self, images, targets, rows, used: int):
        """The first `used` of `rows` as full batches in one program, then a short last batch."""
        import tensorflow as tf

        full = used // self.batch_size
        logs = self.full_batches(images, targets, rows, tf.constant(full))  # a tensor: one program for every count
        if used > full * self.batch_size:  # the epoch's short last batch
            logs = self.one_batch(images, targets, rows[full * self.batch_size : used])
        return logs


def streams(images, targets) -> bool:
    """Whether a chunk's rows are read by the pipeline (`streamed_chunks`): for images on disk;
    arrays in memory, as floats or as bytes, are bound to the program once (`bound`)."""
    return on_disk(images) or on_disk(targets)


def bound(images):
    """Training images as the program holds them: float arrays as they are, images held as bytes in
    memory (`mapped.held`: the built-in datasets, a user's uint8 files) as those bytes, a quarter of
    the float32, with the divisor that scales them: handed to the program as an argument, not
    written into it as a constant, since XLA (as TensorFlow's graphs and JAX do) computes
    x / constant as x * (1 / constant), which differs from `to_float32`'s division in 126 of the
    256 values, while a division by an argument is the correctly rounded one
    (tests/train/test_xla_loop.py)."""
    import tensorflow as tf

    if is_mapped(images):
        return tf.constant(images.raw), tf.constant(BYTE_MAX, tf.float32)
    return tf.constant(images)


def rows_of(images, rows):
    """The float32 batch at `rows` of what `bound` made (or of a streamed chunk)."""
    import tensorflow as tf

    if isinstance(images, tuple):
        stored, scale = images
        return tf.cast(tf.gather(stored, rows), tf.float32) / scale
    return tf.gather(images, rows)


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


#: streamed chunks (memory-mapped images) are read in pieces of at most this many bytes of float32
#: images and targets, so that a call of many steps of large images does not hold them all at once.
#: Measured on 128x128x3 patches (benchmarks/README.md, issue 34): 256 MiB pieces made a mapped
#: epoch 1.14x the loaded one, one-batch pieces of 64 MiB 1.75x.
STREAMED_READ_BYTES = 256 * 2**20


def steps_per_read(x, t, batch_size: int, steps_per_call: int) -> int:
    """How many of a call's batches of mapped images are read at once: as many as fit in
    `STREAMED_READ_BYTES` (at least one)."""
    per_batch = batch_size * 4 * int(np.prod(x.shape[1:])) * (1 if t is x else 2)
    return max(1, min(steps_per_call, STREAMED_READ_BYTES // per_batch))


def streamed_chunks(x, t, batch_size: int, steps_per_call: int, seed: int, first_epoch: int, epochs: int):
    """`epoch_chunks` for memory-mapped images (`autoencoders.data.mapped`): each chunk's rows read
    from disk in the pipeline's thread (`gathered`, scaled as every mapped batch is) in pieces of
    `steps_per_read` batches, each handed over with how many of its rows are used, so the
    one-program loop trains on data it cannot hold, a piece at a time."""
    import tensorflow as tf

    rows_per_read = batch_size * steps_per_read(x, t, batch_size, steps_per_call)
    reads = -(-batch_size * steps_per_call // rows_per_read)

    def pieces(rows, used):
        padded = tf.pad(rows, [[0, reads * rows_per_read - tf.shape(rows)[0]]])
        left = tf.clip_by_value(used - tf.range(reads) * rows_per_read, 0, rows_per_read)
        return tf.data.Dataset.from_tensor_slices((tf.reshape(padded, (reads, rows_per_read)), left))

    chunks = epoch_chunks(len(x), batch_size, steps_per_call, seed, first_epoch, epochs).flat_map(pieces)
    images = gathered(x if t is x else (x, t), chunks.map(lambda rows, used: rows))
    return without_autotune(tf.data.Dataset.zip((images, chunks.map(lambda rows, used: used))))


def worthwhile(model: keras.Model, gpu: bool) -> bool:
    """Where the one-program loop was measured faster: TensorFlow on CPU, the step XLA-compiled
    (`model.jit_compile` once compiled), more than one step per call."""
    return keras.backend.backend() == "tensorflow" and not gpu and model.jit_compile is True and model.steps_per_execution > 1
