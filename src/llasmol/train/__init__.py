"""Fine-tuning: LoRA or full fine-tuning of any causal LM on SMolInstruct-style data.

``train(TrainConfig(...))`` or ``train(preset("cpu", model=..., data=..., output_dir=...))``; the
``llasmol train`` command is a thin shell over it.
"""

from llasmol.train.config import (
    PAPER_LORA_TARGETS,
    PRESETS,
    Batching,
    Finetuning,
    LongSamples,
    Precision,
    TrainConfig,
    preset,
)
from llasmol.train.lora import UnknownLoraTargetError, linear_layer_names, resolve_lora_targets
from llasmol.train.trainer import TrainOutOfMemoryError, TrainResult, load_trained_model, train

__all__ = [
    "PAPER_LORA_TARGETS",
    "PRESETS",
    "Batching",
    "Finetuning",
    "LongSamples",
    "Precision",
    "TrainConfig",
    "TrainOutOfMemoryError",
    "TrainResult",
    "UnknownLoraTargetError",
    "linear_layer_names",
    "load_trained_model",
    "preset",
    "resolve_lora_targets",
    "train",
]
