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
    output_dir: str = "runs/llasmol"
    model: str | None = None  # None: the offline default SmolLM2-135M-Instruct GGUF
    gguf_file: str | None = None
    data: str | None = None  # anything llasmol.data.load_smolinstruct reads
    tasks: list[str] | None = None  # None: all tasks present in the data
    task_weights: dict[str, float] = field(default_factory=dict)  # per-epoch multiplier of a task's samples
    train_split: str = "train"
    eval_split: str | None = "validation"  # None: no validation loss
    eval_samples: int | None = 512  # validation samples used (spread over tasks); None: all
    max_train_samples: int | None = None  # cap on training samples (spread over tasks), for quick runs
    insert_core_tags: bool = True
    use_selfies: bool = False

    # prompt and loss
    prompt_format: str = "paper"  # "paper" or "chat" (the tokenizer's chat template)
    loss_on: str = "answer"  # "answer" (completion tokens only) or "all" (the whole sequence)
    max_length: int = 512
    long_samples: LongSamples = LongSamples.TRUNCATE

    # method
    finetuning: Finetuning = Finetuning.LORA
    lora_r: int = 16
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: list(PAPER_LORA_TARGETS))
    lora_layers: int | None = None  # adapt only the top N transformer layers (backward stops below them); None: all

    # optimisation
    learning_rate: float = 1e-4
    lr_scheduler: str = "cosine"
    warmup_steps: int | None = 1000  # capped at max_warmup_fraction of the run's optimizer steps
    warmup_fraction: float | None = None  # used instead of warmup_steps when set
    max_warmup_fraction: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    epochs: float = 3.0
    max_steps: int | None = None  # optimizer steps; overrides epochs
    max_minutes: float | None = None  # wall-clock limit from the start of train(); the LR schedule ends with it
    batch_size: int = 512  # samples per optimizer step, over all processes
    micro_batch_size: int = 8  # samples per forward pass and process
    batching: Batching = Batching.PACKED
    gradient_checkpointing: bool = False
    precision: Precision = Precision.AUTO
    attn_implementation: str | None = None  # attention kernel (transformers' name, e.g. "eager"); None: default
    seed: int = 13

    # bookkeeping
    logging_steps: int = 10
    eval_steps: int | None = 200
    eval_on_start: bool = True  # validation loss before the first step (not when resuming)
    save_steps: int = 500
    save_total_limit: int | None = 3
    resume: bool = False
    merge: bool = False  # also write a merged full model to output_dir/merged
    log_sample_ids: bool = False  # record the sample ids of every optimizer step in the JSONL log
    progress: bool = True
    num_threads: int | None = None  # torch CPU threads; None: leave as is
    dataloader_workers: int = 0

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
