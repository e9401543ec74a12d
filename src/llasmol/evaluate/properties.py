"""Property answers: numbers (ESOL, Lipo) by RMSE; yes/no labels (BBBP, ClinTox, HIV, SIDER)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from llasmol.evaluate.gold import InvalidGoldError
from llasmol.evaluate.isolation import ScoringErrors, read_answer
from llasmol.tasks import read_number

Answers = Sequence[str | None]

_LABELS = {"yes": 1, "no": 0}


def _first_answer(sample: Answers | None) -> str:
    """The best answer of a sample; ``""`` when there is none."""
    if not sample or sample[0] is None:
        return ""
    return sample[0].strip()



def score_numbers(answers: Sequence[Answers | None], golds: Sequence[Sequence[str]],
                  errors: ScoringErrors | None = None) -> dict[str, float | int | None]:
    """``num_no_answer``, ``num_invalid`` (not a finite number) and ``RMSE`` over the rest.

    An RMSE too large for a float is ``inf``, as the reference's.
    """
    errors = errors if errors is not None else ScoringErrors()
    no_answer = invalid = 0
    squared_errors = []
    for index, (sample, sample_golds) in enumerate(zip(answers, golds, strict=True)):
        gold = read_number(sample_golds[0])
        if gold is None:
            raise InvalidGoldError(sample_golds[0], "not a number")
        text = _first_answer(sample)
        if not text:
            no_answer += 1
            continue
        value = read_answer(read_number, text, index, errors)
        if value is None:
            invalid += 1
            continue
        difference = value - gold
        squared_errors.append(difference * difference)  # inf where it overflows (``** 2`` raises there)
    rmse = math.sqrt(sum(squared_errors) / len(squared_errors)) if squared_errors else None
    return {"num_all": len(answers), "num_no_answer": no_answer, "num_invalid": invalid, "RMSE": rmse}


def _label(text: str) -> int | None:
    return _LABELS.get(text.strip().lower())


def score_labels(answers: Sequence[Answers | None], golds: Sequence[Sequence[str]],
                 errors: ScoringErrors | None = None) -> dict[str, float | int | None]:
    """``num_no_answer``, ``num_invalid`` (not yes/no), ``num_correct`` and binary scores over the rest."""
    errors = errors if errors is not None else ScoringErrors()
    no_answer = invalid = correct = 0
    predicted, expected = [], []
    for index, (sample, sample_golds) in enumerate(zip(answers, golds, strict=True)):
        gold = _label(sample_golds[0])
        if gold is None:
            raise InvalidGoldError(sample_golds[0], "not Yes or No")
        text = _first_answer(sample)
        if not text:
            no_answer += 1
            continue
        label = read_answer(_label, text, index, errors)
        if label is None:
            invalid += 1
            continue
        predicted.append(label)
        expected.append(gold)
        correct += label == gold
    metrics: dict[str, float | int | None] = {
        "num_all": len(answers), "num_no_answer": no_answer, "num_invalid": invalid, "num_correct": correct,
    }
    metrics.update(_binary_scores(expected, predicted))
    return metrics


def _binary_scores(expected: list[int], predicted: list[int]) -> dict[str, float | None]:
    """ROC-AUC, precision, recall, F1 and MCC of yes/no labels (``None`` where undefined)."""
    names = ("roc_auc_score", "precision", "recall", "f1_score", "mcc")
    if not expected:
        return dict.fromkeys(names)
    from sklearn.metrics import f1_score, matthews_corrcoef, precision_score, recall_score, roc_auc_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined precision/recall count as 0, as sklearn's default does
        scores = {
            "roc_auc_score": float(roc_auc_score(expected, predicted)) if len(set(expected)) == 2 else None,
            "precision": float(precision_score(expected, predicted, zero_division=0)),
            "recall": float(recall_score(expected, predicted, zero_division=0)),
            "f1_score": float(f1_score(expected, predicted, zero_division=0)),
            "mcc": float(matthews_corrcoef(expected, predicted)),
        }
    return scores
