"""The on-disk layout of an official SMolInstruct release (``data.zip`` or its folder).

::

    raw/<split>/<task>.jsonl                    {"input", "output", "task", "split"}
    raw_selfies/<split>/<task>.jsonl            the same, molecules written in SELFIES
    template/<template_name>/<task>.json        [{"input": "…<INPUT>…", "output": "…<OUTPUT>…"}, …]
    sample/<sample_group>/<split>/<task>.json   {"task", "split", "template_name", "samples": [{"idx", "template_id",
                                                 "target"?}]}
    core_tag/<task>.json                        {"input": [left, right] | null, "output": [left, right] | null}

Splits on disk are ``train``, ``dev``, ``test`` and ``test_subset``; ``test_subset`` has sample files only
and points into ``raw/test``. Readers expose ``dev`` as ``validation``. Readers and writers of the layout
both take their names from this module.
"""

from __future__ import annotations

from pathlib import PurePosixPath

RAW_DIR = "raw"
RAW_SELFIES_DIR = "raw_selfies"
TEMPLATE_DIR = "template"
SAMPLE_DIR = "sample"
CORE_TAG_DIR = "core_tag"

DEFAULT_SAMPLE_GROUP = "instruction_tuning"
DEFAULT_TEMPLATE_NAME = "instruction_tuning"

TEST_SUBSET = "test_subset"  # a few test samples per task; its samples are also in ``test``
DISK_SPLITS: tuple[str, ...] = ("train", "dev", "test", TEST_SUBSET)
# Dataset split name -> split folder on disk.
SPLIT_TO_DISK: dict[str, str] = {"train": "train", "validation": "dev", "test": "test"}
DISK_TO_SPLIT: dict[str, str] = {"train": "train", "dev": "validation", "test": "test", "test_subset": "test"}
# Split folder of the raw records a sample split points into.
RAW_SPLIT_OF: dict[str, str] = {"train": "train", "dev": "dev", "test": "test", "test_subset": "test"}
# Folder names of raw split folders and the ``split`` value their records carry.
SPLIT_FOLDER_ALIASES: dict[str, str] = {
    "train": "train", "dev": "dev", "val": "dev", "valid": "dev", "validation": "dev",
    "test": "test", "test_subset": "test_subset",
}


def dataset_split(name: str) -> str:
    """``train``/``validation``/``test`` for a dataset or disk split name (``dev`` -> ``validation``)."""
    if name in SPLIT_TO_DISK:
        return name
    if name in DISK_TO_SPLIT:
        return DISK_TO_SPLIT[name]
    raise ValueError(f"unknown split {name!r}; valid splits: {', '.join(SPLIT_TO_DISK)}")


def raw_file(split: str, task: str, selfies: bool = False) -> str:
    """``raw/<split>/<task>.jsonl`` (or ``raw_selfies/…``) for a disk split, relative to the root."""
    return str(PurePosixPath(RAW_SELFIES_DIR if selfies else RAW_DIR, RAW_SPLIT_OF.get(split, split), f"{task}.jsonl"))


def template_file(template_name: str, task: str) -> str:
    return str(PurePosixPath(TEMPLATE_DIR, template_name, f"{task}.json"))


def sample_file(sample_group: str, split: str, task: str) -> str:
    return str(PurePosixPath(SAMPLE_DIR, sample_group, split, f"{task}.json"))


def core_tag_file(task: str) -> str:
    return str(PurePosixPath(CORE_TAG_DIR, f"{task}.json"))
