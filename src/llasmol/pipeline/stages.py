"""Resumable, skippable stages: a finished stage whose config hash matches is reused.

Each stage records its state in ``<output>/.stages/<stage>.json``: ``running`` when it starts,
``done`` (with its wall time and a small result) when it finishes. On a rerun:

- ``done`` with the same hash and its outputs as it left them (every file there, of the size it
  had): skipped, its recorded result reused; a file missing or of another size (torn, or changed
  by hand) runs the stage afresh, the old outputs moved aside;
- ``running`` with the same hash (an interrupted run): run again over its partial outputs, which
  the stage itself resumes (generation continues its ``<task>.jsonl`` files, for example);
- any other hash: its outputs are moved aside to ``<path>.previous`` and the stage runs afresh.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console

from llasmol.files import file_sizes, write_json_atomic

STATE_FOLDER = ".stages"


@dataclass
class StageRecord:
    """What one stage did in this run (or a previous one it reused)."""

    name: str
    config_hash: str
    status: str  # "done" | "running"
    seconds: float = 0.0
    reused: bool = False
    result: dict[str, Any] = field(default_factory=dict)
    finished_at: str | None = None
    files: dict[str, int] = field(default_factory=dict)  # the outputs' files when it finished: path -> bytes


def read_stage_record(output_dir: Path, name: str) -> StageRecord | None:
    """The record ``<output_dir>/.stages/<name>.json`` holds, or ``None`` (absent or unreadable)."""
    try:
        return StageRecord(**json.loads((output_dir / STATE_FOLDER / f"{name}.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):  # ValueError: not JSON, or not UTF-8
        return None


def changed_file(recorded: dict[str, int], root: Path) -> str | None:
    """The first recorded output file that is now missing or of another size, or ``None``."""
    for name, size in recorded.items():
        path = root / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} has {path.stat().st_size} bytes, not the {size} it was written with"
    return None


class StageRunner:
    """Runs named stages in an output folder, reusing the finished ones."""

    def __init__(self, output_dir: Path, console: Console | None = None, force: Sequence[str] = ()) -> None:
        self.output_dir = Path(output_dir)
        self.console = console or Console()
        self.force = set(force)
        self.records: dict[str, StageRecord] = {}

    def state_path(self, name: str) -> Path:
        return self.output_dir / STATE_FOLDER / f"{name}.json"

    def previous(self, name: str) -> StageRecord | None:
        return read_stage_record(self.output_dir, name)

    def _move_aside(self, outputs: Sequence[Path]) -> None:
        for path in outputs:
            if not path.exists():
                continue
            aside = path.with_name(path.name + ".previous")
            if aside.is_dir():
                shutil.rmtree(aside)
            elif aside.exists():
                aside.unlink()
            os.replace(path, aside)
            self.console.print(f"  [yellow]config changed: moved {path.name} aside to {aside.name}[/]")

    def _standing(self, name: str, config_hash: str, outputs: Sequence[Path]) -> tuple[StageRecord | None, bool]:
        """(the finished record to reuse, or None; whether an earlier run of this config goes on).

        A finished stage whose files changed since is neither: it runs afresh.
        """
        previous = self.previous(name)
        same = previous is not None and previous.config_hash == config_hash and name not in self.force
        if not same or previous.status != "done":
            return None, same
        if not all(path.exists() for path in outputs):
            return None, True
        changed = changed_file(previous.files, self.output_dir)
        if changed is not None:
            self.console.print(f"[yellow]{name}: its finished output changed ({changed}); running it again[/]",
                               highlight=False)
            return None, False
        return previous, False

    def prepare(self, name: str, config_hash: str, outputs: Sequence[Path],
                aside: Sequence[Path] | None = None) -> None:
        """Move a stage's old outputs aside now if it will run afresh (before other processes start it)."""
        reusable, resuming = self._standing(name, config_hash, outputs)
        if reusable is None and not resuming:
            self._move_aside(outputs if aside is None else aside)

    def run(self, name: str, config_hash: str, outputs: Sequence[Path],
            action: Callable[[], dict[str, Any] | None], record: bool = True,
            aside: Sequence[Path] | None = None) -> StageRecord:
        """Run ``action`` unless a finished run with this hash exists and its outputs are all there.

        A run afresh (another hash, or forced) first moves ``aside`` (default: ``outputs``) to
        ``<path>.previous``. ``record=False`` (the other processes of a distributed run) runs or
        reuses without writing state or moving anything.
        """
        previous, resuming = self._standing(name, config_hash, outputs)
        if previous is not None:
            reused = StageRecord(**{**previous.__dict__, "reused": True})
            self.records[name] = reused
            self.console.print(f"[bold cyan]▶ {name}[/]: [green]reused[/] (finished earlier, same config)")
            return reused
        checked = outputs if aside is None else aside
        if not resuming and record:
            self._move_aside(checked)
        self.console.rule(f"[bold cyan]{name}[/]" + (" (resuming)" if resuming else ""))
        if record:
            write_json_atomic(self.state_path(name), StageRecord(name, config_hash, "running").__dict__)
        started = time.perf_counter()
        result = action() or {}
        seconds = time.perf_counter() - started
        done = StageRecord(name, config_hash, "done", round(seconds, 2), False, result,
                           datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           file_sizes(checked, self.output_dir) if record else {})
        if record:
            write_json_atomic(self.state_path(name), done.__dict__)
        self.records[name] = done
        self.console.print(f"[bold cyan]✓ {name}[/] finished in {seconds:.1f} s")
        return done
