"""Config -> fitted model + a complete run folder.

The training path is plain `model.fit` with one batch pipeline and one callback of ours, on any
Keras backend: TensorFlow (a `tf.data` pipeline) or JAX (numpy batches; no TensorFlow needed, and
without it no TensorBoard logs). Two choices make a run deterministic and resumable without overhead:
- each epoch's shuffle is a stateless function of (seed, epoch), so a resumed run sees exactly
  the batches the uninterrupted run would have seen (the order differs between the two backends);
- at every epoch end the weights, optimizer state and sampling state go into one small .npz
  (milliseconds, unlike a full `.keras` save), and history.csv is rewritten atomically.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from autoencoders import config as C
from autoencoders import plugins
from autoencoders.data.loading import DataError, Dataset, PreparedData, load_dataset, prepare
from autoencoders.data.mapped import is_mapped
from autoencoders.diagnose.measures import SPREAD_BYTES, SPREAD_IMAGES, spread
from autoencoders.errors import raise_if_stopped
from autoencoders.evaluate.metrics import summarize_chunks
from autoencoders.models import VAE, Autoencoder, build_model
from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.models.heads import HEADS
from autoencoders.models.losses import PixelMetric, ReconstructionLoss
from autoencoders.train import device
from autoencoders.train import run_folder as runs
from autoencoders.train.speed import model_cache, xla_loop
from autoencoders.train.speed.pipeline import epoch_order, evaluate_arguments, gathered, in_batches, without_autotune

log = logging.getLogger(__name__)


class RunError(Exception):
    """A run folder that cannot be used as asked (exists, differs, nothing to resume)."""


def use_xla(cfg: C.ExperimentConfig, gpu: bool = False) -> bool | str:
    """'auto': with TensorFlow on CPU the arch's measured choice (XLA is a clear win for the small
    dense models and a clear loss for convolutions; benchmarks/README.md has the measurements);
    on a GPU, or on JAX (whose only fast path is XLA), where nothing else was measured, Keras's
    own default ('auto')."""
    choice = cfg.training.jit_compile
    if choice != "auto":
        return bool(choice)
    return "auto" if gpu or keras.backend.backend() != "tensorflow" else ARCHITECTURES[cfg.model.arch].xla_on_cpu


def resolve_input_shape(cfg: C.ExperimentConfig, dataset: Dataset) -> C.ExperimentConfig:
    """The config with `model.input_shape` taken from the data (the user's own files are the only
    place that says it); a shape given in the config must match the data."""
    shape = dataset.image_shape
    if cfg.model.input_shape is None:
        return C.replace(cfg, {"model.input_shape": list(shape)})
    if tuple(cfg.model.input_shape) != shape:
        raise DataError(
            f"model.input_shape = {list(cfg.model.input_shape)} but the images of {dataset.source} are {list(shape)}; "
            "leave model.input_shape out (null) to take the data's"
        )
    return cfg


def prepare_data(cfg: C.ExperimentConfig, dataset: Dataset) -> PreparedData:
    d = cfg.dataset
    return prepare(dataset, train_size=d.train_size, test_size=d.test_size, noise_factor=d.noise_factor, binarize=d.binarize, seed=cfg.seed)


def load_data(cfg: C.ExperimentConfig) -> PreparedData:
    """The config's data, subset, noised and binarized as training sees it."""
    return prepare_data(cfg, load_dataset(cfg.dataset))


def data_record(dataset: Dataset, data: PreparedData) -> dict:
    """What the run folder says about its data: enough for evaluate.py to tell whether two runs
    share a test set, and for a resumed run to notice that the data changed under it."""
    return {
        "identity": dataset.identity,
        "source": dataset.source,
        "image_shape": list(dataset.image_shape),
        "train_images": len(data.x_train),
        "test_images": len(data.x_test),
        "class_names": None if dataset.class_names is None else list(dataset.class_names),
    }


def steps_per_execution(steps_per_epoch: int, most: int = 128) -> int:
    """Batches per call into the compiled train function: fewer Python round trips per epoch.

    Keras always runs whole chunks of this many batches, so only a divisor of the epoch's step
    count keeps every epoch exactly its own batches (235 steps -> 47, 469 -> 67, 1875 -> 125).
    Up to 128 rather than 16 made dense and VAE epochs about 17% faster on 2 cores, with the same
    bits (benchmarks/README.md). A stop signal lands at the end of the chunk: seconds for most
    models, about 15 s for the denoising conv's 67-step chunks with two runs sharing the cores.
    """
    return max(k for k in range(1, most + 1) if steps_per_epoch % k == 0)


def compiled_key(cfg: C.ExperimentConfig, steps_per_epoch: int, gpu: bool) -> tuple:
    """What decides a compiled model's functions: the backend and device kind, the steps per
    epoch (`steps_per_execution`), and every model, loss and training setting except the number
    of epochs, gradient probing (a callback) and storing the evaluation (after `fit`). The seed,
    the run's name and its data are not in it: they change what the functions are given, not the
    functions."""
    flat = C.to_flat_dict(cfg)
    settings = sorted(
        (key, repr(value))
        for key, value in flat.items()
        if key.split(".")[0] in ("model", "loss", "training") and key not in ("training.epochs", *C.RECORD_ONLY_KEYS)
    )
    return (keras.backend.backend(), gpu, steps_per_epoch, *settings)


def compile_run(cfg: C.ExperimentConfig, steps_per_epoch: int = 1, gpu: bool = False) -> model_cache.Compiled:
    """The run's compiled model in the state its seed gives it before the first step. In a warm
    worker an idle model compiled for an earlier run of the same key is reused (its traced and
    XLA-compiled functions kept; see `autoencoders.train.speed.model_cache`); otherwise a new one is compiled."""
    keras.utils.set_random_seed(cfg.seed)
    keras.config.set_dtype_policy(cfg.training.precision)  # global in Keras: set for every model built here
    model = build_model(cfg.model, seed=cfg.seed)
    key = compiled_key(cfg, steps_per_epoch, gpu)
    reused = model_cache.CACHE.take(key)
    if reused is not None:
        start = {"model": model.get_weights(), "optimizer": reused.optimizer_start}
        if isinstance(model, VAE):
            start["seed"] = [model.seed_generator.state.numpy()]
        assign_state(reused.model, start)
        log.info("reusing the compiled model of an earlier run in this process (%d reused so far)", model_cache.CACHE.reused)
        return reused
    clip = HEADS[cfg.model.output].clips_to_data_range  # the common-scale metrics see what evaluation sees
    metrics = [PixelMetric("mse", clip=clip), PixelMetric("bce", clip=clip)]
    if ARCHITECTURES[cfg.model.arch].vae:
        metrics.append(PixelMetric(cfg.loss.name, reduction=cfg.loss.reduction, name="reconstruction"))
    optimizer = keras.optimizers.get({"class_name": cfg.training.optimizer, "config": {"learning_rate": cfg.training.learning_rate}})
    model.compile(
        optimizer=optimizer,
        loss=ReconstructionLoss(cfg.loss.name, cfg.loss.reduction),
        metrics=metrics,
        jit_compile=use_xla(cfg, gpu),
        steps_per_execution=steps_per_execution(steps_per_epoch),
    )
    model.optimizer.build(model.trainable_variables)
    if xla_loop.worthwhile(model, gpu):
        model.train_function = xla_loop.StepsInOneCall(model, cfg.training.batch_size)
    return model_cache.Compiled(model, [v.numpy() for v in model.optimizer.variables], key)


def compile_model(cfg: C.ExperimentConfig, steps_per_epoch: int = 1, gpu: bool = False) -> Autoencoder:
    return compile_run(cfg, steps_per_epoch, gpu).model


def tensorflow_installed() -> bool:
    """TensorBoard logs need TensorFlow's summary writer; a JAX-only machine trains without them."""
    return importlib.util.find_spec("tensorflow") is not None


def epoch_batches(x: np.ndarray, t: np.ndarray, batch_size: int, seed: int, first_epoch: int, epochs: int):
    """Batches of epochs first_epoch..epochs-1 (0-based), each shuffled by (seed, epoch) alone:
    a `tf.data` pipeline on TensorFlow, a generator of numpy batches on any other backend."""
    if keras.backend.backend() != "tensorflow":
        return numpy_epoch_batches(x, t, batch_size, seed, first_epoch, epochs)
    import tensorflow as tf

    def one_epoch(epoch):
        return tf.data.Dataset.from_tensor_slices(epoch_order(len(x), seed, epoch)).batch(batch_size)

    rows = tf.data.Dataset.range(first_epoch, epochs).flat_map(one_epoch)
    if is_mapped(x):  # read from disk a batch at a time, in the same order
        return gathered((x, t), rows)
    xs = tf.constant(x)
    ts = xs if t is x else tf.constant(t)
    return without_autotune(rows.map(lambda i: (tf.gather(xs, i), tf.gather(ts, i))))


def training_batches(model: Autoencoder, x: np.ndarray, t: np.ndarray, batch_size: int, seed: int, first_epoch: int, epochs: int):
    """What `fit` trains `model` on: `epoch_batches`, or, for a model that runs a chunk of steps in
    one XLA program (`xla_loop`), the same epochs' rows in chunks, with the images and targets
    handed to its train function; for memory-mapped images each chunk's rows, read from disk
    (`xla_loop.streamed_chunks`). The same steps on the same batches either way
    (tests/train/test_xla_loop.py, tests/data/test_mapped.py)."""
    if isinstance(model.train_function, xla_loop.StepsInOneCall):
        model.train_function.bind(x, t)
        if xla_loop.streams(x, t):
            return xla_loop.streamed_chunks(x, t, batch_size, model.steps_per_execution, seed, first_epoch, epochs)
        return xla_loop.epoch_chunks(len(x), batch_size, model.steps_per_execution, seed, first_epoch, epochs)
    return epoch_batches(x, t, batch_size, seed, first_epoch, epochs)


def numpy_epoch_batches(x: np.ndarray, t: np.ndarray, batch_size: int, seed: int, first_epoch: int, epochs: int):
    """The same schedule as `epoch_batches` without TensorFlow: each epoch's order is numpy's
    permutation seeded by (seed, epoch), so it too is the same whether or not the run resumed."""
    for epoch in range(first_epoch, epochs):
        order = np.random.default_rng([seed, epoch]).permutation(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            yield x[batch], t[batch]


def _state_arrays(model: Autoencoder) -> dict[str, list[np.ndarray]]:
    arrays = {"model": model.get_weights(), "optimizer": [v.numpy() for v in model.optimizer.variables]}
    if isinstance(model, VAE):
        arrays["seed"] = [model.seed_generator.state.numpy()]
    return arrays


def _restore_arrays(model: Autoencoder, checkpoint: runs.Checkpoint, run_dir: Path) -> None:
    """Put the checkpoint's weights, optimizer and sampling state into the model; arrays that do
    not fit it (another arch's, a damaged file's) are a CorruptFile, never half-restored."""
    arrays = checkpoint.arrays
    weights, slots = model.get_weights(), model.optimizer.variables
    fits = (
        len(arrays["model"]) == len(weights)
        and all(a.shape == w.shape for a, w in zip(arrays["model"], weights))
        and len(arrays["optimizer"]) == len(slots)
        and all(a.shape == tuple(v.shape) for a, v in zip(arrays["optimizer"], slots))
    )
    if not fits:
        raise runs.CorruptFile(
            run_dir / runs.CHECKPOINTS, f"the checkpoint of epoch {checkpoint.epoch} does not fit this model", runs.RESTART_HINT
        )
    assign_state(model, arrays)


def assign_state(model: Autoencoder, arrays: dict[str, list[np.ndarray]]) -> None:
    """Put weights, optimizer variables and (VAE) sampling state, as `_state_arrays` lists them,
    into the model: a resume point's, or a reused compiled model's start (`compile_run`)."""
    model.set_weights(arrays["model"])
    for var, value in zip(model.optimizer.variables, arrays["optimizer"], strict=True):
        var.assign(value)
    if "seed" in arrays:
        model.seed_generator.state.assign(arrays["seed"][0])


class EpochRecorder(keras.callbacks.Callback):
    """Times each epoch, appends its row, saves the resume point; stops on a NaN loss."""

    def __init__(self, run_dir: Path, history: list[dict], data_identity: str):
        super().__init__()
        self.run_dir = run_dir
        self.history = history
        self.data_identity = data_identity
        self.failure: str | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}, "seconds": seconds}
        bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            self.failure = f"non-finite {', '.join(bad)} at epoch {epoch + 1}"
            self.model.stop_training = True
            return
        self.history.append(row)
        runs.write_history(self.run_dir / runs.HISTORY, self.history)
        runs.save_checkpoint(self.run_dir, epoch + 1, self.history, _state_arrays(self.model), data_identity=self.data_identity)
        raise_if_stopped()  # a stop signal whose exception was swallowed ends the run here, its epoch saved


def prepare_run_dir(
    cfg: C.ExperimentConfig, run_dir: Path, *, resume: bool, overwrite: bool, data_identity: str | None = None
) -> runs.Checkpoint | dict | None:
    """Decide what to do with an existing folder; never overwrite a run silently.

    Returns None (start fresh), a Checkpoint (resume from it) or, for `--resume` on a run that
    already completed with this config, its metrics (nothing left to do). A run is only resumed
    on the data it started with (`data_identity`, when the checkpoint recorded one).
    """
    if overwrite:  # even a damaged run: it is replaced, not read
        if run_dir.exists():
            shutil.rmtree(run_dir)
        return None
    status = runs.run_status(run_dir)
    if status == "absent":
        return None
    if not resume:
        raise RunError(runs.existing_run_message(run_dir, status))
    if (run_dir / runs.CONFIG).exists():
        try:
            saved = C.load_config(run_dir / runs.CONFIG)
        except C.ConfigError as e:
            raise runs.CorruptFile(run_dir / runs.CONFIG, f"not a valid config any more ({e.errors[0]})", runs.RESTART_HINT) from None
        if saved != cfg:
            new, old = C.to_flat_dict(cfg), C.to_flat_dict(saved)
            differ = [f"{k} ({old.get(k)!r} -> {v!r})" for k, v in new.items() if old.get(k) != v]
            raise RunError(f"{run_dir}: cannot --resume, the config differs from the saved one in {', '.join(differ)}")
    if status == "failed":
        raise RunError(runs.failed_run_message(run_dir))
    if status == "completed":
        return runs.read_json(run_dir / runs.METRICS)
    checkpoint = runs.load_checkpoint(run_dir)
    started_on = checkpoint.data_identity if checkpoint else None
    if started_on and data_identity and started_on != data_identity:
        raise RunError(
            f"{run_dir}: cannot --resume, the data changed since this run started (identity {started_on[:16]}..., "
            f"now {data_identity[:16]}...); pass --overwrite to start again on the new data"
        )
    return checkpoint


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict


def train(
    cfg: C.ExperimentConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    verbose: int | None = None,
    dataset: Dataset | None = None,
) -> RunResult:
    """Train `cfg` into `run_dir` (see runs.py for the layout), holding the folder's lock.

    The data (`dataset`, or loaded here) is checked first: bad data raises DataError before
    anything is written.
    """
    dataset = load_dataset(cfg.dataset) if dataset is None else dataset
    cfg = resolve_input_shape(cfg, dataset)
    data = prepare_data(cfg, dataset)
    try:
        with runs.lock(run_dir):
            return _train(cfg, Path(run_dir), dataset, data, resume=resume, overwrite=overwrite, verbose=verbose)
    except runs.RunLocked as e:
        raise RunError(str(e)) from None


def _train(
    cfg: C.ExperimentConfig, run_dir: Path, dataset: Dataset, data: PreparedData, *, resume: bool, overwrite: bool, verbose: int | None
) -> RunResult:
    runs.remove_stale_temporaries(run_dir)  # we hold the lock: whoever wrote them is gone
    checkpoint = prepare_run_dir(cfg, run_dir, resume=resume, overwrite=overwrite, data_identity=dataset.identity)
    if isinstance(checkpoint, dict):
        log.info("%s: already completed, nothing to resume", run_dir)
        return RunResult(run_dir, checkpoint)
    record = data_record(dataset, data)
    steps = math.ceil(len(data.x_train) / cfg.training.batch_size)
    machine = device.describe()
    compiled = compile_run(cfg, steps, gpu=machine["kind"] == "gpu")
    model = compiled.model
    history: list[dict] = []
    start_epoch = 0
    if checkpoint is not None:
        _restore_arrays(model, checkpoint, run_dir)
        history, start_epoch = list(checkpoint.history), checkpoint.epoch
        log.info("resuming %s after epoch %d of %d", run_dir, start_epoch, cfg.training.epochs)
    runs.write_text(run_dir / runs.CONFIG, C.dump_yaml(cfg))

    recorder = EpochRecorder(run_dir, history, dataset.identity)
    # the callbacks the config names (plugins.TRAINING_CALLBACKS, e.g. the study's gradient probe),
    # before the recorder so that what they log is in the row it writes
    named = plugins.entries(plugins.TRAINING_CALLBACKS) if cfg.training.callbacks else {}
    extensions = [named[name].make(cfg, data) for name in cfg.training.callbacks]
    bs = cfg.training.batch_size
    logs = [keras.callbacks.TensorBoard(run_dir / runs.TENSORBOARD, write_graph=False, profile_batch=0)] if tensorflow_installed() else []
    seconds = time.perf_counter()
    try:
        if start_epoch < cfg.training.epochs:
            model.fit(
                training_batches(model, data.x_train, data.t_train, bs, cfg.seed, start_epoch, cfg.training.epochs),
                epochs=cfg.training.epochs,
                initial_epoch=start_epoch,
                steps_per_epoch=steps,
                shuffle=False,  # training_batches already shuffles, by (seed, epoch)
                validation_data=in_batches((data.x_test, data.t_test), cfg.training.eval_batch_size),
                validation_batch_size=cfg.training.eval_batch_size,
                callbacks=[*extensions, recorder, *logs],
                verbose=(1 if sys.stdout.isatty() else 2) if verbose is None else verbose,
            )
    except OSError:  # disk full, a file that cannot be written: not the run's fault, it stays resumable
        raise
    except Exception as e:  # a crash is recorded; Ctrl-C / kill is not (the run stays resumable)
        recorder.failure = f"{type(e).__name__}: {e}"
        runs.write_json(
            run_dir / runs.METRICS,
            {"name": cfg.name, "status": "failed", "reason": recorder.failure, "epochs": len(history), "device": machine, "data": record},
        )
        raise
    seconds = time.perf_counter() - seconds

    metrics = {
        "name": cfg.name,
        "status": "failed" if recorder.failure else "completed",
        "epochs": len(history),
        "train_seconds": sum(row["seconds"] for row in history),
        "wall_seconds_this_session": seconds,
        "xla": bool(model.jit_compile),
        "device": machine,
        "data": record,
    }
    if recorder.failure:
        metrics["reason"] = recorder.failure
    else:
        metrics["test"] = test_metrics(model, data, cfg.training.eval_batch_size)
        save_final_model(model, cfg, run_dir / runs.MODEL)
        try:  # a measure beside the test metrics: its failure must not cost the finished run
            metrics["output_spread"] = output_spread(model, data, cfg.training.eval_batch_size)
        except Exception as exc:  # noqa: BLE001 (any failure, TensorFlow's out-of-memory included: the run stands without it)
            log.warning("%s: output_spread not measured (%s: %s)", run_dir, type(exc).__name__, exc)
        if logs:
            write_hparams(run_dir / runs.TENSORBOARD, cfg, metrics["test"], step=len(history))
    runs.write_json(run_dir / runs.METRICS, metrics)
    if isinstance(model.train_function, xla_loop.StepsInOneCall):
        model.train_function.release()
    model_cache.CACHE.give_back(compiled)  # `fit` returned: the next run of this key may reuse it
    if not recorder.failure and cfg.training.store_evaluation:
        metrics = store_run_evaluation(run_dir, metrics)
    return RunResult(run_dir, metrics)


def store_run_evaluation(run_dir: Path, metrics: dict) -> dict:
    """Evaluate the completed run exactly as evaluate.py would (from its saved model, on its test
    set) and store the result in the folder, while TensorFlow and the data are loaded: a report
    after a sweep then evaluates nothing. The run is complete before this starts, so a failure
    here costs only the stored copy (evaluate.py evaluates the run itself, as it would anyway).

    The evaluation's mean of each per-image metric (SSIM included, which the test metrics lack)
    also goes into metrics.json under "evaluation": a few bytes that outlive the model, so a
    committed run without its model file still says how well it reconstructs. Returns the run's
    `metrics` (as written in metrics.json) with those means when they were stored."""
    if keras.backend.backend() != "tensorflow":  # evaluate.py's SSIM is TensorFlow's: it evaluates such runs itself
        return metrics
    from autoencoders.evaluate.evaluation import evaluate_run, load_run, store_evaluation

    try:
        evaluation = evaluate_run(load_run(run_dir), use_stored=False)
        store_evaluation(evaluation)
        with_means = {**metrics, "evaluation": {name: evaluation.mean(name) for name in evaluation.per_image}}
        runs.write_json(run_dir / runs.METRICS, with_means)
        return with_means
    except Exception as exc:  # noqa: BLE001 (any failure: the run stands, only the stored evaluation is missing)
        log.warning(
            "%s: the evaluation was not stored (%s: %s); evaluate.py will evaluate the run itself", run_dir, type(exc).__name__, exc
        )
        return metrics


def save_final_model(model: Autoencoder, cfg: C.ExperimentConfig, path: Path) -> None:
    """Save the trained weights in an uncompiled twin: no optimizer state (a third of the file;
    the resume point in checkpoints/ keeps it) and nothing to recompile on load."""
    twin = build_model(cfg.model, seed=cfg.seed)
    twin.set_weights(model.get_weights())
    with runs.atomic_path(path) as tmp:
        twin.save(tmp)


def write_hparams(logdir: Path, cfg: C.ExperimentConfig, test: dict, step: int) -> None:
    """The run's config as TensorBoard HParams and its test metrics as scalars ('test/mse', ...),
    beside the epoch curves, so `tensorboard --logdir RUNS` shows a sweep as one table and a
    parallel-coordinates view (the HParams dashboard finds the metrics on its own)."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    values = {key: value if isinstance(value, (bool, int, float, str)) else str(value) for key, value in C.to_flat_dict(cfg).items()}
    with tf.summary.create_file_writer(str(logdir)).as_default():
        hp.hparams(values, trial_id=cfg.name)
        for key, value in test.items():
            tf.summary.scalar(f"test/{key}", value, step=step)


def output_spread(model: Autoencoder, data: PreparedData, batch_size: int = 2048) -> float:
    """How much the outputs vary across the first `SPREAD_IMAGES` test images (fewer where those
    would take more than `SPREAD_BYTES` as float32), over how much the images do
    (`diagnose.measures.spread`): near 0 when every input gets the same output. The all-dark rule
    misses that failure when the one output is not dark (a linear head trained with MAE on MNIST
    settles on a constant image), so a run records it beside its test metrics."""
    per_image = 4 * int(np.prod(data.t_test.shape[1:]))
    n = min(SPREAD_IMAGES, len(data.t_test), max(1, SPREAD_BYTES // per_image))
    return spread(np.asarray(data.t_test[:n], np.float32), model.reconstruct(np.asarray(data.x_test[:n]), batch_size))


def test_metrics(model: Autoencoder, data: PreparedData, batch_size: int) -> dict:
    """Loss-independent test-set metrics, plus the VAE's terms when there are any."""
    result = summarize_chunks((data.t_test[rows], recon) for rows, _, recon in model.in_chunks(data.x_test, batch_size))
    if isinstance(model, VAE):
        inputs, targets = evaluate_arguments(data.x_test, data.t_test, batch_size)
        terms = model.evaluate(inputs, targets, batch_size=batch_size, verbose=0, return_dict=True)
        result.update({"vae_loss": terms["loss"], "vae_kl": terms["kl"], "vae_reconstruction": terms["reconstruction"]})
    return result
