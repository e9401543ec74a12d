"""Score a folder of predictions on SMolInstruct the way the paper does, fast.

:func:`evaluate_predictions` reads ``<task>.jsonl`` prediction files, looks their gold answers up in
a raw split folder, scores every task with its metric family, and writes ``metrics.json`` and
``report.md``. :func:`score_task` scores in-memory records (for a demo or a server).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llasmol.evaluate.captions import warm_caption_scorers
from llasmol.evaluate.gold import (
    GoldAnswers,
    InvalidGoldError,
    golds_from_records,
    golds_from_split,
    normalize_answer,
)
from llasmol.evaluate.isolation import ScoringErrors
from llasmol.evaluate.molecules import canonicalize_later
from llasmol.evaluate.parallel import WorkPool
from llasmol.evaluate.progress import NoProgress, ProgressHook
from llasmol.evaluate.records import EvaluationWarning, PredictionRecord, prediction_files, read_predictions
from llasmol.evaluate.report import headline_figures, metrics_json, render_markdown
from llasmol.evaluate.resources import ensure_wordnet, load_caption_tokenizer
from llasmol.evaluate.scorers import SCORERS, Metrics, ScoringContext
from llasmol.evaluate.shortcuts import first_strings
from llasmol.files import write_text_atomic
from llasmol.tasks import EXTRACTION_MODES, MetricFamily, Task, get_task, resolve_tasks


@dataclass
class CaptionResources:
    """The SciBERT tokenizer and WordNet folder, loaded once when a caption task is scored."""

    scibert_vocab: str | Path | None = None
    _tokenizer: Any = field(default=None, repr=False)
    _nltk_data: Path | None = field(default=None, repr=False)

    def load(self) -> CaptionResources:
        self.load_tokenizer()
        if self._nltk_data is None:
            self._nltk_data = ensure_wordnet()
        return self

    def load_tokenizer(self) -> CaptionResources:
        """Load only the tokenizer (quick for a ``vocab.txt``): a missing vocabulary fails here."""
        if self._tokenizer is None:
            self._tokenizer = load_caption_tokenizer(self.scibert_vocab)
        return self

    @property
    def tokenizer(self) -> Any:
        return self.load()._tokenizer

    @property
    def nltk_data(self) -> Path | None:
        return self.load()._nltk_data


def answer_depth(task: Task, records: Sequence[PredictionRecord]) -> int:
    """k: the most answers any sample has (shorter lists count as missing answers), else the task's setting."""
    depths = [len(record.answers) for record in records if record.answers]
    return max(depths) if depths else task.generation.num_return_sequences


def _molecule_strings(item: TaskInput) -> list[str]:
    """The normalized SMILES a molecule task canonicalizes first: its golds and first answers."""
    golds = [[normalize_answer(gold, item.task) for gold in sample] for sample in item.golds.answers]
    firsts = [[normalize_answer(record.answers[0], item.task)] if record.answers and record.answers[0] is not None
              else None for record in item.records]  # first_strings reads only each sample's first answer
    return first_strings(firsts, golds)


def _normalized_answers(task: Task, records: Sequence[PredictionRecord]) -> list[list[str | None] | None]:
    return [None if record.answers is None
            else [None if answer is None else normalize_answer(answer, task) for answer in record.answers]
            for record in records]


def score_task(task: Task | str, records: Sequence[PredictionRecord], golds: Sequence[Sequence[str]] | None = None,
               *, pool: WorkPool | None = None, progress: ProgressHook | None = None,
               captions: CaptionResources | None = None) -> Metrics:
    """All metrics of one task, plus its headline figures.

    ``golds``: each record's gold answers (default: the record's own ``gold``). Raises
    :class:`~llasmol.evaluate.gold.InvalidGoldError` for a gold answer the metric cannot read.
    """
    task = get_task(task) if isinstance(task, str) else task
    pool, progress = pool or WorkPool(), progress or NoProgress()
    errors = ScoringErrors()
    gold_lists = golds_from_records(records).answers if golds is None else golds
    gold_lists = [[normalize_answer(gold, task) for gold in sample] for sample in gold_lists]
    answers = _normalized_answers(task, records)
    context = ScoringContext(task, answer_depth(task, records), pool, progress, errors, captions or CaptionResources())
    metrics = SCORERS[task.metric_family](answers, gold_lists, context)
    metrics.update(headline_figures(task, metrics))
    metrics["num_scoring_errors"] = len(errors)
    _warn_scoring_errors(task, records, errors)
    return metrics


def _warn_scoring_errors(task: Task, records: Sequence[PredictionRecord], errors: ScoringErrors) -> None:
    """One warning per sample whose answer raised while being scored (and was counted invalid)."""
    for index, reason in sorted(errors.by_sample.items()):
        line = records[index].line
        where = f"line {line}" if line is not None else f"sample {index + 1}"
        warnings.warn(f"{task.name} {where}: answer counted invalid, scoring it raised {reason}",
                      EvaluationWarning, stacklevel=3)


@dataclass
class TaskInput:
    """One task's checked input: records and their gold answers."""

    task: Task
    path: Path
    records: list[PredictionRecord]
    golds: GoldAnswers


def task_files(predictions_dir: Path | str, gold: Path | str | None = None,
               tasks: Sequence[str] | str | None = None) -> dict[str, Path]:
    """``{task name: predictions file}`` to score, in registry order; each task's gold file checked to exist."""
    wanted = resolve_tasks(tasks) if tasks is not None else None
    files = prediction_files(predictions_dir, wanted)
    for task in wanted or []:
        if task.name not in files:
            warnings.warn(f"no {task.name}.jsonl in {predictions_dir}", EvaluationWarning, stacklevel=2)
    if not files:
        raise FileNotFoundError(f"no task prediction files (<task>.jsonl) in {predictions_dir}")
    if gold is not None:
        if not Path(gold).is_dir():
            raise FileNotFoundError(f"gold split folder not found: {gold}")
        for name in files:
            if not (Path(gold) / f"{name}.jsonl").is_file():
                raise FileNotFoundError(f"gold file not found: {Path(gold) / f'{name}.jsonl'}")
    return files


def load_task_input(task: Task, path: Path, gold: Path | str | None = None,
                    extraction: str = "paper") -> TaskInput | None:
    """One predictions file's records and their golds (from ``gold``'s file of the task, else the records').

    ``None``, with a warning, for a file without samples.
    """
    records = read_predictions(path, task, extraction)
    if not records:
        warnings.warn(f"{path}: no samples, skipped", EvaluationWarning, stacklevel=2)
        return None
    if gold is None:
        golds = golds_from_records(records, path)
    else:
        golds = golds_from_split(task, records, path, Path(gold) / f"{task.name}.jsonl")
    return TaskInput(task, path, records, golds)


def load_task_inputs(predictions_dir: Path | str, gold: Path | str | None = None,
                     tasks: Sequence[str] | str | None = None, extraction: str = "paper") -> list[TaskInput]:
    """Read and check every prediction file (and its golds) before any scoring starts."""
    files = task_files(predictions_dir, gold, tasks)
    loaded = (load_task_input(get_task(name), path, gold, extraction) for name, path in files.items())
    return [item for item in loaded if item is not None]


class _RichHook:
    """Feeds a scorer's progress into one rich progress bar."""

    def __init__(self, bar: Any, bar_id: Any) -> None:
        self._bar, self._id, self._total = bar, bar_id, 0

    def add(self, total: int) -> None:
        self._total += total
        self._bar.update(self._id, total=self._total)

    def advance(self, done: int) -> None:
        self._bar.advance(self._id, done)

    def finish(self) -> None:
        done = max(self._total, 1)
        self._bar.update(self._id, total=done, completed=done)


def _progress_bar(show: bool) -> AbstractContextManager[Any]:
    if not show:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=False)


def _score_items(items: Sequence[TaskInput], pool: WorkPool, bar: Any, captions: CaptionResources
                 ) -> dict[str, Metrics]:
    """Score ``items`` one after the other."""
    scored: dict[str, Metrics] = {}
    for item in items:
        hook = _RichHook(bar, bar.add_task(f"{item.task.short_name:>10}", total=0)) if bar else None
        try:
            scored[item.task.name] = score_task(item.task, item.records, item.golds.answers, pool=pool,
                                                progress=hook, captions=captions)
        except InvalidGoldError as error:
            raise item.golds.error_for(error, item.task) from None
        if hook is not None:
            hook.finish()
    return scored


def _first_results(futures: Sequence[Future[dict[str, Metrics]]]) -> dict[str, Metrics]:
    """All the futures' results; the first error raised as soon as it happens."""
    done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    for future in done:
        error = future.exception()
        if error is not None:
            raise error
    return {name: metrics for future in futures for name, metrics in future.result().items()}


def _answer_count(item: TaskInput) -> int:
    return sum(len(record.answers or ()) for record in item.records)


def _is_molecule_task(name: str) -> bool:
    return get_task(name).metric_family is MetricFamily.MOLECULE


def _read_inputs(files: dict[str, Path], gold: Path | str | None, pool: WorkPool, bar: Any, extraction: str
                 ) -> tuple[list[TaskInput], Callable[[], None]]:
    """(every file's input, in registry order; a function that waits for the workers' first SMILES).

    Molecule tasks are read first, and each one's golds and first answers go to the workers as
    soon as it is read: they canonicalize while this process reads the rest.
    """
    send = pool.workers > 1 and any(_is_molecule_task(name) for name in files)
    hook = _RichHook(bar, bar.add_task(f"{'SMILES':>10}", total=0)) if bar and send else None
    inputs: dict[str, TaskInput] = {}
    waits, sent = [], set()
    for name in sorted(files, key=lambda name: not _is_molecule_task(name)):
        item = load_task_input(get_task(name), files[name], gold, extraction)
        if item is None:
            continue
        inputs[name] = item
        if send and _is_molecule_task(name):
            strings = [text for text in _molecule_strings(item) if text not in sent]
            sent.update(strings)
            waits.append(canonicalize_later(strings, pool, hook))

    def finish() -> None:
        for remember in waits:
            remember()
        if hook is not None:
            hook.finish()

    return [inputs[name] for name in files if name in inputs], finish


def metrics_name(extraction: str = "paper") -> str:
    """The default metrics file of an extraction mode: ``metrics.json``, ``metrics_lenient.json``."""
    return "metrics.json" if extraction == "paper" else f"metrics_{extraction}.json"


def report_name(extraction: str = "paper") -> str:
    """The report written beside the metrics: ``report.md``, ``report_lenient.md``."""
    return "report.md" if extraction == "paper" else f"report_{extraction}.md"


def _mode_note(extraction: str) -> str:
    return "" if extraction == "paper" else f" ({extraction} extraction, not the paper's)"


def evaluate_predictions(predictions_dir: Path | str, gold: Path | str | None = None,
                         output: Path | str | None = None, tasks: Sequence[str] | str | None = None,
                         scibert_vocab: Path | str | None = None, workers: int = 2,
                         show_progress: bool = True, extraction: str = "paper") -> dict[str, Metrics]:
    """Score every ``<task>.jsonl`` in ``predictions_dir``; ``{task name: metrics}`` in registry order.

    ``gold``: a raw SMolInstruct split folder (all golds of samples sharing an input count);
    without it each record's own ``gold`` is used. ``output``: where to write the metrics JSON
    (:func:`report_name` goes beside it), both atomically. ``workers``: processes for the RDKit and
    METEOR work. ``extraction``: ``paper`` (the default) or ``lenient``, an opt-in reading for untuned
    models whose figures are reported apart (the report's title names the mode).
    """
    if extraction not in EXTRACTION_MODES:
        raise ValueError(f"unknown extraction mode {extraction!r}; use one of {', '.join(EXTRACTION_MODES)}")
    files = task_files(predictions_dir, gold, tasks)
    families = {get_task(name).metric_family for name in files}
    captions = CaptionResources(scibert_vocab)
    # Beside molecule tasks, captions are scored in this process (which also loads WordNet and the
    # tokenizer) while the workers score molecules; alone, they use the workers.
    beside = MetricFamily.CAPTION in families and MetricFamily.MOLECULE in families
    if MetricFamily.CAPTION in families:
        captions.load_tokenizer()  # fail on a missing vocabulary before the long work
        if not beside:
            warm_caption_scorers(captions.nltk_data)  # WordNet read once, here, before the workers fork
    executor = ThreadPoolExecutor(max_workers=1 + sum(map(_is_molecule_task, files)))
    pool = WorkPool(workers).start()
    try:
        with _progress_bar(show_progress) as bar:
            inputs, canonicalized = _read_inputs(files, gold, pool, bar, extraction)
            caption_items = [item for item in inputs if item.task.metric_family is MetricFamily.CAPTION]
            molecule_items = [item for item in inputs if item.task.metric_family is MetricFamily.MOLECULE]
            other_items = [item for item in inputs if item not in caption_items and item not in molecule_items]
            if beside and caption_items:
                # WordNet opened before the scoring threads start, so that their warning filters do not race it.
                warm_caption_scorers(captions.nltk_data)
            side_by_side = ([executor.submit(_score_items, caption_items, WorkPool(1), bar, captions)]
                            if beside else [])
            canonicalized()
            # Each molecule task on its own thread: while one waits for its workers' results,
            # another's work keeps the workers busy. The task with most answers goes first, so
            # that its chain of steps does not run on alone at the end.
            by_answers = sorted(molecule_items, key=_answer_count, reverse=True)
            side_by_side += [executor.submit(_score_items, [item], pool, bar, captions) for item in by_answers]
            scored = _score_items(other_items + (caption_items if not beside else []), pool, bar, captions)
            scored.update(_first_results(side_by_side))
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        pool.close()
    results = {item.task.name: scored[item.task.name] for item in inputs}
    if output is not None:
        write_text_atomic(output, metrics_json(results))
        write_text_atomic(Path(output).parent / report_name(extraction),
                          render_markdown(results, f"Evaluation of {predictions_dir}{_mode_note(extraction)}"))
    return results
