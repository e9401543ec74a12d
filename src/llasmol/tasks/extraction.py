"""Answer extraction from generated text: the paper's reading, and a lenient one for untuned models.

The paper's reading (:func:`extract_answer`) is the default everywhere. Replies of reasoning models
are split first (:func:`split_reasoning`); the lenient reading (:func:`extract_answer_lenient`) is
opt-in and scored apart from the paper's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from llasmol.tasks.registry import AnswerType, Task

_CAPTION_NOISE = ("<unk>", "</s>")


def extract_answer(text: str, task: Task) -> str:
    """The answer inside ``text``; ``""`` means no answer.

    Tagged tasks: the text between the first left tag and the first right tag, stripped (a
    missing tag means no answer). Captions: the whole text without ``<unk>`` and ``</s>``.
    """
    tags = task.output_tags
    if tags is None:
        for noise in _CAPTION_NOISE:
            text = text.replace(noise, "")
        return text.strip()
    left, right = tags
    left_at = text.find(left)
    right_at = text.find(right)
    if left_at == -1 or right_at == -1:
        return ""
    return text[left_at + len(left):right_at].strip()


def read_number(text: str) -> float | None:
    """A number answer as every stage reads it (the evaluator, typed answers, rewards): ``float``, finite."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def extract_answers(texts: Sequence[str] | None, task: Task) -> list[str] | None:
    """:func:`extract_answer` over the returned sequences of one sample; ``None`` stays ``None``."""
    if texts is None:
        return None
    return [extract_answer(text, task) for text in texts]


# --- replies of reasoning models, and the lenient reading ------------------------------------------

EXTRACTION_MODES = ("paper", "lenient")
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_HARMONY_FINAL = "<|channel|>final<|message|>"
_HARMONY_END = ("<|return|>", "<|end|>")
_BOOLEAN_WORD = re.compile(r"\b(yes|no|true|false)\b", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_TOKEN_EDGES = "`*_\"'.,;:!?()[]{}<>"


def split_reasoning(text: str) -> tuple[str | None, str]:
    """``(reasoning, answer)`` of a reply: the text after a ``<think> … </think>`` block (or after
    gpt-oss's ``<|channel|>final<|message|>``) is the answer; an unclosed ``<think>`` block leaves no
    answer. A reply without reasoning is ``(None, text)``."""
    if _HARMONY_FINAL in text:
        reasoning, answer = text.rsplit(_HARMONY_FINAL, 1)
        for end in _HARMONY_END:
            answer = answer.split(end, 1)[0]
        return reasoning, answer
    closing = text.rfind(_THINK_CLOSE)
    if closing != -1:
        reasoning = text[:closing].replace(_THINK_OPEN, "", 1)
        return reasoning.strip(), text[closing + len(_THINK_CLOSE):]
    opening = text.find(_THINK_OPEN)
    if opening != -1:
        return text[opening + len(_THINK_OPEN):].strip(), ""
    return None, text


def _last_tagged_span(text: str, left: str, right: str) -> str | None:
    closing = text.rfind(right)
    opening = text.rfind(left, 0, closing) if closing != -1 else -1
    return None if opening == -1 else text[opening + len(left):closing].strip()


def _tokens_from_last(text: str) -> list[str]:
    """Whitespace-separated tokens, last first, without markdown and punctuation at their edges."""
    text = text.replace("\\boxed{", " ").replace("\\ce{", " ")
    tokens = (token.strip(_TOKEN_EDGES) for token in reversed(text.split()))
    return [token for token in tokens if token]


def _last_boolean(text: str) -> str:
    words = _BOOLEAN_WORD.findall(text)
    return "" if not words else ("Yes" if words[-1].lower() in ("yes", "true") else "No")


def _last_number(text: str) -> str:
    numbers = _NUMBER.findall(text.replace("\u2212", "-"))
    return numbers[-1] if numbers else ""


def _last_formula(text: str) -> str:
    from llasmol.chem import is_valid_formula

    for token in _tokens_from_last(text):
        symbols = re.findall(r"[A-Z][a-z]?", token)
        if is_valid_formula(token) and (len(symbols) >= 2 or any(char.isdigit() for char in token)):
            return token
    return ""


def _last_smiles(text: str) -> str:
    from llasmol.chem import canonicalize_smiles

    for token in _tokens_from_last(text):
        word = token.isalpha() and (len(token) == 1 or token.istitle())  # "I", "The", "Carbon"
        if not word and canonicalize_smiles(token):
            return token
    return ""


def _last_line(text: str) -> str:
    lines = [line.strip(" *`#>-") for line in text.strip().splitlines() if line.strip(" *`#>-")]
    if not lines:
        return ""
    line = re.sub(r"^(final answer|answer|iupac name|name)\s*(is)?\s*[:=]?\s*", "", lines[-1], flags=re.IGNORECASE)
    return line.strip().rstrip(".").strip(" *`")


_UNTAGGED_READERS = {
    AnswerType.BOOLEAN: _last_boolean,
    AnswerType.NUMBER: _last_number,
    AnswerType.FORMULA: _last_formula,
    AnswerType.SMILES: _last_smiles,
    AnswerType.IUPAC: _last_line,
}


def extract_answer_lenient(text: str, task: Task) -> str:
    """A forgiving reading of a reply, for models never tuned on SMolInstruct's format (opt-in).

    After any reasoning (:func:`split_reasoning`): the last span inside the task's tags; without
    one, the last yes/no, number, formula or SMILES in the reply (by answer type), for IUPAC names
    the last line without an ``Answer:`` prefix. Captions are read as the paper reads them.
    """
    answer = split_reasoning(text)[1]
    tags = task.output_tags
    if tags is None:
        return extract_answer(answer, task)
    tagged = _last_tagged_span(answer, *tags)
    if tagged:
        return tagged
    return _UNTAGGED_READERS[task.answer_type](answer)


def extract_answers_as(texts: Sequence[str] | None, task: Task, mode: str = "paper") -> list[str] | None:
    """The answers of one sample's texts by extraction ``mode`` (``paper`` or ``lenient``)."""
    if mode not in EXTRACTION_MODES:
        raise ValueError(f"unknown extraction mode {mode!r}; use one of {', '.join(EXTRACTION_MODES)}")
    if texts is None or mode == "paper":
        return extract_answers(texts, task)
    return [extract_answer_lenient(text, task) for text in texts]
