"""How a query (and its answer) becomes model text; shared by training, generation and serving.

``paper``: the LlaSMol format ``<s>[INST] {query} [/INST] {answer}</s>``, with the tokenizer's own
BOS/EOS strings standing for ``<s>``/``</s>``. ``chat``: the tokenizer's chat template.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class PromptFormat(str, Enum):
    PAPER = "paper"
    CHAT = "chat"


@dataclass(frozen=True)
class PromptPair:
    """``prompt`` is what the model sees; ``completion`` what it should write after it."""

    prompt: str
    completion: str

    @property
    def text(self) -> str:
        return self.prompt + self.completion


def _special(tokenizer: Any, name: str) -> str:
    token = getattr(tokenizer, name, None)
    return token if isinstance(token, str) else ""


def build_prompt(query: str, tokenizer: Any, prompt_format: PromptFormat | str = PromptFormat.PAPER) -> str:
    """Model input for a query; tokenize it with ``add_special_tokens=False``."""
    prompt_format = PromptFormat(prompt_format)
    if prompt_format is PromptFormat.CHAT:
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": query}], tokenize=False, add_generation_prompt=True
        )
    return f"{_special(tokenizer, 'bos_token')}[INST] {query} [/INST]"


def build_example(query: str, answer: str, tokenizer: Any,
                  prompt_format: PromptFormat | str = PromptFormat.PAPER) -> PromptPair:
    """Prompt and completion of one training example (the completion ends with EOS)."""
    prompt_format = PromptFormat(prompt_format)
    prompt = build_prompt(query, tokenizer, prompt_format)
    eos = _special(tokenizer, "eos_token")
    if prompt_format is PromptFormat.CHAT:
        full = tokenizer.apply_chat_template(
            [{"role": "user", "content": query}, {"role": "assistant", "content": answer}], tokenize=False
        )
        if full.startswith(prompt):
            completion = full[len(prompt):]
            if eos and not completion.rstrip().endswith(eos):
                completion += eos
            return PromptPair(prompt, completion)
        return PromptPair(prompt, f"{answer}{eos}")
    return PromptPair(prompt, f" {answer}{eos}")
