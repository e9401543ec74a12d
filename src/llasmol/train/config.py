"""Fine-tuning settings: the :class:`TrainConfig` dataclass and its presets.

``paper`` is LlaSMol's recipe (LoRA r=16/alpha=16/dropout 0.05 on the attention and MLP projections,
lr 1e-4 cosine, 1000 warmup steps, 3 epochs, 512 samples per optimizer step, max length 512, bf16,
seed 13, ``<s>[INST] {query} [/INST] {answer}</s>``). ``cpu`` keeps the recipe's shape but sizes it for
a small machine. Warmup and the cosine schedule always span the run's real number of optimizer steps;
with ``max_minutes`` they span whichever of the steps or the time runs out first.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from llasmol.options import option

METHODS = ("sft", "grpo")
PAPER_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class Batching(str, Enum):
    """How samples become micro-batches.

    ``packed``: samples are concatenated into one row with per-sample position ids (no padding; the
    attention never crosses sample boundaries). ``grouped``: samples of similar length are batched
    and padded to the longest. ``padded``: random batches padded to the longest sample.
    """

    PACKED = "packed"
    GROUPED = "grouped"
    PADDED = "padded"


class LongSamples(str, Enum):
    """What happens to a sample longer than ``max_length`` tokens."""

    TRUNCATE = "truncate"
    DROP = "drop"


class Finetuning(str, Enum):
    LORA = "lora"
    FULL = "full"


class Precision(str, Enum):
    """``auto``: bf16 where the hardware runs it (CUDA with bf16, or CPU autocast), else fp32."""

    AUTO = "auto"
    BF16 = "bf16"
    FP16 = "fp16"
    FP32 = "fp32"


@dataclass
class TrainConfig:
    """Everything a fine-tuning run needs; saved verbatim in the output folder's ``run_info.json``."""

    # what
    output_dir: str = field(default="runs/llasmol", metadata=option(
        "Run folder: adapter, checkpoints, log, loss curve.", "--output", "-o"))
    model: str | None = field(default=None, metadata=option(
        "Hub id, folder or .gguf file (default: SmolLM2-135M-Instruct, offline).", "-m"))
    gguf_file: str | None = field(default=None, metadata=option("GGUF file inside --model."))
    data: str | None = field(default=None, metadata=option(
        "SMolInstruct: data.zip, its folder, a build or raw split folders.", "-d"))
    tasks: list[str] | None = field(default=None, metadata=option(
        "Tasks, full or short names (repeat or comma-separate; default: all in the data).", "-t"))
    task_weights: dict[str, float] = field(default_factory=dict, metadata=option(
        "TASK=WEIGHT (repeat or comma-separate): a task's samples per epoch x weight (default 1).", task_keys=True))
    train_split: str = field(default="train", metadata=option("Split to train on."))
    eval_split: str | None = field(default="validation", metadata=option(
        "Split for the validation loss; 'none' for none."))
    eval_samples: int | None = field(default=512, metadata=option(
        "Validation samples (spread over tasks)."))
    max_train_samples: int | None = field(default=None, metadata=option(
        "Cap on training samples (spread over tasks), for quick runs."))
    insert_core_tags: bool = field(default=True, metadata=option("Wrap inputs in their tags as the paper does."))
    use_selfies: bool = field(default=False, metadata=option("Molecules as SELFIES instead of SMILES."))

    # prompt and loss
    prompt_format: str = field(default="paper", metadata=option("paper or chat (the model's own template)."))
    loss_on: str = field(default="answer", metadata=option("answer (completion tokens only) or all."))
    max_length: int = field(default=512, metadata=option("Max tokens per sample."))
    long_samples: LongSamples = field(default=LongSamples.TRUNCATE, metadata=option(
        "truncate or drop samples over --max-length."))

    # method
    finetuning: Finetuning = field(default=Finetuning.LORA, metadata=option("lora or full."))
    lora_r: int = field(default=16, metadata=option("LoRA rank."))
    lora_alpha: int = field(default=16, metadata=option("LoRA alpha (scale = alpha / rank)."))
    lora_dropout: float = field(default=0.05, metadata=option("LoRA dropout."))
    lora_targets: list[str] = field(default_factory=lambda: list(PAPER_LORA_TARGETS), metadata=option(
        "Module names (comma-separated), or all-linear."))
    lora_layers: int | None = field(default=None, metadata=option(
        "Adapt only the top N transformer layers (the backward pass stops below them)."))

    # reinforcement learning (method grpo; see llasmol.rl)
    method: str = field(default="sft", metadata=option(
        "sft (supervised fine-tuning) or grpo (reinforcement learning from chemistry-checked rewards)."))
    adapter: str | None = field(default=None, metadata=option(
        "grpo: start from this LoRA adapter (an SFT run folder) instead of a new one."))
    group_size: int = field(default=8, metadata=option(
        "grpo: completions sampled per prompt; rewards are compared within the group."))
    kl_coef: float = field(default=0.0, metadata=option(
        "grpo: weight of the KL penalty to the starting model (beta; 0, TRL's default, turns it off)."))
    max_new_tokens: int = field(default=128, metadata=option("grpo: new tokens per sampled completion."))
    temperature: float = field(default=1.0, metadata=option("grpo: sampling temperature of the completions."))
    reward_weights: dict[str, float] = field(default_factory=lambda: {"chemistry": 1.0, "format": 0.1},
                                             metadata=option("grpo: REWARD=WEIGHT of chemistry and format."))

    # optimisation
    learning_rate: float = field(default=1e-4, metadata=option("Peak learning rate.", "--lr"))
    lr_scheduler: str = field(default="cosine", metadata=option("transformers' scheduler name."))
    warmup_steps: int | None = field(default=1000, metadata=option(
        "Warmup steps, capped at --max-warmup-fraction of the run's optimizer steps."))
    warmup_fraction: float | None = field(default=None, metadata=option(
        "Warmup as a fraction of the run (used instead of --warmup-steps)."))
    max_warmup_fraction: float = field(default=0.1, metadata=option("Cap on the warmup's share of the run."))
    weight_decay: float = field(default=0.0, metadata=option("AdamW weight decay."))
    max_grad_norm: float = field(default=1.0, metadata=option("Gradient clipping norm."))
    epochs: float = field(default=3.0, metadata=option("Epochs (may be fractional)."))
    max_steps: int | None = field(default=None, metadata=option("Optimizer steps (overrides --epochs)."))
    max_minutes: float | None = field(default=None, metadata=option(
        "Stop after this many minutes (load included); the LR schedule ends with the time."))
    batch_size: int = field(default=512, metadata=option("Samples per optimizer step, over all processes."))
    micro_batch_size: int = field(default=8, metadata=option("Samples per forward pass and process."))
    batching: Batching = field(default=Batching.PACKED, metadata=option("packed, grouped or padded."))
    gradient_checkpointing: bool = field(default=False, metadata=option("Recompute activations to save memory."))
    precision: Precision = field(default=Precision.AUTO, metadata=option("auto, bf16, fp16 or fp32."))
    attn_implementation: str | None = field(default=None, metadata=option(
        "Attention kernel: sdpa, eager, flash_attention_2 (default: the preset's, else the model's).", "--attention"))
    seed: int = field(default=13, metadata=option("Seed of LoRA init, data order and dropout."))

    # bookkeeping
    logging_steps: int = field(default=10, metadata=option("Log every N steps."))
    eval_steps: int | None = field(default=200, metadata=option("Validation loss every N steps."))
    eval_on_start: bool = field(default=True, metadata=option("Validation loss before the first step."))
    save_steps: int = field(default=500, metadata=option("Checkpoint every N steps."))
    save_total_limit: int | None = field(default=3, metadata=option("Checkpoints kept."))
    resume: bool = field(default=False, metadata=option("Continue from the last checkpoint in the run folder."))
    merge: bool = field(default=False, metadata=option("Also write the merged model to <run folder>/merged."))
    log_sample_ids: bool = field(default=False, metadata=option("Log the sample ids of every optimizer step."))
    progress: bool = field(default=True, metadata=option("Show the progress bar."))
    num_threads: int | None = field(default=None, metadata=option(
        "torch CPU threads (default: one per core, or 1 when other work already keeps every core busy).",
        "--threads"))
    dataloader_workers: int = field(default=0, metadata=option("Data loader worker processes."))

    def __post_init__(self) -> None:
        self.long_samples = LongSamples(self.long_samples)
        self.finetuning = Finetuning(self.finetuning)
        self.batching = Batching(self.batching)
        self.precision = Precision(self.precision)
        if self.loss_on not in ("answer", "all"):
            raise ValueError(f"loss_on must be 'answer' or 'all', not {self.loss_on!r}")
        if self.prompt_format not in ("paper", "chat"):
            raise ValueError(f"prompt_format must be 'paper' or 'chat', not {self.prompt_format!r}")
        for name in ("max_length", "batch_size", "micro_batch_size", "logging_steps", "save_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.batch_size < self.micro_batch_size:
            raise ValueError(f"batch_size ({self.batch_size}) is below micro_batch_size ({self.micro_batch_size})")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be positive, got {self.max_minutes}")
        if any(weight < 0 for weight in self.task_weights.values()):
            raise ValueError("task weights must not be negative")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.method == "grpo" and (self.group_size < 2 or self.batch_size % self.group_size):
            raise ValueError(f"grpo: batch_size ({self.batch_size} completions) must be a multiple of group_size "
                             f"({self.group_size}, at least 2)")

    @property
    def output_path(self) -> Path:
        return Path(self.output_dir)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (enums as their values)."""
        return {
            key: value.value if isinstance(value, Enum) else value
            for key, value in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(unknown)}")
        return cls(**values)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu": {
        "max_length": 256,
        "batch_size": 16,
        "micro_batch_size": 8,
        "learning_rate": 3e-4,
        "lora_dropout": 0.0,  # its random masks cost about a fifth of a CPU step
        "attn_implementation": "eager",  # on a CPU, rows of a few hundred tokens train faster than with SDPA
        "warmup_steps": None,
        "warmup_fraction": 0.05,
        "epochs": 1.0,
        "eval_samples": 128,
        "eval_steps": 50,
        "save_steps": 100,
        "logging_steps": 5,
        "long_samples": LongSamples.DROP,
    },
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """A :class:`TrainConfig` from a named preset (``paper`` or ``cpu``), with overrides applied."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return TrainConfig(**{**PRESETS[name], **overrides})
