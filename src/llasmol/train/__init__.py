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

_TRAINER_NAMES = ("TrainOutOfMemoryError", "TrainResult", "load_trained_model", "train")


def __getattr__(name: str) -> object:
    """The trainer's names, imported on first use: the config (and the CLI's flags) load without torch."""
    if name in _TRAINER_NAMES:
        from llasmol.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'llasmol.train' has no attribute {name!r}")

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
