"""Kill-anywhere harness: interrupt `llasmol run` at chosen instants, rerun it, compare with an uninterrupted run.

A run is started as its own process group and sent a signal (SIGKILL, SIGINT or SIGTERM, to the whole
group, as a pre-empted job or Ctrl-C would) either after a number of seconds or as soon as an event is
seen in its output folder (a checkpoint being saved, predictions being written, ...). What the kill
left is inspected (the stage that was running, torn checkpoints, torn prediction lines), the same
command is run again to the end, and its final files are compared with those of a run that was never
interrupted: ``metrics.json``, ``summary.json`` and every prediction file must be byte-identical.

    from llasmol.pipeline.crashtest import Trigger, run_to_end, interrupted_rerun
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llasmol.pipeline.stages import STATE_FOLDER, read_stage_record
from llasmol.train.checkpoints import checkpoint_folders, is_complete

SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
# Files of a finished run that must not depend on interruptions (timings and paths excluded).
COMPARED_FILES = ("metrics.json", "summary.json")
_POLL_SECONDS = 0.002


def torn_checkpoints(output: Path) -> int:
    """Checkpoint folders that training would not resume from (what a kill during a save leaves)."""
    return sum(not is_complete(folder) for folder in checkpoint_folders(output / "train" / "checkpoints"))


def _checkpoint_being_saved(output: Path) -> bool:
    """A checkpoint folder exists that is not complete yet: a save is under way."""
    return torn_checkpoints(output) > 0


def _predictions_started(label: str) -> Callable[[Path], bool]:
    def started(output: Path) -> bool:
        folder = output / "predictions" / label
        return folder.is_dir() and any(path.stat().st_size > 0 for path in folder.glob("*.jsonl"))
    return started


def _stage_running(stage: str) -> Callable[[Path], bool]:
    def running(output: Path) -> bool:
        record = read_stage_record(output, stage)
        return record is not None and record.status == "running"
    return running


# Events a trigger can wait for, by name.
EVENTS: dict[str, Callable[[Path], bool]] = {
    "checkpoint-save": _checkpoint_being_saved,
    "base-predictions": _predictions_started("base"),
    "finetuned-predictions": _predictions_started("finetuned"),
    "evaluate": _stage_running("evaluate"),
    "report": _stage_running("report"),
}


@dataclass(frozen=True)
class Trigger:
    """When to interrupt a run: ``seconds`` after its start, or as soon as ``event`` is seen (then + delay)."""

    signal_name: str = "SIGKILL"
    seconds: float | None = None
    event: str | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.signal_name not in SIGNALS:
            raise ValueError(f"unknown signal {self.signal_name!r}; use {', '.join(SIGNALS)}")
        if (self.seconds is None) == (self.event is None):
            raise ValueError("a trigger needs either seconds or an event")
        if self.event is not None and self.event not in EVENTS:
            raise ValueError(f"unknown event {self.event!r}; use {', '.join(EVENTS)}")

    def label(self) -> str:
        when = f"{self.seconds:.1f} s" if self.seconds is not None else f"at {self.event}"
        return f"{self.signal_name} {when}" + (f" + {self.delay:.2f} s" if self.delay else "")


@dataclass
class Outcome:
    """One interrupted run and its rerun."""

    trigger: str
    fired: bool  # the signal was sent before the run finished on its own
    killed_after: float | None  # seconds from start to the signal
    stage_at_kill: str | None  # the stage recorded as running when the signal was sent
    torn_checkpoints: int  # checkpoint folders without a completion marker, after the kill
    rerun_exit_code: int
    rerun_seconds: float
    equal: bool  # final files identical to the uninterrupted run's
    differences: list[str] = field(default_factory=list)
    rerun_tail: str = ""


def running_stage(output: Path) -> str | None:
    """The stage whose state file says ``running``, if any."""
    folder = output / STATE_FOLDER
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = read_stage_record(output, path.stem)
        if record is not None and record.status == "running":
            return path.stem
    return None


def _command(config: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "llasmol.cli", "run", str(config), "--output", str(output)]


def _environment(threads: int) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false",
            "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def run_to_end(config: Path, output: Path, *, threads: int = 1, timeout: float = 1800) -> tuple[int, float, str]:
    """Run ``llasmol run CONFIG --output OUTPUT`` to the end: (exit code, seconds, last lines of its output)."""
    started = time.perf_counter()
    done = subprocess.run(_command(config, output), env=_environment(threads), capture_output=True, text=True,
                          timeout=timeout, check=False)
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
    return done.returncode, time.perf_counter() - started, tail


def interrupt(config: Path, output: Path, trigger: Trigger, *, threads: int = 1,
              timeout: float = 1800) -> tuple[bool, float | None, str | None]:
    """Start a run and send ``trigger``'s signal to its process group: (fired, seconds, running stage)."""
    event = EVENTS[trigger.event] if trigger.event is not None else None
    process = subprocess.Popen(_command(config, output), env=_environment(threads), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    started = time.perf_counter()
    fired, fired_at, stage = False, None, None
    try:
        while process.poll() is None and time.perf_counter() - started < timeout:
            elapsed = time.perf_counter() - started
            due = elapsed >= trigger.seconds if event is None else event(output)
            if due:
                if trigger.delay:
                    time.sleep(trigger.delay)
                stage = running_stage(output)
                fired_at = time.perf_counter() - started
                os.killpg(process.pid, SIGNALS[trigger.signal_name])
                fired = True
                break
            time.sleep(_POLL_SECONDS)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return fired, fired_at, stage


def compare_runs(reference: Path, other: Path) -> list[str]:
    """Files of a finished run that differ from the reference run's (empty: identical)."""
    differences = []
    for name in COMPARED_FILES:
        if _read_bytes(reference / name) != _read_bytes(other / name):
            differences.append(name)
    predictions = reference / "predictions"
    for path in sorted(predictions.rglob("*.jsonl")) if predictions.is_dir() else []:
        relative = path.relative_to(reference)
        if path.read_bytes() != _read_bytes(other / relative):
            differences.append(str(relative))
    return differences


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def interrupted_rerun(config: Path, reference: Path, output: Path, trigger: Trigger, *, threads: int = 1,
                      timeout: float = 1800) -> Outcome:
    """Interrupt a run into ``output`` as ``trigger`` says, rerun it to the end, compare with ``reference``."""
    fired, fired_at, stage = interrupt(config, output, trigger, threads=threads, timeout=timeout)
    torn = torn_checkpoints(output)
    exit_code, seconds, tail = run_to_end(config, output, threads=threads, timeout=timeout)
    differences = compare_runs(reference, output) if exit_code == 0 else ["(rerun failed)"]
    return Outcome(trigger.label(), fired, None if fired_at is None else round(fired_at, 3), stage, torn,
                   exit_code, round(seconds, 1), not differences, differences, "" if exit_code == 0 else tail)


def outcome_records(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    return [asdict(outcome) for outcome in outcomes]


def small_run_config(folder: Path, model: Path, smolinstruct: Path, *, steps: int = 24, save_steps: int = 4) -> Path:
    """A small `llasmol run` config (S2F and ESOL, a tiny model, a checkpoint every ``save_steps``); its path.

    ``smolinstruct``: a SMolInstruct folder with ``val/`` and ``train_partial/`` (raw layout).
    """
    import yaml

    config = {
        "name": "crashtest",
        "tasks": ["NC-S2F", "PP-ESOL"],
        "seed": 7,
        "torch_threads": 1,
        "data": {"holdout": {"sources": [str(smolinstruct / "val"), str(smolinstruct / "train_partial")],
                             "per_task": 4, "derive_formulas": 40},
                 "max_eval_samples": 4},
        "model": {"name": str(model)},
        "train": {"preset": "cpu", "overrides": {
            "max_steps": steps, "save_steps": save_steps, "batch_size": 4, "micro_batch_size": 4, "eval_split": None,
            "max_length": 128, "logging_steps": 1, "progress": False, "save_total_limit": 2}},
        "generate": {"batch_size": 4, "options": {"num_beams": 1, "max_new_tokens": 8, "show_progress": False}},
        "evaluate": {"options": {"workers": 1, "show_progress": False}},
        "report": {"examples_per_task": 1},
    }
    path = folder / "crashtest.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def tiny_model(folder: Path, seed: int = 0) -> Path:
    """A 2-layer, 64-wide random Llama with SmolLM2's tokenizer, saved in ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from llasmol.models import load_tokenizer, resolve_model

    tokenizer = load_tokenizer(resolve_model())
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
