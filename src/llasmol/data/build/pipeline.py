"""``build_dataset``: raw sources → quality control → splits → leakage control → official layout.

Sources are streamed and cleaned chunk by chunk by an engine (:mod:`llasmol.data.build.engines`:
local worker processes or Ray Data), a bounded number of chunks in flight (memory stays bounded;
canonical forms are cached per worker).
Validation and test lines are written as they come; training lines are spooled and written once
every validation/test answer is known, dropping those that would leak an evaluation answer.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections import defaultdict
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from llasmol.data.build.config import AUTO_TRAIN, BuildConfig, SourceConfig
from llasmol.data.build.engines import Engine, build_engine
from llasmol.data.build.publish import (
    ZIP_NAME,
    check_destination,
    remove_stale_staging,
    staging_dir,
    zip_folder,
)
from llasmol.data.build.qc import CleanUnit, QCOptions
from llasmol.data.build.records import Tally
from llasmol.data.build.report import BuildReport, dataset_card, source_summary
from llasmol.data.build.samples import RawItem, make_item
from llasmol.data.build.sources import get_reader
from llasmol.data.build.splits import resolve_split
from llasmol.data.build.writer import LayoutWriter, write_json
from llasmol.data.raw import DataFormatError
from llasmol.files import replace_folder
from llasmol.tasks import AnswerType, Tag, Task, get_task

QC_REPORT_NAME = "qc_report.json"
CARD_NAME = "README.md"
class _Assembler:
    """Turns clean units into task samples: dedupe, caps, eval-answer index, leakage control."""

    def __init__(self, config: BuildConfig, writer: LayoutWriter) -> None:
        self.config, self.writer = config, writer
        self.task_qc: dict[str, Tally] = {task: Tally() for task in config.tasks}
        self.leaks: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._seen: dict[bytes, bool] = {}  # sample fingerprint -> first seen in training
        self._evicted: set[bytes] = set()  # training samples replaced by a later evaluation copy
        self._accepted: dict[tuple[str, str], int] = defaultdict(int)
        self._eval_answers: dict[str, set[str]] = {}

    def _fingerprint(self, task: str, item: RawItem) -> bytes:
        text = f"{task}\x1f{item.input}\x1f{item.output!r}"
        return hashlib.blake2b(text.encode(), digest_size=16).digest()

    def add(self, task: Task, split: str, unit: CleanUnit) -> None:
        item = make_item(unit, task, self.config.selfies)
        qc = self.task_qc[task.name]
        if isinstance(item, str):
            qc.add(item)
            return
        fingerprint = self._fingerprint(task.name, item)
        first_in_training = self._seen.get(fingerprint)
        if first_in_training is not None:
            qc.add("duplicate")
            if not (first_in_training and split != "train"):
                return
            self._evicted.add(fingerprint)  # keep the evaluation copy, drop the spooled training one
        self._seen[fingerprint] = split == "train"
        cap = self.config.caps.get(task.name)
        if cap is not None and self._accepted[(task.name, split)] >= cap:
            qc.add("over_cap")
            return
        self._accepted[(task.name, split)] += 1
        if split == "train":
            self.writer.spool_train(task.name, item)
            return
        self.writer.write(task.name, split, item)
        for key in item.answer_keys:
            self._eval_answers.setdefault(key, set()).add(task.name)

    def write_training(self) -> None:
        """Write spooled training lines, dropping duplicates of evaluation samples and lines whose
        answer is an evaluation answer."""
        for task in self.config.tasks:
            for item in self.writer.spooled_train(task):
                if self._evicted and self._fingerprint(task, item) in self._evicted:
                    continue
                hit: set[str] = set()
                for key in item.answer_keys:
                    hit.update(self._eval_answers.get(key, ()))
                if hit:
                    self.task_qc[task].add("leak_dropped")
                    for evaluation_task in hit:
                        self.leaks[evaluation_task][task] += 1
                    continue
                self.writer.write(task, "train", item)


def _qc_options(config: BuildConfig, source: SourceConfig) -> QCOptions:
    tasks = [get_task(name) for name in source.tasks]
    return QCOptions(
        opsin_check=config.opsin_check and any(Tag.IUPAC in (t.input_tag, t.output_tag) for t in tasks),
        selfies=config.selfies,
        need_formula=any(t.answer_type is AnswerType.FORMULA for t in tasks),
    )


def _progress(enabled: bool) -> AbstractContextManager:
    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    transient=False)


def _feed_source(source: SourceConfig, config: BuildConfig, engine: Engine, assembler: _Assembler,
                 bar: Any) -> Tally:
    tally = Tally()
    tasks = [get_task(name) for name in source.tasks]
    progress_task = bar.add_task(f"{source.name}", total=source.limit) if bar is not None else None
    options = _qc_options(config, source)
    chunk_size = config.opsin_batch_size if options.opsin_check else config.chunk_size
    read = kept = 0
    for size, units, chunk_tally in engine.stream(source, options, chunk_size, tally):
        tally.update(chunk_tally)
        read += size
        for unit in units:
            if unit is None:
                continue
            kept += 1
            split = resolve_split(unit.split, unit.split_key, source, config.seed, config.split_ratios)
            if source.split == AUTO_TRAIN and split != "train":
                tally.add("held_out_dropped")
                continue
            for task in tasks:
                assembler.add(task, split, unit)
        if bar is not None:
            bar.update(progress_task, advance=size)
    tally["records_read"], tally["records_kept"] = read, kept
    return tally


def _build_into(config: BuildConfig, root: Path, workers: int, progress: bool) -> BuildReport:
    writer = LayoutWriter(root, config.tasks, config.seed, config.sample_group, config.selfies,
                          config.test_subset_size)
    assembler = _Assembler(config, writer)
    source_qc: dict[str, dict[str, int]] = {}
    with build_engine(config.engine, workers, config.ray_address) as engine, _progress(progress) as bar:
        for source in config.sources:
            source_qc[source.name] = dict(sorted(_feed_source(source, config, engine, assembler, bar).items()))
    assembler.write_training()
    writer.finish()
    return BuildReport(
        out_dir=root, name=config.name, seed=config.seed, stats=writer.stats(), test_subset=dict(writer.test_subset),
        source_qc=source_qc,
        task_qc={task: dict(sorted(tally.items())) for task, tally in assembler.task_qc.items()},
        leaks={evaluation: dict(sorted(row.items())) for evaluation, row in sorted(assembler.leaks.items())},
        sources=source_summary(config),
    )


def _write_report_files(root: Path, report: BuildReport) -> None:
    write_json(root / QC_REPORT_NAME, report.to_dict())
    (root / CARD_NAME).write_text(dataset_card(report), encoding="utf-8")


def _zipped(staged: Path, out_dir: Path) -> Path:
    """A second staging folder holding ``data.zip`` of ``staged`` plus the card and QC report beside it."""
    final = staging_dir(out_dir, "partial-zip")
    zip_folder(staged, final / ZIP_NAME)
    for name in (CARD_NAME, QC_REPORT_NAME):
        shutil.copyfile(staged / name, final / name)
    shutil.rmtree(staged)
    return final


def _check_sources(config: BuildConfig) -> None:
    """Fail before any work when a source names an unknown reader or a missing file."""
    for source in config.sources:
        get_reader(source.reader)
        if not source.path.exists():
            raise DataFormatError(source.path, None, f"not found (source {source.name!r})")
        for option, path in source.side_paths.items():
            if not path.exists():
                raise DataFormatError(path, None, f"not found (source {source.name!r}, options.{option})")


def build_dataset(config: BuildConfig, out_dir: Path | str, zip_output: bool = False, workers: int = 2,
                  overwrite: bool = False, progress: bool = False) -> BuildReport:
    """Build a SMolInstruct-style dataset from the config's raw sources into ``out_dir``.

    The folder appears only when complete (written beside it, then renamed); with ``zip_output`` it
    holds ``data.zip`` (the layout at the archive root) plus ``README.md`` and ``qc_report.json``.
    ``config.engine`` says where the per-record work runs (``workers`` processes, or Ray); the
    output is the same.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    _check_sources(config)
    check_destination(out_dir, overwrite)
    remove_stale_staging(out_dir)
    staged = [staging_dir(out_dir)]
    try:
        report = _build_into(config, staged[0], workers, progress)
        _write_report_files(staged[0], report)
        if zip_output:
            staged.append(_zipped(staged[0], out_dir))
        replace_folder(staged[-1], out_dir)
    except BaseException:
        for path in staged:
            shutil.rmtree(path, ignore_errors=True)
        raise
    report.out_dir = out_dir
    report.elapsed_s = time.perf_counter() - started
    return report
