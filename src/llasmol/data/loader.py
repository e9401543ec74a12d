"""Load SMolInstruct: the official release (``data.zip`` or its folder), our builds, or raw split folders.

Rows are those of the official loader: ``input``/``output`` (the query and answer rendered in a template),
``raw_input``/``raw_output``, ``split`` (the split's name on disk: ``train``, ``dev``, ``test`` or
``test_subset``), ``task``, ``target`` (SIDER's side-effect class, else ``None``) and the four core tag
fields. A folder of raw ``<task>.jsonl`` files is rendered with our templates, one seeded template per
sample; an official layout uses the template fixed for each sample in ``sample/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from llasmol.data import layout
from llasmol.data.raw import DataFormatError, RawRecord, iter_raw_records_from_lines
from llasmol.data.selfies_codec import smiles_to_selfies
from llasmol.data.sources import DataSource
from llasmol.data.templates import (
    INPUT_PLACEHOLDER,
    OUTPUT_PLACEHOLDER,
    Template,
    choose_template_id,
    core_tags,
    load_templates,
    render,
    wrap,
)
from llasmol.tasks import TASK_NAMES, TASKS, Tag, Task, resolve_tasks

FIELDS: tuple[str, ...] = (
    "input", "output", "raw_input", "raw_output", "split", "task", "target",
    "input_core_tag_left", "input_core_tag_right", "output_core_tag_left", "output_core_tag_right",
)
DATASET_SPLITS: tuple[str, ...] = ("train", "validation", "test")


@dataclass(frozen=True)
class LoadOptions:
    """How samples are rendered; the options of the official loader plus the seed for raw folders."""

    insert_core_tags: bool = True
    use_selfies: bool = False
    use_test_subset: bool = False
    use_first: int | None = None
    sample_group: str = layout.DEFAULT_SAMPLE_GROUP
    seed: int = 0

    def __post_init__(self) -> None:
        if self.use_first is not None and self.use_first <= 0:
            raise ValueError(f"use_first must be a positive integer, got {self.use_first}")


# ---------------------------------------------------------------------------------------------
# what a path holds
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """What a dataset root holds: ``official`` (with ``sample/``) or ``raw`` split folders.

    ``raw_folders`` maps each disk split to its raw folder (relative to the root), and
    ``tasks`` each disk split to the tasks it has.
    """

    kind: str
    raw_folders: dict[str, str]
    tasks: dict[str, tuple[str, ...]]
    selfies_folders: dict[str, str]


def _task_names_in(source: DataSource, folder: str, suffix: str) -> tuple[str, ...]:
    names = [name[: -len(suffix)] for name in source.list_files(folder, suffix)]
    return tuple(name for name in TASK_NAMES if name in names)


def _join(*parts: str) -> str:
    return "/".join(part for part in parts if part)


def _split_of_raw_folder(source: DataSource, folder: str, tasks: tuple[str, ...]) -> str:
    name = folder.rsplit("/", 1)[-1]
    if name in layout.SPLIT_FOLDER_ALIASES:
        return layout.SPLIT_FOLDER_ALIASES[name]
    rel = _join(folder, f"{tasks[0]}.jsonl")
    with source.open_text(rel) as handle:
        for record in iter_raw_records_from_lines(handle, source.display(rel)):
            split = record.split
            break
        else:
            split = ""
    if split not in layout.DISK_SPLITS:
        raise DataFormatError(source.display(rel), 1, f"cannot tell the split of folder {name!r}: "
                              f"name it one of {', '.join(layout.DISK_SPLITS)}", "split")
    return split


def _raw_split_folders(source: DataSource, base: str) -> dict[str, str]:
    """Disk split -> folder of ``<task>.jsonl`` files, for a folder of files or of split folders."""
    candidates = [base] if _task_names_in(source, base, ".jsonl") else [
        _join(base, name) for name in source.list_dirs(base) if _task_names_in(source, _join(base, name), ".jsonl")]
    folders: dict[str, str] = {}
    for folder in candidates:
        split = _split_of_raw_folder(source, folder, _task_names_in(source, folder, ".jsonl"))
        if split in folders:
            raise DataFormatError(source.display(folder), None, f"split {split!r} also in {folders[split]!r}")
        folders[split] = folder
    return folders


def detect_layout(source: DataSource, sample_group: str = layout.DEFAULT_SAMPLE_GROUP) -> Layout:
    """Find the splits and tasks a dataset root holds (for an official layout: in one sample group)."""
    if source.is_dir(layout.SAMPLE_DIR):
        raw = {split: _join(layout.RAW_DIR, split) for split in source.list_dirs(layout.RAW_DIR)}
        group_dir = _join(layout.SAMPLE_DIR, sample_group)
        if not source.is_dir(group_dir):
            groups = ", ".join(source.list_dirs(layout.SAMPLE_DIR)) or "none"
            raise DataFormatError(source.display(group_dir), None, f"no sample group {sample_group!r}; found: {groups}")
        tasks = {split: _task_names_in(source, _join(group_dir, split), ".json")
                 for split in source.list_dirs(group_dir)}
        selfies = {split: _join(layout.RAW_SELFIES_DIR, split) for split in source.list_dirs(layout.RAW_SELFIES_DIR)}
        return Layout("official", raw, tasks, selfies)
    base = layout.RAW_DIR if source.is_dir(layout.RAW_DIR) else ""
    folders = _raw_split_folders(source, base)
    if not folders:
        raise DataFormatError(source.path, None, "no SMolInstruct data here (no sample/ folder, no <task>.jsonl files)")
    tasks = {split: _task_names_in(source, folder, ".jsonl") for split, folder in folders.items()}
    selfies = ({split: _join(layout.RAW_SELFIES_DIR, split) for split in source.list_dirs(layout.RAW_SELFIES_DIR)}
               if base else {})
    return Layout("raw", folders, tasks, selfies)


def _disk_split(split: str, options: LoadOptions) -> str:
    disk = layout.SPLIT_TO_DISK[layout.dataset_split(split)]
    return layout.TEST_SUBSET if disk == "test" and options.use_test_subset else disk


# ---------------------------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------------------------


def _row(query: str, answer: str, raw_input: str, raw_output: str, split: str, task: str, target: str | None,
         tags: dict[str, Sequence[str | None] | None]) -> dict[str, Any]:
    input_tag = tags["input"] or (None, None)
    output_tag = tags["output"] or (None, None)
    return {
        "input": query, "output": answer, "raw_input": raw_input, "raw_output": raw_output, "split": split,
        "task": task, "target": target, "input_core_tag_left": input_tag[0], "input_core_tag_right": input_tag[1],
        "output_core_tag_left": output_tag[0], "output_core_tag_right": output_tag[1],
    }


def _raw_records(source: DataSource, rel: str) -> Iterator[RawRecord]:
    with source.open_text(rel) as handle:
        yield from iter_raw_records_from_lines(handle, source.display(rel))


def _line_groups(records: Iterable[RawRecord]) -> Iterator[list[RawRecord]]:
    """The records of each raw line together (SIDER lines hold one record per class)."""
    group: list[RawRecord] = []
    for record in records:
        if group and record.index != group[0].index:
            yield group
            group = []
        group.append(record)
    if group:
        yield group


def _to_selfies(record: RawRecord, task: Task, where: Path) -> tuple[str, str]:
    def convert(text: str, tag: Tag | None, name: str) -> str:
        if tag is not Tag.SMILES:
            return text
        try:
            return smiles_to_selfies(text)
        except ValueError as error:
            raise DataFormatError(where, record.line, str(error), name) from None

    return convert(record.input, task.input_tag, "input"), convert(record.output, task.output_tag, "output")


def _iter_raw_task(source: DataSource, folder: str, split: str, task: Task, options: LoadOptions,
                   selfies_folder: str | None) -> Iterator[dict[str, Any]]:
    """Rows of a raw ``<task>.jsonl``, each rendered in a seeded choice of our templates."""
    use_file_selfies = options.use_selfies and selfies_folder is not None
    rel = _join(selfies_folder if use_file_selfies else folder, f"{task.name}.jsonl")
    templates = load_templates(task.name)
    tags = core_tags(task, options.use_selfies)
    for count, record in enumerate(_raw_records(source, rel)):
        if options.use_first is not None and count >= options.use_first:
            return
        raw_input, raw_output = record.input, record.output
        if options.use_selfies and not use_file_selfies:
            raw_input, raw_output = _to_selfies(record, task, source.display(rel))
        template = templates[choose_template_id(task, record.index, options.seed, record.target)]
        query, answer = render(template, raw_input, raw_output, task, record.target,
                               insert_core_tags=options.insert_core_tags, use_selfies=options.use_selfies)
        yield _row(query, answer, raw_input, raw_output, split, task.name, record.target, tags)


def _file_core_tags(source: DataSource, task: Task, use_selfies: bool) -> dict[str, Sequence[str | None] | None]:
    rel = layout.core_tag_file(task.name)
    data = source.read_json(rel)
    tags: dict[str, Sequence[str | None] | None] = {}
    for side in ("input", "output"):
        value = data.get(side) if isinstance(data, dict) else None
        if value is not None and (not isinstance(value, list) or len(value) != 2):
            raise DataFormatError(source.display(rel), None, "expected [left, right] or null", side)
        if value is not None and value[0] is None:
            value = None
        if value is not None and use_selfies and value[0] == Tag.SMILES.left:
            value = [Tag.SELFIES.left, Tag.SELFIES.right]
        tags[side] = value
    return tags


def _file_templates(source: DataSource, template_name: str, task: Task, use_selfies: bool) -> list[Template]:
    rel = layout.template_file(template_name, task.name)
    items = source.read_json(rel)
    if not isinstance(items, list):
        raise DataFormatError(source.display(rel), None, "expected a list of templates")
    templates = []
    for position, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("input"), str) or not isinstance(
                item.get("output"), str):
            raise DataFormatError(source.display(rel), None, f"template {position} needs string input and output")
        template = Template(item["input"], item["output"])
        templates.append(template.as_selfies() if use_selfies else template)
    return templates


def _sample_record(source: DataSource, rel: str, task: Task, split: str) -> tuple[str, list[dict[str, Any]]]:
    data = source.read_json(rel)
    where = source.display(rel)
    if not isinstance(data, dict) or not isinstance(data.get("samples"), list):
        raise DataFormatError(where, None, "expected an object with a 'samples' list")
    for name, expected in (("task", task.name), ("split", split)):
        if data.get(name) != expected:
            raise DataFormatError(where, None, f"expected {expected!r}, found {data.get(name)!r}", name)
    if not isinstance(data.get("template_name"), str):
        raise DataFormatError(where, None, "missing", "template_name")
    return data["template_name"], data["samples"]


def _samples_with_lines(samples: list[dict[str, Any]], groups: Iterator[list[RawRecord]],
                        where: Path) -> Iterator[tuple[dict[str, Any], list[RawRecord]]]:
    """Pair each sample with the raw line it points to; streams when the indices never decrease."""
    for position, sample in enumerate(samples):
        if not isinstance(sample, dict):
            raise DataFormatError(where, None, f"sample {position}: expected an object with idx and template_id")
    indices = [sample.get("idx") for sample in samples]
    for position, index in enumerate(indices):
        if not isinstance(index, int) or index < 0:
            raise DataFormatError(where, None, f"sample {position}: expected a non-negative integer", "idx")
    if all(a <= b for a, b in pairwise(indices)):
        current: list[RawRecord] | None = None
        for sample in samples:
            while current is None or current[0].index < sample["idx"]:
                current = next(groups, None)
                if current is None:
                    raise DataFormatError(where, None, f"idx {sample['idx']} is past the end of the raw data", "idx")
            if current[0].index != sample["idx"]:
                raise DataFormatError(where, None, f"idx {sample['idx']} points to a blank raw line", "idx")
            yield sample, current
        return
    needed = set(indices)
    table = {group[0].index: group for group in groups if group[0].index in needed}
    for sample in samples:
        if sample["idx"] not in table:
            raise DataFormatError(where, None, f"idx {sample['idx']} is not in the raw data", "idx")
        yield sample, table[sample["idx"]]


def _pick_record(group: list[RawRecord], sample: dict[str, Any], where: Path) -> RawRecord:
    if len(group) == 1 and group[0].target is None:
        return group[0]
    target = sample.get("target")
    for record in group:
        if record.target == target:
            return record
    raise DataFormatError(where, None, f"sample for raw line {group[0].line}: target {target!r} not in its output",
                          "target")


def _iter_official_task(source: DataSource, split: str, task: Task, options: LoadOptions) -> Iterator[dict[str, Any]]:
    """Rows of one task and disk split of an official layout, as the official loader makes them."""
    sample_rel = layout.sample_file(options.sample_group, split, task.name)
    template_name, samples = _sample_record(source, sample_rel, task, split)
    if options.use_first is not None:
        samples = samples[: options.use_first]
    templates = _file_templates(source, template_name, task, options.use_selfies)
    tags = _file_core_tags(source, task, options.use_selfies)
    raw_rel = layout.raw_file(split, task.name, selfies=options.use_selfies)
    where = source.display(sample_rel)
    groups = _line_groups(_raw_records(source, raw_rel))
    for sample, group in _samples_with_lines(samples, groups, where):
        record = _pick_record(group, sample, where)
        template_id = sample.get("template_id")
        if not isinstance(template_id, int) or not 0 <= template_id < len(templates):
            raise DataFormatError(where, None, f"{template_id!r} is not one of the {len(templates)} templates",
                                  "template_id")
        template = templates[template_id]
        input_tag = tags["input"] if options.insert_core_tags else None
        output_tag = tags["output"] if options.insert_core_tags else None
        query = template.input.replace(INPUT_PLACEHOLDER, wrap(record.input, input_tag))
        answer = template.output.replace(OUTPUT_PLACEHOLDER, wrap(record.output, output_tag))
        yield _row(query, answer, record.input, record.output, split, task.name, record.target, tags)


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------


def _selected_tasks(tasks: Iterable[str] | str | None, available: Iterable[str]) -> list[Task]:
    if tasks is None:
        names = set(available)
        return [task for task in TASKS.values() if task.name in names]
    return resolve_tasks(tasks)


def _iter_rows(source: DataSource, found: Layout, split: str, tasks: Iterable[str] | str | None,
               options: LoadOptions) -> Iterator[dict[str, Any]]:
    disk = _disk_split(split, options)
    if disk not in found.tasks:
        available = sorted(layout.DISK_TO_SPLIT[s] if s != layout.TEST_SUBSET else "test (use_test_subset)"
                           for s in found.tasks)
        raise ValueError(f"{source.path} has no {disk!r} split; it has: {', '.join(available) or 'none'}")
    selected = _selected_tasks(tasks, found.tasks[disk])
    missing = [task.name for task in selected if task.name not in found.tasks[disk]]
    if missing and tasks is not None:
        raise ValueError(f"{source.path}: split {disk!r} has no data for {', '.join(missing)}")
    for task in selected:
        if found.kind == "official":
            yield from _iter_official_task(source, disk, task, options)
        else:
            yield from _iter_raw_task(source, found.raw_folders[disk], disk, task, options,
                                      found.selfies_folders.get(disk))


def iter_smolinstruct(path: Path | str, split: str = "validation", tasks: Iterable[str] | str | None = None,
                      insert_core_tags: bool = True, use_selfies: bool = False, use_test_subset: bool = False,
                      use_first: int | None = None, sample_group: str = layout.DEFAULT_SAMPLE_GROUP,
                      seed: int = 0) -> Iterator[dict[str, Any]]:
    """The rows of one split (``train``, ``validation``/``dev`` or ``test``), task by task, as plain dicts."""
    options = LoadOptions(insert_core_tags, use_selfies, use_test_subset, use_first, sample_group, seed)
    source = DataSource(path)
    try:
        yield from _iter_rows(source, detect_layout(source, sample_group), split, tasks, options)
    finally:
        source.close()


def _generate(path: str, split: str, tasks: tuple[str, ...], options: dict[str, Any],
              signature: str) -> Iterator[dict[str, Any]]:
    """Generator for ``Dataset.from_generator``; ``signature`` only keys the cache to the data's state."""
    del signature
    yield from iter_smolinstruct(path, split, list(tasks), **options)


def available_splits(path: Path | str, use_test_subset: bool = False,
                     sample_group: str = layout.DEFAULT_SAMPLE_GROUP) -> list[str]:
    """The dataset splits (``train``, ``validation``, ``test``) a path holds."""
    source = DataSource(path)
    try:
        disks = set(detect_layout(source, sample_group).tasks)
    finally:
        source.close()
    test = layout.TEST_SUBSET if use_test_subset else "test"
    wanted = {"train": "train", "validation": "dev", "test": test}
    return [split for split in DATASET_SPLITS if wanted[split] in disks]


def _split_tasks(path: Path | str, found: Layout, splits: list[str], tasks: Iterable[str] | str | None,
                 options: LoadOptions, explicit_splits: bool) -> dict[str, tuple[str, ...]]:
    """The tasks to load per split. Requested tasks must all be there in requested splits; with the splits
    left open, a split is loaded with those of the tasks it has, and left out when it has none."""
    requested = [task.name for task in resolve_tasks(tasks)] if tasks is not None else None
    plan: dict[str, tuple[str, ...]] = {}
    for split in splits:
        disk = _disk_split(split, options)
        if disk not in found.tasks:
            raise ValueError(f"{path} has no {split!r} split ({disk!r} on disk)")
        have = found.tasks[disk]
        if requested is None:
            plan[split] = have
            continue
        missing = [name for name in requested if name not in have]
        if missing and explicit_splits:
            raise ValueError(f"{path}: split {disk!r} has no data for {', '.join(missing)}")
        chosen = tuple(name for name in requested if name in have)
        if chosen:
            plan[split] = chosen
    if not plan:
        raise ValueError(f"{path} holds none of the requested tasks in {', '.join(splits)}")
    return plan


def load_smolinstruct(path: Path | str, tasks: Iterable[str] | str | None = None,
                      splits: Iterable[str] | str | None = None, insert_core_tags: bool = True,
                      use_selfies: bool = False, use_test_subset: bool = False, use_first: int | None = None,
                      sample_group: str = layout.DEFAULT_SAMPLE_GROUP, seed: int = 0,
                      cache_dir: Path | str | None = None) -> Any:
    """SMolInstruct as a ``datasets.DatasetDict`` of Arrow tables (``train``, ``validation``, ``test``).

    ``path`` is the official ``data.zip``, its extracted folder, a dataset built by ``llasmol data build``,
    or a folder of raw split files. ``splits`` defaults to all the path holds.
    """
    import datasets

    options = LoadOptions(insert_core_tags, use_selfies, use_test_subset, use_first, sample_group, seed)
    source = DataSource(path)
    try:
        found = detect_layout(source, sample_group)
        signature = source.signature()
    finally:
        source.close()
    if isinstance(splits, str):
        splits = [splits]
    names = [layout.dataset_split(s) for s in splits] if splits is not None else available_splits(
        path, use_test_subset, sample_group)
    plan = _split_tasks(path, found, names, tasks, options, explicit_splits=splits is not None)
    features = datasets.Features({name: datasets.Value("string") for name in FIELDS})
    result = {}
    for split, split_tasks in plan.items():
        try:
            result[split] = datasets.Dataset.from_generator(
                _generate, features=features, cache_dir=str(cache_dir) if cache_dir else None,
                gen_kwargs={"path": str(Path(path).resolve()), "split": split, "tasks": split_tasks,
                            "options": asdict(options), "signature": signature},
                split=datasets.NamedSplit(split),
            )
        except datasets.exceptions.DatasetGenerationError as error:
            cause = error.__cause__
            if isinstance(cause, (DataFormatError, ValueError)):
                raise cause from None
            raise
    return datasets.DatasetDict(result)


def _count_raw(source: DataSource, rel: str, task: Task) -> int:
    """Samples of a raw file: its non-blank lines, or for multi-target tasks the targets of every line."""
    if task.multi_target:
        return sum(1 for _ in _raw_records(source, rel))
    with source.open_text(rel) as handle:
        return sum(1 for line in handle if line.strip())


def dataset_info(path: Path | str, sample_group: str = layout.DEFAULT_SAMPLE_GROUP) -> dict[str, Any]:
    """Samples per task and split, and the totals: ``{"path", "layout", "splits", "tasks", "totals", "total"}``.

    Splits are named as on disk (``train``, ``dev``, ``test``, ``test_subset``); ``total`` leaves out
    ``test_subset``, whose samples are also in ``test``.
    """
    source = DataSource(path)
    try:
        found = detect_layout(source, sample_group)
        splits = [split for split in layout.DISK_SPLITS if split in found.tasks]
        counts: dict[str, dict[str, int]] = {}
        for split in splits:
            for name in found.tasks[split]:
                if found.kind == "official":
                    rel = layout.sample_file(sample_group, split, name)
                    count = len(_sample_record(source, rel, TASKS[name], split)[1])
                else:
                    count = _count_raw(source, _join(found.raw_folders[split], f"{name}.jsonl"), TASKS[name])
                counts.setdefault(name, {})[split] = count
    finally:
        source.close()
    tasks = {name: counts[name] for name in TASK_NAMES if name in counts}
    totals = {split: sum(row.get(split, 0) for row in tasks.values()) for split in splits}
    return {"path": str(path), "layout": found.kind, "splits": splits, "tasks": tasks, "totals": totals,
            "total": sum(count for split, count in totals.items() if split != layout.TEST_SUBSET)}
