"""The run folder: its layout, atomic writes, status and the resume point.

Layout of `<out>/<name>/`:
    config.yaml       resolved config (a valid config that reproduces the run)
    history.csv       one row per finished epoch
    metrics.json      final test-set metrics and status (written last: its presence = finished)
    model.keras       final model (reload with `keras.saving.load_model` after `import autoencoders`)
    checkpoints/      resume point of an unfinished run (state.json + epoch-NNNN.npz)
    tensorboard/      TensorBoard logs

Every file is written to a temporary name in the same folder and renamed into place, so a
killed process leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autoencoders.atomic import atomic_path, write_text

CONFIG = "config.yaml"
HISTORY = "history.csv"
METRICS = "metrics.json"
MODEL = "model.keras"
CHECKPOINTS = "checkpoints"
TENSORBOARD = "tensorboard"
STATE = "state.json"


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite_or_none(value):
    """JSON has no NaN/inf: write them as null (PSNR inf never occurs, it is capped)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    return value


def write_json(path: Path, data: dict) -> None:
    write_text(path, json.dumps(_finite_or_none(data), indent=2, default=_json_default) + "\n")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def write_history(path: Path, rows: Sequence[dict]) -> None:
    """history.csv with a stable column order: epoch first, seconds last, the rest sorted."""
    keys = sorted({k for row in rows for k in row} - {"epoch", "seconds"})
    columns = ["epoch", *keys, "seconds"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def read_history(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


@dataclass(frozen=True)
class Checkpoint:
    """The last finished epoch: its number (1-based), the history so far and the arrays."""

    epoch: int
    history: list[dict]
    arrays: dict[str, list[np.ndarray]]
    data_identity: str | None = None  # the data the run trains on (absent in checkpoints of older runs)


def save_checkpoint(run_dir: Path, epoch: int, history: Sequence[dict], arrays: dict[str, list[np.ndarray]], *, data_identity: str | None = None) -> None:
    """Arrays first, then state.json pointing at them: state.json is the commit point."""
    ckpt_dir = Path(run_dir) / CHECKPOINTS
    name = f"epoch-{epoch:04d}.npz"
    flat = {f"{group}/{i:04d}": a for group, values in arrays.items() for i, a in enumerate(values)}
    with atomic_path(ckpt_dir / name) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **flat)
    write_json(ckpt_dir / STATE, {"epoch": epoch, "arrays": name, "history": list(history), "data": data_identity})
    for old in ckpt_dir.glob("epoch-*.npz"):
        if old.name != name:
            old.unlink()


def load_checkpoint(run_dir: Path) -> Checkpoint | None:
    state_path = Path(run_dir) / CHECKPOINTS / STATE
    if not state_path.exists():
        return None
    state = read_json(state_path)
    arrays: dict[str, list[np.ndarray]] = {}
    with np.load(state_path.parent / state["arrays"]) as npz:
        for key in sorted(npz.files):
            group, _ = key.split("/")
            arrays.setdefault(group, []).append(npz[key])
    return Checkpoint(epoch=int(state["epoch"]), history=state["history"], arrays=arrays, data_identity=state.get("data"))


def run_status(run_dir: Path) -> str:
    """'completed', 'failed', 'unfinished' (has a resume point or files) or 'absent'."""
    run_dir = Path(run_dir)
    metrics = run_dir / METRICS
    if metrics.exists():
        return read_json(metrics).get("status", "failed")
    if run_dir.exists() and any(run_dir.iterdir()):
        return "unfinished"
    return "absent"


class RunLocked(Exception):
    """Another process is training this run folder right now."""


@contextmanager
def lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on a run folder (a lock file beside it, released when the process
    dies), so that two processes - parallel sweep jobs, two terminals - never write one run."""
    run_dir = Path(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(run_dir.parent / f".{run_dir.name}.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"{run_dir}: another process is training this run right now") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
