"""Writing a build in the official SMolInstruct layout, inside a staging folder.

Raw lines are appended as they come (training lines go to a spool first and are written after
leakage control); sample files, templates and core tags are written when the data is complete.
Nothing here touches the destination: :mod:`llasmol.data.build.publish` moves the finished folder.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from llasmol.data import layout
from llasmol.data.build.records import SPLITS
from llasmol.data.build.samples import RawItem
from llasmol.data.templates import (
    TEMPLATE_NAME,
    choose_template_id,
    core_tags,
    layout_templates,
    load_templates,
    render,
)
from llasmol.tasks import get_task

SPOOL_DIR = "_spool"


@dataclass
class SplitStats:
    """Counts and summed lengths of one task's split."""

    lines: int = 0
    samples: int = 0
    query_chars: int = 0
    response_chars: int = 0


@dataclass
class _SplitFiles:
    raw: IO[str]
    selfies: IO[str] | None
    entries: IO[str]
    stats: SplitStats = field(default_factory=SplitStats)


def _json_line(item: dict[str, Any]) -> str:
    return json.dumps(item) + "\n"


class LayoutWriter:
    """Appends raw lines per task and split; writes sample/template/core-tag files at the end."""

    def __init__(self, root: Path, tasks: tuple[str, ...], seed: int, sample_group: str, with_selfies: bool,
                 test_subset_size: int) -> None:
        self.root, self.tasks, self.seed = root, tasks, seed
        self.sample_group, self.with_selfies, self.test_subset_size = sample_group, with_selfies, test_subset_size
        self.targets: dict[str, dict[str, None]] = {task: {} for task in tasks}  # ordered sets
        self.test_subset: dict[str, int] = {}
        self._files: dict[tuple[str, str], _SplitFiles] = {}
        for task in tasks:
            for split in SPLITS:
                self._files[(task, split)] = self._open(task, split)
        self._spools = {task: self._open_text(root / SPOOL_DIR / f"{task}.jsonl") for task in tasks}

    # -- raw lines ------------------------------------------------------------------------------

    @staticmethod
    def _open_text(path: Path) -> IO[str]:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8")

    def _open(self, task: str, split: str) -> _SplitFiles:
        disk = layout.SPLIT_TO_DISK[split]
        return _SplitFiles(
            raw=self._open_text(self.root / layout.raw_file(disk, task)),
            selfies=self._open_text(self.root / layout.raw_file(disk, task, selfies=True)) if self.with_selfies
            else None,
            entries=self._open_text(self.root / SPOOL_DIR / "entries" / disk / f"{task}.tsv"),
        )

    def lines(self, task: str, split: str) -> int:
        return self._files[(task, split)].stats.lines

    def write(self, task: str, split: str, item: RawItem) -> None:
        """Append one raw line (and its SELFIES twin) and note its samples (one per target)."""
        files = self._files[(task, split)]
        disk = layout.SPLIT_TO_DISK[split]
        index = files.stats.lines
        files.raw.write(_json_line({"input": item.input, "output": item.output, "task": task, "split": disk}))
        if files.selfies is not None:
            files.selfies.write(_json_line({"input": item.input_selfies, "output": item.output_selfies,
                                            "task": task, "split": disk}))
        templates = load_templates(task)
        for target in item.targets:
            answer = item.output if target is None else item.output[target]  # type: ignore[index]
            template = templates[choose_template_id(task, index, self.seed, target)]
            query, response = render(template, item.input, answer, task, target)  # type: ignore[arg-type]
            files.stats.samples += 1
            files.stats.query_chars += len(query)
            files.stats.response_chars += len(response)
            files.entries.write(f"{index}\t{target or ''}\n")
            if target is not None:
                self.targets[task].setdefault(target)
        files.stats.lines += 1

    def spool_train(self, task: str, item: RawItem) -> None:
        """Hold a training line until leakage control has seen every evaluation answer."""
        self._spools[task].write(json.dumps([item.input, item.output, item.input_selfies, item.output_selfies,
                                             list(item.answer_keys)]) + "\n")

    def spooled_train(self, task: str) -> Iterator[RawItem]:
        self._spools[task].close()
        with (self.root / SPOOL_DIR / f"{task}.jsonl").open(encoding="utf-8") as handle:
            for text in handle:
                source, answer, source_selfies, answer_selfies, keys = json.loads(text)
                yield RawItem(source, answer, source_selfies, answer_selfies, tuple(keys))

    def stats(self) -> dict[str, dict[str, SplitStats]]:
        return {task: {split: self._files[(task, split)].stats for split in SPLITS} for task in self.tasks}

    # -- finishing ------------------------------------------------------------------------------

    def _entries(self, task: str, disk: str) -> Iterator[tuple[int, str | None]]:
        with (self.root / SPOOL_DIR / "entries" / disk / f"{task}.tsv").open(encoding="utf-8") as handle:
            for line in handle:
                index, target = line.rstrip("\n").split("\t")
                yield int(index), target or None

    def _write_sample_file(self, task: str, disk: str, entries: Iterable[tuple[int, str | None]]) -> None:
        """``{"task", "split", "template_name", "samples": [...]}``, streamed entry by entry."""
        targets = list(self.targets[task]) or None
        path = self.root / layout.sample_file(self.sample_group, disk, task)
        path.parent.mkdir(parents=True, exist_ok=True)
        head = json.dumps({"task": task, "split": disk, "template_name": TEMPLATE_NAME})[:-1]
        with path.open("w", encoding="utf-8") as handle:
            handle.write(head + ', "samples": [')
            for position, (index, target) in enumerate(entries):
                sample: dict[str, Any] = {"idx": index,
                                          "template_id": choose_template_id(task, index, self.seed, target, targets)}
                if target is not None:
                    sample["target"] = target
                handle.write((", " if position else "") + json.dumps(sample))
            handle.write("]}\n")

    def _test_subset(self, entries: list[tuple[int, str | None]], task: str) -> list[tuple[int, str | None]]:
        if len(entries) <= self.test_subset_size:
            return entries
        chosen = random.Random(f"{self.seed}\x1ftest_subset\x1f{task}").sample(range(len(entries)),
                                                                               self.test_subset_size)
        return [entries[position] for position in sorted(chosen)]

    def finish(self) -> None:
        """Close raw files; write sample, template and core-tag files; remove the spool."""
        for files in self._files.values():
            for handle in (files.raw, files.selfies, files.entries):
                if handle is not None:
                    handle.close()
        for handle in self._spools.values():
            handle.close()
        for task in self.tasks:
            for split in SPLITS:
                disk = layout.SPLIT_TO_DISK[split]
                self._write_sample_file(task, disk, self._entries(task, disk))
                if split == "test":
                    subset = self._test_subset(list(self._entries(task, disk)), task)
                    self.test_subset[task] = len(subset)
                    self._write_sample_file(task, "test_subset", subset)
            targets = list(self.targets[task])
            multi = get_task(task).multi_target
            templates = layout_templates(task, targets) if (targets or not multi) else list(load_templates(task))
            write_json(self.root / layout.template_file(TEMPLATE_NAME, task), [t.to_json() for t in templates])
            write_json(self.root / layout.core_tag_file(task), core_tags(task))
        _remove_tree(self.root / SPOOL_DIR)


def write_json(path: Path, value: Any, indent: int | None = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=indent) + "\n", encoding="utf-8")


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
