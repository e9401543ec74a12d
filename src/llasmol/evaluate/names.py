"""IUPAC-name answers (NC-S2I): match after sorting the ';'-separated parts."""

from __future__ import annotations

from collections.abc import Sequence

from llasmol.evaluate.records import pad_answers

Answers = Sequence[str | None]


def _split_key(name: str) -> tuple[str, ...]:
    return tuple(sorted(name.split(";")))


def score_names(answers: Sequence[Answers | None], golds: Sequence[Sequence[str]], k: int) -> dict[str, int]:
    """``num_tj_no_answer`` and ``num_tj_split_match`` for j = 1..k."""
    padded = pad_answers(answers, k)
    no_answer, match = [], []
    for sample, sample_golds in zip(padded, golds, strict=True):
        gold_keys = {_split_key(gold) for gold in sample_golds}
        no_answer.append([not answer for answer in sample])
        match.append([bool(answer) and _split_key(answer) in gold_keys for answer in sample])
    metrics = {"num_all": len(padded)}
    for depth in range(1, k + 1):
        metrics[f"num_t{depth}_no_answer"] = sum(all(sample[:depth]) for sample in no_answer)
    for depth in range(1, k + 1):
        metrics[f"num_t{depth}_split_match"] = sum(any(sample[:depth]) for sample in match)
    return metrics
