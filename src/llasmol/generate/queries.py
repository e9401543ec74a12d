"""User input checks shared by the Python API: SMILES canonicalization of queries and task inputs."""

from __future__ import annotations

import warnings

from llasmol.chem import canonicalize_smiles
from llasmol.errors import LlasmolError
from llasmol.tasks import Tag, Task

ON_INVALID_CHOICES = ("raise", "warn")


class InvalidInputError(LlasmolError, ValueError):
    """User input that cannot be used (an invalid SMILES, an empty input); the message names it."""


class InvalidInputWarning(UserWarning):
    """Input used as given although it did not check out (``on_invalid="warn"``)."""


def _reject(message: str, on_invalid: str) -> None:
    if on_invalid not in ON_INVALID_CHOICES:
        raise ValueError(f"on_invalid must be one of {', '.join(ON_INVALID_CHOICES)}, got {on_invalid!r}")
    if on_invalid == "raise":
        raise InvalidInputError(message)
    warnings.warn(f"{message}; using the text as given", InvalidInputWarning, stacklevel=4)


def canonical_groups(smiles: str) -> str | None:
    """Each ';'-separated group canonicalized, the ';' kept (SMolInstruct writes a drug and its salt so);
    ``None`` when a group is invalid."""
    groups = [canonicalize_smiles(group) for group in smiles.split(";")]
    return None if any(group is None for group in groups) else ";".join(groups)  # type: ignore[arg-type]


def canonicalize_query(text: str, on_invalid: str = "raise") -> str:
    """``text`` with the SMILES of its first ``<SMILES> … </SMILES>`` span canonicalized.

    Text without the span is returned unchanged; the span is rewritten as ``<SMILES> canonical
    </SMILES>``. An invalid SMILES (or a left tag without a right one) raises
    :class:`InvalidInputError`, or with ``on_invalid="warn"`` warns and returns the text as given.
    """
    left_at = text.find(Tag.SMILES.left)
    if left_at == -1:
        return text
    content_at = left_at + len(Tag.SMILES.left)
    right_at = text.find(Tag.SMILES.right, content_at)
    if right_at == -1:
        _reject(f"the query opens {Tag.SMILES.left} but never closes it with {Tag.SMILES.right}", on_invalid)
        return text
    smiles = text[content_at:right_at].strip()
    canonical = canonical_groups(smiles) if smiles else None
    if canonical is None:
        _reject(f"invalid SMILES in the query: {smiles!r}", on_invalid)
        return text
    return text[:left_at] + Tag.SMILES.wrap(canonical) + text[right_at + len(Tag.SMILES.right):]


def _untagged(text: str, tag: Tag) -> str:
    """The input without its core tags, when the user already wrapped it."""
    text = text.strip()
    if text.startswith(tag.left) and text.endswith(tag.right):
        return text[len(tag.left):-len(tag.right)].strip()
    return text


def prepare_task_input(task: Task, text: str, on_invalid: str = "raise") -> str:
    """The task input without core tags; SMILES inputs are canonicalized (and checked)."""
    tag = task.input_tag
    value = text.strip() if tag is None else _untagged(text, tag)
    if not value:
        raise InvalidInputError(f"empty input for task {task.name}")
    if tag is Tag.SMILES:
        canonical = canonical_groups(value)
        if canonical is None:
            _reject(f"invalid SMILES input for task {task.name}: {value!r}", on_invalid)
        else:
            value = canonical
    return value
