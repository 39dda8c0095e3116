"""TensorFlow's start-up lines kept off the terminal unless asked for.

Importing TensorFlow 2.21 prints, whatever TF_CPP_MIN_LOG_LEVEL says, "WARNING: All log messages
before absl::InitializeLog() is called are written to STDERR", "I0000 ... port.cc] oneDNN custom
operations are on ..." and "I0000 ... cudart_stub.cc] Could not find cuda drivers ..." (twice: two
of its libraries log before absl is set up); afterwards it honours the variable ("E0000 ...
failed call to cuInit" on a machine without a GPU is an error line, so only level 3 hides it).

`configure` sets one level for the process and the training processes a sweep starts (they
inherit the environment): the user's own TF_CPP_MIN_LOG_LEVEL if set, else 0 with `--verbose`,
else 3. It then has the first import of TensorFlow (or JAX) run with file descriptor 2 captured
and writes back what was captured except the log lines below that level. Nothing else printed is
held back, and no TensorFlow setting that changes results (TF_ENABLE_ONEDNN_OPTS) is touched.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
QUIET_LEVEL = 3  # only fatal lines
VERBOSE_LEVEL = 0  # TensorFlow's own default: everything
WRAPPED = ("tensorflow", "jax")  # top-level packages whose first import is captured

# absl/glog ("I0000 00:00:1796531182.947878    4580 port.cc:153] ...") and TensorFlow's older
# format ("2024-01-01 12:00:00.123456: W tensorflow/.../py_utils.cc:38] TF-TRT Warning: ...").
_LOG_LINE = re.compile(r"^(?:([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) \S+:\d+\])")
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
_ABSL_NOTE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def level(verbose: bool = False, environ=os.environ) -> int:
    """The TF_CPP_MIN_LOG_LEVEL in force: the user's, else 0 with --verbose, else 3."""
    value = environ.get(LEVEL_ENV)
    if value is None:
        return VERBOSE_LEVEL if verbose else QUIET_LEVEL
    try:
        return int(value)
    except ValueError:
        return 0  # as TensorFlow reads a value it cannot parse


def configure(verbose: bool = False) -> int:
    """Set the level in the environment (before TensorFlow is imported; a sweep's training
    processes inherit it) and have the first import of TensorFlow or JAX filtered by it."""
    chosen = level(verbose)
    os.environ.setdefault(LEVEL_ENV, str(chosen))
    if chosen >= 2:  # Python-side messages of the same libraries (absl-py's logger; TensorFlow's own already ERROR)
        logging.getLogger("absl").setLevel(logging.ERROR)
    for finder in [f for f in sys.meta_path if isinstance(f, _QuietFirstImport)]:
        sys.meta_path.remove(finder)
    sys.meta_path.insert(0, _QuietFirstImport(chosen))
    return chosen


def kept(text: str, min_level: int) -> str:
    """`text` without the log lines below `min_level` (a dropped line's continuation lines go with
    it) and, from level 1, without absl's note that such lines follow."""
    out, dropping = [], False
    for line in text.splitlines(keepends=True):
        if line.rstrip("\n") == _ABSL_NOTE:
            dropping = False  # a line of its own
            if min_level < 1:
                out.append(line)
            continue
        match = _LOG_LINE.match(line)
        if match:
            dropping = _SEVERITY[match.group(1) or match.group(2)] < min_level
        if not dropping:
            out.append(line)
    return "".join(out)


@contextmanager
def filtered_stderr(min_level: int) -> Iterator[None]:
    """Within the block, whatever is written to file descriptor 2 (C++ libraries included) is
    captured; afterwards it is written back without the log lines below `min_level`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = kept(captured.read().decode(errors="replace"), min_level)
            if text:
                sys.stderr.write(text)
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """The package's own loader, its module executed inside `filtered_stderr`."""

    def __init__(self, loader, min_level: int):
        self.loader, self.min_level = loader, min_level

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = module.__spec__.loader = self.loader  # the package sees its own loader
        with filtered_stderr(self.min_level):
            self.loader.exec_module(module)


class _QuietFirstImport(importlib.abc.MetaPathFinder):
    def __init__(self, min_level: int):
        self.min_level, self._finding = min_level, False

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in WRAPPED or self._finding:
            return None
        self._finding = True
        try:
            spec = importlib.util.find_spec(fullname)  # what the other finders give
        finally:
            self._finding = False
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader, self.min_level)
        return spec
