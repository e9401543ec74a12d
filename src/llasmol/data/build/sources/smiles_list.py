"""Plain lists of molecules: a CSV/TSV or Parquet table with a SMILES column (ChEMBL drug lists).

Options: ``smiles_column`` (default ``smiles``). Each row gives one molecule and nothing else, so
such a source feeds the tasks computed from the structure alone (SMILES → molecular formula).
"""

from __future__ import annotations

from collections.abc import Iterator

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import MoleculeRecord, Tally
from llasmol.data.build.sources.tables import Table, split_from_filename
from llasmol.data.raw import DataFormatError


def _parquet_rows(source: SourceConfig, column: str) -> Iterator[tuple[int, str | None]]:
    import pyarrow.parquet as parquet

    try:
        table = parquet.read_table(source.path)
    except (OSError, ValueError) as error:
        raise DataFormatError(source.path, None, f"not a readable Parquet file ({error})") from None
    names = {name.lower(): name for name in table.column_names}
    if column.lower() not in names:
        raise DataFormatError(source.path, None, f"missing column (columns: {', '.join(table.column_names)})", column)
    for index, value in enumerate(table.column(names[column.lower()]).to_pylist()):
        yield index + 1, value


def _table_rows(source: SourceConfig, column: str, tally: Tally) -> Iterator[tuple[int, str | None]]:
    table = Table(source.path, source.options.get("delimiter"))
    name = table.find_column([column], "smiles")
    for line, row in table.rows(tally, source.on_bad_line):
        yield line, row[name]


def read_smiles_list(source: SourceConfig, tally: Tally) -> Iterator[MoleculeRecord]:
    """One record per non-empty SMILES (row number as ``line`` for Parquet files)."""
    column = str(source.options.get("smiles_column", "smiles"))
    is_parquet = source.path.suffix.lower() in (".parquet", ".pq")
    rows = _parquet_rows(source, column) if is_parquet else _table_rows(source, column, tally)
    split = split_from_filename(source.path)
    for line, smiles in rows:
        if not smiles or not str(smiles).strip():
            tally.add("empty_field")
            continue
        yield MoleculeRecord(smiles=str(smiles).strip(), line=line, split=split)
