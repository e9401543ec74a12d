"""Trainer callbacks: rich progress bar, JSONL log, best-adapter keeping, and the PNG loss curve."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from llasmol.files import atomic_path, write_text_atomic

LOG_FILE = "train_log.jsonl"
CURVE_FILE = "loss_curve.png"
BEST_DIR = "best"
BEST_FILE = "best.json"


@dataclass
class TrainMeter:
    """Counts shared by the trainer (which fills them) and the callbacks (which report them)."""

    tokens: int = 0  # input tokens of training micro-batches, padding excluded
    step_sample_ids: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def tokens_per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.tokens / elapsed if elapsed > 0 else 0.0


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def truncate_log(path: Path, last_step: int) -> None:
    """Drop records written after ``last_step`` (a resumed run writes them again)."""
    records = [record for record in read_log(path) if record.get("step", 0) <= last_step]
    write_text_atomic(path, "".join(json.dumps(record) + "\n" for record in records))


class JsonlLogCallback(TrainerCallback):
    """Appends every log (loss, learning rate, eval loss, tokens/s) and optionally each step's sample ids."""

    def __init__(self, path: Path, meter: TrainMeter, log_sample_ids: bool) -> None:
        self.path, self.meter, self.log_sample_ids = path, meter, log_sample_ids

    def _append(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.log_sample_ids and state.is_world_process_zero:
            self._append({"step": state.global_step, "sample_ids": list(self.meter.step_sample_ids)})
        self.meter.step_sample_ids.clear()

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch, "time": time.time(), **logs}
        if "loss" in logs:
            record["tokens_per_second"] = round(self.meter.tokens_per_second(), 2)
        self._append(record)


class RichProgressCallback(TrainerCallback):
    """One rich progress bar: step, loss, eval loss, tokens/s and time left."""

    def __init__(self, meter: TrainMeter) -> None:
        self.meter = meter
        self.progress: Any = None
        self.task: Any = None
        self.loss = math.nan
        self.eval_loss = math.nan

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TextColumn("eval {task.fields[eval_loss]}"),
            TextColumn("{task.fields[speed]} tok/s"), TimeRemainingColumn(),
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step,
                                           loss="-", eval_loss="-", speed="-")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step,
                                 speed=f"{self.meter.tokens_per_second():.0f}")

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if self.progress is None or not logs:
            return
        if "loss" in logs:
            self.progress.update(self.task, loss=f"{logs['loss']:.4f}")
        if "eval_loss" in logs:
            self.progress.update(self.task, eval_loss=f"{logs['eval_loss']:.4f}")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class BestAdapterCallback(TrainerCallback):
    """Saves the model (the adapter, for LoRA) whenever the validation loss reaches a new minimum."""

    def __init__(self, trainer: Any, folder: Path) -> None:
        self.trainer, self.folder = trainer, folder
        self.best_loss, self.best_step = self._previous_best()

    def _previous_best(self) -> tuple[float, int | None]:
        path = self.folder / BEST_FILE
        if not path.is_file():
            return math.inf, None
        record = json.loads(path.read_text(encoding="utf-8"))
        return float(record["eval_loss"]), int(record["step"])

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None,
                    **kwargs: Any) -> None:
        loss = (metrics or {}).get("eval_loss")
        if loss is None or loss >= self.best_loss:
            return
        self.best_loss, self.best_step = float(loss), state.global_step
        self.trainer.save_model(str(self.folder))
        if state.is_world_process_zero:
            best = {"step": self.best_step, "eval_loss": self.best_loss}
            write_text_atomic(self.folder / BEST_FILE, json.dumps(best))


class StopAfterStepCallback(TrainerCallback):
    """Ends training after a given optimizer step (checkpoint cadence unchanged); for interrupted runs."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step >= self.step:
            control.should_training_stop = True


def plot_loss_curve(log_path: Path, png_path: Path, title: str = "llasmol fine-tuning") -> Path | None:
    """Train and validation loss against the optimizer step, as a PNG; None when nothing was logged."""
    records = read_log(log_path)
    train = [(record["step"], record["loss"]) for record in records if "loss" in record]
    evals = [(record["step"], record["eval_loss"]) for record in records if "eval_loss" in record]
    if not train and not evals:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.2))
    if train:
        axis.plot(*zip(*train, strict=True), label="train loss", color="tab:blue", linewidth=1.2)
    if evals:
        axis.plot(*zip(*evals, strict=True), label="validation loss", color="tab:orange", marker="o", linewidth=1.5)
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("loss (nats per learnt token)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    with atomic_path(png_path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)
    return png_path
