"""``LlaSMol``: a chemistry LLM to ask one question at a time (or a batch), with typed answers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llasmol.data.prompts import PromptFormat, build_prompt
from llasmol.errors import LlasmolError
from llasmol.generate.answers import Answer, first_valid_index, parse_answer
from llasmol.generate.backends import Backend, load_backend
from llasmol.generate.queries import InvalidInputError, canonicalize_query, prepare_task_input
from llasmol.generate.settings import resolve_settings
from llasmol.models import ModelSource, resolve_model
from llasmol.tasks import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_MAX_PROMPT_TOKENS,
    GenerationSettings,
    Task,
    extract_answers,
    get_task,
)

ON_ERROR_CHOICES = ("raise", "return")


class PromptTooLongError(LlasmolError, ValueError):
    """A prompt over the token limit (the paper skips those too)."""


@dataclass(frozen=True)
class PredictRequest:
    """One question for :meth:`LlaSMol.predict_batch`."""

    task: str
    input: str
    target: str | None = None


@dataclass
class Prediction:
    """A model's answer to one task input, typed by the task's answer type."""

    task: str
    input: str
    target: str | None
    answer: Answer | None  # canonical SMILES / formula / IUPAC name / float / bool / caption; None if none valid
    answer_text: str  # extracted text of the chosen answer ('' if none)
    alternatives: list[str] = field(default_factory=list)  # the other extracted answers, best first
    raw_outputs: list[str] = field(default_factory=list)  # generated texts, best first
    valid: bool = False
    error: str | None = None  # why no generation happened (predict_batch with on_error="return")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_prediction(task: Task, request: PredictRequest, outputs: list[str]) -> Prediction:
    """Extract the answers of the generated texts and choose the best-ranked valid one."""
    answers = extract_answers(outputs, task) or []
    chosen = first_valid_index(answers, task)
    answer = None if chosen is None else parse_answer(answers[chosen], task)
    answer_text = "" if chosen is None else answers[chosen].strip()
    alternatives: list[str] = []
    for index, text in enumerate(answers):
        text = text.strip()
        if index != chosen and text and text != answer_text and text not in alternatives:
            alternatives.append(text)
    return Prediction(task.name, request.input, request.target, answer, answer_text, alternatives, list(outputs),
                      valid=answer is not None)


def render_task_query(task: Task, raw_input: str, target: str | None = None) -> str:
    """The task's first instruction template filled with the input wrapped in its core tags."""
    from llasmol.data.templates import load_templates, render

    template = load_templates(task.name)[0]
    return render(template, raw_input, "", task, target=target)[0]


def _task_name(name: str) -> str:
    """The registry name of a task, or the name as given when it is unknown."""
    try:
        return get_task(name).name
    except KeyError:
        return name


class LlaSMol:
    """A (fine-tuned) chemistry LLM: ``generate`` answers free text, ``predict`` answers a task."""

    def __init__(self, backend: Backend, prompt_format: PromptFormat | str = PromptFormat.PAPER,
                 max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS) -> None:
        self.backend = backend
        self.prompt_format = PromptFormat(prompt_format)
        self.max_prompt_tokens = max_prompt_tokens

    @classmethod
    def from_pretrained(cls, model: ModelSource | str | None = None, adapter: str | Path | None = None,
                        device: str | None = None, dtype: Any = None, prompt_format: PromptFormat | str = "paper",
                        *, gguf_file: str | None = None, backend: str = "hf") -> LlaSMol:
        """Load a model (hub id, folder, ``.gguf`` file, or ``None`` for the offline default) and adapter."""
        source = model if isinstance(model, ModelSource) else resolve_model(model, gguf_file)
        adapter = None if adapter is None else str(adapter)
        return cls(load_backend(backend, source, adapter, device, dtype), prompt_format)

    @property
    def tokenizer(self) -> Any:
        return self.backend.tokenizer

    def _prompt_ids(self, query: str) -> list[int]:
        prompt = build_prompt(query, self.tokenizer, self.prompt_format)
        ids = list(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        if len(ids) > self.max_prompt_tokens:
            raise PromptTooLongError(f"the prompt has {len(ids)} tokens, over the limit of {self.max_prompt_tokens}")
        return ids

    def generate(self, query: str, *, canonicalize_smiles: bool = True, on_invalid: str = "raise",
                 num_beams: int = 1, num_return_sequences: int = 1,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> str:
        """The model's answer text to a free-text query (greedy unless ``num_beams`` > 1).

        The SMILES in the query's first ``<SMILES> … </SMILES>`` span is canonicalized first, as the
        model saw molecules in training; an invalid one raises :class:`InvalidInputError` (or warns
        with ``on_invalid="warn"``).
        """
        settings = GenerationSettings(num_beams, num_return_sequences, max_new_tokens)
        return self.generate_batch([query], canonicalize_smiles=canonicalize_smiles, on_invalid=on_invalid,
                                   settings=settings)[0]

    def generate_batch(self, queries: Sequence[str], *, canonicalize_smiles: bool = True, on_invalid: str = "raise",
                       max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                       settings: GenerationSettings | None = None) -> list[str]:
        """The answer texts to many free-text queries, in their order, batched as the backend fits them.

        Each query is checked (and canonicalized) as :meth:`generate` does before any generation.
        ``settings`` replaces the greedy search with ``max_new_tokens``.
        """
        if canonicalize_smiles:
            queries = [canonicalize_query(query, on_invalid) for query in queries]
        prompts = [self._prompt_ids(query) for query in queries]
        settings = settings or GenerationSettings(1, 1, max_new_tokens)
        order = sorted(range(len(prompts)), key=lambda index: (len(prompts[index]), index))
        size = self.backend.batch_size_for(settings, max((len(ids) for ids in prompts), default=1))
        texts: list[str] = [""] * len(prompts)
        for first in range(0, len(order), size):
            batch = order[first:first + size]
            for index, outputs in zip(batch, self.backend.generate([prompts[i] for i in batch], settings),
                                      strict=True):
                texts[index] = outputs[0]
        return texts

    def predict(self, task: str, input: str, target: str | None = None, *, on_invalid: str = "raise") -> Prediction:
        """Answer one task input with the task's template and beam settings; the answer is typed."""
        return self.predict_batch([PredictRequest(task, input, target)], on_invalid=on_invalid)[0]

    def _prepare(self, request: PredictRequest, on_invalid: str) -> tuple[Task, list[int]]:
        task = get_task(request.task)
        if task.multi_target and not request.target:
            raise InvalidInputError(f"task {task.name} needs a target (which class to predict)")
        query = render_task_query(task, prepare_task_input(task, request.input, on_invalid), request.target)
        return task, self._prompt_ids(query)

    def predict_batch(self, requests: Sequence[PredictRequest], *, on_invalid: str = "raise",
                      on_error: str = "raise") -> list[Prediction]:
        """Answers to many requests, batched per task; results come back in request order.

        All inputs are checked before any generation. ``on_error="raise"``: the first bad request
        raises; ``"return"``: its :class:`Prediction` carries the ``error`` and the others are answered.
        """
        if on_error not in ON_ERROR_CHOICES:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR_CHOICES)}, got {on_error!r}")
        results: list[Prediction | None] = [None] * len(requests)
        groups: dict[str, list[tuple[int, list[int]]]] = defaultdict(list)
        tasks: dict[str, Task] = {}
        for position, request in enumerate(requests):
            try:
                task, ids = self._prepare(request, on_invalid)
            except (ValueError, KeyError) as error:
                if on_error == "raise":
                    raise
                results[position] = Prediction(_task_name(request.task), request.input, request.target, None, "",
                                               error=str(error))
                continue
            tasks[task.name] = task
            groups[task.name].append((position, ids))
        for name, members in groups.items():
            self._answer_group(tasks[name], members, requests, results)
        return [result for result in results if result is not None]

    def _answer_group(self, task: Task, members: list[tuple[int, list[int]]], requests: Sequence[PredictRequest],
                      results: list[Prediction | None]) -> None:
        settings = resolve_settings(task)
        members = sorted(members, key=lambda member: (len(member[1]), member[0]))
        batch_size = self.backend.batch_size_for(settings, max(len(ids) for _, ids in members))
        for first in range(0, len(members), batch_size):
            batch = members[first:first + batch_size]
            outputs = self.backend.generate([ids for _, ids in batch], settings)
            for (position, _), texts in zip(batch, outputs, strict=True):
                results[position] = build_prediction(task, requests[position], texts)
