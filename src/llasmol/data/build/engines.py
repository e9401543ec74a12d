"""Where a build's per-record work runs: local processes, or Ray Data on a Ray cluster.

An engine streams one source: it reads the records (a line at a time), cuts them into chunks and
runs :func:`clean_chunk` (parse, canonicalize, QC, name checks) on each, yielding ``(records in
chunk, clean units, QC tally)`` in input order. Everything that decides the output (deduplication,
splits, leakage control, writing) stays in the calling process and sees the same units in the same
order from either engine, so both build byte-identical data.

- ``local`` (default): the source is read in this process, chunks are cleaned by ``workers``
  processes with a bounded number in flight.
- ``ray`` (``pip install 'llasmol[ray]'``): a Ray Data pipeline, read → ``map_batches(clean)`` →
  ordered iteration. The source is read by one Ray task (it needs no CPU slot); cleaning runs on every
  CPU of the cluster, which is ``ray start --head`` on one node with workers joining
  (``--address``), or a local cluster of ``workers`` CPUs. The streaming executor's backpressure
  keeps a bounded number of chunks in flight. Ray retries a task whose worker died; a build that
  still fails leaves no output folder.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from itertools import islice
from typing import Any

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.qc import CleanUnit, QCOptions, clean_chunk
from llasmol.data.build.records import Record, Tally
from llasmol.data.build.sources import get_reader
from llasmol.errors import LlasmolError

CleanedChunk = tuple[int, list[CleanUnit | None], Tally]

_CHUNKS_IN_FLIGHT_PER_WORKER = 4


class RayNotInstalledError(LlasmolError, ImportError):
    """``--engine ray`` without Ray installed."""

    def __str__(self) -> str:
        return "the ray engine needs Ray Data: pip install 'llasmol[ray]' (or pip install 'ray[data]')"


def source_records(source: SourceConfig, tally: Tally) -> Iterator[Record]:
    """The records of a source as its reader streams them, at most ``source.limit``."""
    records = get_reader(source.reader)(source, tally)
    return records if source.limit is None else islice(records, source.limit)


def chunked(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


class LocalEngine(AbstractContextManager):
    """Cleans chunks in ``workers`` processes (in this one for ``workers <= 1``)."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool: Any = None

    def __enter__(self) -> LocalEngine:
        if self.workers > 1:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self._pool = context.Pool(self.workers)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()

    def stream(self, source: SourceConfig, options: QCOptions, chunk_size: int,
               tally: Tally) -> Iterator[CleanedChunk]:
        """The source's chunks cleaned, in input order; the reader counts its dropped rows into ``tally``."""
        chunks = chunked(source_records(source, tally), chunk_size)
        if self._pool is None:
            for chunk in chunks:
                yield len(chunk), *clean_chunk(chunk, options)
            return
        window: deque = deque()
        for chunk in chunks:
            window.append((len(chunk), self._pool.apply_async(clean_chunk, (chunk, options))))
            if len(window) >= self.workers * _CHUNKS_IN_FLIGHT_PER_WORKER:
                size, result = window.popleft()
                yield size, *result.get()
        while window:
            size, result = window.popleft()
            yield size, *result.get()


def _read_chunks(source: SourceConfig, chunk_size: int) -> Iterator[Any]:
    """Ray read function: one block per chunk, each carrying the reader's tally since the last one."""
    import pyarrow as pa

    tally = Tally()
    for chunk in chunked(source_records(source, tally), chunk_size):
        counted = Tally(tally)
        tally.clear()
        yield pa.table({"chunk": pa.array([pickle.dumps((chunk, counted))], type=pa.binary())})
    if tally:  # rows dropped after the last chunk, or a source with no record at all
        yield pa.table({"chunk": pa.array([pickle.dumps(([], tally))], type=pa.binary())})


def _clean_blocks(batch: Any, options: QCOptions) -> Any:
    """Ray ``map_batches`` function: :func:`clean_chunk` of each pickled chunk."""
    import pyarrow as pa

    cleaned = []
    for payload in batch.column("chunk").to_pylist():
        chunk, read_tally = pickle.loads(payload)
        units, tally = clean_chunk(chunk, options)
        cleaned.append(pickle.dumps((len(chunk), units, tally, read_tally)))
    return pa.table({"cleaned": pa.array(cleaned, type=pa.binary())})


def _source_datasource(source: SourceConfig, chunk_size: int) -> Any:
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    class SourceChunks(Datasource):
        """One source file as one streaming read task."""

        def estimate_inmemory_data_size(self) -> None:
            return None

        def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                           data_context: Any = None) -> list[ReadTask]:
            metadata = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None,
                                     input_files=(str(source.path),))
            return [ReadTask(lambda: _read_chunks(source, chunk_size), metadata)]

    return SourceChunks()


def _user_error(error: BaseException) -> BaseException:
    """The llasmol error a Ray failure wraps (a reader's ``DataFormatError``), else the failure itself."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, LlasmolError) and type(current).__module__.startswith("llasmol"):
            return current
        current = getattr(current, "cause", None) or current.__cause__
    return error


class RayEngine(AbstractContextManager):
    """Cleans chunks with Ray Data on the cluster at ``address``, or on a local one of ``workers`` CPUs."""

    def __init__(self, workers: int, address: str | None = None) -> None:
        try:
            import ray
            import ray.data  # noqa: F401
        except ImportError:
            raise RayNotInstalledError() from None
        self.workers = max(1, workers)
        self.address = address
        self._started = False

    def __enter__(self) -> RayEngine:
        import ray
        from ray.data import DataContext

        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            self._started = True
        context = DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False  # the build's own bar counts the records
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # failures come back as exceptions
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._started:
            import ray

            ray.shutdown()

    def stream(self, source: SourceConfig, options: QCOptions, chunk_size: int,
               tally: Tally) -> Iterator[CleanedChunk]:
        """The source's chunks cleaned on the cluster, in input order; the reader's counts go into ``tally``."""
        import ray.data

        dataset = ray.data.read_datasource(_source_datasource(source, chunk_size), num_cpus=0)
        dataset = dataset.map_batches(_clean_blocks, batch_size=1, batch_format="pyarrow",
                                      fn_kwargs={"options": options}, num_cpus=1)
        try:
            for row in dataset.iter_rows():
                size, units, chunk_tally, read_tally = pickle.loads(row["cleaned"])
                tally.update(read_tally)
                yield size, units, chunk_tally
        except Exception as error:
            cause = _user_error(error)
            if cause is error:
                raise
            raise cause.with_traceback(None) from None


Engine = LocalEngine | RayEngine


def build_engine(engine: str, workers: int, address: str | None = None) -> Engine:
    """The engine named ``local`` or ``ray``."""
    if engine == "ray":
        return RayEngine(workers, address)
    return LocalEngine(workers)
