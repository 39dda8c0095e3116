"""The run folder: its layout, atomic writes, status and the resume point.

Layout of `<out>/<name>/`:
    config.yaml       resolved config (a valid config that reproduces the run)
    history.csv       one row per finished epoch
    metrics.json      final test-set metrics and status (written last: its presence = finished)
    model.keras       final model (reload with `keras.saving.load_model` after `import autoencoders`)
    checkpoints/      resume point of an unfinished run (state.json + epoch-NNNN.npz)
    tensorboard/      TensorBoard logs

Every file is written to a temporary name in the same folder and renamed into place, so a
killed process leaves either the old file or the new one, never half of one (at worst a stray
temporary file, which the next run of the folder removes).

Every file is also read through one guarded reader per kind: whatever is wrong with it (bytes
that are not JSON, a CSV row that is not numbers, a truncated or missing checkpoint), the reader
raises `CorruptFile` naming the file and what to do, never a bare traceback.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import io
import json
import math
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autoencoders.atomic import atomic_path, write_text
from autoencoders.errors import os_error_message

CONFIG = "config.yaml"
HISTORY = "history.csv"
METRICS = "metrics.json"
MODEL = "model.keras"
CHECKPOINTS = "checkpoints"
TENSORBOARD = "tensorboard"
STATE = "state.json"
EVALUATION = "evaluation.npz"  # `evaluation.evaluate_run`'s result, stored by the training process (a cache)


class CorruptFile(Exception):
    """A run-folder file exists but cannot be used: `str(e)` names it, says why and what to do."""

    def __init__(self, path: Path, problem: str, hint: str = ""):
        self.path = Path(path)
        super().__init__(f"{path}: {problem}" + (f"; {hint}" if hint else ""))


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


def read_json(path: Path, hint: str = "") -> dict:
    """A JSON object from a run-folder file; anything else is a CorruptFile (OSError, e.g. a
    file that cannot be opened, propagates as it is: it is not the file's fault)."""
    path = Path(path)
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFile(path, f"not valid JSON ({exc})", hint) from None
    if not isinstance(data, dict):
        raise CorruptFile(path, f"holds a JSON {type(data).__name__}, not an object", hint)
    return data


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
    """history.csv rows as {column: number}; a row that is not numbers is a CorruptFile."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = []
            for line, row in enumerate(csv.DictReader(f, strict=True), start=2):
                if None in row or None in row.values():
                    raise CorruptFile(path, f"line {line} has {'more' if None in row else 'fewer'} values than the header has columns")
                try:
                    rows.append({k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""})
                except ValueError as exc:
                    raise CorruptFile(path, f"line {line} is not numbers ({exc})") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CorruptFile(path, f"not a readable CSV file ({exc})") from None
    if rows and "epoch" not in rows[0]:
        raise CorruptFile(path, "has no 'epoch' column")
    return rows


@dataclass(frozen=True)
class Checkpoint:
    """The last finished epoch: its number (1-based), the history so far and the arrays."""

    epoch: int
    history: list[dict]
    arrays: dict[str, list[np.ndarray]]
    data_identity: str | None = None  # the data the run trains on (absent in checkpoints of older runs)


def save_checkpoint(
    run_dir: Path, epoch: int, history: Sequence[dict], arrays: dict[str, list[np.ndarray]], *, data_identity: str | None = None
) -> None:
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


RESTART_HINT = "the resume point is damaged; pass --overwrite to train the run again from the start"


def load_checkpoint(run_dir: Path) -> Checkpoint | None:
    """The resume point, or None if the run has none; a damaged one is a CorruptFile."""
    state_path = Path(run_dir) / CHECKPOINTS / STATE
    if not state_path.exists():
        return None
    state = read_json(state_path, RESTART_HINT)
    epoch, name, history = state.get("epoch"), state.get("arrays"), state.get("history")
    if not (
        isinstance(epoch, int)
        and epoch >= 1
        and isinstance(name, str)
        and "/" not in name
        and isinstance(history, list)
        and len(history) == epoch
        and all(isinstance(r, dict) for r in history)
    ):
        raise CorruptFile(state_path, "does not hold an epoch >= 1, an arrays file name and that many history rows", RESTART_HINT)
    arrays_path = state_path.parent / name
    if not arrays_path.is_file():
        raise CorruptFile(arrays_path, f"is missing (named by {state_path})", RESTART_HINT)
    arrays: dict[str, list[np.ndarray]] = {}
    try:
        with np.load(arrays_path, allow_pickle=False) as npz:
            for key in sorted(npz.files):
                group, _ = key.split("/")
                arrays.setdefault(group, []).append(npz[key])
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, AttributeError) as exc:
        raise CorruptFile(arrays_path, f"not a readable checkpoint ({type(exc).__name__}: {exc})", RESTART_HINT) from None
    if not {"model", "optimizer"} <= set(arrays):
        raise CorruptFile(arrays_path, "holds no model or optimizer arrays", RESTART_HINT)
    return Checkpoint(epoch=epoch, history=history, arrays=arrays, data_identity=state.get("data"))


def run_status(run_dir: Path) -> str:
    """'completed', 'failed', 'unfinished' (has a resume point or files) or 'absent'; a damaged
    metrics.json raises CorruptFile, a run path taken by a file NotADirectoryError."""
    run_dir = Path(run_dir)
    metrics = run_dir / METRICS
    if run_dir.exists() and not run_dir.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a run folder", str(run_dir))
    if metrics.exists():
        status = read_json(metrics, "delete the run folder, or pass --overwrite to train it again").get("status")
        if status not in ("completed", "failed"):
            raise CorruptFile(metrics, f"status {status!r} is neither 'completed' nor 'failed'")
        return status
    if run_dir.exists() and any(run_dir.iterdir()):
        return "unfinished"
    return "absent"


def existing_run_message(run_dir: Path, status: str) -> str:
    """Why a new run does not start in a folder that holds one (and what to pass instead)."""
    hint = "--overwrite to train it again" if status == "completed" else "--resume to continue it or --overwrite to start again"
    article = "an" if status[0] in "aeiou" else "a"
    return f"{run_dir}: {article} {status} run is already there; pass {hint}"


def failed_run_message(run_dir: Path) -> str:
    """Why a failed run is not resumed: its reason, and what to pass instead."""
    reason = read_json(Path(run_dir) / METRICS).get("reason")
    return f"{run_dir}: this run failed ({reason}); pass --overwrite to start again"


def status_or_problem(run_dir: Path) -> tuple[str, str | None]:
    """`run_status`, or ('corrupt', why) when a file of the run cannot be read: for listings that
    go on past one damaged run (a completed run's history.csv is read too: a sweep names it and
    `--retry-failed` trains the run again, as for a damaged metrics.json)."""
    try:
        status = run_status(run_dir)
        if status == "completed" and (Path(run_dir) / HISTORY).exists():
            read_history(Path(run_dir) / HISTORY)
        return status, None
    except CorruptFile as exc:
        return "corrupt", str(exc)
    except OSError as exc:
        return "corrupt", os_error_message(exc)


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete the temporary files a killed writer left (`.NAME.*.tmp*`, see atomic.py); call it
    holding the run's lock, when no writer of this folder can be alive."""
    stale = [p for folder in (Path(run_dir), Path(run_dir) / CHECKPOINTS) if folder.is_dir() for p in folder.glob(".*.tmp*") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


class RunLocked(Exception):
    """Another process is training this run folder right now."""


def lock_path(run_dir: Path) -> Path:
    return Path(run_dir).parent / f".{Path(run_dir).name}.lock"


def is_locked(run_dir: Path) -> bool:
    """Whether a process holds the run's lock now (checked without keeping it)."""
    path = lock_path(run_dir)
    if not path.exists():
        return False
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


@contextmanager
def lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on a run folder (a lock file beside it, released when the process
    dies), so that two processes - parallel sweep jobs, two terminals - never write one run."""
    run_dir = Path(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(run_dir), "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"{run_dir}: another process is training this run right now") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
