"""Scoring model answers on SMolInstruct with the paper's metrics (see docs/evaluation.md)."""

from llasmol.evaluate.evaluator import (
    CaptionResources,
    evaluate_predictions,
    load_task_inputs,
    metrics_name,
    report_name,
    score_task,
)
from llasmol.evaluate.gold import InvalidGoldError
from llasmol.evaluate.records import EvaluationWarning, PredictionRecord, prediction_files, read_predictions
from llasmol.evaluate.report import headline_figures, render_markdown, render_table
from llasmol.evaluate.resources import ResourceError, ensure_wordnet, load_caption_tokenizer

__all__ = [
    "CaptionResources",
    "EvaluationWarning",
    "InvalidGoldError",
    "PredictionRecord",
    "ResourceError",
    "ensure_wordnet",
    "evaluate_predictions",
    "headline_figures",
    "load_caption_tokenizer",
    "load_task_inputs",
    "metrics_name",
    "prediction_files",
    "read_predictions",
    "render_markdown",
    "render_table",
    "report_name",
    "score_task",
]
