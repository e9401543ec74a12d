"""Each answer scored in isolation: an exception while scoring one answer counts that answer invalid.

A model under training writes any text, and one answer that makes a scoring step raise must not
cost the scores of every other sample. The reference calls an answer invalid where its parsing
fails; here any unexpected exception in a step on one answer does the same. :func:`each_guarded`
runs a step over items, turning an exception into a :class:`ScoringFailure`;
:class:`ScoringErrors` keeps, by sample, the reason of the first failure, which the evaluator logs
with the task and line and counts in ``num_scoring_errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

Item = TypeVar("Item")
Value = TypeVar("Value")

_REASON_LENGTH = 160


@dataclass(frozen=True)
class ScoringFailure:
    """What a scoring step raised on one item, in a line."""

    reason: str


def describe(error: BaseException) -> str:
    """``ExceptionName: message`` on one line, the message cut to 160 characters."""
    message = " ".join(str(error).split())
    if len(message) > _REASON_LENGTH:
        message = message[:_REASON_LENGTH] + "..."
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def guarded(step: Callable[[Item], Value], item: Item) -> Value | ScoringFailure:
    """``step(item)``, or a :class:`ScoringFailure` where it raises an ``Exception``."""
    try:
        return step(item)
    except Exception as error:
        return ScoringFailure(describe(error))


def each_guarded(step: Callable[[Item], Value], items: Iterable[Item]) -> list[Value | ScoringFailure]:
    """:func:`guarded` ``step`` over ``items``."""
    return [guarded(step, item) for item in items]


def read_answer(read: Callable[[str], Value | None], answer: str, sample: int, errors: ScoringErrors) -> Value | None:
    """``read(answer)``; ``None`` (invalid) where it raised, the sample and reason recorded in ``errors``."""
    value = guarded(read, answer)
    if isinstance(value, ScoringFailure):
        errors.add(sample, f"{answer[:60]!r}: {value.reason}")
        return None
    return value


@dataclass
class ScoringErrors:
    """Samples with an answer whose scoring raised (counted invalid): sample index -> first reason."""

    by_sample: dict[int, str] = field(default_factory=dict)

    def add(self, sample: int, reason: str) -> None:
        self.by_sample.setdefault(sample, reason)

    def __len__(self) -> int:
        return len(self.by_sample)
