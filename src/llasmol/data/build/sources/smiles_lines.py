"""Plain molecule lists: one SMILES per line, no header (space-tokenized SMILES are joined), plain or ``.gz``.

USPTO-MIT's ``tgt-*.txt`` files are such lists; the split comes from the file name unless the
config fixes one.
"""

from __future__ import annotations

from collections.abc import Iterator

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import MoleculeRecord, Tally
from llasmol.data.build.sources.tables import split_from_filename
from llasmol.data.build.sources.textfiles import numbered_lines


def read_smiles_lines(source: SourceConfig, tally: Tally) -> Iterator[MoleculeRecord]:
    """One record per non-empty line; a molecule pool for tasks computed from the structure alone."""
    split = split_from_filename(source.path)
    for line, text in numbered_lines(source.path):
        smiles = text.strip().replace(" ", "")
        if smiles:
            yield MoleculeRecord(smiles=smiles, line=line, split=split)
