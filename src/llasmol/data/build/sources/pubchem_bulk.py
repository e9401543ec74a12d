"""PubChem's bulk files, streamed: ``CID-SMILES.gz`` joined with ``CID-IUPAC.gz`` and a formula table by CID.

PubChem's FTP folder ``Compound/Extras`` holds one tab-separated line per compound, in ascending
CID order: ``CID-SMILES`` (``CID<TAB>SMILES``), ``CID-IUPAC`` (``CID<TAB>IUPAC name``) and
``CID-Mass`` (``CID<TAB>formula<TAB>monoisotopic mass<TAB>exact mass``). ``path`` is the SMILES
file; ``options.iupac_path`` and ``options.formula_path`` (each optional, relative to the config
like ``path``) are merged in by CID as all three are read, a line at a time, so memory does not grow
with the number of compounds. A compound missing from a side file has no name (or no formula to
check against).

A line that is not ``CID<TAB>value`` (a missing column, a CID that is not a number) is skipped and
counted as ``bad_line`` or, with ``on_bad_line: error`` on the source, raises ``DataFormatError``
naming the file and line; CIDs out of ascending order always raise (the merge needs the order).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import MoleculeRecord, Tally
from llasmol.data.build.sources.textfiles import numbered_lines
from llasmol.data.raw import DataFormatError

_FIELDS = {"smiles": ("SMILES",), "iupac": ("IUPAC name",), "formula": ("formula",)}  # columns read after the CID

CidLine = tuple[int, int, tuple[str, ...]]  # (CID, line number, the values after the CID)


def _cid_lines(path: Path, kind: str, on_bad_line: str, tally: Tally) -> Iterator[CidLine]:
    """``(CID, line, values)`` of each well-formed line of one bulk file, CIDs checked ascending."""
    fields = _FIELDS[kind]
    previous = 0
    for line, text in numbered_lines(path):
        if not text.strip():
            continue
        columns = text.split("\t")
        problem = None
        if len(columns) < 1 + len(fields) or not columns[1].strip():
            problem = (f"expected CID<TAB>{'<TAB>'.join(fields)}, got {len(columns)} column(s)", fields[0])
        elif not columns[0].strip().isdigit():
            problem = (f"CID {columns[0][:40]!r} is not a number", "CID")
        if problem is not None:
            if on_bad_line == "error":
                raise DataFormatError(path, line, problem[0], problem[1])
            tally.add(f"bad_line_{kind}")
            continue
        cid = int(columns[0])
        if cid <= previous:
            raise DataFormatError(path, line, f"CID {cid} after {previous}: bulk files must be in ascending CID "
                                  "order", "CID")
        previous = cid
        yield cid, line, tuple(value.strip() for value in columns[1:1 + len(fields)])


class _SideFile:
    """A side file (names or formulas) read in step with the SMILES file: the value of a CID, if any."""

    def __init__(self, lines: Iterator[CidLine] | None) -> None:
        self._lines = lines
        self._current: CidLine | None = None
        self._advance()

    def _advance(self) -> None:
        self._current = next(self._lines, None) if self._lines is not None else None

    def value(self, cid: int) -> str | None:
        while self._current is not None and self._current[0] < cid:
            self._advance()
        if self._current is not None and self._current[0] == cid:
            return self._current[2][0]
        return None


def read_pubchem_bulk(source: SourceConfig, tally: Tally) -> Iterator[MoleculeRecord]:
    """One record per compound of the SMILES file, with its IUPAC name and formula where the side files have them."""
    side_files = {}
    for kind in ("iupac", "formula"):
        path = source.side_paths.get(f"{kind}_path")
        side_files[kind] = _SideFile(_cid_lines(path, kind, source.on_bad_line, tally) if path is not None else None)
    for cid, line, (smiles,) in _cid_lines(source.path, "smiles", source.on_bad_line, tally):
        yield MoleculeRecord(smiles=smiles, line=line, iupac=side_files["iupac"].value(cid),
                             formula=side_files["formula"].value(cid))
