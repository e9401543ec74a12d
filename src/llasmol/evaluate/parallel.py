"""A small process pool that maps a function over chunks of items, in order."""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

DEFAULT_CHUNK_SIZE = 256
CHUNKS_PER_WORKER = 8


class WorkPool:
    """Runs ``function(chunk) -> results`` over chunks on ``workers`` processes (inline for one).

    Worker processes live as long as the pool, so their caches (canonical forms, fingerprints,
    WordNet look-ups) serve every task scored with it. ``function`` must be a module-level
    function so that it can be sent to the workers.
    """

    def __init__(self, workers: int = 1, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.chunk_size = chunk_size
        self._pool: Any = None

    def start(self) -> WorkPool:
        """Start the worker processes now (before threads exist in this process)."""
        if self.workers > 1 and self._pool is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self._pool = multiprocessing.get_context(method).Pool(self.workers)
        return self

    def map(self, function: Callable[[list[Item]], list[Result]], items: Sequence[Item],
            on_chunk: Callable[[int], None] | None = None) -> list[Result]:
        """``function`` over ``items`` in chunks; results in item order. ``on_chunk(n)`` after each chunk."""
        return self.map_later(function, items, on_chunk)()

    def map_later(self, function: Callable[[list[Item]], list[Result]], items: Sequence[Item],
                  on_chunk: Callable[[int], None] | None = None) -> Callable[[], list[Result]]:
        """Like :meth:`map`, but the workers start now and the returned function waits for the results.

        This process can do other work meanwhile. Inline (one worker, or one chunk) the work
        runs when the results are asked for.
        """
        items = list(items)
        # Up to chunk_size items a chunk, but at least CHUNKS_PER_WORKER chunks for each worker, so
        # that a few slow chunks at the end leave little idle time.
        size = max(1, min(self.chunk_size, math.ceil(len(items) / (self.workers * CHUNKS_PER_WORKER))))
        chunks = [items[start:start + size] for start in range(0, len(items), size)]
        if self.workers > 1 and len(chunks) > 1:
            self.start()
            outputs = self._pool.imap(function, chunks)
        else:
            outputs = map(function, chunks)

        def results() -> list[Result]:
            found: list[Result] = []
            for chunk, output in zip(chunks, outputs, strict=True):
                found.extend(output)
                if on_chunk is not None:
                    on_chunk(len(chunk))
            return found

        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> WorkPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None and exc[0] is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        self.close()
