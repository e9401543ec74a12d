"""The constant answer a property score has to beat: the training data's majority class or mean.

A model that always answers the training set's majority label (per SIDER class) or its mean value
gets this score without reading a molecule; a property figure shows learning only above it. Scored by
the evaluator's own :func:`~llasmol.evaluate.evaluator.score_task` on the samples a model was scored on.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llasmol.data.raw import iter_raw_records
from llasmol.evaluate.records import PredictionRecord, read_predictions
from llasmol.tasks import MetricFamily, Task, get_task

CONSTANT = "constant"


def constant_answers(train_file: Path | str, task: Task | str) -> dict[str | None, str]:
    """``{target: answer}`` from a raw training file: each target's majority label, or the mean value."""
    task = get_task(task) if isinstance(task, str) else task
    by_target: dict[str | None, list[str]] = {}
    for record in iter_raw_records(train_file):
        by_target.setdefault(record.target, []).append(record.output.strip())
    if task.metric_family is MetricFamily.REGRESSION:
        return {target: f"{statistics.fmean(float(value) for value in values):.3f}"
                for target, values in by_target.items()}
    return {target: _majority(values) for target, values in by_target.items()}


def _majority(values: Iterable[str]) -> str:
    counts = Counter(value.capitalize() for value in values)
    return max(sorted(counts), key=lambda label: counts[label])  # ties: alphabetical first


def score_constant(train_file: Path | str, predictions_file: Path | str, task: Task | str) -> dict[str, Any]:
    """The evaluator's metrics of the constant answer on the samples of ``predictions_file``."""
    from llasmol.evaluate.evaluator import score_task

    task = get_task(task) if isinstance(task, str) else task
    answers = constant_answers(train_file, task)
    fallback = next(iter(answers.values()))
    records = [PredictionRecord.of(record.input, record.gold, [answers.get(record.target, fallback)], record.target)
               for record in read_predictions(predictions_file, task)]
    metrics = score_task(task, records)
    return {**metrics, "answers": answers}


def constant_scores(train_folder: Path | str, predictions_folder: Path | str,
                    tasks: Iterable[Task | str]) -> dict[str, dict[str, Any]]:
    """:func:`score_constant` for each property task with a training file and a predictions file."""
    scores = {}
    for task in (get_task(task) if isinstance(task, str) else task for task in tasks):
        if task.metric_family not in (MetricFamily.REGRESSION, MetricFamily.CLASSIFICATION):
            continue
        train_file = Path(train_folder) / f"{task.name}.jsonl"
        predictions_file = Path(predictions_folder) / f"{task.name}.jsonl"
        if train_file.is_file() and predictions_file.is_file():
            scores[task.name] = score_constant(train_file, predictions_file, task)
    return scores
