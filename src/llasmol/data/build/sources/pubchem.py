"""PubChem-style name tables: ``CID, IUPAC name, SMILES[, formula]`` (comma- or tab-separated).

Multi-component names keep PubChem's ';' separator; the OPSIN check splits on it.
"""

from __future__ import annotations

from collections.abc import Iterator

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import MoleculeRecord, Tally
from llasmol.data.build.sources.tables import Table, split_from_filename

_NAME_COLUMNS = ("IUPAC name", "IUPACName", "iupac_name", "iupac", "name")
_SMILES_COLUMNS = ("SMILES", "IsomericSMILES", "isomeric_smiles", "CanonicalSMILES", "canonical_smiles")
_FORMULA_COLUMNS = ("formula", "MolecularFormula", "molecular_formula", "molecular formula")


def read_pubchem_names(source: SourceConfig, tally: Tally) -> Iterator[MoleculeRecord]:
    """One record per row with name, SMILES and (if the table has it) the formula to check against."""
    options = source.options
    table = Table(source.path, options.get("delimiter"))
    name = table.find_column([options["name_column"]] if "name_column" in options else _NAME_COLUMNS, "IUPAC name")
    smiles = table.find_column([options["smiles_column"]] if "smiles_column" in options else _SMILES_COLUMNS,
                               "SMILES")
    formula = table.find_column(_FORMULA_COLUMNS, "formula", required=False)
    split = split_from_filename(source.path)
    for line, row in table.rows(tally, source.on_bad_line):
        yield MoleculeRecord(
            smiles=row[smiles].strip(), line=line, iupac=row[name].strip(),
            formula=row[formula].strip() or None if formula else None, split=split,
        )
