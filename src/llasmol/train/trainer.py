"""``train(config)``: fine-tune a causal LM on SMolInstruct-style data with transformers' Trainer and peft.

Reads top to bottom: load model, tokenizer and data → check → tokenize and plan micro-batches →
train (checkpoints, validation, best adapter) → write the adapter, run_info.json, log and loss curve.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from llasmol.errors import LlasmolError
from llasmol.files import atomic_folder, write_text_atomic
from llasmol.models import ModelSource, load_causal_lm, load_tokenizer, resolve_model
from llasmol.tasks import get_task
from llasmol.train import checkpoints
from llasmol.train.budget import TimeBudget
from llasmol.train.callbacks import (
    BEST_DIR,
    BEST_FILE,
    CURVE_FILE,
    LOG_FILE,
    BestAdapterCallback,
    JsonlLogCallback,
    RichProgressCallback,
    TrainMeter,
    plot_loss_curve,
    truncate_log,
)
from llasmol.train.config import Finetuning, Precision, TrainConfig
from llasmol.train.data import (
    IGNORE_INDEX,
    MicroBatchDataset,
    TokenizedSplit,
    collate_micro_batch,
    eval_subset,
    plan_micro_batches,
    spread_over_tasks,
    tokenize_rows,
    unwrap_single,
)
from llasmol.train.lora import resolve_lora_targets, top_layer_indices
from llasmol.train.threads import BusyMachineWarning, busy_machine_threads

if TYPE_CHECKING:
    from accelerate import PartialState

CHECKPOINT_DIR = "checkpoints"
MERGED_DIR = "merged"
RUN_INFO_FILE = "run_info.json"
# settings that decide which samples each step sees; a resumed run must keep them
_ORDER_SETTINGS = ("data", "tasks", "task_weights", "train_split", "max_train_samples", "prompt_format", "loss_on",
                   "max_length", "long_samples", "epochs", "max_steps", "batch_size", "micro_batch_size",
                   "batching", "seed")


class TrainOutOfMemoryError(LlasmolError, RuntimeError):
    """Training ran out of memory; the message names the micro-batch size that fits, if one does."""


@dataclass
class TrainResult:
    """What a finished run produced and measured."""

    output_dir: str
    global_step: int
    planned_steps: int  # optimizer steps the run was set up for (max_minutes may end it sooner)
    train_loss: float | None  # mean of the logged (all-process) training losses
    eval_loss: float | None
    best_eval_loss: float | None
    best_step: int | None
    tokens: int
    tokens_per_second: float
    runtime_seconds: float
    train_stats: dict[str, Any]
    eval_stats: dict[str, Any] | None
    lora_targets: list[str] | None
    log_path: str
    curve_path: str | None
    merged_dir: str | None = None
    stopped_by_time: bool = False  # max_minutes ended the run before its last planned step
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------- model


def uses_cuda() -> bool:
    return torch.cuda.is_available()


def mixed_precision(precision: Precision) -> str:
    """``bf16``, ``fp16`` or ``fp32`` for this hardware."""
    if precision is not Precision.AUTO:
        return precision.value
    if uses_cuda():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if torch.backends.mps.is_available():
        return "fp32"
    return "bf16" if _cpu_has_bf16() else "fp32"


def _cpu_has_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (x86 AVX512-BF16/AMX, or ARM BF16)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.machine() == "arm64"  # Apple silicon
    flags = set(text.split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def load_training_model(config: TrainConfig, source: ModelSource, tokenizer: Any, mixed: str) -> Any:
    """The causal LM to train; LoRA on bf16 hardware keeps the frozen base weights in bf16."""
    base_dtype = torch.bfloat16 if (mixed == "bf16" and config.finetuning is Finetuning.LORA) else torch.float32
    model = load_causal_lm(source, dtype=base_dtype)
    if config.attn_implementation:
        model.set_attn_implementation(config.attn_implementation)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.config.use_cache = False
    return model


def apply_lora(model: Any, config: TrainConfig) -> tuple[Any, list[str]]:
    from peft import LoraConfig, TaskType, get_peft_model

    targets = resolve_lora_targets(model, config.lora_targets)
    lora_config = LoraConfig(
        task_type=TaskType.CAUSAL_LM, r=config.lora_r, lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout, target_modules=targets, bias="none",
        layers_to_transform=top_layer_indices(model, config.lora_layers),
    )
    return get_peft_model(model, lora_config), targets


# -------------------------------------------------------------------------------------------- data


def _split_rows(config: TrainConfig, split: str, tasks: Sequence[str] | None) -> Iterator[dict[str, Any]]:
    from llasmol.data import iter_smolinstruct

    return iter_smolinstruct(config.data, split, tasks=tasks, insert_core_tags=config.insert_core_tags,
                             use_selfies=config.use_selfies)


def _tokenized(config: TrainConfig, split: str, tokenizer: Any, limit: int | None,
               tasks: Sequence[str] | None) -> TokenizedSplit:
    rows = spread_over_tasks(_split_rows(config, split, tasks), limit, config.seed)
    return tokenize_rows(rows, tokenizer, prompt_format=config.prompt_format, max_length=config.max_length,
                         long_samples=config.long_samples, loss_on=config.loss_on)


# ----------------------------------------------------------------------------------------- trainer


def answer_loss_sum(model: Any, inputs: dict[str, Any], labels: torch.Tensor,
                    mask_logits: bool = True) -> tuple[torch.Tensor, int, bool]:
    """Summed next-token cross-entropy over the learnt positions of ``labels`` (unshifted).

    With ``mask_logits`` the model is asked for logits only at those positions (``logits_to_keep``
    as a boolean mask); a model that cannot do so gets the full logits, and the returned flag says
    which way worked.
    """
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE_INDEX
    targets = labels[:, 1:][keep[:, :-1]]
    logits = None
    if mask_logits:
        try:
            logits = model(**inputs, logits_to_keep=keep, use_cache=False).logits
        except (TypeError, IndexError):
            logits = None
        if logits is not None and (logits.dim() != 2 or logits.shape[0] != targets.numel()):
            logits = None
        mask_logits = logits is not None
    if logits is None:
        logits = model(**inputs, use_cache=False).logits[keep]
    loss_sum = torch.nn.functional.cross_entropy(logits.float(), targets, reduction="sum")
    return loss_sum, targets.numel(), mask_logits


class LlasmolTrainer(checkpoints.MarksCompleteCheckpoints, Trainer):
    """transformers' Trainer with a loss computed only where it is needed.

    Logits are produced only at positions whose next token is learnt (``logits_to_keep`` mask), so
    prompt tokens cost no vocabulary projection; the loss is a sum over those tokens divided by the
    answer tokens of the whole accumulated batch, and the validation loss is token-weighted.
    """

    loss_is_scaled_for_ga = True

    def __init__(self, *args: Any, meter: TrainMeter, time_budget: TimeBudget | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meter = meter
        self.time_budget = time_budget
        self.eval_sums = torch.zeros(2, dtype=torch.float64)
        self.mask_logits = True

    def _get_train_sampler(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self.args, "train_sampling_strategy", None) is None:  # releases without the option
            return torch.utils.data.SequentialSampler(self.train_dataset)
        return super()._get_train_sampler(*args, **kwargs)

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
        scheduler = super().create_scheduler(num_training_steps, optimizer)
        if self.time_budget is not None:
            self.time_budget.drive(scheduler)
        return scheduler

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        sample_ids = inputs.pop("sample_ids", [])
        real_tokens = inputs.pop("real_tokens", None)
        labels = inputs.pop("labels")
        loss_sum, count, self.mask_logits = answer_loss_sum(model, inputs, labels, self.mask_logits)
        if model.training:
            self.meter.tokens += int(real_tokens) if real_tokens is not None else inputs["input_ids"].numel()
            self.meter.step_sample_ids.extend(sample_ids)
            if num_items_in_batch is not None:
                loss = loss_sum / num_items_in_batch
                if self.args.average_tokens_across_devices and self.accelerator.num_processes > 1:
                    loss = loss * self.accelerator.num_processes
            else:
                loss = loss_sum / max(count, 1) / self.current_gradient_accumulation_steps
        else:
            self.eval_sums += torch.tensor([float(loss_sum), count], dtype=torch.float64)
            loss = loss_sum / max(count, 1)
        return (loss, {}) if return_outputs else loss

    def evaluation_loop(self, *args: Any, **kwargs: Any) -> Any:
        self.eval_sums.zero_()
        output = super().evaluation_loop(*args, **kwargs)
        sums = self.accelerator.reduce(self.eval_sums.to(self.args.device), reduction="sum").cpu()
        prefix = kwargs.get("metric_key_prefix", args[3] if len(args) > 3 else "eval")
        if sums[1] > 0:
            output.metrics[f"{prefix}_loss"] = float(sums[0] / sums[1])
        return output


def _training_arguments(config: TrainConfig, mixed: str, accumulation: int, total_steps: int,
                        warmup_steps: int, has_eval: bool, fresh_start: bool) -> TrainingArguments:
    settings: dict[str, Any] = dict(
        output_dir=str(config.output_path / CHECKPOINT_DIR),
        per_device_train_batch_size=1, per_device_eval_batch_size=1,
        gradient_accumulation_steps=accumulation, max_steps=total_steps, num_train_epochs=1,
        learning_rate=config.learning_rate, lr_scheduler_type=config.lr_scheduler, warmup_steps=warmup_steps,
        weight_decay=config.weight_decay, max_grad_norm=config.max_grad_norm,
        bf16=mixed == "bf16", fp16=mixed == "fp16",
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        logging_steps=config.logging_steps, logging_first_step=True,
        eval_strategy="steps" if has_eval and config.eval_steps else "no", eval_steps=config.eval_steps,
        eval_on_start=has_eval and config.eval_on_start and fresh_start,
        save_strategy="steps", save_steps=config.save_steps, save_total_limit=config.save_total_limit,
        seed=config.seed, data_seed=config.seed, train_sampling_strategy="sequential",
        remove_unused_columns=False, prediction_loss_only=True, report_to=[], disable_tqdm=True,
        dataloader_num_workers=config.dataloader_workers, use_cpu=not uses_cuda(),
    )
    known = {item.name for item in dataclasses.fields(TrainingArguments)}
    if "activation_checkpointing" not in known:  # transformers before the rename
        settings["gradient_checkpointing"] = settings.pop("activation_checkpointing")
        settings["gradient_checkpointing_kwargs"] = settings.pop("activation_checkpointing_kwargs")
    if "train_sampling_strategy" not in known:  # older releases: LlasmolTrainer keeps the plan's order itself
        del settings["train_sampling_strategy"]
    return TrainingArguments(**settings)


def warmup_steps_of(config: TrainConfig, total_steps: int) -> int:
    """Warmup steps of a run of ``total_steps``: ``warmup_fraction`` of it, else ``warmup_steps`` capped at
    ``max_warmup_fraction`` of it."""
    if config.warmup_fraction is not None:
        return round(config.warmup_fraction * total_steps)
    cap = math.floor(config.max_warmup_fraction * total_steps)
    return min(config.warmup_steps or 0, cap)


# -------------------------------------------------------------------------------------- bookkeeping


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a run depends on, for ``run_info.json``."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("llasmol", "torch", "transformers", "peft", "accelerate", "datasets", "tokenizers", "numpy", "trl"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def hardware_info() -> dict[str, Any]:
    """The platform, torch's CPU threads and the GPUs, for ``run_info.json``."""
    info: dict[str, Any] = {"platform": platform.platform(), "cpu_threads": torch.get_num_threads()}
    if uses_cuda():
        info["gpus"] = [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    return info


def check_resume(config: TrainConfig, state: PartialState) -> str | None:
    """The checkpoint to resume from (None: fresh start); refuses to mix two runs in one folder.

    Resuming, the main process first sets incomplete checkpoints aside; the last complete one is used.
    """
    folder = config.output_path / CHECKPOINT_DIR
    if not config.resume:
        if checkpoints.checkpoint_folders(folder):
            raise FileExistsError(f"{config.output_path} already holds checkpoints; pass resume=True (--resume) "
                                  "to continue that run, or choose another output folder")
        return None
    if state.is_main_process:
        had_checkpoints = bool(checkpoints.checkpoint_folders(folder))
        checkpoints.set_aside_incomplete(folder)
        if had_checkpoints and checkpoints.last_complete(folder) is None:
            warnings.warn(f"no complete checkpoint in {folder}: training starts over", checkpoints.CheckpointWarning,
                          stacklevel=3)
    state.wait_for_everyone()
    complete = checkpoints.last_complete(folder)
    last = None if complete is None else str(complete)
    info_path = config.output_path / RUN_INFO_FILE
    if last is not None and info_path.is_file():
        previous = json.loads(info_path.read_text(encoding="utf-8"))["config"]
        current = config.to_dict()
        changed = [name for name in _ORDER_SETTINGS if previous.get(name) != current.get(name)]
        if changed:
            raise ValueError(f"cannot resume {config.output_path}: these settings differ from the interrupted run "
                             f"and would change the data order: {', '.join(changed)}")
    return last


def _find_fitting_micro_batch(trainer: LlasmolTrainer, split: TokenizedSplit, config: TrainConfig,
                              pad_token_id: int) -> int | None:
    """Largest micro-batch below the configured one whose longest samples survive forward and backward."""
    longest = np.argsort(-split.lengths, kind="stable")
    size = config.micro_batch_size // 2
    model = trainer.model
    while size >= 1:
        model.zero_grad(set_to_none=True)
        _free_memory()
        try:
            batch = collate_micro_batch(split, longest[:size], batching=config.batching, pad_token_id=pad_token_id,
                                        loss_on=config.loss_on, row_tokens=config.max_length)
            inputs = trainer._prepare_inputs(batch)
            with trainer.compute_loss_context_manager(), trainer.autocast_smart_context_manager():
                trainer.compute_loss(model, inputs).backward()
            model.zero_grad(set_to_none=True)
            return size
        except (torch.OutOfMemoryError, RuntimeError) as error:
            if not _is_out_of_memory(error):
                raise
            size //= 2
    return None


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def _free_memory() -> None:
    import gc

    gc.collect()
    if uses_cuda():
        torch.cuda.empty_cache()


def _out_of_memory_message(config: TrainConfig, fitting: int | None, world_size: int) -> str:
    if fitting is None:
        return (f"out of memory even with micro-batch 1 at max length {config.max_length}: lower --max-length, "
                "turn on --gradient-checkpointing or use a machine with more memory")
    accumulation = math.ceil(config.batch_size / (fitting * world_size))
    return (f"out of memory with micro-batch {config.micro_batch_size}; micro-batch {fitting} fits: pass "
            f"--micro-batch-size {fitting} (the optimizer step keeps {config.batch_size} samples through "
            f"{accumulation} gradient accumulation steps)")


# -------------------------------------------------------------------------------------------- entry


def accumulation_steps(config: TrainConfig, processes: int) -> int:
    """Micro-batches each process accumulates so that an optimizer step sees about ``config.batch_size`` samples."""
    return max(1, math.ceil(config.batch_size / (config.micro_batch_size * processes)))


def configure_threads(config: TrainConfig) -> None:
    """torch's CPU threads: ``num_threads`` if set, else 1 on a machine other work keeps busy (with a warning)."""
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    elif not uses_cuda() and (busy := busy_machine_threads()) is not None:
        torch.set_num_threads(busy[0])
        warnings.warn(busy[1], BusyMachineWarning, stacklevel=3)


def train(config: TrainConfig, callbacks: Sequence[TrainerCallback] = ()) -> TrainResult:
    """Fine-tune ``config.model`` on ``config.data``; see :class:`TrainConfig` for every setting."""
    from accelerate import PartialState
    from transformers import set_seed

    if config.data is None:
        raise ValueError("no training data: set data (--data; a SMolInstruct folder, zip or raw split folders)")
    if config.method != "sft":
        raise ValueError(f"train() runs supervised fine-tuning; method {config.method!r} runs with "
                         "llasmol.rl.train_grpo")
    configure_threads(config)
    started = time.monotonic()
    output = config.output_path
    state = PartialState(cpu=not uses_cuda())
    resume_from = check_resume(config, state)

    # load
    source = resolve_model(config.model, config.gguf_file)
    tokenizer = load_tokenizer(source)
    if tokenizer.pad_token_id is None:
        raise ValueError(f"the tokenizer of {source.label} has no pad, EOS or UNK token to pad with")
    train_split = _tokenized(config, config.train_split, tokenizer, config.max_train_samples, config.tasks)
    eval_split = None
    if config.eval_split:  # validation on the tasks trained on
        eval_tasks = config.tasks or train_split.task_names or None
        eval_split = _tokenized(config, config.eval_split, tokenizer, None, eval_tasks)

    # check
    if len(train_split) == 0:
        raise ValueError(f"no training samples left in {config.data} (split {config.train_split!r}) after "
                         f"tokenization: {train_split.stats.to_dict()}")
    task_weights = {get_task(name).name: weight for name, weight in config.task_weights.items()}
    unknown_weights = sorted(set(task_weights) - set(train_split.task_names))
    if unknown_weights:
        raise ValueError(f"task weights for tasks not in the training data: {', '.join(unknown_weights)}")

    # plan
    world_size = state.num_processes
    accumulation = accumulation_steps(config, world_size)
    per_step = accumulation * world_size
    plan = plan_micro_batches(train_split, micro_batch_size=config.micro_batch_size, batching=config.batching,
                              task_weights=task_weights, seed=config.seed, epochs=config.epochs,
                              min_micro_batches=(config.max_steps or 0) * per_step)
    total_steps = config.max_steps or math.ceil(len(plan) / per_step)
    plan = plan[: total_steps * per_step]
    warmup = warmup_steps_of(config, total_steps)
    eval_dataset = None
    if eval_split is not None and len(eval_split):
        chosen = eval_subset(eval_split, config.eval_samples, config.seed)
        chosen = chosen[np.argsort(-eval_split.lengths[chosen], kind="stable")]
        eval_plan = [chosen[start:start + config.micro_batch_size]
                     for start in range(0, len(chosen), config.micro_batch_size)]
        eval_dataset = MicroBatchDataset(eval_split, eval_plan, batching=config.batching, row_tokens=config.max_length,
                                         pad_token_id=tokenizer.pad_token_id, loss_on=config.loss_on)

    # model
    mixed = mixed_precision(config.precision)
    set_seed(config.seed)
    model = load_training_model(config, source, tokenizer, mixed)
    lora_targets = None
    if config.finetuning is Finetuning.LORA:
        model, lora_targets = apply_lora(model, config)

    run_info = {
        "config": config.to_dict(),
        "model": {"source": source.label, "name_or_path": source.name_or_path, "gguf_file": source.gguf_file,
                  "lora_targets": lora_targets, "mixed_precision": mixed},
        "data": {
            "path": str(config.data), "tasks": train_split.task_names,
            "train": {**train_split.stats.to_dict(), "sha256": train_split.content_hash},
            "eval": ({**eval_split.stats.to_dict(), "sha256": eval_split.content_hash,
                      "used": sum(len(batch) for batch in eval_dataset.plan) if eval_dataset else 0}
                     if eval_split is not None else None),
        },
        "schedule": {"processes": world_size, "micro_batch_size": config.micro_batch_size,
                     "gradient_accumulation_steps": accumulation,
                     "effective_batch_size": config.micro_batch_size * per_step, "optimizer_steps": total_steps,
                     "warmup_steps": warmup, "micro_batches": len(plan)},
        "versions": library_versions(),
        "hardware": hardware_info(),
    }
    if state.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
        write_text_atomic(output / RUN_INFO_FILE, json.dumps(run_info, indent=2))
        tokenizer.save_pretrained(str(output))
    log_path = output / LOG_FILE
    if resume_from is not None and state.is_main_process:
        truncate_log(log_path, int(Path(resume_from).name.rsplit("-", 1)[-1]))
    elif state.is_main_process:  # a fresh run starts a fresh log and forgets an older best adapter
        log_path.unlink(missing_ok=True)
        (output / BEST_DIR / BEST_FILE).unlink(missing_ok=True)
    state.wait_for_everyone()

    # train
    meter = TrainMeter()
    budget = None if config.max_minutes is None else TimeBudget(started + 60 * config.max_minutes, total_steps)
    trainer = LlasmolTrainer(
        model=model,
        args=_training_arguments(config, mixed, accumulation, total_steps, warmup, eval_dataset is not None,
                                 fresh_start=resume_from is None),
        train_dataset=MicroBatchDataset(train_split, plan, batching=config.batching, row_tokens=config.max_length,
                                        pad_token_id=tokenizer.pad_token_id, loss_on=config.loss_on),
        eval_dataset=eval_dataset, data_collator=unwrap_single, processing_class=tokenizer, meter=meter,
        time_budget=budget,
    )
    best = BestAdapterCallback(trainer, output / BEST_DIR)
    trainer.add_callback(JsonlLogCallback(log_path, meter, config.log_sample_ids))
    trainer.add_callback(best)
    trainer.remove_callback(PrinterCallback)
    if budget is not None:
        trainer.add_callback(budget)
    if config.progress:
        trainer.add_callback(RichProgressCallback(meter))
    for callback in callbacks:
        trainer.add_callback(callback)
    meter.started = time.monotonic()
    try:
        trainer.train(resume_from_checkpoint=resume_from)
    except (torch.OutOfMemoryError, RuntimeError) as error:
        if not _is_out_of_memory(error):
            raise
        _free_memory()
        fitting = _find_fitting_micro_batch(trainer, train_split, config, tokenizer.pad_token_id)
        raise TrainOutOfMemoryError(_out_of_memory_message(config, fitting, world_size)) from error
    train_seconds = time.monotonic() - meter.started

    # write
    trainer.save_model(str(output))
    history = trainer.state.log_history
    eval_loss = next((entry["eval_loss"] for entry in reversed(history) if "eval_loss" in entry), None)
    train_losses = [entry["loss"] for entry in history if "loss" in entry]
    merged_dir = None
    if config.merge and state.is_main_process:
        merged_dir = str(_write_merged(trainer.model, tokenizer, output, source, config))
    curve = plot_loss_curve(log_path, output / CURVE_FILE) if state.is_main_process else None
    result = TrainResult(
        output_dir=str(output), global_step=trainer.state.global_step, planned_steps=total_steps,
        train_loss=float(np.mean(train_losses)) if train_losses else None, eval_loss=eval_loss,
        best_eval_loss=None if math.isinf(best.best_loss) else best.best_loss, best_step=best.best_step,
        tokens=meter.tokens, tokens_per_second=meter.tokens / train_seconds if train_seconds > 0 else 0.0,
        runtime_seconds=time.monotonic() - started, train_stats=train_split.stats.to_dict(),
        eval_stats=eval_split.stats.to_dict() if eval_split is not None else None, lora_targets=lora_targets,
        log_path=str(log_path), curve_path=str(curve) if curve else None, merged_dir=merged_dir,
        stopped_by_time=budget is not None and budget.stopped_at is not None,
    )
    if state.is_main_process:
        run_info["result"] = asdict(result)
        write_text_atomic(output / RUN_INFO_FILE, json.dumps(run_info, indent=2))
    return result


def _write_merged(model: Any, tokenizer: Any, output: Path, source: ModelSource, config: TrainConfig) -> Path:
    """The model with the adapter folded in, as an ordinary transformers folder (fp32 merge of a fresh base)."""
    folder = output / MERGED_DIR
    if config.finetuning is Finetuning.LORA:
        from peft import PeftModel

        base = load_causal_lm(source, dtype=torch.float32)
        model = PeftModel.from_pretrained(base, str(output)).merge_and_unload()
    with atomic_folder(folder) as staging:  # a kill mid-save leaves no half-written merged model
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
    return folder


def load_trained_model(output_dir: str | Path, which: str = "final", dtype: Any = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a finished run: ``which`` is ``final`` or ``best``.

    A LoRA run is the base model named in ``run_info.json`` (GGUF files included) with the adapter
    loaded by peft; a full fine-tuning run is loaded with ``AutoModelForCausalLM``.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    output = Path(output_dir)
    folder = output if which == "final" else output / BEST_DIR
    info = json.loads((output / RUN_INFO_FILE).read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(str(output))
    if not (folder / "adapter_config.json").is_file():
        return AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype).eval(), tokenizer
    from peft import PeftModel

    base = load_causal_lm(ModelSource(info["model"]["name_or_path"], info["model"]["gguf_file"]), dtype=dtype)
    return PeftModel.from_pretrained(base, str(folder)).eval(), tokenizer


__all__ = ["LlasmolTrainer", "TrainOutOfMemoryError", "TrainResult", "answer_loss_sum", "load_trained_model", "train"]
