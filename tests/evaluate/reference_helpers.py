"""The check that the evaluator scores as the plain algorithm (``llasmol.evaluate.reference``) does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llasmol.evaluate import CaptionResources, PredictionRecord, headline_figures, score_task
from llasmol.evaluate.reference import reference_scores
from llasmol.tasks import get_task


def assert_scored_as_reference(task_name: str, records: Sequence[PredictionRecord],
                               golds: Sequence[Sequence[str]] | None, captions: CaptionResources,
                               tokenizer: Any) -> dict[str, Any]:
    """``score_task``'s metrics of ``records`` equal the plain algorithm's (with its headline figures),
    and no step raised; returns them. ``golds``: each record's gold answers (default: its own ``gold``)."""
    task = get_task(task_name)
    ours = score_task(task, records, golds, captions=captions)
    expected = reference_scores(task, [record.answers for record in records],
                                [[record.gold] for record in records] if golds is None else golds, tokenizer)
    assert ours == {**expected, **headline_figures(task, expected), "num_scoring_errors": 0}
    return ours
