"""GRPO: reinforcement learning from chemistry-checked rewards, with TRL's ``GRPOTrainer``.

``llasmol train --method grpo [--adapter SFT_RUN]`` (or ``method: grpo`` in a pipeline's training
settings) samples ``group_size`` completions per SMolInstruct prompt, scores each with
:mod:`llasmol.rl.rewards` (the evaluator's own checks: identity by InChI, element counts, METEOR, …)
and raises the likelihood of the completions that score above their group's mean. Started from an
SFT adapter, that adapter is trained further (with ``kl_coef`` > 0 a frozen copy of it is the KL
reference); without one, a new LoRA adapter as ``llasmol train`` makes it.

The run folder holds what an SFT run holds (adapter, tokenizer, ``run_info.json``, ``train_log.jsonl``,
checkpoints, resumable with ``--resume``) and ``reward_curve.png``: the mean reward per logged step,
overall and per task.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from transformers import PrinterCallback, TrainerCallback

from llasmol.data.prompts import build_prompt
from llasmol.files import atomic_path, write_text_atomic
from llasmol.generate.backends import BackendUnavailableError
from llasmol.models import load_tokenizer, resolve_model
from llasmol.rl.rewards import chemistry_reward, format_reward
from llasmol.tasks import get_task
from llasmol.train import checkpoints
from llasmol.train.budget import TimeBudget
from llasmol.train.callbacks import read_log, truncate_log
from llasmol.train.config import Finetuning, TrainConfig
from llasmol.train.data import spread_over_tasks
from llasmol.train.trainer import (
    CHECKPOINT_DIR,
    RUN_INFO_FILE,
    accumulation_steps,
    apply_lora,
    check_resume,
    configure_threads,
    hardware_info,
    library_versions,
    load_training_model,
    uses_cuda,
)

LOG_FILE = "train_log.jsonl"
CURVE_FILE = "reward_curve.png"
REWARD_FUNCTIONS: dict[str, Callable[..., list[float]]] = {"chemistry": chemistry_reward, "format": format_reward}


@dataclass
class GRPOResult:
    """What a GRPO run did."""

    output_dir: str
    global_step: int
    planned_steps: int
    prompts: int
    mean_reward: float | None  # of the last logged step
    reward_by_task: dict[str, float]  # chemistry reward of the last logged step, per task
    runtime_seconds: float
    stopped_by_time: bool
    log_path: str
    curve_path: str | None


class TaskRewards:
    """A reward function that also logs its mean per task (``rewards/<name>/<task>``) through TRL."""

    def __init__(self, name: str, function: Callable[..., list[float]]) -> None:
        self.name, self.function = name, function
        self.__name__ = name  # TRL names a reward's logged figures after it

    def __call__(self, prompts: list[Any], completions: list[Any], task: list[str], gold: list[str],
                 log_metric: Callable[[str, float], None] | None = None, **columns: Any) -> list[float]:
        rewards = self.function(prompts, completions, task=task, gold=gold, **columns)
        if log_metric is not None:
            for name in sorted(set(task)):
                values = [reward for reward, sample_task in zip(rewards, task, strict=True) if sample_task == name]
                log_metric(f"rewards/{self.name}/{get_task(name).short_name}", sum(values) / len(values))
        return rewards


def grpo_prompt(query: str, tokenizer: Any, prompt_format: str) -> str:
    """The prompt text of a query, without the BOS text when the tokenizer adds BOS itself (TRL tokenizes
    prompts with special tokens), so the model sees the prompt it was fine-tuned on."""
    prompt = build_prompt(query, tokenizer, prompt_format)
    bos = tokenizer.bos_token
    adds_bos = bos is not None and tokenizer("")["input_ids"][:1] == [tokenizer.bos_token_id]
    return prompt.removeprefix(bos) if adds_bos else prompt


def prompt_rows(config: TrainConfig, tokenizer: Any) -> list[dict[str, str]]:
    """The training prompts with the columns the rewards read: ``task`` and the raw ``gold`` answer."""
    from llasmol.data import iter_smolinstruct

    rows = iter_smolinstruct(config.data, config.train_split, tasks=config.tasks,
                             insert_core_tags=config.insert_core_tags, use_selfies=config.use_selfies)
    return [{"prompt": grpo_prompt(row["input"], tokenizer, config.prompt_format), "task": row["task"],
             "gold": row["raw_output"]}
            for row in spread_over_tasks(rows, config.max_train_samples, config.seed)]


def reward_functions(weights: dict[str, float]) -> list[TaskRewards]:
    """The weighted rewards by name (``chemistry``, ``format``); an unknown name raises."""
    unknown = sorted(set(weights) - set(REWARD_FUNCTIONS))
    if unknown:
        raise ValueError(f"unknown reward(s) {', '.join(unknown)}; use {', '.join(REWARD_FUNCTIONS)}")
    return [TaskRewards(name, REWARD_FUNCTIONS[name]) for name in weights]


def _trainer_class() -> type:
    try:
        from trl import GRPOTrainer
    except ImportError:
        raise BackendUnavailableError("GRPO needs TRL: pip install 'llasmol[rl]'") from None

    class LlasmolGRPOTrainer(checkpoints.MarksCompleteCheckpoints, GRPOTrainer):
        """TRL's GRPOTrainer whose checkpoints are marked complete once written (see ``train.checkpoints``)."""

    return LlasmolGRPOTrainer


def grpo_arguments(config: TrainConfig, accumulation: int, total_steps: int, fresh_start: bool) -> Any:
    """TRL's ``GRPOConfig`` from the run's settings (bf16 on a bf16 GPU, float32 on a CPU)."""
    from trl import GRPOConfig

    from llasmol.train.trainer import mixed_precision, warmup_steps_of

    cuda = uses_cuda()
    bf16 = cuda and mixed_precision(config.precision) == "bf16"
    warmup = warmup_steps_of(config, total_steps)
    return GRPOConfig(
        output_dir=str(config.output_path / CHECKPOINT_DIR), per_device_train_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=accumulation, num_generations=config.group_size,
        max_completion_length=config.max_new_tokens, temperature=config.temperature, beta=config.kl_coef,
        reward_weights=list(config.reward_weights.values()), learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler, warmup_steps=warmup, weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm, max_steps=total_steps, logging_steps=config.logging_steps,
        save_steps=config.save_steps, save_total_limit=config.save_total_limit, seed=config.seed, data_seed=config.seed,
        bf16=bf16, fp16=False, use_cpu=not cuda, report_to="none", disable_tqdm=True,
        gradient_checkpointing=config.gradient_checkpointing, dataloader_num_workers=config.dataloader_workers,
        logging_first_step=fresh_start,
    )


class GRPOLogCallback(TrainerCallback):
    """Appends every log record (rewards, KL, loss, learning rate) to ``train_log.jsonl``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if state.is_world_process_zero and logs:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"step": state.global_step, "time": time.time(), **logs}) + "\n")


class RewardProgressCallback(TrainerCallback):
    """One rich progress bar: step, mean reward (overall and the chemistry reward per task), time left."""

    def __init__(self) -> None:
        self.progress: Any = None
        self.task: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("[bold]grpo"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("reward {task.fields[reward]}"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[by_task]}"))
        self.progress.start()
        self.task = self.progress.add_task("grpo", total=state.max_steps, completed=state.global_step, reward="-",
                                           by_task="")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if self.progress is not None and logs and "reward" in logs:
            by_task = " ".join(f"{task} {value:.2f}" for task, value in sorted(rewards_by_task(logs).items()))
            self.progress.update(self.task, reward=f"{logs['reward']:.3f}", by_task=by_task)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def rewards_by_task(record: dict[str, Any], reward: str = "chemistry") -> dict[str, float]:
    """``{task short name: mean reward}`` of one log record (``rewards/<reward>/<task>`` keys)."""
    prefix = f"rewards/{reward}/"
    return {key.removeprefix(prefix): value for key, value in record.items()
            if key.startswith(prefix) and key.count("/") == 2 and not key.endswith(("/mean", "/std"))}


def task_reward_series(log: Sequence[dict[str, Any]], reward: str = "chemistry") -> dict[str, list[tuple[int, float]]]:
    """``{task short name: [(step, mean reward), …]}`` from a GRPO log, and ``all`` for the overall mean."""
    series: dict[str, list[tuple[int, float]]] = {}
    for record in log:
        if "reward" in record:
            series.setdefault("all", []).append((record["step"], record["reward"]))
        for task, value in rewards_by_task(record, reward).items():
            series.setdefault(task, []).append((record["step"], value))
    return series


def reward_figure(series: dict[str, list[tuple[int, float]]]) -> Any:
    """A matplotlib figure of :func:`task_reward_series`: the overall mean reward and each task's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.2, 3.4))
    for name, points in series.items():
        axis.plot([step for step, _ in points], [value for _, value in points],
                  label="all rewards, weighted" if name == "all" else name, linewidth=2.2 if name == "all" else 1.0)
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("mean reward")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    return figure


def plot_reward_curve(log_path: Path, png_path: Path) -> Path | None:
    """The reward curve of a GRPO log as a PNG; ``None`` when no reward was logged."""
    series = task_reward_series(read_log(log_path))
    if not series.get("all"):
        return None
    import matplotlib.pyplot as plt

    figure = reward_figure(series)
    with atomic_path(png_path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)
    return png_path


def _load_policy(config: TrainConfig, source: Any, tokenizer: Any) -> tuple[Any, list[str] | None]:
    """The model to train: the base with ``config.adapter`` trainable, or with a new LoRA adapter."""
    model = load_training_model(config, source, tokenizer, "bf16" if uses_cuda() else "fp32")
    model.config.use_cache = True  # sampling the completions needs the KV cache
    if config.adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, config.adapter, is_trainable=True)
        return model, sorted(model.peft_config["default"].target_modules)
    if config.finetuning is Finetuning.LORA:
        return apply_lora(model, config)
    return model, None


def train_grpo(config: TrainConfig, callbacks: Sequence[TrainerCallback] = ()) -> GRPOResult:
    """Train ``config.model`` (and ``config.adapter``) with GRPO on ``config.data``'s prompts."""
    from accelerate import PartialState
    from datasets import Dataset
    from transformers import set_seed

    if config.data is None:
        raise ValueError("no training data: set data (--data; a SMolInstruct folder, zip or raw split folders)")
    trainer_class = _trainer_class()
    configure_threads(config)
    started = time.monotonic()
    output = config.output_path
    state = PartialState(cpu=not uses_cuda())
    resume_from = check_resume(config, state)
    source = resolve_model(config.model, config.gguf_file)
    tokenizer = load_tokenizer(source)
    rows = prompt_rows(config, tokenizer)
    if not rows:
        raise ValueError(f"no prompts in {config.data} (split {config.train_split!r}, tasks {config.tasks})")
    rewards = reward_functions(config.reward_weights)
    accumulation = accumulation_steps(config, state.num_processes)
    prompts_per_step = config.batch_size // config.group_size
    total_steps = config.max_steps or max(1, math.ceil(len(rows) * config.epochs / prompts_per_step))
    set_seed(config.seed)
    model, lora_targets = _load_policy(config, source, tokenizer)

    log_path = output / LOG_FILE
    run_info = {
        "config": config.to_dict(),
        "model": {"source": source.label, "name_or_path": source.name_or_path, "gguf_file": source.gguf_file,
                  "start_adapter": config.adapter, "lora_targets": lora_targets},
        "data": {"path": str(config.data), "prompts": len(rows),
                 "tasks": sorted({row["task"] for row in rows})},
        "schedule": {"processes": state.num_processes, "optimizer_steps": total_steps,
                     "completions_per_step": config.batch_size, "prompts_per_step": prompts_per_step,
                     "gradient_accumulation_steps": accumulation},
        "versions": library_versions(),
        "hardware": hardware_info(),
    }
    if state.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
        write_text_atomic(output / RUN_INFO_FILE, json.dumps(run_info, indent=2))
        tokenizer.save_pretrained(str(output))
        if resume_from is not None:
            truncate_log(log_path, int(Path(resume_from).name.rsplit("-", 1)[-1]))
        else:
            log_path.unlink(missing_ok=True)
    state.wait_for_everyone()

    budget = None if config.max_minutes is None else TimeBudget(started + 60 * config.max_minutes, total_steps)
    trainer = trainer_class(model=model, reward_funcs=rewards,
                            args=grpo_arguments(config, accumulation, total_steps, resume_from is None),
                            train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(GRPOLogCallback(log_path))
    for callback in [budget, RewardProgressCallback() if config.progress else None, *callbacks]:
        if callback is not None:
            trainer.add_callback(callback)
    trainer.train(resume_from_checkpoint=resume_from)
    trainer.save_model(str(output))

    log = read_log(log_path)
    last = next((record for record in reversed(log) if "reward" in record), {})
    curve = plot_reward_curve(log_path, output / CURVE_FILE) if state.is_main_process else None
    result = GRPOResult(
        output_dir=str(output), global_step=trainer.state.global_step, planned_steps=total_steps, prompts=len(rows),
        mean_reward=last.get("reward"),
        reward_by_task=rewards_by_task(last),
        runtime_seconds=time.monotonic() - started,
        stopped_by_time=budget is not None and budget.stopped_at is not None,
        log_path=str(log_path), curve_path=None if curve is None else str(curve),
    )
    if state.is_main_process:
        run_info["result"] = asdict(result)
        write_text_atomic(output / RUN_INFO_FILE, json.dumps(run_info, indent=2))
    return result
