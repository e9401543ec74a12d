"""Headline figures, the comparison with the paper's LlaSMol-Mistral row, and atomic writes."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from llasmol.tasks import MetricFamily, Task, get_task

HEADLINE_NAMES = ("EM", "FTS", "Valid", "METEOR", "RMSE", "Acc")
PAPER_MODEL = "LlaSMol-Mistral"
# Lower is better only for RMSE.
_LOWER_IS_BETTER = frozenset({"RMSE"})


def _percent(count: float | None, total: int) -> float | None:
    return None if count is None or total == 0 else 100.0 * count / total


def headline_figures(task: Task, metrics: dict[str, Any]) -> dict[str, float | None]:
    """The paper's figures for a task: EM, FTS, Valid (%), METEOR, RMSE or Acc (%)."""
    total = metrics["num_all"]
    family = task.metric_family
    if family is MetricFamily.MOLECULE:
        morgan = metrics["t1_morgan_fps"]
        return {
            "EM": _percent(metrics["num_t1_exact_match"], total),
            "FTS": None if morgan is None else 100.0 * morgan,
            "Valid": _percent(total - metrics["num_t1_no_answer"] - metrics["num_t1_invalid"], total),
        }
    if family is MetricFamily.FORMULA:
        return {
            "EM": _percent(metrics["num_t1_ele_match"], total),
            "Valid": _percent(total - metrics["num_t1_no_answer"] - metrics["num_t1_formula_invalid"], total),
        }
    if family is MetricFamily.NAME:
        return {"EM": _percent(metrics["num_t1_split_match"], total)}
    if family is MetricFamily.CAPTION:
        return {"METEOR": metrics["meteor_score"]}
    if family is MetricFamily.REGRESSION:
        return {"RMSE": metrics["RMSE"]}
    return {"Acc": _percent(metrics["num_correct"], total)}


@dataclass(frozen=True)
class ComparisonRow:
    """One headline figure of one task, ours beside the paper's."""

    task: str
    short_name: str
    num_all: int
    figure: str
    ours: float | None
    paper: float | None


def comparison_rows(results: dict[str, dict[str, Any]]) -> list[ComparisonRow]:
    """Rows for every headline figure of every scored task, in registry order."""
    rows = []
    for name, metrics in results.items():
        task = get_task(name)
        for figure in HEADLINE_NAMES:
            if figure in metrics and (figure in task.paper_figures or metrics[figure] is not None):
                rows.append(ComparisonRow(task.name, task.short_name, metrics["num_all"], figure,
                                          metrics[figure], task.paper_figures.get(figure)))
    return rows


def format_figure(value: float | None, figure: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.3f}" if figure in ("RMSE", "METEOR") else f"{value:.1f}"


def render_markdown(results: dict[str, dict[str, Any]], title: str = "Evaluation") -> str:
    """``report.md``: our headline figures beside the paper's LlaSMol-Mistral row."""
    lines = [
        f"# {title}",
        "",
        f"Headline figures per task beside the paper's {PAPER_MODEL} row (arXiv 2402.09391). EM, FTS, Valid "
        "and Acc are percentages; RMSE is lower-is-better. All metrics are in the metrics JSON beside this file.",
        "",
        f"| task | samples | figure | ours | {PAPER_MODEL} |",
        "|---|---:|---|---:|---:|",
    ]
    for row in comparison_rows(results):
        lines.append(f"| {row.short_name} | {row.num_all} | {row.figure} | {format_figure(row.ours, row.figure)} | "
                     f"{format_figure(row.paper, row.figure)} |")
    errors = {task: metrics["num_scoring_errors"] for task, metrics in results.items()
              if metrics.get("num_scoring_errors")}
    if errors:
        counts = ", ".join(f"{get_task(task).short_name} {count}" for task, count in errors.items())
        lines += ["", f"Answers counted invalid because scoring them raised (see the warnings): {counts}."]
    return "\n".join(lines) + "\n"


def render_table(results: dict[str, dict[str, Any]], title: str = "Evaluation") -> Any:
    """A rich table of the same comparison."""
    from rich.table import Table

    table = Table(title=title)
    for column, justify in (("task", "left"), ("samples", "right"), ("figure", "left"), ("ours", "right"),
                            (PAPER_MODEL, "right")):
        table.add_column(column, justify=justify)
    for row in comparison_rows(results):
        ours = format_figure(row.ours, row.figure)
        if row.ours is not None and row.paper is not None:
            better = row.ours <= row.paper if row.figure in _LOWER_IS_BETTER else row.ours >= row.paper
            ours = f"[green]{ours}[/]" if better else ours
        table.add_row(row.short_name, str(row.num_all), row.figure, ours, format_figure(row.paper, row.figure))
    return table


def metrics_json(results: dict[str, dict[str, Any]]) -> str:
    """Strict JSON (undefined values as ``null``)."""
    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    tidy = {task: {key: clean(value) for key, value in metrics.items()} for task, metrics in results.items()}
    return json.dumps(tidy, indent=2, allow_nan=False) + "\n"
