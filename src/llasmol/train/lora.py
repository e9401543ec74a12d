"""LoRA target discovery: map the paper's Llama projection names onto any architecture's linear layers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from llasmol.errors import LlasmolError

ALL_LINEAR = "all-linear"

# For each Llama-style projection, the names that play the same part in other architectures
# (OPT/Galactica, GPT-2, GPT-NeoX/Falcon/BLOOM, GPT-J, MPT, Phi, T5-style MLPs, Baichuan).
EQUIVALENT_LINEAR_NAMES: dict[str, tuple[str, ...]] = {
    "q_proj": ("q_proj", "query", "c_attn", "query_key_value", "Wqkv", "qkv_proj", "W_pack"),
    "k_proj": ("k_proj", "key", "c_attn", "query_key_value", "Wqkv", "qkv_proj", "W_pack"),
    "v_proj": ("v_proj", "value", "c_attn", "query_key_value", "Wqkv", "qkv_proj", "W_pack"),
    "o_proj": ("o_proj", "out_proj", "dense", "c_proj"),
    "gate_proj": ("gate_proj", "w1", "wi_0"),
    "up_proj": ("up_proj", "fc1", "c_fc", "dense_h_to_4h", "fc_in", "w3", "wi_1", "wi", "gate_up_proj"),
    "down_proj": ("down_proj", "fc2", "c_proj", "dense_4h_to_h", "fc_out", "w2", "wo"),
}


class UnknownLoraTargetError(LlasmolError, ValueError):
    """A LoRA target that names no linear layer of the model; the message lists the ones it has."""

    def __init__(self, targets: Iterable[str], found: Sequence[str]) -> None:
        self.targets, self.found = list(targets), list(found)
        super().__init__(
            f"LoRA target(s) {', '.join(self.targets)} match no linear layer of this model; "
            f"its linear layers are: {', '.join(self.found) or '(none)'}"
        )


def _is_linear(module: Any) -> bool:
    import torch

    if isinstance(module, torch.nn.Linear):
        return True
    # GPT-2 style Conv1D (a linear layer with transposed weights)
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf")


def linear_layer_names(model: Any) -> list[str]:
    """Distinct short names of the model's linear layers (the output embedding excluded), in model order."""
    output_embeddings = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    names: dict[str, None] = {}
    for full_name, module in model.named_modules():
        if module is output_embeddings or not _is_linear(module):
            continue
        names[full_name.rsplit(".", 1)[-1]] = None
    return list(names)


def resolve_lora_targets(model: Any, targets: Sequence[str]) -> list[str]:
    """Short module names to put LoRA adapters on.

    A name the model has is used as is; a Llama projection name the model lacks is replaced by its
    equivalents (``q_proj`` → ``c_attn`` for GPT-2, ``o_proj`` → ``out_proj`` for OPT, ...);
    ``all-linear`` takes every linear layer but the output embedding. Anything else raises
    :class:`UnknownLoraTargetError` listing the linear layers found.
    """
    found = linear_layer_names(model)
    if list(targets) == [ALL_LINEAR]:
        return found
    available = set(found)
    resolved: dict[str, None] = {}
    unknown: list[str] = []
    for target in targets:
        if target in available:
            resolved[target] = None
        elif target in EQUIVALENT_LINEAR_NAMES:
            resolved.update(dict.fromkeys(name for name in EQUIVALENT_LINEAR_NAMES[target] if name in available))
        else:
            unknown.append(target)
    if unknown or not resolved:
        raise UnknownLoraTargetError(unknown or targets, found)
    return list(resolved)


def top_layer_indices(model: Any, count: int | None) -> list[int] | None:
    """Indices of the model's top ``count`` transformer layers, for peft's ``layers_to_transform``.

    Adapting only the upper layers stops the backward pass below them: with 10 of SmolLM2-135M's 30
    layers, a CPU training step takes about 60 % of the time of adapting all 30. ``None``: every layer.
    """
    if count is None:
        return None
    total = model.config.num_hidden_layers
    if not 1 <= count <= total:
        raise ValueError(f"lora_layers must be between 1 and the model's {total} layers, not {count}")
    return list(range(total - count, total))
