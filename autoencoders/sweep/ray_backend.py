"""Sweeps on Ray: `train.py --config SWEEP.yaml --backend ray [--address auto|HOST:PORT]`.

Ray core only, not Tune: Tune keeps its own experiment state and working directories, which would
fight the run folders. Each run is one Ray task that calls `sweep.run_one` wherever Ray places
it, so a run on a cluster is exactly a run here: finished runs skipped, unfinished ones resumed,
the folder locked while it trains, a failure recorded and isolated. `sweep.schedule` still drives
the sweep (its threads only submit a task each and wait), so the progress lines, the summary and
Ctrl-C are those of the local scheduler.

Faults: a run's training process killed under a live task raises `RunInterrupted`, and a task
whose Ray worker dies (killed, out of memory, its node lost) fails as a system error; Ray retries
both (`max_retries`), and the retry resumes from the run's last finished epoch. The killed
attempt's training process stops by itself once its parent is gone (`cli.watch_parent`), so the
retry first waits for the folder's lock. A folder is only ever reported completed by the run
itself (`metrics.json` written last), never by the scheduler.

Every node needs this package installed and the `--out` folder (and the data cache,
`AUTOENCODERS_DATA`) on a shared file system with working `flock` (NFSv4, CephFS, Lustre).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from autoencoders import config as C
from autoencoders.sweep import schedule as sweep
from autoencoders.train import run_folder as runs

#: How long a retried run waits for the killed attempt's process to let go of the folder.
LOCK_WAIT_S = 120.0


class ClusterTooSmall(Exception):
    """The resources asked per run exceed the whole cluster's: every task would wait forever."""


class RunInterrupted(Exception):
    """A run's training process was killed under a live task; raised so that Ray retries the task."""


def train_task(cfg_dict: dict, out: str, retry_failed: bool, threads: int, warm: bool) -> sweep.Outcome:
    """One run, on whichever node Ray chose (the body of the remote task)."""
    cfg = C.parse_config(cfg_dict)
    run_dir = Path(out) / cfg.name
    deadline = time.monotonic() + LOCK_WAIT_S
    while runs.is_locked(run_dir) and time.monotonic() < deadline:
        time.sleep(0.25)
    outcome = sweep.run_one(cfg, Path(out), retry_failed=retry_failed, threads=threads, warm=warm)
    if outcome.status == "interrupted":
        raise RunInterrupted(outcome.reason)
    return outcome


def connect(address: str | None, num_cpus: float | None = None):
    """`ray.init`: the cluster at `address` ('auto': the one `ray start` made on this node), or a
    local Ray of this machine's cores when no address is given. Returns ray, and whether we started it."""
    import ray

    if ray.is_initialized():
        return ray, False
    if address:
        if address != "auto":  # Ray itself retries an unreachable address for minutes: ask once, briefly
            host, _, port = address.rpartition(":")
            try:
                socket.create_connection((host, int(port)), timeout=5).close()
            except (OSError, ValueError) as exc:
                raise ConnectionError(
                    f"no Ray cluster answers there ({exc}); give HOST:PORT of the head node (`ray start --head`) or auto"
                ) from None
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    else:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    return ray, True


def schedule_on_ray(
    configs: Sequence[C.ExperimentConfig],
    out: Path,
    *,
    address: str | None = None,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    retry_failed: bool = False,
    warm: bool = True,
    max_retries: int = 3,
    echo: Callable[[str], None] = print,
) -> sweep.SweepResult:
    """Every config as a Ray task of `num_cpus` CPUs (and `num_gpus` GPUs), its TensorFlow threads
    set to that share; as many in flight as the cluster's resources allow."""
    ray, started_here = connect(address)
    from ray import exceptions as rx

    task = ray.remote(train_task).options(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=max_retries, retry_exceptions=[RunInterrupted])
    out = Path(out).resolve()  # the same path on every node of a shared file system
    threads = max(1, int(num_cpus))
    in_flight: dict[str, object] = {}
    lock = threading.Lock()

    def run(cfg: C.ExperimentConfig, _out: Path) -> sweep.Outcome:
        ref = task.remote(C.to_dict(cfg), str(out), retry_failed, threads, warm)
        with lock:
            in_flight[cfg.name] = ref
        try:
            return ray.get(ref)
        except rx.TaskCancelledError:
            return sweep.Outcome(cfg.name, "interrupted", 0.0, "stopped with the sweep")
        except rx.RayTaskError as e:  # our code raised: the retries ran out, or a bug
            cause = e.cause
            status = "interrupted" if isinstance(cause, RunInterrupted) else "failed"
            return sweep.Outcome(cfg.name, status, 0.0, f"{type(cause).__name__}: {cause} (after {max_retries} retries)")
        except rx.RayError as e:  # the worker or its node died every time
            return sweep.Outcome(cfg.name, "interrupted", 0.0, f"{type(e).__name__} (after {max_retries} retries); the run is resumable")
        finally:
            with lock:
                in_flight.pop(cfg.name, None)

    def stop() -> None:
        """Kill the running tasks' Ray workers: each run's training process notices, stops at its
        next step with its checkpoint and lets go of the folder."""
        with lock:
            refs = list(in_flight.values())
        for ref in refs:
            ray.cancel(ref, force=True)

    try:
        resources = ray.cluster_resources()
        fits = [resources.get("CPU", 0.0) / num_cpus if num_cpus else len(configs)]
        if num_gpus:
            fits.append(resources.get("GPU", 0.0) / num_gpus)
        if min(fits) < 1:
            raise ClusterTooSmall(
                f"no node of the Ray cluster can run a task of --num-cpus {num_cpus:g} --num-gpus {num_gpus:g} "
                f"(the cluster has {resources.get('CPU', 0):g} CPUs and {resources.get('GPU', 0):g} GPUs)"
            )
        slots = min(len(configs), int(min(fits)))
        return sweep.schedule(configs, out, jobs=slots, run=run, echo=echo, stop=stop)
    finally:
        if started_here:
            ray.shutdown()
