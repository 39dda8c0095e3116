"""What a run trained on, and the thread share a training process gets.

Timings and the per-arch choices measured on CPU (XLA on or off) only mean something next to the
device that made them, so every run's metrics.json records `describe()`, and reports say which
device trained which runs. `thread_env` gives each of several concurrent training processes its
share of the cores: TensorFlow reads TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS (not
OMP_NUM_THREADS), and without them every process starts a pool as large as the machine.
"""

from __future__ import annotations

import os
import platform
from collections import Counter
from collections.abc import Iterable, Mapping

INTRA_ENV, INTER_ENV = "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"


def usable_cores() -> int:
    """Cores this process may run on (a container's or taskset's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    """The accelerators Keras's backend sees (imports it: call from a training or report process)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    if keras.backend.backend() == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    import tensorflow as tf

    return [tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in tf.config.list_physical_devices("GPU")]


def describe() -> dict:
    """The device record of metrics.json: the backend, the GPUs (if any), the CPU and its share of threads."""
    import keras

    gpus = gpu_names()
    return {
        "kind": "gpu" if gpus else "cpu",
        "gpus": gpus,
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "machine": platform.machine(),
        "backend": keras.backend.backend(),
        "intra_op_threads": os.environ.get(INTRA_ENV),
    }


def here() -> str:
    """This process's device in words (a report says where it was made)."""
    return phrase(describe())


def phrase(record: Mapping | None) -> str:
    """One device record in words: '1 GPU (NVIDIA H100; jax)' or 'CPU only: AMD EPYC ... (2 cores, tensorflow)'."""
    if not record:
        return "not recorded"
    n = record.get("intra_op_threads")
    threads = f", {n} thread{'' if str(n) == '1' else 's'}" if n else ""
    if record.get("gpus"):
        return f"{len(record['gpus'])} GPU ({', '.join(record['gpus'])}; {record.get('backend')})"
    return f"CPU only: {record.get('cpu')} ({record.get('cores')} cores{threads}, {record.get('backend')})"


def phrase_counts(records: Iterable[Mapping | None]) -> str:
    """'CPU only: ... (6 runs)' for the runs of a report, each device once, most runs first."""
    return "; ".join(f"{text} ({n} run{'s' if n != 1 else ''})" for text, n in Counter(map(phrase, records)).most_common())


def thread_env(jobs: int, environ: Mapping[str, str] = os.environ, threads: int | None = None) -> dict[str, str]:
    """The environment of one of `jobs` concurrent training processes: each gets `threads` (by
    default cores // jobs) intra-op threads and one inter-op thread, unless the user set them; one
    job with no `threads` given keeps TensorFlow's defaults."""
    env = dict(environ)
    if threads is None and jobs > 1:
        threads = max(1, usable_cores() // jobs)
    if threads is not None:
        env.setdefault(INTRA_ENV, str(threads))
        env.setdefault(INTER_ENV, "1")
    return env
