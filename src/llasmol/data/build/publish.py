"""Atomic publication of a build: stage beside the destination, then rename into place.

An interrupted build leaves the destination untouched (absent, or the previous dataset) and its
staging folder removed; a staging folder left by a killed process is hidden (``.<name>.partial-*``)
and removed by the next build into the same destination.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

ZIP_NAME = "data.zip"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def staging_dir(out_dir: Path, purpose: str = "partial") -> Path:
    """A fresh hidden folder beside ``out_dir`` (same filesystem, so the final rename is atomic)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    path = out_dir.parent / f".{out_dir.name}.{purpose}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path


def remove_stale_staging(out_dir: Path) -> None:
    """Remove staging folders of earlier builds into ``out_dir`` whose process is gone."""
    for path in out_dir.parent.glob(f".{out_dir.name}.partial-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_destination(out_dir: Path, overwrite: bool) -> None:
    """Refuse to replace a non-empty destination unless asked to."""
    if out_dir.exists() and not overwrite and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"{out_dir} already exists; choose another --out or pass --overwrite")


def zip_folder(folder: Path, zip_path: Path) -> None:
    """Deterministic zip of ``folder``'s files (sorted names, fixed timestamps) at the archive root."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with path.open("rb") as source, archive.open(info, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)

