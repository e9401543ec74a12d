"""Runs side by side: each run's headline figure per task beside the paper's GPT-4, Claude 3 Opus and
LlaSMol-Mistral rows.

A run is a metrics JSON (``{task: metrics}``, or a pipeline's ``{model: {task: metrics}}``) or a folder
holding them: ``metrics.json`` (the paper's extraction), ``metrics_lenient.json`` and
``metrics_opencompass.json`` (OpenCompass's protocol: its ``accuracy`` or ``score`` per task, a
Tanimoto similarity for FS, RS and MG, a mean absolute error for ESOL and Lipo). Each file is its own
column, named after its mode, so figures of different extraction modes or protocols are never mixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llasmol.errors import LlasmolError
from llasmol.evaluate.report import format_figure, headline_figures
from llasmol.tasks import TASK_NAMES, TASKS, paper_rows

OPENCOMPASS_NOTE = ("[opencompass] columns hold OpenCompass's own figures, not the paper's: Morgan Tanimoto x 100 "
                    "for FS, RS and MG, string match for NC-I2S and NC-S2I, mean absolute error for ESOL and Lipo.")


class RunMetricsError(LlasmolError, ValueError):
    """A run to compare that holds no metrics, or metrics that are not the evaluator's."""


@dataclass(frozen=True)
class Column:
    """One column of the comparison: a label and its headline figure per task."""

    label: str
    figures: dict[str, float | None]


def _mode_of(path: Path) -> str:
    return path.stem.removeprefix("metrics").lstrip("_") or "paper"


def _headline(name: str, metrics: dict[str, Any], mode: str) -> float | None:
    """A task's headline: the paper's figure, or OpenCompass's ``accuracy`` / ``score`` for its protocol."""
    if mode == "opencompass":
        return metrics.get("accuracy", metrics.get("score"))
    task = TASKS[name]
    return headline_figures(task, metrics)[task.headline_metric]


def _headlines(results: dict[str, Any], mode: str) -> dict[str, float | None]:
    return {name: _headline(name, metrics, mode) for name, metrics in results.items()}


def columns_of_file(path: Path, label: str) -> list[Column]:
    """The columns of one metrics file: one, or one per model of a pipeline's ``{model: {task: ...}}``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise RunMetricsError(f"{path}: cannot read metrics: {error}") from None
    if not isinstance(data, dict) or not data:
        raise RunMetricsError(f"{path}: expected a JSON object of task metrics")
    mode = _mode_of(path)
    suffix = "" if mode == "paper" else f" [{mode}]"
    if set(data) <= set(TASK_NAMES):
        return [Column(f"{label}{suffix}", _headlines(data, mode))]
    columns = []
    for model, results in data.items():
        if not isinstance(results, dict) or not set(results) <= set(TASK_NAMES):
            raise RunMetricsError(f"{path}: {model!r} is neither a task name nor a model's task metrics")
        columns.append(Column(f"{label} {model}{suffix}", _headlines(results, mode)))
    return columns


def columns_of_run(path: Path | str, label: str | None = None) -> list[Column]:
    """The columns of a run: a metrics file, or every ``metrics*.json`` in a folder."""
    path = Path(path)
    label = label or (path.parent.name if path.is_file() else path.name)
    files = [path] if path.is_file() else sorted(path.glob("metrics*.json"), key=lambda file: _mode_of(file) != "paper")
    if not files:
        raise RunMetricsError(f"{path}: no metrics*.json (run `llasmol evaluate` on it first)")
    return [column for file in files for column in columns_of_file(file, label)]


def reference_columns() -> list[Column]:
    """The paper's rows (arXiv 2402.09391) as columns."""
    return [Column(model, dict(figures)) for model, figures in paper_rows().items()]


def compare_markdown(columns: list[Column]) -> str:
    """A markdown table: a row per task scored in any column, the paper's rows last."""
    scored = {name for column in columns for name in column.figures}
    columns = [*columns, *reference_columns()]
    lines = ["| task | figure | " + " | ".join(column.label for column in columns) + " |",
             "|---|---|" + "---:|" * len(columns)]
    for name in TASK_NAMES:
        if name not in scored:
            continue
        task = TASKS[name]
        cells = [format_figure(column.figures.get(name), task.headline_metric) for column in columns]
        lines.append(f"| {task.short_name} | {task.headline_metric} | " + " | ".join(cells) + " |")
    if any(column.label.endswith("[opencompass]") for column in columns):
        lines += ["", OPENCOMPASS_NOTE]
    return "\n".join(lines) + "\n"
