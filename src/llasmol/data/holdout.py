"""Training data from SMolInstruct's own non-test samples, with a held-out slice scored instead of the test split.

:func:`hold_out_smolinstruct` reads raw SMolInstruct folders (``val/``, ``train_partial/``: any folder of
``<task>.jsonl`` files), keeps ``per_task`` samples of each task's validation split aside as ``test`` and
writes the rest as ``train``, in the raw layout every reader of llasmol takes::

    raw/train/<task>.jsonl      training samples (validation and train lines), then derived ones
    raw/test/<task>.jsonl       the held-out slice, lines exactly as in the source
    holdout.json                counts: held out, trained, dropped for sharing a held-out molecule, derived

Held-out samples are chosen by molecule: each sample has a key (its molecule's SMILES, a reaction's
product, a name's molecule), keys are ranked by a seeded hash, and each task holds out its lowest-ranked
samples, so tasks that share molecules (the four name conversions, captioning and generation) hold out
the same ones. No training sample of any task has a held-out key. Derived samples come only from
training molecules: SMILES → formula (RDKit) for molecules of other tasks, and captioning ↔ generation
for pairs that only one of the two holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llasmol.data.layout import RAW_DIR
from llasmol.data.raw import DataFormatError, iter_json_lines, raw_task_files
from llasmol.files import atomic_folder
from llasmol.tasks import TASK_NAMES, Tag, get_task, resolve_tasks

VALIDATION_SPLITS = frozenset({"dev", "validation", "val", "valid"})
S2F = "name_conversion-s2f"
CAPTIONING, GENERATION = "molecule_captioning", "molecule_generation"
HOLDOUT_REPORT = "holdout.json"


@dataclass
class HoldoutReport:
    """What :func:`hold_out_smolinstruct` wrote, per task."""

    held_out: dict[str, int] = field(default_factory=dict)
    trained: dict[str, int] = field(default_factory=dict)
    dropped_shared_molecule: dict[str, int] = field(default_factory=dict)
    derived: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    per_task: int = 100
    seed: int = 42

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Line:
    """One raw line of a task file, kept verbatim."""

    task: str
    record: dict[str, Any]
    validation: bool
    where: str

    @property
    def key(self) -> str:
        """The line's molecule: its SMILES side (a reaction's product), else its name."""
        task = get_task(self.task)
        if task.output_tag is Tag.SMILES and task.input_tag is not Tag.SMILES:
            return _molecule_key(self.record["output"])
        if task.input_tag is Tag.SMILES and task.output_tag is Tag.SMILES:  # reactions: the product
            side = "output" if self.task == "forward_synthesis" else "input"
            return _molecule_key(self.record[side])
        if task.input_tag is Tag.SMILES:
            return _molecule_key(self.record["input"])
        return f"name:{self.record['input'].strip()}"


def _molecule_key(smiles: str) -> str:
    return "smiles:" + smiles.strip().replace(";", ".")


def _rank(key: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def _read_lines(folders: Sequence[Path], tasks: Iterable[str]) -> dict[str, list[_Line]]:
    wanted = set(tasks)
    lines: dict[str, list[_Line]] = {task: [] for task in TASK_NAMES if task in wanted}
    for folder in folders:
        for task, path in raw_task_files(folder).items():
            if task not in lines:
                continue
            with path.open(encoding="utf-8") as handle:
                for index, record in iter_json_lines(handle, path):
                    for name in ("input", "output"):
                        if name not in record:
                            raise DataFormatError(path, index + 1, "missing", name)
                    validation = str(record.get("split", "")) in VALIDATION_SPLITS
                    lines[task].append(_Line(task, record, validation, f"{path}:{index + 1}"))
    return lines


def _name_molecules(lines: dict[str, list[_Line]]) -> dict[str, str]:
    """IUPAC name → molecule key, from the name-conversion lines that hold both."""
    names: dict[str, str] = {}
    for task in ("name_conversion-i2s", "name_conversion-s2i"):
        for line in lines.get(task, []):
            name, smiles = ((line.record["input"], line.record["output"]) if task.endswith("i2s")
                            else (line.record["output"], line.record["input"]))
            names[f"name:{name.strip()}"] = _molecule_key(smiles)
    return names


def _derived_formulas(train: dict[str, list[_Line]], held_keys: set[str], limit: int | None) -> list[dict[str, Any]]:
    """SMILES → formula samples for training molecules of other tasks that the S2F task lacks."""
    from llasmol.chem import formula_of_smiles

    seen = {line.key for line in train.get(S2F, [])} | held_keys
    derived: list[dict[str, Any]] = []
    for task, lines in train.items():
        if task == S2F or Tag.SMILES not in (get_task(task).input_tag, get_task(task).output_tag):
            continue
        for line in lines:
            if limit is not None and len(derived) >= limit:
                return derived
            key = line.key
            if not key.startswith("smiles:") or key in seen:
                continue
            seen.add(key)
            smiles = key[len("smiles:"):]
            formula = formula_of_smiles(smiles)
            if formula:  # written with ';' between parts, as SMolInstruct's own S2F inputs are
                derived.append({"input": smiles.replace(".", ";"), "output": formula, "task": S2F, "split": "train"})
    return derived


def _derived_descriptions(train: dict[str, list[_Line]], held_keys: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Captioning pairs as generation samples and the reverse, where the other task lacks the molecule."""
    derived: dict[str, list[dict[str, Any]]] = {}
    for source, target in ((CAPTIONING, GENERATION), (GENERATION, CAPTIONING)):
        if source not in train or target not in train:
            continue
        present = {line.key for line in train[target]} | held_keys
        flipped = []
        for line in train[source]:
            if line.key not in present:
                present.add(line.key)
                record = line.record
                flipped.append({"input": record["output"], "output": record["input"], "task": target, "split": "train"})
        derived[target] = flipped
    return derived


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def _as_split(records: Iterable[dict[str, Any]], split: str) -> Iterator[dict[str, Any]]:
    for record in records:
        yield {**record, "split": split}


def hold_out_smolinstruct(sources: Sequence[Path | str], output: Path | str, *, per_task: int = 100,
                          seed: int = 42, tasks: Sequence[str] | None = None, derive_formulas: int | None = 0,
                          derive_descriptions: bool = False) -> HoldoutReport:
    """Write ``output/raw/{train,test}`` from raw SMolInstruct folders; see the module docstring.

    ``derive_formulas``: at most this many derived SMILES → formula training samples (``None``: all,
    0: none). The folder is written beside ``output`` and renamed into place when complete.
    """
    if per_task < 1:
        raise ValueError(f"per_task must be at least 1, got {per_task}")
    folders = [Path(source) for source in sources]
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder of SMolInstruct <task>.jsonl files")
    lines = _read_lines(folders, [task.name for task in resolve_tasks(tasks)] if tasks else TASK_NAMES)
    names = _name_molecules(lines)

    def key_of(line: _Line) -> str:
        return names.get(line.key, line.key)

    held: dict[str, list[_Line]] = {}
    for task, task_lines in lines.items():
        validation = [line for line in task_lines if line.validation]
        candidates = sorted(validation, key=lambda line: _rank(key_of(line), seed))
        held[task] = candidates[:per_task]
    held_keys = {key_of(line) for chosen in held.values() for line in chosen}
    held_ids = {id(line) for chosen in held.values() for line in chosen}
    report = HoldoutReport(sources=[str(folder) for folder in folders], per_task=per_task, seed=seed)
    train: dict[str, list[_Line]] = {}
    for task, task_lines in lines.items():
        rest = [line for line in task_lines if id(line) not in held_ids]
        train[task] = [line for line in rest if key_of(line) not in held_keys]
        report.dropped_shared_molecule[task] = len(rest) - len(train[task])
    extra: dict[str, list[dict[str, Any]]] = {}
    if derive_descriptions:
        extra.update(_derived_descriptions(train, held_keys))
    if derive_formulas != 0 and S2F in lines:
        extra[S2F] = _derived_formulas(train, held_keys, derive_formulas)

    output = Path(output)
    with atomic_folder(output) as staging:  # a failed write (a full disk) leaves the old folder as it was
        for split in ("train", "test"):
            (staging / RAW_DIR / split).mkdir(parents=True)
        for task in lines:
            chosen = held[task]
            report.held_out[task] = _write_jsonl(staging / RAW_DIR / "test" / f"{task}.jsonl",
                                                 _as_split((line.record for line in chosen), "test"))
            trained = [line.record for line in train[task]]
            report.derived[task] = len(extra.get(task, []))
            report.trained[task] = _write_jsonl(staging / RAW_DIR / "train" / f"{task}.jsonl",
                                                _as_split([*trained, *extra.get(task, [])], "train"))
        (staging / HOLDOUT_REPORT).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return report
