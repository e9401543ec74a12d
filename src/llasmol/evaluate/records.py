"""Prediction files: ``<task>.jsonl`` with one scored sample a line.

Each line is ``{"input", "gold", "pred": [k answers, best first] | null, "task", "target"?}``; a
line without ``pred`` but with ``output`` (the raw generated texts) has its answers extracted
first. ``null`` answers mean the prompt was skipped (too long).

Extraction modes: ``paper`` (the default) takes ``pred`` as written, else the paper's reading of
``output``; ``lenient`` always reads ``output`` with :func:`llasmol.tasks.extract_answer_lenient`, so
that its figures are never mixed with the paper's.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llasmol.data.raw import DataFormatError, iter_json_lines
from llasmol.tasks import TASK_NAMES, Task, UnknownTaskError, extract_answers_as, get_task


class EvaluationWarning(UserWarning):
    """Something the evaluator skipped or repaired; the run goes on."""


@dataclass(frozen=True)
class PredictionRecord:
    """One sample's answers (best first; ``None`` when the prompt was skipped) and its gold."""

    input: str
    gold: str | None
    answers: tuple[str | None, ...] | None
    target: str | None = None
    line: int | None = None  # 1-based line in the predictions file

    @classmethod
    def of(cls, input: str, gold: str | None, answers: Sequence[str | None] | None,
           target: str | None = None) -> PredictionRecord:
        """An in-memory record (no file behind it)."""
        return cls(input, gold, None if answers is None else tuple(answers), target)


def pad_answers(answers: Sequence[Sequence[str | None] | None], k: int) -> list[list[str | None]]:
    """Each sample's first ``k`` answers, missing ones (and skipped samples) as ``None``."""
    return [[None] * k if sample is None else [*sample[:k], *[None] * (k - len(sample))] for sample in answers]


def _optional_str(item: dict[str, Any], name: str, path: Path, line: int) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise DataFormatError(path, line, f"expected a string, got {type(value).__name__}", name)
    return value


def _string_list(value: Any, name: str, path: Path, line: int) -> list[str | None] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise DataFormatError(path, line, f"expected a list of strings or null, got {type(value).__name__}", name)
    for position, element in enumerate(value):
        if element is not None and not isinstance(element, str):
            raise DataFormatError(path, line, f"item {position} is {type(element).__name__}, not a string", name)
    return value


def _answers_of_line(item: dict[str, Any], task: Task, path: Path, line: int,
                     extraction: str) -> tuple[str | None, ...] | None:
    if "pred" in item and extraction == "paper":
        answers = _string_list(item["pred"], "pred", path, line)
    elif "output" in item:
        texts = _string_list(item["output"], "output", path, line)
        answers = None if texts is None else extract_answers_as([text or "" for text in texts], task, extraction)
    elif extraction == "paper":
        raise DataFormatError(path, line, "missing (and no 'output' to extract it from)", "pred")
    else:
        raise DataFormatError(path, line, f"missing ({extraction} extraction reads the generated texts)", "output")
    return None if answers is None else tuple(answers)


def _record_of_line(item: Any, task: Task, path: Path, line: int, extraction: str) -> PredictionRecord:
    if not isinstance(item, dict):
        raise DataFormatError(path, line, "expected a JSON object")
    if "input" not in item:
        raise DataFormatError(path, line, "missing", "input")
    source = _optional_str(item, "input", path, line)
    if source is None:
        raise DataFormatError(path, line, "expected a string, got null", "input")
    named_task = _optional_str(item, "task", path, line)
    if named_task is not None and named_task not in (task.name, task.short_name):
        raise DataFormatError(path, line, f"{named_task!r} does not match the file's task {task.name!r}", "task")
    return PredictionRecord(
        input=source,
        gold=_optional_str(item, "gold", path, line),
        answers=_answers_of_line(item, task, path, line, extraction),
        target=_optional_str(item, "target", path, line),
        line=line,
    )


def read_prediction_lines(path: Path | str, task: Task,
                          extraction: str = "paper") -> list[tuple[PredictionRecord, dict[str, Any]]]:
    """Each line's record and the JSON object it was read from, in file order; blank lines are skipped.

    ``extraction``: ``paper`` or ``lenient`` (see the module docstring).

    Raises :class:`~llasmol.data.raw.DataFormatError` naming the file, line and field of the
    first malformed line.
    """
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        return [(_record_of_line(item, task, path, index + 1, extraction), item)
                for index, item in iter_json_lines(handle, path)]


def read_predictions(path: Path | str, task: Task, extraction: str = "paper") -> list[PredictionRecord]:
    """The records of one predictions file, in file order (see :func:`read_prediction_lines`)."""
    return [record for record, _ in read_prediction_lines(path, task, extraction)]


def prediction_files(folder: Path | str, tasks: Sequence[Task] | None = None) -> dict[str, Path]:
    """``{task name: path}`` of the ``<task>.jsonl`` files in ``folder``, in registry order.

    Files named after no task are skipped with an :class:`EvaluationWarning`; with ``tasks``
    given, only those tasks are kept.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"predictions folder not found: {folder}")
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.jsonl")):
        try:
            task = get_task(path.stem)
        except UnknownTaskError:
            warnings.warn(f"{path}: not a task's predictions file, skipped", EvaluationWarning, stacklevel=2)
            continue
        found[task.name] = path
    wanted = set(found) if tasks is None else {task.name for task in tasks} & set(found)
    return {name: found[name] for name in TASK_NAMES if name in wanted}
