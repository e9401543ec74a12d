"""Answer extraction from generated text, as the paper's code does it."""

from __future__ import annotations

from collections.abc import Sequence

from llasmol.tasks.registry import Task

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


def extract_answers(texts: Sequence[str] | None, task: Task) -> list[str] | None:
    """:func:`extract_answer` over the returned sequences of one sample; ``None`` stays ``None``."""
    if texts is None:
        return None
    return [extract_answer(text, task) for text in texts]
