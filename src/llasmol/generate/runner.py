"""Answers of a model on whole SMolInstruct splits: ``<task>.jsonl`` files the evaluator reads.

load samples -> check existing output -> plan length-sorted batches -> generate -> append whole lines.
Each line: ``input`` (raw input), ``gold`` (raw answer), ``task``, ``target``, ``output`` (generated
texts, best first; ``null`` for prompts over the token limit) and ``pred`` (extracted answers).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llasmol.data.prompts import PromptFormat, build_prompt
from llasmol.errors import LlasmolError
from llasmol.files import write_json_atomic
from llasmol.generate.answers import verified_order
from llasmol.generate.backends import Backend, load_backend
from llasmol.generate.output import append_lines, recover_lines
from llasmol.generate.settings import DecodingOptions, options_for, resolve_settings
from llasmol.models import ModelSource, resolve_model
from llasmol.tasks import DEFAULT_MAX_PROMPT_TOKENS, GenerationSettings, Task, extract_answers, resolve_tasks

# Samples of one window = batch size x this; batches are length-sorted within a window, which
# fixes the batch composition whatever line a run resumes from.
WINDOW_BATCHES = 8
SETTINGS_FILE = "generation.json"
# Run settings that must not change between a run and its resumption.
_RESUME_KEYS = ("model", "adapter", "backend", "data", "split", "prompt_format", "verify", "max_prompt_tokens")


# Decoding settings added after generation.json first recorded them, as older records imply them.
_LATER_SETTING_DEFAULTS = {"no_repeat_ngram_size": 0}


class GenerationMismatchError(LlasmolError, ValueError):
    """Existing output that was made with other settings or other data than this run's."""


@dataclass(frozen=True)
class Sample:
    """One sample to answer: the rendered query, and what the output line records."""

    query: str
    raw_input: str
    gold: str
    task: str
    target: str | None = None


@dataclass
class TaskReport:
    """What one task's run did."""

    task: str
    path: str
    samples: int
    resumed_from: int
    generated: int = 0
    skipped_long: int = 0
    seconds: float = 0.0
    batch_size: int = 0
    settings: dict[str, int] = field(default_factory=dict)

    @property
    def samples_per_second(self) -> float:
        return self.generated / self.seconds if self.seconds > 0 else 0.0


def load_samples(data: Path | str, split: str, task: Task, max_samples: int | None = None) -> list[Sample]:
    """The samples of one task and split, in dataset order (the first ``max_samples`` if given)."""
    from llasmol.data import iter_smolinstruct

    rows = iter_smolinstruct(data, split, tasks=[task.name], use_first=max_samples)
    return [Sample(row["input"], row["raw_input"], row["raw_output"], row["task"], row.get("target")) for row in rows]


def tokenize_prompts(samples: Sequence[Sample], tokenizer: Any, prompt_format: PromptFormat | str) -> list[list[int]]:
    """Token ids of each sample's prompt (built by the shared prompt module, no extra special tokens)."""
    prompts = [build_prompt(sample.query, tokenizer, prompt_format) for sample in samples]
    if not prompts:
        return []
    return [list(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]


def plan_window(lengths: Sequence[int], start: int, stop: int, batch_size: int,
                max_prompt_tokens: int) -> tuple[list[int], list[list[int]]]:
    """``(skipped, batches)`` for samples ``start..stop``: over-long prompts, and batches of the
    others sorted by prompt length (ties by position), so similar lengths share padding."""
    indices = range(start, stop)
    skipped = [index for index in indices if lengths[index] > max_prompt_tokens]
    kept = sorted((index for index in indices if lengths[index] <= max_prompt_tokens),
                  key=lambda index: (lengths[index], index))
    return skipped, [kept[first:first + batch_size] for first in range(0, len(kept), batch_size)]


def output_record(sample: Sample, task: Task, outputs: list[str] | None, verify: bool) -> dict[str, Any]:
    """One output line; with ``verify`` the first answer valid for the task's type is moved to the top."""
    answers = extract_answers(outputs, task)
    if verify:
        answers = verified_order(answers, task)
    return {"input": sample.raw_input, "gold": sample.gold, "task": task.name, "target": sample.target,
            "output": outputs, "pred": answers}


class OrderedWriter:
    """Collects records that finish out of order and appends them in dataset order."""

    def __init__(self, handle: Any, next_index: int) -> None:
        self.handle, self.next_index = handle, next_index
        self.pending: dict[int, dict[str, Any]] = {}

    def add(self, index: int, record: dict[str, Any]) -> None:
        if index >= self.next_index:
            self.pending[index] = record

    def flush(self) -> None:
        """Append the records that now continue the file without a gap."""
        ready = []
        while self.next_index in self.pending:
            ready.append(self.pending.pop(self.next_index))
            self.next_index += 1
        append_lines(self.handle, ready)


def check_existing_lines(existing: list[dict[str, Any]], samples: Sequence[Sample], path: Path) -> None:
    """Lines already in ``path`` must be answers to the first samples of this data, in order."""
    if len(existing) > len(samples):
        raise GenerationMismatchError(
            f"{path} has {len(existing)} lines but the data has {len(samples)} samples; use another --output"
        )
    for number, (record, sample) in enumerate(zip(existing, samples, strict=False), start=1):
        if record.get("input") != sample.raw_input or record.get("target") != sample.target:
            raise GenerationMismatchError(
                f"{path}:{number}: field 'input': does not match sample {number} of the data; use another --output"
            )


def _windows(done: int, total: int, window: int) -> Iterator[tuple[int, int]]:
    for start in range((done // window) * window, total, window):
        yield start, min(start + window, total)


def run_task(backend: Backend, task: Task, samples: Sequence[Sample], path: Path, *, batch_size: int | None = None,
             verify: bool = False, prompt_format: PromptFormat | str = PromptFormat.PAPER,
             max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS, settings: GenerationSettings | None = None,
             progress: Any = None) -> TaskReport:
    """Generate one task's missing lines of ``path`` (resuming after its last complete line).

    ``settings``: the decoding settings to use (default: the task's paper settings).
    """
    existing = recover_lines(path)
    check_existing_lines(existing, samples, path)
    done = len(existing)
    settings = settings or task.generation
    report = TaskReport(task.name, str(path), len(samples), done, settings=asdict(settings))
    prompts = tokenize_prompts(samples, backend.tokenizer, prompt_format)
    lengths = [len(ids) for ids in prompts]
    kept_lengths = [length for length in lengths if length <= max_prompt_tokens] or [max_prompt_tokens]
    report.batch_size = batch_size or backend.batch_size_for(settings, max(kept_lengths))
    bar = progress.add_task(task.name, total=len(samples), completed=done) if progress is not None else None
    started = time.perf_counter()
    with path.open("a", encoding="utf-8") as handle:
        writer = OrderedWriter(handle, done)
        for start, stop in _windows(done, len(samples), report.batch_size * WINDOW_BATCHES):
            skipped, batches = plan_window(lengths, start, stop, report.batch_size, max_prompt_tokens)
            for index in skipped:
                if index >= done:
                    writer.add(index, output_record(samples[index], task, None, verify))
                    report.skipped_long += 1
            for batch in batches:
                if max(batch) < done:
                    continue  # finished before the run was interrupted
                outputs = backend.generate([prompts[index] for index in batch], settings)
                for index, texts in zip(batch, outputs, strict=True):
                    writer.add(index, output_record(samples[index], task, texts, verify))
                report.generated += sum(index >= done for index in batch)
                writer.flush()
                if bar is not None:
                    progress.update(bar, completed=done + report.generated + report.skipped_long)
            writer.flush()
    report.seconds = time.perf_counter() - started
    return report


def _run_settings(source: ModelSource, adapter: str | None, backend_name: str, data: Path | str, split: str,
                  prompt_format: str, verify: bool, max_prompt_tokens: int) -> dict[str, Any]:
    return {
        "model": source.label, "adapter": None if adapter is None else str(Path(adapter).resolve()),
        "backend": backend_name, "data": str(Path(data).resolve()) if Path(data).exists() else str(data),
        "split": split, "prompt_format": prompt_format, "verify": verify, "max_prompt_tokens": max_prompt_tokens,
    }


def check_run_settings(output_dir: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """Earlier settings of this output folder must equal this run's; returns what to write back."""
    path = output_dir / SETTINGS_FILE
    has_output = any(output.stat().st_size > 0 for output in output_dir.glob("*.jsonl"))
    if not path.exists() or not has_output:
        return {**settings, "tasks": {}}
    import json

    earlier = json.loads(path.read_text(encoding="utf-8"))
    changed = [key for key in _RESUME_KEYS if earlier.get(key) != settings[key]]
    if changed:
        details = "; ".join(f"{key}: {earlier.get(key)!r} before, {settings[key]!r} now" for key in changed)
        raise GenerationMismatchError(f"{path}: this folder was generated with other settings ({details}); "
                                      "use another --output")
    return {**earlier, **settings, "tasks": earlier.get("tasks", {})}


def check_task_settings(run_settings: dict[str, Any], task: Task, now: dict[str, Any], path: Path) -> None:
    """A task file started with other decoding settings (``now``'s keys) is not continued with these."""
    earlier = run_settings["tasks"].get(task.name)
    if earlier is None or not path.exists() or path.stat().st_size == 0:
        return
    before = {key: earlier.get(key, _LATER_SETTING_DEFAULTS.get(key)) for key in now}
    if before != now:
        changed = "; ".join(f"{key}: {before[key]!r} before, {value!r} now"
                            for key, value in now.items() if before[key] != value)
        raise GenerationMismatchError(f"{path}: this task was generated with other decoding settings "
                                      f"({changed}); use another --output")


def progress_bar(show: bool) -> Any:
    """A rich progress display with one bar per task (disabled when ``show`` is false)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), disable=not show)


def generate_on_dataset(model_source: ModelSource | str | None, data: Path | str, split: str = "test",
                        tasks: Sequence[str] | str | None = None, output_dir: Path | str = "generations",
                        adapter: str | None = None, backend: str | Backend = "hf", batch_size: int | None = None,
                        max_samples: int | None = None, verify: bool = False, prompt_format: str = "paper",
                        *, gguf_file: str | None = None, device: str | None = None, dtype: str | None = None,
                        max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS,
                        decoding: DecodingOptions | Mapping[str, DecodingOptions] | None = None,
                        show_progress: bool = True) -> dict[str, Any]:
    """Write ``<output_dir>/<task>.jsonl`` for each task; rerunning resumes where a run stopped.

    ``backend`` is ``"hf"``, ``"vllm"`` or an already loaded :class:`Backend`. ``decoding`` changes the
    paper's decoding settings, for every task or per task name (see :func:`resolve_settings`); the
    settings used are recorded per task in ``generation.json``. Returns a summary with one entry per task.
    """
    selected = resolve_tasks(tasks)
    prompt_format = PromptFormat(prompt_format).value
    source = model_source if isinstance(model_source, ModelSource) else resolve_model(model_source, gguf_file)
    backend_name = backend if isinstance(backend, str) else backend.name
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    run_settings = check_run_settings(output_dir, _run_settings(
        source, adapter, backend_name, data, split, prompt_format, verify, max_prompt_tokens))
    settings = {task.name: resolve_settings(task, options_for(task, decoding)) for task in selected}
    for task in selected:
        check_task_settings(run_settings, task, asdict(settings[task.name]), output_dir / f"{task.name}.jsonl")
    samples = {task.name: load_samples(data, split, task, max_samples) for task in selected}
    generator = load_backend(backend, source, adapter, device, dtype) if isinstance(backend, str) else backend
    write_json_atomic(output_dir / SETTINGS_FILE, run_settings)
    reports = []
    with progress_bar(show_progress) as progress:
        for task in selected:
            path = output_dir / f"{task.name}.jsonl"
            # recorded before the first line, so that a resumed task is checked against them
            run_settings["tasks"][task.name] = {**asdict(settings[task.name]), "samples": len(samples[task.name])}
            write_json_atomic(output_dir / SETTINGS_FILE, run_settings)
            report = run_task(generator, task, samples[task.name], path, batch_size=batch_size, verify=verify,
                              prompt_format=prompt_format, max_prompt_tokens=max_prompt_tokens,
                              settings=settings[task.name], progress=progress)
            reports.append(report)
            run_settings["tasks"][task.name] = {**report.settings, "samples": report.samples}
            write_json_atomic(output_dir / SETTINGS_FILE, run_settings)
    return {
        "output_dir": str(output_dir), "model": source.label, "backend": backend_name,
        "tasks": {report.task: {**asdict(report), "samples_per_second": report.samples_per_second}
                  for report in reports},
    }
