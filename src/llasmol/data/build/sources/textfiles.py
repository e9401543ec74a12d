"""Text files read as a stream, plain or gzip-compressed (``.gz``): the one place a reader opens a file.

Nothing is read whole: a reader takes a line at a time, so a source of any size needs constant
memory. A torn or corrupt gzip stream and text that is not UTF-8 raise ``DataFormatError`` naming
the file and the line being read.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from llasmol.data.raw import DataFormatError


def open_text(path: Path, encoding: str = "utf-8", newline: str | None = None) -> TextIO:
    """``path`` opened for reading text, decompressed on the fly when its name ends in ``.gz``."""
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding=encoding, newline=newline)
        return path.open(encoding=encoding, newline=newline)
    except OSError as error:
        raise DataFormatError(path, None, f"cannot read ({error.strerror or error})") from None


@contextmanager
def reading(path: Path, last_line: Callable[[], int]) -> Iterator[None]:
    """Errors of the stream raised as ``DataFormatError`` at the line after ``last_line()``."""
    try:
        yield
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataFormatError(path, last_line() + 1, f"torn or corrupt gzip stream ({error})") from None
    except UnicodeDecodeError:
        raise DataFormatError(path, last_line() + 1, "not UTF-8 text") from None
    except OSError as error:
        raise DataFormatError(path, last_line() + 1, f"cannot read ({error.strerror or error})") from None


def numbered_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """``(line number, text without its line end)`` for each line of ``path``, streamed."""
    line = 0
    with open_text(path, encoding) as handle, reading(path, lambda: line):
        for line, text in enumerate(handle, start=1):
            yield line, text.rstrip("\r\n")
