"""Atomic file writes: a reader (or a killed writer) sees the old file or the new one, never half.

Everything the suite writes (dataset cache, run folders, reports) goes through `atomic_path`:
write to a temporary name in the same folder, fsync, then `os.replace` onto the real name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to `path` (same suffix, so tools that check it are happy);
    it replaces `path` only if the block finishes without an exception."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp" + path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; follow the user's umask like open() does
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    write_bytes(path, text.encode())


def publish(staging: str | os.PathLike[str], out: str | os.PathLike[str], last: str | None = None) -> list[str]:
    """Move every entry of a finished `staging` folder into `out`, replacing entries of the same
    name and leaving everything else in `out` alone (a report can sit next to its runs).

    Each file moves with one `os.replace`, each folder by renaming the old one aside first, so
    every entry is always either the old one or the new one, complete. Folders go first and
    `last` (the report's entry point) goes last: until it is replaced, readers see the old report.
    """
    staging, out = Path(staging), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries = sorted(staging.iterdir(), key=lambda p: (p.name == last, not p.is_dir(), p.name))
    for entry in entries:
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            aside = Path(tempfile.mkdtemp(prefix=f".{entry.name}.old.", dir=out))
            target.rename(aside / entry.name)
            entry.rename(target)
            shutil.rmtree(aside)
        else:
            os.replace(entry, target)
    return [e.name for e in entries]
