"""SD files whose records carry a property (RDKit's Huuskonen solubility set: ``SOL`` in log mol/L).

Options: ``label_field`` (required: the property name, e.g. ``SOL``), ``smiles_field`` (default
``smiles``; matched case-insensitively; without it the molblock is converted by RDKit),
``kind`` (``regression``, default, or ``classification``). The split is taken from the file name
(``solubility.train.sdf`` → train, ``solubility.test.sdf`` → test), so a set's own split is kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import MoleculeRecord, Tally
from llasmol.data.build.sources.tables import split_from_filename
from llasmol.data.build.sources.textfiles import numbered_lines
from llasmol.data.raw import DataFormatError

_RECORD_END = "$$$$"


@dataclass
class SdfEntry:
    """One SD record: its molblock, its ``> <NAME>`` properties and the line it starts on."""

    line: int
    molblock: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        lowered = {key.lower(): value for key, value in self.properties.items()}
        return lowered.get(name.lower())


def _property_name(text: str) -> str | None:
    """``>  <SOL>  (12)`` → ``SOL``."""
    if not text.startswith(">"):
        return None
    start, end = text.find("<"), text.find(">", text.find("<") + 1)
    return text[start + 1:end] if 0 <= start < end else None


def iter_sdf_entries(path: Path) -> Iterator[SdfEntry]:
    """The records of an SD file, each with its data items as strings (multi-line values joined)."""
    entry, current, in_properties = SdfEntry(1), None, False
    for number, text in numbered_lines(path):
        if text.strip() == _RECORD_END:
            if entry.molblock or entry.properties:
                yield entry
            entry, current, in_properties = SdfEntry(number + 1), None, False
            continue
        name = _property_name(text) if (in_properties or text.startswith(">")) else None
        if name is not None:
            in_properties, current = True, name
            entry.properties[name] = ""
        elif in_properties:
            if current is not None and text.strip():
                previous = entry.properties[current]
                entry.properties[current] = f"{previous}\n{text}" if previous else text
            elif not text.strip():
                current = None
        else:
            entry.molblock.append(text)
    if entry.properties:
        yield entry


def _smiles_of(entry: SdfEntry, smiles_field: str) -> str | None:
    smiles = entry.get(smiles_field)
    if smiles:
        return smiles.strip()
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    molecule = Chem.MolFromMolBlock("\n".join(entry.molblock))
    return Chem.MolToSmiles(molecule) if molecule is not None else None


def _answer(text: str | None, regression: bool) -> str | None:
    if text is None or not text.strip():
        return None
    text = text.strip()
    if not regression:
        return {"1": "Yes", "0": "No", "yes": "Yes", "no": "No", "true": "Yes", "false": "No"}.get(text.lower())
    try:
        return text if math.isfinite(float(text)) else None
    except ValueError:
        return None


def sdf_split(path: Path) -> str | None:
    """The split a name like ``solubility.train.sdf`` states."""
    return split_from_filename(path.with_name(path.name.replace(".", "_")))


def read_sdf_properties(source: SourceConfig, tally: Tally) -> Iterator[MoleculeRecord]:
    """One record per SD entry with a usable property value; others are counted and dropped."""
    label_field = source.options.get("label_field")
    if not label_field:
        raise DataFormatError(source.path, None, "an SDF source needs options.label_field", "label_field")
    smiles_field = str(source.options.get("smiles_field", "smiles"))
    regression = source.options.get("kind", "regression") == "regression"
    split = sdf_split(source.path)
    for entry in iter_sdf_entries(source.path):
        answer = _answer(entry.get(label_field), regression)
        if answer is None:
            tally.add("bad_label")
            continue
        smiles = _smiles_of(entry, smiles_field)
        if not smiles:
            tally.add("no_smiles")
            continue
        yield MoleculeRecord(smiles=smiles, line=entry.line, labels=((None, answer),), split=split)
