"""What the dataset and architecture registries share: a name -> entry table, and code referenced
lazily by "module:function".

Both registries must be importable in milliseconds, because config validation reads them before
TensorFlow is imported (a typo in a config fails fast and writes nothing). So an entry names its
loader or builder as a string, imported only when the entry is used; a test or a user script may
give a callable instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

Entry = TypeVar("Entry")


def resolve(target: str | Callable) -> Callable:
    """A callable, or the object named by "package.module:attribute" (imported now)."""
    if callable(target):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Registry(Mapping[str, Entry], Generic[Entry]):
    """Entries by name, in the order they were added (reports and tables follow that order)."""

    def __init__(self, concept: str):
        self.concept = concept
        self._entries: dict[str, Entry] = {}

    def add(self, entry: Entry) -> Entry:
        """Add an entry (refused if its name is taken: a registry never changes what a name means)."""
        name = entry.name  # type: ignore[attr-defined]
        if name in self._entries:
            raise ValueError(f"{self.concept} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def __getitem__(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown {self.concept} {name!r}; expected one of {', '.join(self._entries)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def position(self, name: str) -> int:
        """Where `name` stands in the registry (unknown names sort last)."""
        return list(self._entries).index(name) if name in self._entries else len(self._entries)
