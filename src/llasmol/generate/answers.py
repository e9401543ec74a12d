"""Typed answers: parse an extracted answer by its task's :class:`AnswerType`, and check validity.

One place decides what a valid answer is, for chemically checked decoding (``--verify``) and for
:meth:`llasmol.LlaSMol.predict` alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from llasmol.chem import canonicalize_smiles, is_valid_formula
from llasmol.tasks import AnswerType, Task, read_number

Answer = str | float | bool

_BOOLEAN_WORDS = {"yes": True, "no": False}


def _parse_smiles(text: str, task: Task) -> str | None:
    if task.semicolon_as_dot:
        text = text.replace(";", ".")
    return canonicalize_smiles(text) if text else None


def parse_answer(text: str, task: Task) -> Answer | None:
    """The typed value of an extracted answer, or ``None`` when it is not valid for the task.

    SMILES: canonical SMILES (RDKit-parsable); formula: the formula if parsable; number: a finite
    float; boolean: ``yes``/``no`` (any case); IUPAC names and captions: any non-empty text.
    """
    text = text.strip()
    if not text:
        return None
    answer_type = task.answer_type
    if answer_type is AnswerType.SMILES:
        return _parse_smiles(text, task)
    if answer_type is AnswerType.FORMULA:
        return text if is_valid_formula(text) else None
    if answer_type is AnswerType.NUMBER:
        return read_number(text)
    if answer_type is AnswerType.BOOLEAN:
        return _BOOLEAN_WORDS.get(text.lower())
    return text


def is_valid_answer(text: str, task: Task) -> bool:
    """Whether an extracted answer parses as its task's type."""
    return parse_answer(text, task) is not None


def first_valid_index(answers: Sequence[str], task: Task) -> int | None:
    """Index of the first (best-ranked) valid answer, or ``None`` when none is valid."""
    for index, text in enumerate(answers):
        if is_valid_answer(text, task):
            return index
    return None


def verified_order(answers: Sequence[str] | None, task: Task) -> list[str] | None:
    """Answers with the first valid one moved to the front, the rest in their original order.

    This is chemically checked decoding: the top-1 answer becomes the best-ranked beam whose
    answer is valid for its type; when no beam is valid the order is unchanged.
    """
    if answers is None:
        return None
    chosen = first_valid_index(answers, task)
    if chosen is None or chosen == 0:
        return list(answers)
    return [answers[chosen], *answers[:chosen], *answers[chosen + 1:]]
