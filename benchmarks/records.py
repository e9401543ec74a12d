"""One JSON record per benchmark run, in ``benchmarks/results/<benchmark>-<UTC start>.json``.

A record holds the run's figures (what the benchmark printed, as data) and what they depend on: the
exact command, when it ran, the machine and its load at start and end, library versions and the git
commit. A benchmark starts a record before its work and writes it once its figures are printed::

    run_record = RunRecord("bench_generate", enabled=args.record)   # after add_record_option(parser)
    ...
    run_record.write(figures)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# The standard library only at import: opencompass_parity.py runs its OpenCompass side in a venv without llasmol.
RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent


def add_record_option(parser: argparse.ArgumentParser) -> None:
    """``--record/--no-record``: write the run's JSON record under ``benchmarks/results/`` (default: yes)."""
    parser.add_argument("--record", action=argparse.BooleanOptionalAction, default=True,
                        help=f"write this run's figures and run info to {RESULTS_DIR.relative_to(REPO_ROOT)}/ "
                             "(default: yes)")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:  # not available on this system
        return None


def git_commit() -> dict[str, Any]:
    """The checkout's commit and whether tracked files differ from it; nulls outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, check=True, capture_output=True,
                                text=True).stdout.strip()
        changes = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                                 check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "uncommitted_changes": None}
    return {"commit": commit, "uncommitted_changes": bool(changes.strip())}


@dataclass
class RunRecord:
    """A benchmark run from its start; :meth:`write` adds its figures and writes the record."""

    benchmark: str
    enabled: bool = True
    started: datetime = field(default_factory=_utc_now)
    load_at_start: list[float] | None = field(default_factory=_load_average)

    def write(self, figures: Mapping[str, Any]) -> Path | None:
        """Write the record (nothing when disabled); returns its path."""
        if not self.enabled:
            return None
        ended, load_at_end = _utc_now(), _load_average()
        # Imported here (see above); the trainer module also pulls in torch and transformers.
        from llasmol.files import write_json_atomic
        from llasmol.train.trainer import hardware_info, library_versions

        record = {
            "benchmark": self.benchmark,
            "command": list(sys.argv),
            "started_utc": self.started.isoformat(timespec="seconds"),
            "ended_utc": ended.isoformat(timespec="seconds"),
            "seconds": round((ended - self.started).total_seconds(), 1),
            "machine": {**hardware_info(), "cpu_count": os.cpu_count(), "load_average_start": self.load_at_start,
                        "load_average_end": load_at_end},
            "versions": library_versions(),
            "git": git_commit(),
            "figures": dict(figures),
        }
        stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS_DIR / f"{self.benchmark}-{stamp}.json"
        if path.exists():  # two runs started in the same second
            path = path.with_name(f"{path.stem}-{os.getpid()}.json")
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, record)
        print(f"record: {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}", file=sys.stderr)
        return path
