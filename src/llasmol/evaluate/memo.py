"""Each distinct item computed once, on the pool's workers, while this process goes on.

The scorers' plumbing, apart from their metrics: a :class:`Memory` holds what was computed by key
(a process-wide one serves several evaluations scored against the same golds, a fresh one a single
evaluation); :func:`remembered_later` starts the keys it lacks and returns a function that waits;
:func:`on_workers` starts them on a :class:`WorkPool` with progress. A step that raised on an item is
kept as its :class:`ScoringFailure`; :func:`without_failures` replaces it by the :class:`Step`'s
fallback value and records where it happened, so that every evaluation counts it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from llasmol.evaluate.isolation import ScoringFailure
from llasmol.evaluate.parallel import WorkPool
from llasmol.evaluate.progress import ProgressHook

Key = TypeVar("Key")
Value = TypeVar("Value")

DEFAULT_LIMIT = 1 << 20

# Where a step raised: (step name, item) -> reason.
Failures = dict[tuple[str, object], str]


class Memory(Generic[Key, Value]):
    """Computed values by key; emptied when it would hold more than ``limit``. Safe across threads."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._values: dict[Key, Value] = {}
        self._lock = threading.Lock()

    def found(self, keys: Iterable[Key]) -> dict[Key, Value]:
        """The values of the ``keys`` held."""
        with self._lock:
            return {key: self._values[key] for key in keys if key in self._values}

    def keep(self, computed: dict[Key, Value]) -> None:
        with self._lock:
            if len(self._values) + len(computed) > self.limit:
                self._values.clear()
            self._values.update(computed)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_PROCESS_MEMORIES: list[Memory] = []


def process_memory() -> Memory:
    """A :class:`Memory` kept by this process for later evaluations, emptied by :func:`forget_remembered`."""
    memory: Memory = Memory()
    _PROCESS_MEMORIES.append(memory)
    return memory


def forget_remembered() -> None:
    """Empty every process-wide memory (canonical forms, InChIs, similarities of earlier evaluations)."""
    for memory in _PROCESS_MEMORIES:
        memory.clear()


@dataclass(frozen=True)
class Step:
    """A step's name and the value that stands for its result on an item it raised on."""

    name: str
    fallback: object = None


def without_failures(values: dict[Key, Value], step: Step, failures: Failures | None) -> dict[Key, Value]:
    """``values`` with each :class:`ScoringFailure` replaced by the step's fallback (recorded in ``failures``)."""
    for key, value in values.items():
        if isinstance(value, ScoringFailure):
            if failures is not None:
                failures[(step.name, key)] = value.reason
            values[key] = step.fallback
    return values


Start = Callable[[list[Key]], Callable[[], list[Value]]]


def remembered_later(keys: Iterable[Key], memory: Memory[Key, Value], start: Start
                     ) -> Callable[[], dict[Key, Value]]:
    """Start computing the distinct ``keys`` not in ``memory`` (``start(missing)`` returns a function that waits).

    The returned function waits, keeps what was computed in ``memory`` and gives ``{key: value}``
    for ``keys``. Where tasks are scored on several threads a key may be computed twice.
    """
    keys = list(dict.fromkeys(keys))
    found = memory.found(keys)
    missing = [key for key in keys if key not in found]
    results = start(missing)

    def finish() -> dict[Key, Value]:
        computed = dict(zip(missing, results(), strict=True))
        memory.keep(computed)
        return {**found, **computed}

    return finish


def on_workers(pool: WorkPool, progress: ProgressHook, chunk_function: Callable[[list[Key]], list[Value]]
               ) -> Start:
    """``start(items)``: ``chunk_function`` over the items on the pool's workers, counted in ``progress``."""
    def start(items: list[Key]) -> Callable[[], list[Value]]:
        progress.add(len(items))
        return pool.map_later(chunk_function, items, progress.advance)
    return start


def step_on_workers(pool: WorkPool, progress: ProgressHook, memory: Memory[Key, Value],
                    chunk_function: Callable[[list[Key]], list[Value]], step: Step,
                    failures: Failures | None = None) -> Callable[[Iterable[Key]], Callable[[], dict[Key, Value]]]:
    """``start(keys)``: the ``step``'s ``chunk_function`` over the keys ``memory`` lacks, on the workers.

    Waiting gives ``{key: value}``, the fallback where the step raised (see :func:`without_failures`).
    """
    start_chunks = on_workers(pool, progress, chunk_function)

    def start(keys: Iterable[Key]) -> Callable[[], dict[Key, Value]]:
        finish = remembered_later(keys, memory, start_chunks)
        return lambda: without_failures(finish(), step, failures)

    return start
