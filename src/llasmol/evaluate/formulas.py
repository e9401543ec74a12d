"""Molecular-formula answers (NC-I2F, NC-S2F): element-count match."""

from __future__ import annotations

from collections.abc import Sequence

from llasmol.chem import FormulaError, parse_formula
from llasmol.evaluate.gold import InvalidGoldError
from llasmol.evaluate.isolation import ScoringErrors, read_answer
from llasmol.evaluate.records import pad_answers

Answers = Sequence[str | None]


def _element_counts(formula: str) -> dict[str, int] | None:
    try:
        return parse_formula(formula)
    except FormulaError:
        return None


def score_formulas(answers: Sequence[Answers | None], golds: Sequence[Sequence[str]],
                   k: int, errors: ScoringErrors | None = None) -> dict[str, int]:
    """``num_tj_no_answer``, ``num_tj_ele_match`` and ``num_tj_formula_invalid`` for j = 1..k.

    Two formulas match when their element counts (a trailing charge counting as element '+' or
    '-') are equal; a formula with brackets, or anything else the reference grammar rejects, is
    invalid, and so is one whose reading raised (its sample recorded in ``errors``). Raises
    :class:`InvalidGoldError` for a gold formula that does not parse.
    """
    padded = pad_answers(answers, k)
    errors = errors if errors is not None else ScoringErrors()
    no_answer, invalid, match = [], [], []
    for index, (sample, sample_golds) in enumerate(zip(padded, golds, strict=True)):
        gold_counts = []
        for gold in sample_golds:
            counts = _element_counts(gold)
            if counts is None:
                raise InvalidGoldError(gold, "not a valid molecular formula")
            gold_counts.append(counts)
        missing = [not answer for answer in sample]
        parsed = [None if not answer else read_answer(_element_counts, answer, index, errors) for answer in sample]
        no_answer.append(missing)
        invalid.append([not gone and counts is None for gone, counts in zip(missing, parsed, strict=True)])
        match.append([counts is not None and counts in gold_counts for counts in parsed])
    metrics = {"num_all": len(padded)}
    for depth in range(1, k + 1):
        metrics[f"num_t{depth}_no_answer"] = sum(all(sample[:depth]) for sample in no_answer)
    for depth in range(1, k + 1):
        metrics[f"num_t{depth}_ele_match"] = sum(any(sample[:depth]) for sample in match)
        metrics[f"num_t{depth}_formula_invalid"] = sum(all(sample[:depth]) for sample in invalid)
    return metrics

