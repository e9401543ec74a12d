"""Delimited text tables (CSV/TSV, plain or ``.gz``) with a header row: the shared plumbing of the table readers."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from llasmol.data.build.records import Tally
from llasmol.data.build.sources.textfiles import open_text, reading
from llasmol.data.raw import DataFormatError

csv.field_size_limit(sys.maxsize)

_SPLIT_WORDS: dict[str, str] = {
    "train": "train", "training": "train",
    "val": "validation", "valid": "validation", "validation": "validation", "dev": "validation",
    "test": "test",
}


def split_from_filename(path: Path) -> str | None:
    """The split a file's name states (``raw_val.csv`` → validation, ``test.txt`` → test), if any."""
    words = path.stem.lower().replace("-", "_").split("_")
    found = {_SPLIT_WORDS[word] for word in words if word in _SPLIT_WORDS}
    return found.pop() if len(found) == 1 else None


def _sniff_delimiter(header_line: str) -> str:
    return "\t" if "\t" in header_line else ","


class Table:
    """Rows of a delimited file as ``(line number, {column: value})``, header checked up front."""

    def __init__(self, path: Path, delimiter: str | None = None, quoting: int = csv.QUOTE_MINIMAL) -> None:
        self.path = path
        self._delimiter = delimiter
        self._quoting = quoting
        with open_text(path, "utf-8-sig", newline="") as handle, reading(path, lambda: 0):
            header_line = handle.readline()
        if not header_line.strip():
            raise DataFormatError(path, 1, "empty file: expected a header row")
        self.delimiter = delimiter or _sniff_delimiter(header_line)
        self.header = next(csv.reader([header_line], delimiter=self.delimiter, quoting=quoting))
        self.header = [name.strip() for name in self.header]

    def find_column(self, candidates: Sequence[str], field_name: str, required: bool = True) -> str | None:
        """The first header column matching one of ``candidates`` (case-insensitive)."""
        lowered = {name.lower(): name for name in self.header}
        for candidate in candidates:
            if candidate.lower() in lowered:
                return lowered[candidate.lower()]
        if required:
            raise DataFormatError(
                self.path, 1, f"missing column (expected one of {', '.join(map(repr, candidates))}; "
                f"header has {', '.join(map(repr, self.header))})", field_name,
            )
        return None

    def rows(self, tally: Tally, on_bad_line: str = "skip") -> Iterator[tuple[int, dict[str, str]]]:
        """Data rows; a row with the wrong number of fields is dropped and counted as ``bad_row``
        (``on_bad_line="error"``: it raises ``DataFormatError`` naming file and line)."""
        width = len(self.header)
        line = 1
        with open_text(self.path, "utf-8-sig", newline="") as handle, reading(self.path, lambda: line):
            reader = csv.reader(handle, delimiter=self.delimiter, quoting=self._quoting)
            next(reader, None)
            try:
                for row in reader:
                    line = reader.line_num
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    if len(row) != width:
                        if on_bad_line == "error":
                            raise DataFormatError(self.path, line, f"{len(row)} fields where the header has {width}")
                        tally.add("bad_row")
                        continue
                    yield line, dict(zip(self.header, row, strict=True))
            except csv.Error as error:
                raise DataFormatError(self.path, line + 1, f"not valid delimited text ({error})") from None
