"""A warm training process: `python -m autoencoders worker` trains run after run, so a sweep
pays Python's and TensorFlow's start (5-10 s on 2 cores) once per worker, not once per run.

The protocol is one JSON line per run each way. The sweep writes `{"argv": [...], "log": PATH}`
on the worker's stdin; the worker runs exactly `python -m autoencoders train ARGV` in-process,
with its stdout and stderr (Python's and TensorFlow's own) going to PATH, and answers
`{"code": EXIT_CODE}` on the stdout it started with. Each run starts from a cleared Keras
session, and `training.compile_run` seeds every generator, so a run trained here is the same
bits as one trained in a fresh process (tests/sweep/test_sweep.py checks it). A later run of the same
model, loss and training settings reuses the compiled model of an earlier one, with its own
seed's starting state (`autoencoders.train.speed.model_cache`): no second trace or XLA compile.

A run stopped by a signal (exit code above 128) ends the worker after its answer: the sweep is
stopping. A worker that dies mid-run (killed, out of memory) leaves that run resumable, and the
sweep starts a new worker for the next one.

Benchmark that justifies it: `benchmarks/bench_sweep.py` (warm workers against a fresh process per run).
"""

from __future__ import annotations

import json
import os
import sys
import traceback

#: Idle compiled models a worker keeps (`autoencoders.train.speed.model_cache`): a sweep's grid order puts the
#: runs of one key next to each other, so a few are plenty; each is a small model and its functions.
COMPILED_MODELS_KEPT = 4


def clear_keras_state() -> None:
    """Forget the previous run's layer names and whatever else Keras holds globally (only if Keras
    was imported: a worker whose runs were all refused never imports it). The idle compiled models
    of `model_cache` survive it: the cache holds them, and each reuse resets all their state."""
    if "keras" in sys.modules:
        import keras

        keras.utils.clear_session(free_memory=True)


def run_in_process(argv: list[str], log_path: str) -> int:
    """`python -m autoencoders train ARGV` here, its output (file descriptors 1 and 2) in log_path."""
    from autoencoders.cli import train_main

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            clear_keras_state()
            return train_main(argv)
        except SystemExit as exc:  # argparse's own exit on bad arguments
            return exc.code if isinstance(exc.code, int) else 2
        except Exception:  # a bug, not a run's failure: said in the run's log, the worker goes on
            traceback.print_exc()
            return 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def worker_main(argv: list[str] | None = None) -> int:
    """Serve run requests from stdin until it closes (or a run is stopped by a signal). The
    arguments (`--out FOLDER`) only name the sweep served, so `ps` shows which one it is."""
    from autoencoders.cli import watch_parent
    from autoencoders.train.speed import model_cache

    model_cache.CACHE.capacity = COMPILED_MODELS_KEPT
    watch_parent()  # a sweep killed with -9 leaves no worker behind, idle or training
    replies = os.fdopen(os.dup(1), "w", buffering=1)  # the answers' channel, whatever the runs print
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # between runs nothing else may write into the answers
    os.close(devnull)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        code = run_in_process(list(request["argv"]), request["log"])
        replies.write(json.dumps({"code": code}) + "\n")
        if code > 128:
            return code
    return 0
