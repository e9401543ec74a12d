"""One scorer per metric family, registered by decorator: ``SCORERS[family](answers, golds, context)``.

A task names its family in the registry (``Task.metric_family``); :func:`llasmol.evaluate.score_task`
looks its scorer up here. A new metric family is a new :class:`~llasmol.tasks.MetricFamily` member and
one function decorated with :func:`scorer` (see ``docs/tasks.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llasmol.evaluate.captions import score_captions
from llasmol.evaluate.formulas import score_formulas
from llasmol.evaluate.isolation import ScoringErrors
from llasmol.evaluate.molecules import score_molecules
from llasmol.evaluate.names import score_names
from llasmol.evaluate.parallel import WorkPool
from llasmol.evaluate.progress import ProgressHook
from llasmol.evaluate.properties import score_labels, score_numbers
from llasmol.tasks import MetricFamily, Task

Metrics = dict[str, Any]
Answers = Sequence[Sequence[str | None] | None]  # per sample: its answers (None: no answer), or None
Golds = Sequence[Sequence[str]]  # per sample: its gold answers


@dataclass(frozen=True)
class ScoringContext:
    """What a scorer may use beside answers and golds: the task, k, workers, progress, error record."""

    task: Task
    k: int  # answers per sample that count
    pool: WorkPool
    progress: ProgressHook
    errors: ScoringErrors
    captions: Any  # CaptionResources, loaded by the caption scorer only


Scorer = Callable[[Answers, Golds, ScoringContext], Metrics]
SCORERS: dict[MetricFamily, Scorer] = {}


def scorer(family: MetricFamily) -> Callable[[Scorer], Scorer]:
    """Register the decorated function as the scorer of ``family``."""
    def register(function: Scorer) -> Scorer:
        if family in SCORERS:
            raise ValueError(f"metric family {family.value!r} already has a scorer ({SCORERS[family].__name__})")
        SCORERS[family] = function
        return function
    return register


@scorer(MetricFamily.MOLECULE)
def _molecules(answers: Answers, golds: Golds, context: ScoringContext) -> Metrics:
    return score_molecules(answers, golds, context.k, match_parts=context.task.match_parts, pool=context.pool,
                           progress=context.progress, errors=context.errors)


@scorer(MetricFamily.FORMULA)
def _formulas(answers: Answers, golds: Golds, context: ScoringContext) -> Metrics:
    return score_formulas(answers, golds, context.k, context.errors)


@scorer(MetricFamily.NAME)
def _names(answers: Answers, golds: Golds, context: ScoringContext) -> Metrics:
    return score_names(answers, golds, context.k)


@scorer(MetricFamily.CAPTION)
def _captions(answers: Answers, golds: Golds, context: ScoringContext) -> Metrics:
    resources = context.captions.load()
    return score_captions(answers, golds, resources.tokenizer, resources.nltk_data, pool=context.pool,
                          progress=context.progress, errors=context.errors)


@scorer(MetricFamily.REGRESSION)
def _numbers(answers: Answers, golds: Golds, context: ScoringContext) -> Metrics:
    return score_numbers(answers, golds, context.errors)


@scorer(MetricFamily.CLASSIFICATION)
def _labels(answers: Answers, golds: Golds, context: ScoringContext) -> Metrics:
    return score_labels(answers, golds, context.errors)
