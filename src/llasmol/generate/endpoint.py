"""Answers from any OpenAI-protocol chat endpoint: OpenAI, vLLM, Ollama, llama.cpp, TGI or ``llasmol serve``.

One chat completion per sample (temperature 0; beam search does not exist in the protocol), a bounded
number in flight, the ``openai`` client's timeouts and retries with backoff (429, 5xx, lost
connections). The output is the same ``<task>.jsonl`` as the other backends, resumable the same way:
whole lines in dataset order, so an interrupted run keeps every answer before its first gap.

A reasoning model's reply is split (:func:`llasmol.tasks.split_reasoning`, or the server's own
``reasoning_content`` / ``reasoning`` field): ``output`` holds the answer after the reasoning and
``reasoning`` the reasoning, so that extraction reads the answer only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llasmol.errors import LlasmolError
from llasmol.files import write_json_atomic
from llasmol.generate.backends import BackendUnavailableError
from llasmol.generate.output import recover_lines
from llasmol.generate.runner import (
    SETTINGS_FILE,
    OrderedWriter,
    Sample,
    TaskReport,
    check_existing_lines,
    check_run_settings,
    check_task_settings,
    load_samples,
    progress_bar,
)
from llasmol.generate.settings import DecodingOptions, options_for, resolve_settings
from llasmol.generate.zero_shot import system_prompt
from llasmol.tasks import Task, extract_answers, resolve_tasks, split_reasoning

BACKEND_NAME = "openai"
TOKEN_LIMIT_FIELDS = ("max_completion_tokens", "max_tokens")
NO_BEAMS_NOTE = "beam search does not exist in the OpenAI protocol: one answer per sample"
# Fields in which servers return a reasoning model's reasoning apart from its answer.
_REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")
# Rejections of one request that say nothing about the others: the answer is recorded as none.
_SAMPLE_REJECTIONS = (413, 422)
_CONTEXT_ERRORS = ("context_length_exceeded", "maximum context length", "too long", "too many tokens")


class EndpointError(LlasmolError, RuntimeError):
    """A request the endpoint kept failing (after retries) or refused; finished answers are kept."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to ask: the server, the model, and the client's limits.

    The API key is read from the environment variable ``api_key_env``, never from a flag or a file.
    """

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 4
    timeout_s: float = 300.0
    max_retries: int = 6
    temperature: float | None = 0.0  # None: not sent (models that take only their default)
    token_limit_field: str = "max_completion_tokens"  # or "max_tokens" for servers without the newer name

    def __post_init__(self) -> None:
        if self.token_limit_field not in TOKEN_LIMIT_FIELDS:
            raise ValueError(f"token_limit_field must be one of {', '.join(TOKEN_LIMIT_FIELDS)}, "
                             f"not {self.token_limit_field!r}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")


@dataclass(frozen=True)
class Reply:
    """One chat completion: the answer after any reasoning, the reasoning, and why generation stopped."""

    answer: str
    reasoning: str | None
    finish_reason: str | None


def reply_of(message: Any, finish_reason: str | None = None) -> Reply:
    """The :class:`Reply` of a chat message (an ``openai`` message object or a plain dict)."""
    fields = message if isinstance(message, dict) else {**(message.model_extra or {}), **message.model_dump()}
    separate = next((fields[name] for name in _REASONING_FIELDS if isinstance(fields.get(name), str)), None)
    inline, answer = split_reasoning(fields.get("content") or "")
    reasoning = "\n".join(part for part in (separate, inline) if part) or None
    return Reply(answer.strip(), reasoning, finish_reason)


def chat_messages(query: str, system: str | None) -> list[dict[str, str]]:
    """The messages of one sample: the optional system prompt, then the query unchanged."""
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": query}]


class ChatClient:
    """A thread-safe ``openai`` client for one endpoint."""

    def __init__(self, endpoint: Endpoint) -> None:
        try:
            import openai
        except ImportError:
            raise BackendUnavailableError(
                "the openai backend needs the openai client library: pip install 'llasmol[openai]'") from None
        self.endpoint = endpoint
        self.errors = openai
        # Local servers take any key; a real service answers 401, which names the variable to set.
        api_key = os.environ.get(endpoint.api_key_env) or "not-set"
        self.client = openai.OpenAI(base_url=endpoint.base_url, api_key=api_key, timeout=endpoint.timeout_s,
                                    max_retries=endpoint.max_retries)

    def complete(self, messages: list[dict[str, str]], max_new_tokens: int) -> Reply:
        """One chat completion (the client retries 408/409/429/5xx and lost connections with backoff)."""
        options: dict[str, Any] = {self.endpoint.token_limit_field: max_new_tokens}
        if self.endpoint.temperature is not None:
            options["temperature"] = self.endpoint.temperature
        completion = self.client.chat.completions.create(model=self.endpoint.model, messages=messages, **options)
        if not completion.choices:
            raise EndpointError(f"{self.endpoint.base_url}: a completion without choices")
        choice = completion.choices[0]
        return reply_of(choice.message, choice.finish_reason)

    def is_sample_rejection(self, error: Exception) -> bool:
        """Whether ``error`` refuses this request only (too long, invalid input), not the whole run."""
        if not isinstance(error, self.errors.APIStatusError):
            return False
        if error.status_code in _SAMPLE_REJECTIONS:
            return True
        text = f"{getattr(error, 'code', '')} {error.message}".lower()
        return error.status_code == 400 and any(marker in text for marker in _CONTEXT_ERRORS)

    def explain(self, error: Exception) -> str:
        """A one-line reason, naming the API key variable on 401/403."""
        if isinstance(error, (self.errors.AuthenticationError, self.errors.PermissionDeniedError)):
            return f"{error.message} (the API key is read from ${self.endpoint.api_key_env})"
        if isinstance(error, self.errors.APIStatusError):
            return f"HTTP {error.status_code}: {error.message}"
        return f"{type(error).__name__}: {error}"


def endpoint_record(sample: Sample, task: Task, reply: Reply | None, error: str | None = None) -> dict[str, Any]:
    """One output line: as the other backends write it, with the reasoning and the stop reason beside."""
    outputs = None if reply is None else [reply.answer]
    record = {"input": sample.raw_input, "gold": sample.gold, "task": task.name, "target": sample.target,
              "output": outputs, "pred": extract_answers(outputs, task)}
    if reply is not None:
        record |= {"reasoning": reply.reasoning, "finish_reason": reply.finish_reason}
    if error is not None:
        record["error"] = error
    return record


def task_settings(task: Task, options: DecodingOptions | None, system: str | None, endpoint: Endpoint
                  ) -> dict[str, Any]:
    """What one task is generated with through the endpoint, as ``generation.json`` records it."""
    return {"num_beams": None, "num_return_sequences": 1,
            "max_new_tokens": resolve_settings(task, options).max_new_tokens,
            "temperature": endpoint.temperature, "system_prompt": system, "beam_search": NO_BEAMS_NOTE}


def _answer(client: ChatClient, messages: list[dict[str, str]], max_new_tokens: int) -> tuple[Reply | None, str | None]:
    try:
        return client.complete(messages, max_new_tokens), None
    except Exception as error:
        if client.is_sample_rejection(error):
            return None, client.explain(error)
        raise


def run_endpoint_task(client: ChatClient, task: Task, samples: Sequence[Sample], path: Path,
                      settings: dict[str, Any], progress: Any = None) -> TaskReport:
    """Answer one task's samples missing from ``path``, ``client.endpoint.concurrency`` at a time."""
    existing = recover_lines(path)
    check_existing_lines(existing, samples, path)
    done = len(existing)
    report = TaskReport(task.name, str(path), len(samples), done, settings=settings,
                        batch_size=client.endpoint.concurrency)
    bar = progress.add_task(task.name, total=len(samples), completed=done) if progress is not None else None
    started = time.perf_counter()
    pending = iter(range(done, len(samples)))
    in_flight: dict[Future[tuple[Reply | None, str | None]], int] = {}
    executor = ThreadPoolExecutor(max_workers=client.endpoint.concurrency)

    def submit_next() -> None:
        # Requests are sent as earlier ones finish, never queued ahead: a refusal stops the run at once.
        index = next(pending, None)
        if index is not None:
            messages = chat_messages(samples[index].query, settings["system_prompt"])
            in_flight[executor.submit(_answer, client, messages, settings["max_new_tokens"])] = index

    with path.open("a", encoding="utf-8") as handle:
        writer = OrderedWriter(handle, done)
        try:
            for _ in range(client.endpoint.concurrency):
                submit_next()
            while in_flight:
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = in_flight.pop(future)
                    try:
                        reply, rejection = future.result()
                    except Exception as error:
                        raise EndpointError(
                            f"{client.endpoint.base_url}: {task.name} sample {index + 1}: "
                            f"{client.explain(error)}; {writer.next_index} answers are kept in {path}, "
                            f"rerun the same command to go on") from error
                    writer.add(index, endpoint_record(samples[index], task, reply, rejection))
                    report.generated += 1
                    report.skipped_long += reply is None
                    writer.flush()
                    submit_next()
                if bar is not None:
                    progress.update(bar, completed=writer.next_index)
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            writer.flush()
    report.seconds = time.perf_counter() - started
    return report


def _run_settings(endpoint: Endpoint, data: Path | str, split: str) -> dict[str, Any]:
    return {"model": endpoint.model, "adapter": None, "backend": BACKEND_NAME, "base_url": endpoint.base_url,
            "data": str(Path(data).resolve()) if Path(data).exists() else str(data), "split": split,
            "prompt_format": "chat", "verify": False, "max_prompt_tokens": None}


def generate_with_endpoint(endpoint: Endpoint, data: Path | str, split: str = "test",
                           tasks: Sequence[str] | str | None = None, output_dir: Path | str = "generations",
                           max_samples: int | None = None, system_prompts: str = "zero-shot",
                           decoding: DecodingOptions | dict[str, DecodingOptions] | None = None,
                           show_progress: bool = True) -> dict[str, Any]:
    """Write ``<output_dir>/<task>.jsonl`` for each task from ``endpoint``'s answers; a rerun resumes.

    ``system_prompts``: ``zero-shot`` (the task's system prompt from :mod:`llasmol.generate.zero_shot`)
    or ``none``. ``decoding``: only ``max_new_tokens`` applies (per task or for all). ``generation.json``
    records each task's settings and exact system prompt.
    """
    selected = resolve_tasks(tasks)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    run_settings = check_run_settings(output_dir, _run_settings(endpoint, data, split))
    settings = {task.name: task_settings(task, options_for(task, decoding), system_prompt(task, system_prompts),
                                         endpoint) for task in selected}
    for task in selected:
        check_task_settings(run_settings, task, settings[task.name], output_dir / f"{task.name}.jsonl")
    samples = {task.name: load_samples(data, split, task, max_samples) for task in selected}
    client = ChatClient(endpoint)
    reports = []
    with progress_bar(show_progress) as progress:
        for task in selected:
            run_settings["tasks"][task.name] = {**settings[task.name], "samples": len(samples[task.name])}
            write_json_atomic(output_dir / SETTINGS_FILE, run_settings)
            reports.append(run_endpoint_task(client, task, samples[task.name], output_dir / f"{task.name}.jsonl",
                                             settings[task.name], progress))
    return {
        "output_dir": str(output_dir), "model": endpoint.model, "backend": BACKEND_NAME,
        "tasks": {report.task: {**asdict(report), "samples_per_second": report.samples_per_second}
                  for report in reports},
    }
