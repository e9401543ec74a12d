"""Files that a later stage or a rerun trusts: written whole, or not at all.

Each writer goes through a temporary file beside the target (same folder, so the same file system),
flushes it to disk and moves it over the target with ``os.replace``. A kill, a full disk or a
read-only folder leaves the old file (or none), never half a new one, and no temporary file behind.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The errors of a write that the user can fix (space, permissions, a read-only mount, a size limit).
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})


def _umask() -> int:
    """The process's umask, read without changing it where the system says (Linux), else set and reset."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; moved over ``path`` when the block ends.

    The temporary name keeps the suffix (for writers that choose the format from it); on any error it
    is removed and ``path`` is left as it was. A failed write is raised naming ``path``, not the
    temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(3)}.tmp{path.suffix}")
    try:
        yield temporary
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise naming(error, path) from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(path: Path | str) -> Iterator[Path]:
    """A temporary folder to fill with ``path``'s new content; it replaces ``path`` when the block ends.

    On any error the temporary folder is removed and ``path`` is left as it was; a process killed
    inside the block leaves only a hidden ``.<name>.*`` folder, never a half-written ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp's folder is private; the result is an ordinary folder
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_folder(staging, path)


def replace_folder(staged: Path, path: Path) -> None:
    """Move the finished folder ``staged`` to ``path`` (same file system), replacing what was there last."""
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
        os.replace(path, old / path.name)
        os.replace(staged, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, path)


def naming(error: OSError, path: Path | str | None) -> OSError:
    """``error`` as raised for ``path`` (a failed write does not name its file), same errno and class."""
    if error.errno is None or path is None:
        return error
    return OSError(error.errno, error.strerror, str(path))


def write_text_atomic(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(path: Path | str, payload: Any, indent: int = 2) -> Path:
    """Write ``payload`` as JSON (UTF-8, one trailing newline) to ``path`` whole or not at all."""
    return write_text_atomic(path, json.dumps(payload, indent=indent, ensure_ascii=False, default=str) + "\n")


def file_sizes(paths: Sequence[Path], root: Path) -> dict[str, int]:
    """Every file of ``paths`` (files, or folders searched recursively) by its path relative to ``root``, with
    its size: what a later check compares to tell a complete output from a torn one."""
    sizes: dict[str, int] = {}
    for path in paths:
        for found in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if found.is_file():
                sizes[os.path.relpath(found, root)] = found.stat().st_size
    return sizes


def write_error_message(error: OSError) -> str | None:
    """One line for a failed write the user can fix (disk full, read-only, no permission), else ``None``."""
    if error.errno not in WRITE_ERRNOS:
        return None
    where = f" {error.filename}" if error.filename else ""
    return f"cannot write{where}: {error.strerror or os.strerror(error.errno)}"
