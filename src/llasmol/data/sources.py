"""Read-only access to a dataset root that is a folder or a zip archive, by POSIX relative paths."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from llasmol.data.raw import DataFormatError

# Folders whose presence marks the root of an official layout.
_ROOT_MARKERS = ("sample", "raw", "core_tag", "template")
ARCHIVE_NAME = "data.zip"


class DataSource:
    """A dataset root: a folder, or a zip archive possibly with one top folder around the layout.

    A folder that holds only ``data.zip`` (and notes such as a README) stands for the archive.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no such file or folder: {self.path}")
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if self.path.is_dir() and self._holds_only_archive(self.path):
            self.path = self.path / ARCHIVE_NAME
        if self.path.is_file():
            if not zipfile.is_zipfile(self.path):
                raise DataFormatError(self.path, None, "not a zip archive or a folder")
            self._zip = zipfile.ZipFile(self.path)
            self._names = [name for name in self._zip.namelist() if not name.endswith("/")]
            self._dirs = {str(parent) for name in self._names for parent in PurePosixPath(name).parents}
            self._prefix = self._zip_prefix()
        elif not any((self.path / marker).is_dir() for marker in _ROOT_MARKERS):
            children = [child for child in self.path.iterdir() if child.is_dir()]
            if len(children) == 1 and any((children[0] / marker).is_dir() for marker in _ROOT_MARKERS):
                self.path = children[0]

    @staticmethod
    def _holds_only_archive(folder: Path) -> bool:
        """A folder with ``data.zip`` and no layout or raw files of its own (a download, or a zipped build)."""
        if not (folder / ARCHIVE_NAME).is_file() or any((folder / marker).is_dir() for marker in _ROOT_MARKERS):
            return False
        return not any(folder.glob("*.jsonl")) and not any(folder.glob("*/*.jsonl"))

    def _zip_prefix(self) -> str:
        for depth in (0, 1):
            for folder in sorted(self._dirs):
                parts = PurePosixPath(folder).parts if folder != "." else ()
                if len(parts) == depth and any(str(PurePosixPath(*parts, m)) in self._dirs for m in _ROOT_MARKERS):
                    return f"{folder}/" if parts else ""
        return ""

    @property
    def is_zip(self) -> bool:
        return self._zip is not None

    def display(self, rel: str) -> Path:
        """The path shown in messages: ``data.zip/raw/dev/task.jsonl`` for a zip member."""
        return self.path / rel

    def is_dir(self, rel: str) -> bool:
        if self._zip is None:
            return (self.path / rel).is_dir()
        return str(PurePosixPath(self._prefix + rel)) in self._dirs

    def is_file(self, rel: str) -> bool:
        if self._zip is None:
            return (self.path / rel).is_file()
        return self._prefix + rel in self._names

    def list_dirs(self, rel: str = "") -> list[str]:
        """Names of the sub-folders of a folder, sorted."""
        if self._zip is None:
            folder = self.path / rel
            return sorted(child.name for child in folder.iterdir() if child.is_dir()) if folder.is_dir() else []
        base = PurePosixPath(self._prefix + rel) if (self._prefix + rel) else PurePosixPath(".")
        found = {PurePosixPath(d).name for d in self._dirs if d != "." and PurePosixPath(d).parent == base}
        return sorted(found)

    def list_files(self, rel: str, suffix: str) -> list[str]:
        """Names of the files of a folder ending in ``suffix``, sorted."""
        if self._zip is None:
            folder = self.path / rel
            if not folder.is_dir():
                return []
            return sorted(child.name for child in folder.iterdir() if child.is_file() and child.name.endswith(suffix))
        base = PurePosixPath(self._prefix + rel) if (self._prefix + rel) else PurePosixPath(".")
        return sorted(PurePosixPath(n).name for n in self._names
                      if PurePosixPath(n).parent == base and n.endswith(suffix))

    @contextmanager
    def open_text(self, rel: str) -> Iterator[TextIO]:
        if not self.is_file(rel):
            raise DataFormatError(self.display(rel), None, "missing from the dataset")
        if self._zip is None:
            with (self.path / rel).open(encoding="utf-8") as handle:
                yield handle
        else:
            with self._zip.open(self._prefix + rel) as member:
                yield io.TextIOWrapper(member, encoding="utf-8")

    def read_json(self, rel: str) -> Any:
        with self.open_text(rel) as handle:
            try:
                return json.load(handle)
            except json.JSONDecodeError as error:
                raise DataFormatError(self.display(rel), error.lineno, f"not valid JSON ({error.msg})") from None

    def signature(self) -> str:
        """A digest of the names, sizes and times of the files: changes when the data changes."""
        digest = hashlib.blake2b(digest_size=12)
        if self._zip is not None:
            stat = self.path.stat()
            digest.update(f"{self.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
            return digest.hexdigest()
        for folder, dirs, files in os.walk(self.path):
            dirs.sort()
            for name in sorted(files):
                stat = os.stat(os.path.join(folder, name))
                digest.update(f"{os.path.join(folder, name)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
