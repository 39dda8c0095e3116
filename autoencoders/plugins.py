"""Extension points: what the study (or anyone's package) adds to the library without the library
importing it.

Each point is an entry-point group: a package declares its entries in its pyproject.toml under
`[project.entry-points."GROUP"]`, and the library asks for a group's entries only when it needs
them, importing just those. This package declares its own study's entries that way (see
pyproject.toml), so no library module imports a study module (`tests/test_architecture.py` checks
the import graph), and another package can add a report section or a training callback the same way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import entry_points
from pkgutil import resolve_name
from typing import Any

#: `python -m autoencoders NAME ARGS`: f(argv) -> exit code (the Findings' command)
COMMANDS = "autoencoders.commands"
#: `evaluate.py --study`: f(out, runs, evaluations, *, command, collapse_folder) -> summary dict
STUDY = "autoencoders.study"
#: a comparison report's extra sections, after the comparisons: f(evaluations) -> (title, markdown lines, data) or None
REPORT_SECTIONS = "autoencoders.report_sections"
#: callbacks a config names in `training.callbacks` (e.g. the study's `probe_gradients`): each entry a
#: `TrainingCallback`. One must only record measures (what it puts in `logs` reaches history.csv),
#: never change a weight: runs that differ only in them share compiled functions and compare as equals.
TRAINING_CALLBACKS = "autoencoders.training_callbacks"


@dataclass(frozen=True)
class TrainingCallback:
    """A training callback a config can name: what it needs of the config, checked with the config
    before TensorFlow is imported, and its Keras code, imported only when a run trains with it.

    factory: "module:function", function(config, data) -> a Keras callback, added before the epoch
        recorder so that what it logs is in the row the recorder writes.
    heads: the output heads it works with (None: any).
    why: why it needs those heads, for the config error.
    """

    factory: str
    heads: tuple[str, ...] | None = None
    why: str = ""

    def works_with(self, head: str) -> bool:
        return self.heads is None or head in self.heads

    def make(self, config: Any, data: Any) -> Any:
        return resolve_name(self.factory)(config, data)


@functools.cache
def entries(group: str) -> dict[str, Any]:
    """The group's entries by name, loaded, in name order (so a report's sections always come in
    the same order). Read once per process: a run that names a callback asks for it when its
    config is checked and again when it trains."""
    return {point.name: point.load() for point in sorted(entry_points(group=group), key=lambda point: point.name)}


def names(group: str) -> list[str]:
    """The group's entry names, without importing them (for a usage line)."""
    return sorted(point.name for point in entry_points(group=group))
