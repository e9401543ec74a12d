"""ChEBI-20 (Text2Mol / MolT5): tab-separated ``CID, SMILES, description``; split from the file name."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import MoleculeRecord, Tally
from llasmol.data.build.sources.tables import Table, split_from_filename


def read_chebi20(source: SourceConfig, tally: Tally) -> Iterator[MoleculeRecord]:
    """One record per molecule with its description (captioning and generation share them)."""
    table = Table(source.path, source.options.get("delimiter", "\t"), quoting=csv.QUOTE_NONE)
    smiles = table.find_column(["SMILES"], "SMILES")
    description = table.find_column(["description"], "description")
    split = split_from_filename(source.path)
    for line, row in table.rows(tally, source.on_bad_line):
        yield MoleculeRecord(smiles=row[smiles].strip(), line=line, description=row[description].strip(), split=split)
