"""SMolInstruct raw split files (``<task>.jsonl``, one file or a folder of them) read back as records.

What each side of a line holds follows the task's tags in the registry (SMILES, IUPAC name,
formula, free text, property answer). Reaction lines carry the original atom-mapped reaction,
which is read instead of the canonicalized input/output so reagents can be relabelled.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from pathlib import Path

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import MoleculeRecord, ReactionRecord, Record, Tally
from llasmol.data.build.sources.reactions import parse_reaction_smiles
from llasmol.data.raw import RawRecord, iter_raw_records, raw_task_files
from llasmol.tasks import Tag, UnknownTaskError, get_task

MAPPED_REACTION_FIELD = "original_reaction_smiles_with_atom_mapping"
_DISK_SPLITS = {"train": "train", "dev": "validation", "validation": "validation", "test": "test",
                "test_subset": "test"}
_FIELD_OF_TAG = {Tag.SMILES: "smiles", Tag.SELFIES: None, Tag.IUPAC: "iupac", Tag.MOLFORMULA: "formula",
                 None: "description"}


def _reaction_of(record: RawRecord, tally: Tally) -> ReactionRecord | None:
    mapped = record.extra.get(MAPPED_REACTION_FIELD)
    text = mapped[0] if isinstance(mapped, list) and mapped else mapped
    parsed = parse_reaction_smiles(text) if isinstance(text, str) else None
    if parsed is None:
        tally.add("no_mapped_reaction")
        return None
    return ReactionRecord(*parsed, line=record.line, split=_DISK_SPLITS.get(record.split))


def _molecule_of(group: list[RawRecord], tally: Tally) -> MoleculeRecord | None:
    first = group[0]
    task = get_task(first.task)
    fields: dict[str, object] = {}
    for tag, value in ((task.input_tag, first.input), (task.output_tag, first.output)):
        if tag in (Tag.NUMBER, Tag.BOOLEAN):
            continue
        name = _FIELD_OF_TAG.get(tag)
        if name is None:
            tally.add("unsupported_field")
            return None
        # SMolInstruct separates the parts of some SMILES with ';' (the registry's semicolon_as_dot).
        fields[name] = value.strip().replace(";", ".") if tag is Tag.SMILES else value.strip()
    if task.output_tag in (Tag.NUMBER, Tag.BOOLEAN):
        fields["labels"] = tuple((record.target, record.output.strip()) for record in group)
    return MoleculeRecord(line=first.line, split=_DISK_SPLITS.get(first.split), **fields)  # type: ignore[arg-type]


def _records_of_file(path: Path, tally: Tally) -> Iterator[Record]:
    for _, lines in groupby(iter_raw_records(path), key=lambda record: record.line):
        group = list(lines)
        try:
            task = get_task(group[0].task)
        except UnknownTaskError:
            tally.add("unknown_task")
            continue
        if task.input_tag == Tag.SMILES and task.output_tag == Tag.SMILES:
            record = _reaction_of(group[0], tally)
        else:
            record = _molecule_of(group, tally)
        if record is not None:
            yield record


def read_smolinstruct_raw(source: SourceConfig, tally: Tally) -> Iterator[Record]:
    """Records of one raw ``<task>.jsonl`` file, or of every such file in a folder (sorted by name)."""
    paths = list(raw_task_files(source.path).values()) if source.path.is_dir() else [source.path]
    for path in paths:
        yield from _records_of_file(path, tally)
