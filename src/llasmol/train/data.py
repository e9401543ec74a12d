"""Training data: prompt/answer rows → token arrays → a deterministic plan of micro-batches.

Tokens live in one flat ``int32`` array with offsets (millions of samples stay compact). Every epoch
draws each task's samples times its weight, shuffled with a seed derived from ``(seed, epoch)``, so a
resumed run sees exactly the micro-batches it would have seen without the interruption.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llasmol.data.prompts import build_example
from llasmol.train.config import Batching, LongSamples

IGNORE_INDEX = -100
_TOKENIZE_CHUNK = 1024
_GROUP_MEGABATCH = 64  # micro-batches sorted together when grouping by length


@dataclass
class TokenStats:
    """What tokenization did to the samples of one split."""

    samples: int = 0
    kept: int = 0
    truncated: int = 0
    dropped_too_long: int = 0
    dropped_no_answer: int = 0  # nothing left to learn from after truncation
    tokens: int = 0
    per_task: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class TokenizedSplit:
    """Token ids of kept samples: sample ``i`` is ``tokens[offsets[i]:offsets[i+1]]``."""

    tokens: np.ndarray
    offsets: np.ndarray
    prompt_lengths: np.ndarray
    task_ids: np.ndarray
    row_ids: np.ndarray  # index of the sample among its task's rows
    task_names: list[str]
    stats: TokenStats
    content_hash: str

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def ids(self, index: int) -> np.ndarray:
        return self.tokens[self.offsets[index]:self.offsets[index + 1]]

    def sample_id(self, index: int) -> str:
        return f"{self.task_names[self.task_ids[index]]}:{self.row_ids[index]}"


def _tokenize(texts: list[str], tokenizer: Any) -> list[list[int]]:
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


class _SplitBuilder:
    """Accumulates tokenized samples and the counts of what was truncated or dropped."""

    def __init__(self, max_length: int, long_samples: LongSamples, loss_on: str) -> None:
        self.max_length, self.long_samples, self.loss_on = max_length, long_samples, loss_on
        self.chunks: list[np.ndarray] = []
        self.lengths: list[int] = []
        self.prompt_lengths: list[int] = []
        self.task_ids: list[int] = []
        self.row_ids: list[int] = []
        self.task_names: dict[str, int] = {}
        self.rows_per_task: Counter[str] = Counter()
        self.stats = TokenStats()
        self.digest = hashlib.sha256()

    def add(self, task: str, prompt_ids: Sequence[int], completion_ids: Sequence[int]) -> None:
        row_id = self.rows_per_task[task]
        self.rows_per_task[task] += 1
        self.stats.samples += 1
        ids = [*prompt_ids, *completion_ids]
        if len(ids) > self.max_length:
            if self.long_samples is LongSamples.DROP:
                self.stats.dropped_too_long += 1
                return
            ids = ids[: self.max_length]
            self.stats.truncated += 1
        if self.loss_on == "answer" and len(prompt_ids) >= len(ids):
            self.stats.dropped_no_answer += 1
            return
        task_id = self.task_names.setdefault(task, len(self.task_names))
        self.chunks.append(np.asarray(ids, dtype=np.int32))
        self.lengths.append(len(ids))
        self.prompt_lengths.append(min(len(prompt_ids), len(ids)))
        self.task_ids.append(task_id)
        self.row_ids.append(row_id)
        self.stats.kept += 1
        self.stats.tokens += len(ids)
        self.stats.per_task[task] = self.stats.per_task.get(task, 0) + 1

    def build(self) -> TokenizedSplit:
        offsets = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=offsets[1:])
        tokens = np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int32)
        return TokenizedSplit(
            tokens=tokens, offsets=offsets,
            prompt_lengths=np.asarray(self.prompt_lengths, dtype=np.int32),
            task_ids=np.asarray(self.task_ids, dtype=np.int32),
            row_ids=np.asarray(self.row_ids, dtype=np.int64),
            task_names=list(self.task_names), stats=self.stats, content_hash=self.digest.hexdigest(),
        )


def spread_over_tasks(rows: Iterable[Mapping[str, Any]], limit: int | None,
                      seed: int) -> Iterator[Mapping[str, Any]]:
    """At most ``limit`` rows, as even across tasks as the data allows, chosen with ``seed``; in input order."""
    if limit is None:
        yield from rows
        return
    by_task: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_task.setdefault(str(row["task"]), []).append(row)
    rng = np.random.default_rng([seed, 11])
    pools = {task: rng.permutation(len(items)) for task, items in by_task.items()}
    chosen: dict[str, list[int]] = {task: [] for task in by_task}
    total, depth = 0, 0
    while total < limit and any(depth < len(pool) for pool in pools.values()):
        for task, pool in pools.items():
            if depth < len(pool) and total < limit:
                chosen[task].append(int(pool[depth]))
                total += 1
        depth += 1
    for task, items in by_task.items():
        for index in sorted(chosen[task]):
            yield items[index]


def tokenize_rows(rows: Iterable[Mapping[str, Any]], tokenizer: Any, *, prompt_format: str = "paper",
                  max_length: int = 512, long_samples: LongSamples | str = LongSamples.TRUNCATE,
                  loss_on: str = "answer") -> TokenizedSplit:
    """Tokenize rows with ``input``/``output``/``task`` through the shared prompt format.

    Prompt and completion are tokenized separately (``add_special_tokens=False``) so the loss mask
    is exact. Samples over ``max_length`` are truncated or dropped, and counted.
    """
    builder = _SplitBuilder(max_length, LongSamples(long_samples), loss_on)
    batch: list[tuple[str, str, str]] = []

    def flush() -> None:
        pairs = [build_example(query, answer, tokenizer, prompt_format) for _, query, answer in batch]
        prompt_ids = _tokenize([pair.prompt for pair in pairs], tokenizer)
        completion_ids = _tokenize([pair.completion for pair in pairs], tokenizer)
        for (task, query, answer), prompt, completion in zip(batch, prompt_ids, completion_ids, strict=True):
            builder.digest.update(json.dumps([task, query, answer], ensure_ascii=False).encode())
            builder.add(task, prompt, completion)
        batch.clear()

    for row in rows:
        batch.append((str(row["task"]), str(row["input"]), str(row["output"])))
        if len(batch) >= _TOKENIZE_CHUNK:
            flush()
    if batch:
        flush()
    return builder.build()


def epoch_order(split: TokenizedSplit, task_weights: Mapping[str, float], seed: int, epoch: int) -> np.ndarray:
    """Sample indices of one epoch: each task's samples × its weight (default 1), shuffled.

    A weight of 2 repeats a task's samples twice, 0.5 takes a random half: the paper's mixing by
    task size is all weights 1.
    """
    rng = np.random.default_rng([seed, epoch])
    chosen: list[np.ndarray] = []
    for task_id, task in enumerate(split.task_names):
        members = np.flatnonzero(split.task_ids == task_id)
        weight = float(task_weights.get(task, 1.0))
        whole, fraction = int(weight), weight - int(weight)
        chosen.extend(rng.permutation(members) for _ in range(whole))
        extra = round(fraction * len(members))
        if extra:
            chosen.append(rng.permutation(members)[:extra])
    order = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    return rng.permutation(order)


def _micro_batches_of(order: np.ndarray, lengths: np.ndarray, micro_batch_size: int, batching: Batching,
                      rng: np.random.Generator) -> list[np.ndarray]:
    if batching is Batching.GROUPED:
        span = micro_batch_size * _GROUP_MEGABATCH
        groups = [order[start:start + span] for start in range(0, len(order), span)]
        order = np.concatenate([group[np.argsort(-lengths[group], kind="stable")] for group in groups])
        batches = [order[start:start + micro_batch_size] for start in range(0, len(order), micro_batch_size)]
        return [batches[index] for index in rng.permutation(len(batches))]
    return [order[start:start + micro_batch_size] for start in range(0, len(order), micro_batch_size)]


def plan_micro_batches(split: TokenizedSplit, *, micro_batch_size: int, batching: Batching | str,
                       task_weights: Mapping[str, float], seed: int, epochs: float,
                       min_micro_batches: int = 0) -> list[np.ndarray]:
    """Micro-batches (arrays of sample indices) of the whole run, epoch after epoch.

    ``epochs`` may be fractional; ``min_micro_batches`` extends the plan with further epochs (a
    ``max_steps`` longer than the epochs). The plan depends only on the data and these arguments.
    """
    batching = Batching(batching)
    lengths = split.lengths
    plan: list[np.ndarray] = []
    epoch = 0
    while epoch < math.ceil(epochs) or len(plan) < min_micro_batches:
        order = epoch_order(split, task_weights, seed, epoch)
        if len(order) == 0:
            raise ValueError("no training samples left to plan (all task weights are 0?)")
        if epoch + 1 > epochs and len(plan) >= min_micro_batches:
            order = order[: max(1, round((epochs - epoch) * len(order)))]
        plan.extend(_micro_batches_of(order, lengths, micro_batch_size, batching,
                                      np.random.default_rng([seed, epoch, 1])))
        epoch += 1
    return plan


def eval_subset(split: TokenizedSplit, limit: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` validation samples, as even across tasks as the data allows."""
    if limit is None or limit >= len(split):
        return np.arange(len(split))
    rng = np.random.default_rng([seed, 7])
    pools = [rng.permutation(np.flatnonzero(split.task_ids == task_id)) for task_id in range(len(split.task_names))]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < limit:
        for pool in pools:
            if depth < len(pool) and len(chosen) < limit:
                chosen.append(int(pool[depth]))
        depth += 1
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _labels_of(split: TokenizedSplit, index: int, loss_on: str) -> np.ndarray:
    ids = split.ids(index).astype(np.int64)
    labels = ids.copy()
    labels[0] = IGNORE_INDEX  # never predict a sample's first token from the previous sample
    if loss_on == "answer":
        labels[: split.prompt_lengths[index]] = IGNORE_INDEX
    return labels


def pack_rows(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Positions of samples grouped into rows of at most ``capacity`` tokens (first fit, longest first).

    A sample longer than ``capacity`` gets a row of its own.
    """
    rows: list[list[int]] = []
    room: list[int] = []
    for position in sorted(range(len(lengths)), key=lambda item: -lengths[item]):
        length = lengths[position]
        row = next((index for index, free in enumerate(room) if free >= length), None)
        if row is None:
            rows.append([position])
            room.append(capacity - length)
        else:
            rows[row].append(position)
            room[row] -= length
    return rows


def collate_micro_batch(split: TokenizedSplit, indices: Sequence[int], *, batching: Batching,
                        pad_token_id: int, loss_on: str, row_tokens: int = 512) -> dict[str, Any]:
    """Model inputs of one micro-batch (``labels`` unshifted, ``IGNORE_INDEX`` where nothing is learnt).

    Packed: samples are concatenated into rows of at most ``row_tokens`` tokens with ``position_ids``
    restarting at each sample and no attention mask (transformers then keeps attention inside each
    sample); rows are padded at the end to the longest row. Otherwise: one right-padded row per
    sample with an attention mask. ``real_tokens`` counts the non-padding tokens.
    """
    import torch

    ids = [split.ids(index).astype(np.int64) for index in indices]
    labels = [_labels_of(split, index, loss_on) for index in indices]
    sample_ids = [split.sample_id(index) for index in indices]
    real_tokens = sum(len(row) for row in ids)
    if batching is Batching.PACKED:
        rows = pack_rows([len(row) for row in ids], row_tokens)
        ids = [np.concatenate([ids[position] for position in row]) for row in rows]
        labels = [np.concatenate([labels[position] for position in row]) for row in rows]
        positions = [np.concatenate([np.arange(len(split.ids(indices[position]))) for position in row]) for row in rows]
    width = max(len(row) for row in ids)
    input_ids = np.full((len(ids), width), pad_token_id, dtype=np.int64)
    label_rows = np.full((len(ids), width), IGNORE_INDEX, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, (row_ids, row_labels) in enumerate(zip(ids, labels, strict=True)):
        input_ids[row, : len(row_ids)] = row_ids
        label_rows[row, : len(row_ids)] = row_labels
        mask[row, : len(row_ids)] = 1
    batch = {"input_ids": torch.from_numpy(input_ids), "labels": torch.from_numpy(label_rows),
             "sample_ids": sample_ids, "real_tokens": real_tokens}
    if batching is Batching.PACKED:
        position_ids = np.zeros((len(ids), width), dtype=np.int64)
        for row, row_positions in enumerate(positions):
            position_ids[row, : len(row_positions)] = row_positions
            position_ids[row, len(row_positions):] = np.arange(width - len(row_positions))  # padding: own segment
        batch["position_ids"] = torch.from_numpy(position_ids)
    else:
        batch["attention_mask"] = torch.from_numpy(mask)
    return batch


class MicroBatchDataset:
    """A map-style dataset whose items are whole, already collated micro-batches."""

    def __init__(self, split: TokenizedSplit, plan: Sequence[np.ndarray], *, batching: Batching,
                 pad_token_id: int, loss_on: str, row_tokens: int = 512) -> None:
        self.split, self.plan = split, plan
        self.batching, self.pad_token_id, self.loss_on, self.row_tokens = batching, pad_token_id, loss_on, row_tokens

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return collate_micro_batch(self.split, self.plan[index], batching=self.batching,
                                   pad_token_id=self.pad_token_id, loss_on=self.loss_on, row_tokens=self.row_tokens)


def unwrap_single(features: list[dict[str, Any]]) -> dict[str, Any]:
    """Data collator for :class:`MicroBatchDataset` loaded one item at a time."""
    if len(features) != 1:
        raise ValueError(f"expected one micro-batch per load, got {len(features)}")
    return features[0]
