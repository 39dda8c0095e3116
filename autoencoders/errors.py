"""How the command line ends when something goes wrong: one signal policy, one way of saying what
an operating-system error means, one table of exit codes.

Exit codes (train.py, evaluate.py, a sweep):
- 0 done; 1 a run failed (a NaN loss: recorded in its metrics.json, `--retry-failed` retrains it);
- 2 bad input (config, data, run folder, output location), nothing written;
- 74 an I/O error (disk full, a file that cannot be written): nothing is marked failed, the last
  finished epoch's checkpoint is intact, `--resume` continues once the cause is fixed;
- 75 the run folder is busy: another process is training it right now (nothing touched);
- 128 + N stopped by signal N (130 Ctrl-C, 143 SIGTERM): the same, resumable.

The signal policy: SIGINT and SIGTERM (and SIGHUP, a closed terminal) raise `Interrupted` in the
main thread, so every command stops the same way, at a point where no file is half-written (each
write is atomic), and says where it stopped and how to go on.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_IO = 74  # sysexits.h EX_IOERR
EXIT_BUSY = 75  # sysexits.h EX_TEMPFAIL
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived (Ctrl-C, SIGTERM, SIGHUP). A KeyboardInterrupt, so nothing that
    catches `Exception` (a training loop recording a crash) mistakes it for a failure."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def exit_code_of(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal; a bare KeyboardInterrupt is Ctrl-C (SIGINT)."""
    return interrupt.exit_code if isinstance(interrupt, Interrupted) else 128 + signal.SIGINT


# The signal that arrived, if any. A handler's exception can be lost: Python reports and drops an
# exception raised while a finalizer (`__del__`, a weakref callback) runs, which happens under JAX.
# The training loop checks this at each epoch's end (`raise_if_stopped`), so a training run never
# loses a stop that way.
_pending: int | None = None

# How soon a stop that arrived inside an import is tried again (SIGALRM); whether one waits.
IMPORT_RETRY_S = 0.05
_deferred = False


def _inside_import(frame) -> bool:
    """Whether `frame` runs under an `import`. Raising there can unwind through a compiled module's
    initialiser (TensorFlow's): the process then dies of SIGSEGV or SIGABRT instead of stopping
    (seen by hand once in about 50 Ctrl-Cs timed into `import tensorflow`, and as SIGABRT in a CI
    run of the interrupted-evaluate test; not kept as data)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _raise(signum, frame) -> None:
    global _pending, _deferred
    _pending = signum
    _deferred = _inside_import(frame)
    if _deferred:  # stop once the import is done: the retry below fires until then
        signal.setitimer(signal.ITIMER_REAL, IMPORT_RETRY_S)
        return
    raise Interrupted(signum)


def _retry(signum, frame) -> None:
    if _deferred:
        _raise(_pending, frame)


def raise_if_stopped() -> None:
    """Raise `Interrupted` if a stop signal arrived and its exception was swallowed on the way."""
    if _pending is not None:
        raise Interrupted(_pending)


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, each of STOP_SIGNALS raises `Interrupted` (in the main thread; Python
    delivers signals there), or, when it arrives inside an import, as soon as the import is done
    (SIGALRM, IMPORT_RETRY_S apart, checks). A stop still waiting when the block ends is dropped:
    the block ended within IMPORT_RETRY_S of the import, its work done, and the process exits
    anyway. The previous handlers come back afterwards, and the retry timer is off. Nothing else
    in the package uses SIGALRM."""
    global _pending, _deferred
    _pending, _deferred = None, False
    previous = {signum: signal.signal(signum, _raise) for signum in STOP_SIGNALS}
    previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, _retry)
    signal.siginterrupt(signal.SIGALRM, False)  # the retries restart the system calls they land in
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _pending, _deferred = None, False


_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "the name is too long for the file system",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EEXIST: "already exists",
    errno.ENOENT: "no such file or folder",
    errno.EIO: "input/output error (a failing disk?)",
    errno.EMFILE: "too many open files",
}


def os_error_message(exc: OSError) -> str:
    """'PATH: no space left on the device' for any OSError, naming the file when it is known."""
    reason = _REASONS.get(exc.errno, exc.strerror or str(exc))
    where = exc.filename if exc.filename is not None else None
    return f"{os.fsdecode(where)}: {reason}" if where is not None else reason


def writable_folder_problem(path: os.PathLike | str) -> str | None:
    """Why `path` cannot be (or become) a folder we write into, or None if it can: it is a file,
    lies under a file, or its nearest existing folder is read-only or not writable."""
    path = os.path.abspath(os.fspath(path))
    if os.path.lexists(path) and not os.path.isdir(path):
        return f"{path}: is a file, not a folder"
    existing = path
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{path}: cannot be a folder, {existing} is a file"
    try:
        statvfs = os.statvfs(existing)
        read_only = bool(statvfs.f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        return f"{path}: cannot write there, {existing} is on a read-only file system"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{path}: cannot write there, {existing} is not writable (permission denied)"
    return None
