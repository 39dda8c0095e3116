"""Compiled models a warm worker keeps for its next run of the same shape.

Tracing Keras's train, test and predict functions and compiling them with XLA costs a short run
more than its own epochs (a 10-epoch dense run on MNIST: about 3.5 s of its first epoch against
about 1 s for each later one, on 2 cores; see benchmarks/README.md). Runs of one comparison differ
only in their seed, so the second and later runs of a sweep can take the first run's compiled
model and give it their own starting state: the weights their seed builds, the optimizer state
it had before its first step, and the VAE's sampling state. Nothing the seed decides is kept, so a
run trained on a reused model is the same bits as one trained in a fresh process
(tests/sweep/test_sweep.py checks it).

A model goes back to the cache only after `fit` returned (a run interrupted or crashed mid-epoch
may leave Keras's iterators half-used, so its model is dropped). Only a warm worker turns the cache
on (`CACHE.capacity`); a one-run process has nothing to reuse. Standard library only at import:
the worker sets the capacity before it knows whether any run will need TensorFlow.

Benchmark that justifies it: `benchmarks/bench_sweep.py` (a sweep's runs with and without reuse).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class Compiled:
    model: Any  # a compiled `autoencoders.models.Autoencoder`
    optimizer_start: list  # the optimizer's variables before its first step (numpy arrays)
    key: tuple  # `training.compiled_key`: which later runs may reuse it


class CompiledModels:
    """At most `capacity` idle compiled models, by key (what decides the compiled functions: see
    `training.compiled_key`); the least recently returned one goes first."""

    def __init__(self, capacity: int = 0):
        self.capacity = capacity
        self._idle: OrderedDict[tuple, Compiled] = OrderedDict()
        self.reused = 0  # how many runs took a model from here (for the run's log and the tests)

    def take(self, key: tuple) -> Compiled | None:
        """The idle model of this key, now lent to the caller (gone from the cache), or None."""
        entry = self._idle.pop(key, None)
        if entry is not None:
            self.reused += 1
        return entry

    def give_back(self, entry: Compiled) -> None:
        """A model whose `fit` returned normally, ready for the next run of its key."""
        if self.capacity <= 0:
            return
        self._idle.pop(entry.key, None)
        self._idle[entry.key] = entry
        while len(self._idle) > self.capacity:
            self._idle.popitem(last=False)

    def clear(self) -> None:
        self._idle.clear()


#: The process's cache; off (capacity 0) unless a warm worker turned it on.
CACHE = CompiledModels()
