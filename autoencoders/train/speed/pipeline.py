"""Input pipelines for Keras on TensorFlow that end without waiting.

Keras wraps numpy arrays in a `tf.data` pipeline with autotuning on (`prefetch(AUTOTUNE)`), and so
did our training batches. Autotuning runs in a thread whose optimisation rounds grow further
apart the longer an iterator lives, and deleting the iterator waits for the next round. In the
study's committed runs (2 CPU cores) `fit` returned up to 61 s after its last epoch had ended,
30-44% of the full-length runs of each model waited over 5 s, 8-28% on top of their epochs' time;
and a dense model's reconstruction of the 10,000 test images took twice as long
(benchmarks/README.md). Our pipelines only slice arrays held in memory, so a
fixed prefetch of two batches feeds the model as fast, and every batch is the same: the same
bits come out (tests/train/test_pipeline.py, and the runs' histories in benchmarks/README.md).

Benchmark that justifies it: `benchmarks/bench_pipeline.py` (fixed prefetch against autotuning).
"""

from __future__ import annotations

import numpy as np

from autoencoders.data.loading import BYTE_MAX
from autoencoders.data.mapped import MappedImages


def without_autotune(dataset):
    """`dataset` with a fixed prefetch of two batches and tf.data's autotuning off."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(2).with_options(options)


def epoch_order(n: int, seed: int, epoch):
    """The order of rows 0..n-1 in one training epoch: a stateless shuffle by (seed, epoch) alone,
    so a resumed run sees exactly the batches the uninterrupted run would have seen."""
    import tensorflow as tf

    return tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))


def in_batches(arrays: np.ndarray | tuple[np.ndarray, ...], batch_size: int):
    """`arrays` (one array, or a tuple of arrays of the same length) in order, in batches, for
    `predict`, `evaluate` or `validation_data`: a pipeline `without_autotune` on TensorFlow, the
    arrays themselves on other backends (Keras batches them; pass it `batch_size` too).
    Memory-mapped images (`autoencoders.data.mapped`) are read a batch at a time, never whole."""
    import keras  # here, not at the top: importing Keras runs `autoencoders`' hook, which imports the models, which import this

    parts = arrays if isinstance(arrays, tuple) else (arrays,)
    if any(isinstance(part, MappedImages) for part in parts):
        if keras.backend.backend() != "tensorflow":
            return row_batches(arrays, batch_size)
        import tensorflow as tf

        return gathered(arrays, tf.data.Dataset.range(len(parts[0])).batch(batch_size))
    if keras.backend.backend() != "tensorflow":
        return arrays
    import tensorflow as tf

    return without_autotune(tf.data.Dataset.from_tensor_slices(arrays).batch(batch_size))


def gathered(arrays: np.ndarray | tuple[np.ndarray, ...], rows):
    """The batches of `arrays` (one array or a tuple) at the row numbers that the `tf.data`
    pipeline `rows` gives, read with numpy in the pipeline's thread: for memory-mapped images,
    whose rows are read from disk and scaled as each batch is needed."""
    import tensorflow as tf

    parts = arrays if isinstance(arrays, tuple) else (arrays,)
    distinct = [
        part for i, part in enumerate(parts) if all(part is not other for other in parts[:i])
    ]  # targets that are the images: read once
    which = [next(i for i, d in enumerate(distinct) if d is part) for part in parts]
    # mapped images cross into TensorFlow as their stored bytes and are scaled there: a quarter of
    # the copying, and x / 255 is one correctly rounded float32 division in numpy and in TensorFlow alike
    stored = [tf.as_dtype(part.raw.dtype if isinstance(part, MappedImages) else np.float32) for part in distinct]

    def read(r):
        return tuple(part.raw[r] if isinstance(part, MappedImages) else np.asarray(part[r], np.float32) for part in distinct)

    def batch(r):
        read_parts = tf.numpy_function(read, [r], stored, stateful=False)
        scaled = [tf.cast(x, tf.float32) / tf.constant(BYTE_MAX, tf.float32) if x.dtype == tf.uint8 else x for x in read_parts]
        out = tuple(tf.ensure_shape(scaled[i], (None, *part.shape[1:])) for i, part in zip(which, parts))
        return out if isinstance(arrays, tuple) else out[0]

    return without_autotune(rows.map(batch))


def row_batches(arrays, batch_size: int):
    """Batches of `arrays` (one array or a tuple) in order as a `keras.utils.PyDataset`, for
    memory-mapped images on backends other than TensorFlow."""
    import keras

    parts = arrays if isinstance(arrays, tuple) else (arrays,)

    class RowBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()

        def __len__(self):
            return -(-len(parts[0]) // batch_size)

        def __getitem__(self, index):
            rows = slice(index * batch_size, (index + 1) * batch_size)
            out = tuple(np.asarray(part[rows], np.float32) for part in parts)
            return out if isinstance(arrays, tuple) else out[0]

    return RowBatches()


def evaluate_arguments(x: np.ndarray, t: np.ndarray, batch_size: int) -> tuple:
    """`evaluate`'s x and y for images `x` and targets `t`: a pipeline of (image, target) batches
    and None on TensorFlow, the two arrays on other backends (a tuple as x would be two inputs)."""
    batches = in_batches((x, t), batch_size)
    return (x, t) if isinstance(batches, tuple) else (batches, None)
