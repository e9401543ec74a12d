"""Gold answers: from a raw SMolInstruct split folder, or from each prediction's own ``gold``.

For molecules, formulas and names, every gold answer of the samples that share an input (and
target) counts as gold for each of them. Captions and property labels are scored against the
sample's own gold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from llasmol.data.raw import DataFormatError, iter_raw_records
from llasmol.errors import LlasmolError
from llasmol.evaluate.records import PredictionRecord
from llasmol.tasks import MetricFamily, Task

ALL_GOLDS_FAMILIES = frozenset({MetricFamily.MOLECULE, MetricFamily.FORMULA, MetricFamily.NAME})

SampleKey = tuple[str, str | None]


class InvalidGoldError(LlasmolError, ValueError):
    """A gold answer the task's metric cannot read (a bug in the gold data, not in the model)."""

    def __init__(self, gold: str, reason: str) -> None:
        super().__init__(f"invalid gold answer {gold!r}: {reason}")
        self.gold, self.reason = gold, reason


@dataclass(frozen=True)
class GoldSource:
    """Where a gold string was read: file, 1-based line and field."""

    path: Path
    line: int | None
    field_name: str


@dataclass
class GoldAnswers:
    """The gold answers of each sample (aligned with the records) and where each string came from."""

    answers: list[list[str]]
    sources: dict[str, GoldSource] = field(default_factory=dict)

    def error_for(self, error: InvalidGoldError, task: Task) -> DataFormatError:
        """A file:line error for an invalid gold reported by a scorer."""
        for text, source in self.sources.items():
            if normalize_answer(text, task) == error.gold:
                return DataFormatError(source.path, source.line, str(error), source.field_name)
        return DataFormatError("<gold>", None, str(error))


def normalize_answer(text: str, task: Task) -> str:
    """Stripped, with ';' read as '.' for tasks whose answers separate parts with ';'."""
    text = text.strip()
    return text.replace(";", ".") if task.semicolon_as_dot else text


def read_gold_split(path: Path | str) -> dict[SampleKey, list[tuple[str, int]]]:
    """``{(input, target): [(gold, line), ...]}`` of one raw split file, golds in file order."""
    index: dict[SampleKey, list[tuple[str, int]]] = {}
    for record in iter_raw_records(path):
        index.setdefault((record.input, record.target), []).append((record.output.strip(), record.line))
    return index


def _distinct(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def golds_from_split(task: Task, records: Sequence[PredictionRecord], predictions_path: Path,
                     gold_path: Path) -> GoldAnswers:
    """Gold answers of each record, looked up by (input, target) in a raw split file."""
    index = read_gold_split(gold_path)
    all_golds = task.metric_family in ALL_GOLDS_FAMILIES
    golds = GoldAnswers([])
    for record in records:
        found = index.get((record.input, record.target))
        if not found:
            target = f" (target {record.target!r})" if record.target is not None else ""
            raise DataFormatError(predictions_path, record.line, f"input{target} not found in {gold_path}", "input")
        split_golds = _distinct([text for text, _ in found])
        if record.gold is not None and record.gold.strip() not in split_golds:
            raise DataFormatError(predictions_path, record.line,
                                  f"{record.gold!r} is not a gold answer of this input in {gold_path}", "gold")
        if all_golds:
            golds.answers.append(split_golds)
        else:
            golds.answers.append([record.gold.strip() if record.gold is not None else split_golds[0]])
        for text, line in found:
            golds.sources.setdefault(text, GoldSource(gold_path, line, "output"))
    return golds


def golds_from_records(records: Sequence[PredictionRecord], predictions_path: Path | None = None) -> GoldAnswers:
    """Each record's own ``gold`` as its only gold answer."""
    golds = GoldAnswers([])
    for record in records:
        if record.gold is None:
            raise DataFormatError(predictions_path or "<records>", record.line, "missing (and no gold split given)",
                                  "gold")
        gold = record.gold.strip()
        golds.answers.append([gold])
        golds.sources.setdefault(gold, GoldSource(predictions_path or Path("<records>"), record.line, "gold"))
    return golds
