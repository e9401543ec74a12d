"""Resumable JSON-lines output: whole lines only, appended with flush + fsync.

A run that is killed mid-write leaves at most a partial last line; :func:`recover_lines` cuts it
off, so rerunning continues after the last complete line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llasmol.data.raw import DataFormatError
from llasmol.files import naming


def recover_lines(path: Path) -> list[dict[str, Any]]:
    """The complete lines of ``path`` (``[]`` if absent), after truncating a torn last line."""
    if not path.exists():
        return []
    content = path.read_bytes()
    complete_end = content.rfind(b"\n") + 1
    if complete_end < len(content):
        with path.open("r+b") as handle:
            handle.truncate(complete_end)
            handle.flush()
            os.fsync(handle.fileno())
    records = []
    for number, line in enumerate(content[:complete_end].decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            message = f"not valid JSON ({error.msg}); delete the file to regenerate it"
            raise DataFormatError(path, number, message) from None
        if not isinstance(record, dict):
            raise DataFormatError(path, number, "expected a JSON object; delete the file to regenerate it")
        records.append(record)
    return records


def append_lines(handle: Any, records: Iterable[dict[str, Any]]) -> None:
    """Append whole lines in one write, then flush and fsync so a crash cannot tear them."""
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    if not text:
        return
    try:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    except OSError as error:  # a torn line is cut off on resume
        raise naming(error, getattr(handle, "name", None)) from error


