"""Raw SMolInstruct split files: ``<task>.jsonl`` with ``input``, ``output``, ``task``, ``split``.

SIDER's ``output`` is a dict of side-effect class -> "Yes"/"No"; it is expanded into one record
per class, with ``target`` naming the class, as the official loader does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llasmol.errors import LlasmolError


class DataFormatError(LlasmolError, ValueError):
    """Malformed input data; the message names the file, line and field."""

    def __init__(self, path: Path | str, line: int | None, message: str, field_name: str | None = None) -> None:
        self.locate(path, line, field_name)
        self.message = message
        where = f"{path}:{line}" if line is not None else str(path)
        what = f"field {field_name!r}: " if field_name else ""
        super().__init__(f"{where}: {what}{message}")

    def __reduce__(self) -> tuple[type, tuple[Path | None, int | None, str, str | None]]:
        """Pickled with where it is, so that it crosses to and from worker processes whole."""
        return type(self), (self.file, self.line, self.message, self.field)


@dataclass(frozen=True)
class RawRecord:
    """One raw sample (one SIDER class of a raw line), with where it came from."""

    input: str
    output: str
    task: str
    split: str
    target: str | None
    index: int  # 0-based line index in the file
    line: int  # 1-based line number
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _require_str(value: Any, path: Path, line: int, name: str) -> str:
    if not isinstance(value, str):
        raise DataFormatError(path, line, f"expected a string, got {type(value).__name__}", name)
    return value


def _records_of_line(item: Any, path: Path, index: int, default_task: str) -> Iterator[RawRecord]:
    line = index + 1
    if not isinstance(item, dict):
        raise DataFormatError(path, line, "expected a JSON object")
    for name in ("input", "output"):
        if name not in item:
            raise DataFormatError(path, line, "missing", name)
    source = _require_str(item["input"], path, line, "input")
    task = item.get("task", default_task)
    split = item.get("split", "")
    extra = {key: value for key, value in item.items() if key not in ("input", "output", "task", "split")}
    output = item["output"]
    if isinstance(output, dict):
        for target, answer in output.items():
            answer = _require_str(answer, path, line, f"output.{target}")
            yield RawRecord(source, answer, task, split, target, index, line, extra)
    else:
        answer = _require_str(output, path, line, "output")
        yield RawRecord(source, answer, task, split, item.get("target"), index, line, extra)


def iter_raw_records(path: Path | str) -> Iterator[RawRecord]:
    """Records of one raw ``<task>.jsonl`` file, in file order; blank lines are skipped."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        yield from iter_raw_records_from_lines(handle, path)


def iter_json_lines(lines: Iterable[str], path: Path | str) -> Iterator[tuple[int, Any]]:
    """``(0-based line index, parsed value)`` of each non-blank JSONL line; ``path`` names the file in errors."""
    for index, text in enumerate(lines):
        if not text.strip():
            continue
        try:
            yield index, json.loads(text)
        except json.JSONDecodeError as error:
            raise DataFormatError(path, index + 1, f"not valid JSON ({error.msg})") from None


def iter_raw_records_from_lines(lines: Iterable[str], path: Path | str) -> Iterator[RawRecord]:
    """Records of the lines of a raw ``<task>.jsonl`` read elsewhere (a zip member); ``path`` names it in errors."""
    path = Path(path)
    for index, item in iter_json_lines(lines, path):
        yield from _records_of_line(item, path, index, path.stem)


def raw_task_files(folder: Path | str) -> dict[str, Path]:
    """``{task name: path}`` for the ``<task>.jsonl`` files of a split folder, sorted by name."""
    return {path.stem: path for path in sorted(Path(folder).glob("*.jsonl"))}
