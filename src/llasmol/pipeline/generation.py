"""Generation inside the pipeline: a loaded backend, optionally with fewer beams than the paper.

Small machines cannot afford the paper's 8-13 beams; :class:`BeamCappedBackend` wraps any backend
and caps each task's ``num_beams``/``num_return_sequences`` (the report states the caps used). It can
also give every task one new-token limit: the paper's limits (20 tokens for formulas and properties)
were set for Mistral's tokenizer, and a model with another tokenizer may need more to close its tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from llasmol.tasks import GenerationSettings, Task


@dataclass
class BeamCappedBackend:
    """A backend whose beam settings are capped at ``max_beams`` and ``max_returns``."""

    inner: Any
    max_beams: int | None = None
    max_returns: int | None = None
    new_tokens: int | None = None  # replaces every task's max_new_tokens when set

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def tokenizer(self) -> Any:
        return self.inner.tokenizer

    def capped(self, settings: GenerationSettings) -> GenerationSettings:
        settings = capped_settings(settings, self.max_beams, self.max_returns)
        return settings if self.new_tokens is None else replace(settings, max_new_tokens=self.new_tokens)

    def generate(self, prompts: Sequence[Sequence[int]], settings: GenerationSettings) -> list[list[str]]:
        return self.inner.generate(prompts, self.capped(settings))

    def batch_size_for(self, settings: GenerationSettings, max_prompt_tokens: int) -> int:
        return self.inner.batch_size_for(self.capped(settings), max_prompt_tokens)


def capped_settings(settings: GenerationSettings, max_beams: int | None, max_returns: int | None) -> GenerationSettings:
    """``settings`` with beams and returned sequences capped (returns never exceed beams)."""
    beams = settings.num_beams if max_beams is None else min(settings.num_beams, max_beams)
    returns = settings.num_return_sequences if max_returns is None else min(settings.num_return_sequences, max_returns)
    return replace(settings, num_beams=beams, num_return_sequences=min(returns, beams))


def settings_used(tasks: Sequence[Task], max_beams: int | None, max_returns: int | None,
                  max_new_tokens: int | None, new_tokens: int | None = None) -> dict[str, dict[str, int]]:
    """Per task, the decoding settings a capped run really uses (for the report)."""
    used = {}
    for task in tasks:
        settings = capped_settings(task.generation, max_beams, max_returns)
        if new_tokens is not None:
            settings = replace(settings, max_new_tokens=new_tokens)
        elif max_new_tokens is not None:
            settings = replace(settings, max_new_tokens=min(settings.max_new_tokens, max_new_tokens))
        used[task.name] = {"num_beams": settings.num_beams, "num_return_sequences": settings.num_return_sequences,
                           "max_new_tokens": settings.max_new_tokens}
    return used
