"""Training checkpoints that are complete or absent.

transformers writes a checkpoint file by file into its final folder, so a kill during a save leaves
a folder that looks like a checkpoint and cannot be resumed. Here each checkpoint gets a marker,
written last, after every file of it is flushed to disk: its step and the size of each file. On
resume, a checkpoint folder without a marker, or whose files no longer match it, is set aside
(moved under ``incomplete/``, not deleted) with a one-line warning, and the last complete one is
used.
"""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any

from llasmol.files import file_sizes, write_text_atomic

COMPLETE_MARKER = "llasmol_checkpoint.json"
SET_ASIDE_DIR = "incomplete"
_CHECKPOINT_NAME = re.compile(r"checkpoint-(\d+)")


class CheckpointWarning(UserWarning):
    """A checkpoint folder was set aside or no complete checkpoint was found; training goes on."""


class MarksCompleteCheckpoints:
    """A mixin for transformers' ``Trainer`` (and trainers built on it, such as TRL's): each checkpoint,
    once every process has written it, gets its completion marker (:func:`mark_complete`)."""

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        super()._save_checkpoint(model, trial)  # type: ignore[misc]
        self.accelerator.wait_for_everyone()  # type: ignore[attr-defined]
        if self.args.should_save:  # type: ignore[attr-defined]
            step = self.state.global_step  # type: ignore[attr-defined]
            mark_complete(Path(self.args.output_dir) / f"checkpoint-{step}", step)  # type: ignore[attr-defined]
        self.accelerator.wait_for_everyone()  # type: ignore[attr-defined]


def checkpoint_folders(folder: Path) -> list[Path]:
    """``checkpoint-<step>`` folders directly in ``folder``, by step."""
    if not folder.is_dir():
        return []
    found = [path for path in folder.iterdir() if path.is_dir() and _CHECKPOINT_NAME.fullmatch(path.name)]
    return sorted(found, key=lambda path: int(path.name.rsplit("-", 1)[1]))


def _checkpoint_files(checkpoint: Path) -> dict[str, int]:
    """Each file of a checkpoint (relative path -> size), the marker excluded."""
    return {name: size for name, size in file_sizes([checkpoint], checkpoint).items() if name != COMPLETE_MARKER}


def mark_complete(checkpoint: Path, step: int) -> None:
    """Flush every file of ``checkpoint`` to disk, then write its marker (atomically)."""
    files = _checkpoint_files(checkpoint)
    for name in files:
        descriptor = os.open(checkpoint / name, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    write_text_atomic(checkpoint / COMPLETE_MARKER, json.dumps({"step": step, "files": files}, indent=1))


def is_complete(checkpoint: Path) -> bool:
    """Whether ``checkpoint`` has its marker and every file the marker lists, at its size."""
    try:
        marker = json.loads((checkpoint / COMPLETE_MARKER).read_text(encoding="utf-8"))
        files = marker["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return isinstance(files, dict) and bool(files) and _checkpoint_files(checkpoint) == files


def set_aside_incomplete(folder: Path) -> list[Path]:
    """Move every incomplete checkpoint of ``folder`` under ``folder/incomplete/``; where each went."""
    moved = []
    for checkpoint in checkpoint_folders(folder):
        if is_complete(checkpoint):
            continue
        target = folder / SET_ASIDE_DIR / f"{checkpoint.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        target.parent.mkdir(exist_ok=True)
        checkpoint.rename(target)
        warnings.warn(f"{checkpoint} is incomplete (a save was interrupted): moved to {target}",
                      CheckpointWarning, stacklevel=2)
        moved.append(target)
    return moved


def last_complete(folder: Path) -> Path | None:
    """The complete checkpoint of ``folder`` with the highest step, or ``None``."""
    complete = [checkpoint for checkpoint in checkpoint_folders(folder) if is_complete(checkpoint)]
    return complete[-1] if complete else None
