"""Extension points: what the study (or anyone's package) adds to the library without the library
importing it.

Each point is an entry-point group: a package declares its entries in its pyproject.toml under
`[project.entry-points."GROUP"]`, and the library asks for a group's entries only when it needs
them, importing just those. This package declares its own study's entries that way (see
pyproject.toml), so no library module imports a study module (`tests/test_architecture.py` checks
the import graph), and another package can add a report section or a training callback the same way.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

#: `python -m autoencoders NAME ARGS`: f(argv) -> exit code (the Findings' command)
COMMANDS = "autoencoders.commands"
#: `evaluate.py --study`: f(out, runs, evaluations, *, command, collapse_folder) -> summary dict
STUDY = "autoencoders.study"
#: a comparison report's extra sections, after the comparisons: f(evaluations) -> (title, markdown lines, data) or None
REPORT_SECTIONS = "autoencoders.report_sections"
#: callbacks a run trains with, before the epoch recorder: f(config, data) -> a Keras callback or None
TRAINING_CALLBACKS = "autoencoders.training_callbacks"


def entries(group: str) -> dict[str, Any]:
    """The group's entries by name, loaded, in name order (so a report's sections always come in
    the same order)."""
    return {point.name: point.load() for point in sorted(entry_points(group=group), key=lambda point: point.name)}


def names(group: str) -> list[str]:
    """The group's entry names, without importing them (for a usage line)."""
    return sorted(point.name for point in entry_points(group=group))
