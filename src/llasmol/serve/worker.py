"""Queueing and batching: an asyncio queue drained by one model thread.

Requests wait in an :class:`asyncio.Queue`. One coroutine takes up to ``max_batch_size`` of them
(waiting at most ``max_wait_ms`` for a batch to fill) and hands the batch to a single worker
thread, so the model never runs on the event loop and never runs twice at once. While a batch
runs, new requests queue up and form the next batch. A batch that raises is retried member by
member, so one bad request cannot fail the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from llasmol.errors import LlasmolError
from llasmol.serve.config import ServeSettings


class PredictRequestLike(Protocol):
    task: str
    input: str
    target: str | None


class Predictor(Protocol):
    """What the server needs from a model: batched task predictions and free-text answers."""

    def predict_batch(self, requests: list[Any]) -> list[Any]: ...

    def generate_batch(self, queries: list[str], *, max_new_tokens: int, canonicalize_smiles: bool) -> list[str]: ...


class QueueFullError(LlasmolError, RuntimeError):
    """More requests are waiting than the server accepts."""


class RequestTimeoutError(TimeoutError):
    """A request was not answered in time."""


@dataclass
class Job:
    """One queued request: a task prediction (``request``) or a free-text query (``query``)."""

    future: asyncio.Future
    request: Any = None
    query: str | None = None
    max_new_tokens: int = 512
    canonicalize_smiles: bool = False
    enqueued_at: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class Outcome:
    """What the model thread produced for one job, and how it ran."""

    result: Any = None
    error: BaseException | None = None
    batch_size: int = 1
    queued_s: float = 0.0
    model_s: float = 0.0


@dataclass
class WorkerStats:
    """Counters for ``/health``: how many batches ran and of what sizes."""

    batches: int = 0
    requests: int = 0
    failed_batches: int = 0
    batch_sizes: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "requests": self.requests,
            "failed_batches": self.failed_batches,
            "max_batch_size_seen": max(self.batch_sizes, default=0),
            "batch_sizes": {str(size): count for size, count in sorted(self.batch_sizes.items())},
        }


class BatchingWorker:
    """Runs queued jobs on the model in batches, in one thread."""

    def __init__(self, predictor: Predictor, settings: ServeSettings) -> None:
        self.predictor = predictor
        self.settings = settings
        self.stats = WorkerStats()
        self._queue: asyncio.Queue[Job] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._loop_task: asyncio.Task | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue(maxsize=self.settings.max_queue_size)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llasmol-model")
        self._loop_task = asyncio.create_task(self._serve_forever(), name="llasmol-batcher")

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        if self._queue is not None:
            while not self._queue.empty():
                job = self._queue.get_nowait()
                if not job.future.done():
                    job.future.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def generate(self, query: str, max_new_tokens: int, canonicalize_smiles: bool = False) -> Outcome:
        """Queue one free-text query and wait for the answer text."""
        return await self._submit(Job(asyncio.get_running_loop().create_future(), query=query,
                                      max_new_tokens=max_new_tokens, canonicalize_smiles=canonicalize_smiles))

    async def predict(self, request: Any) -> Outcome:
        """Queue one task prediction and wait for it (raises the predictor's error for this request)."""
        return await self._submit(Job(asyncio.get_running_loop().create_future(), request=request))

    async def _submit(self, job: Job) -> Outcome:
        if self._queue is None:
            raise RuntimeError("the worker is not started")
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            raise QueueFullError(f"{self._queue.qsize()} requests are already waiting; retry later") from None
        try:
            outcome: Outcome = await asyncio.wait_for(job.future, self.settings.timeout_s)
        except asyncio.TimeoutError:  # wait_for cancels the future, so a queued job is skipped
            raise RequestTimeoutError(f"no answer within {self.settings.timeout_s:g} s") from None
        if outcome.error is not None:
            raise outcome.error
        return outcome

    async def _serve_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            batch = [job for job in batch if not job.future.done()]  # timed out or client gone
            if not batch:
                continue
            try:
                outcomes = await loop.run_in_executor(self._executor, self._run_batch, batch)
            except Exception as error:  # a fault of the worker itself: fail this batch, keep serving
                outcomes = [Outcome(error=error, batch_size=len(batch)) for _ in batch]
            for job, outcome in zip(batch, outcomes, strict=True):
                if not job.future.done():
                    job.future.set_result(outcome)

    async def _next_batch(self) -> list[Job]:
        assert self._queue is not None
        batch = [await self._queue.get()]
        deadline = time.perf_counter() + self.settings.max_wait_ms / 1000
        while len(batch) < self.settings.max_batch_size:
            if self._queue.empty():
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            else:
                batch.append(self._queue.get_nowait())
        return batch

    def _run_batch(self, batch: list[Job]) -> list[Outcome]:
        """On the model thread: task predictions in one ``predict_batch`` call, free-text queries in one
        ``generate_batch`` call per new-token limit."""
        started = time.perf_counter()
        self.stats.batches += 1
        self.stats.requests += len(batch)
        self.stats.batch_sizes[len(batch)] += 1
        predictions = [job for job in batch if job.query is None]
        results: dict[int, tuple[Any, BaseException | None]] = {}
        results.update(self._predict_together(predictions))
        groups: dict[tuple[int, bool], list[Job]] = {}
        for job in batch:
            if job.query is not None:
                groups.setdefault((job.max_new_tokens, job.canonicalize_smiles), []).append(job)
        for jobs in groups.values():
            results.update(self._generate_together(jobs))
        model_s = time.perf_counter() - started
        return [
            Outcome(*results[id(job)], batch_size=len(batch), queued_s=started - job.enqueued_at, model_s=model_s)
            for job in batch
        ]

    def _predict_together(self, jobs: list[Job]) -> dict[int, tuple[Any, BaseException | None]]:
        if not jobs:
            return {}
        result, error = self._call(lambda: self.predictor.predict_batch([job.request for job in jobs]))
        if error is None and len(result) == len(jobs):
            return {id(job): (prediction, None) for job, prediction in zip(jobs, result, strict=True)}
        if error is None:
            error = RuntimeError(f"the model returned {len(result)} predictions for {len(jobs)} requests")
        if len(jobs) == 1:
            return {id(jobs[0]): (None, error)}
        self.stats.failed_batches += 1
        return {
            id(job): self._call(lambda job=job: self.predictor.predict_batch([job.request])[0]) for job in jobs
        }

    def _generate_together(self, jobs: list[Job]) -> dict[int, tuple[Any, BaseException | None]]:
        """Free-text queries with one new-token limit in one call; if it fails, each query alone."""
        def answer(group: list[Job]) -> list[str]:
            return self.predictor.generate_batch([str(job.query) for job in group],
                                                 max_new_tokens=group[0].max_new_tokens,
                                                 canonicalize_smiles=group[0].canonicalize_smiles)

        texts, error = self._call(lambda: answer(jobs))
        if error is None:
            return {id(job): (text, None) for job, text in zip(jobs, texts, strict=True)}
        if len(jobs) == 1:
            return {id(jobs[0]): (None, error)}
        self.stats.failed_batches += 1
        return {id(job): self._call(lambda job=job: answer([job])[0]) for job in jobs}

    @staticmethod
    def _call(function: Any) -> tuple[Any, BaseException | None]:
        try:
            return function(), None
        except Exception as error:
            return None, error
