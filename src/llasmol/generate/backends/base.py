"""The interface every generation backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from llasmol.errors import LlasmolError
from llasmol.tasks import GenerationSettings


class BackendUnavailableError(LlasmolError, RuntimeError):
    """A backend whose optional dependency or hardware is missing; the message says what to install."""


class Backend(Protocol):
    """Generates the returned sequences of a batch of tokenized prompts with a task's beam settings."""

    name: str
    tokenizer: Any

    def generate(self, prompts: Sequence[Sequence[int]], settings: GenerationSettings) -> list[list[str]]:
        """For each prompt, ``settings.num_return_sequences`` generated texts, best first."""
        ...

    def batch_size_for(self, settings: GenerationSettings, max_prompt_tokens: int) -> int:
        """How many prompts one call of :meth:`generate` should take (fits in memory)."""
        ...
