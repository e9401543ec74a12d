"""Decoding settings: a task's paper settings with a run's overrides, resolved in one place.

Every stage that generates, records or reports decoding settings goes through :func:`resolve_settings`:
``llasmol generate``, the pipeline's ``generate.options``/``generate.per_task``, ``generation.json``
and the report all show the settings a task was really generated with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from llasmol.errors import LlasmolError
from llasmol.tasks import GenerationSettings, Task


class DecodingOptionError(LlasmolError, ValueError):
    """A decoding option that is unknown, not a positive integer, or returned sequences above beams."""

    def __init__(self, field_name: str | None, message: str) -> None:
        self.locate(field=field_name)
        super().__init__(message)


@dataclass(frozen=True)
class DecodingOptions:
    """What a run changes in the paper's decoding settings; ``None`` keeps the task's own value.

    Each value given is the value used: ``num_beams: 1`` is greedy search for every task,
    ``max_new_tokens: 40`` gives every task 40 new tokens (more than the paper's 20 for formulas, fewer
    than its 1024 for SMILES). Without ``num_return_sequences``, a task returns at most ``num_beams``.
    """

    num_beams: int | None = None
    num_return_sequences: int | None = None
    max_new_tokens: int | None = None
    no_repeat_ngram_size: int | None = None  # no n-gram of this many tokens is generated twice (hf backend)

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise DecodingOptionError(item.name, f"{item.name} must be a positive integer, not {value!r}")
        if None not in (self.num_beams, self.num_return_sequences) and self.num_return_sequences > self.num_beams:
            raise DecodingOptionError("num_return_sequences", f"num_return_sequences ({self.num_return_sequences}) "
                                      f"cannot exceed num_beams ({self.num_beams})")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DecodingOptions:
        """From a config mapping; unknown keys raise :class:`DecodingOptionError` naming the known ones."""
        unknown = sorted(set(values) - set(DECODING_OPTION_NAMES))
        if unknown:
            raise DecodingOptionError(unknown[0], f"unknown decoding option(s) {', '.join(unknown)}; use "
                                      f"{', '.join(DECODING_OPTION_NAMES)}")
        return cls(**values)

    def given(self) -> dict[str, int]:
        """The options set (not ``None``)."""
        return {name: value for name, value in dataclasses.asdict(self).items() if value is not None}

    def over(self, base: DecodingOptions) -> DecodingOptions:
        """These options where set, ``base``'s elsewhere (a task's entry over a run's shared options)."""
        return replace(base, **self.given())


DECODING_OPTION_NAMES: tuple[str, ...] = tuple(item.name for item in dataclasses.fields(DecodingOptions))


def resolve_settings(task: Task, options: DecodingOptions | None = None) -> GenerationSettings:
    """The settings ``task`` is generated with: its paper settings, each given option replacing its value."""
    settings = task.generation
    if options is None:
        return settings
    beams = options.num_beams or settings.num_beams
    returns = options.num_return_sequences or min(settings.num_return_sequences, beams)
    return replace(settings, num_beams=beams, num_return_sequences=returns,
                   max_new_tokens=options.max_new_tokens or settings.max_new_tokens,
                   no_repeat_ngram_size=options.no_repeat_ngram_size or settings.no_repeat_ngram_size)


def options_for(task: Task, options: DecodingOptions | Mapping[str, DecodingOptions] | None) -> DecodingOptions | None:
    """One task's options from either one set for every task or a mapping of task name to options."""
    if options is None or isinstance(options, DecodingOptions):
        return options
    return options.get(task.name)


def describe_settings(settings: GenerationSettings) -> str:
    """``"1 beam, 1 returned, ≤160 new tokens"`` (and the n-gram rule when set), for reports."""
    text = (f"{settings.num_beams} beam{'' if settings.num_beams == 1 else 's'}, "
            f"{settings.num_return_sequences} returned, ≤{settings.max_new_tokens} new tokens")
    if settings.no_repeat_ngram_size:
        text += f", no repeated {settings.no_repeat_ngram_size}-gram"
    return text
