"""PEFT adapters: check that an adapter fits a base model before any work, then attach it."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from llasmol.errors import LlasmolError
from llasmol.models import load_config

_CONFIG_FILE = "adapter_config.json"
_WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
_KEY_PREFIX = "base_model.model."
_LORA_PARTS = {"lora_A": "in", "lora_B": "out", "lora_embedding_A": "in", "lora_embedding_B": "out"}


class AdapterMismatchError(LlasmolError, ValueError):
    """An adapter that cannot be applied to the chosen base model; the message says why."""


def read_adapter_config(adapter_dir: Path | str) -> dict[str, Any]:
    """The adapter's ``adapter_config.json``; a clear error when the folder is not a PEFT adapter."""
    path = Path(adapter_dir) / _CONFIG_FILE
    if not path.is_file():
        raise AdapterMismatchError(f"{adapter_dir}: not a PEFT adapter folder (no {_CONFIG_FILE})")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise AdapterMismatchError(f"{path}: not valid JSON ({error.msg})") from None
    if not isinstance(config, dict):
        raise AdapterMismatchError(f"{path}: expected a JSON object")
    return config


def _adapter_tensor_shapes(adapter_dir: Path) -> dict[str, tuple[int, ...]]:
    for name in _WEIGHT_FILES:
        path = adapter_dir / name
        if not path.is_file():
            continue
        if name.endswith(".safetensors"):
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as handle:
                return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
        return {key: tuple(value.shape) for key, value in state.items()}
    raise AdapterMismatchError(f"{adapter_dir}: no adapter weights ({' or '.join(_WEIGHT_FILES)})")


def _split_key(key: str) -> tuple[str, str | None]:
    """``(module path in the base model, LoRA part or None)`` of one saved adapter tensor name."""
    path = key.removeprefix(_KEY_PREFIX)
    for part in _LORA_PARTS:
        marker = f".{part}"
        if marker in path:
            return path.split(marker)[0], part
    return path, None


def _module_features(module: Any) -> tuple[int, int] | None:
    """``(in, out)`` features of a linear-like or embedding module."""
    weight = getattr(module, "weight", None)
    if weight is None or weight.dim() != 2:
        return None
    if module.__class__.__name__ == "Embedding":
        return int(weight.shape[0]), int(weight.shape[1])
    if module.__class__.__name__ == "Conv1D":  # GPT-2 style, weight is (in, out)
        return int(weight.shape[0]), int(weight.shape[1])
    return int(weight.shape[1]), int(weight.shape[0])


def check_adapter(adapter_dir: Path | str, base_model: Any, base_label: str) -> dict[str, Any]:
    """Check that every tensor of the adapter fits a module of ``base_model``; return its config.

    ``base_model`` may live on the meta device (only shapes are read). A different recorded base
    model name with matching shapes only warns (the same model is often named differently).
    """
    adapter_dir = Path(adapter_dir)
    config = read_adapter_config(adapter_dir)
    shapes = _adapter_tensor_shapes(adapter_dir)
    modules = dict(base_model.named_modules())
    parameters = {name: tuple(value.shape) for name, value in base_model.named_parameters()}
    for key, shape in shapes.items():
        module_path, part = _split_key(key)
        if part is None:
            _check_saved_module(key, module_path, shape, modules, parameters, adapter_dir, base_label)
            continue
        module = modules.get(module_path)
        if module is None:
            raise AdapterMismatchError(
                f"adapter {adapter_dir} does not match base model {base_label}: "
                f"it adapts module {module_path!r}, which the base model does not have"
            )
        features = _module_features(module)
        expected = None if features is None else features[0 if _LORA_PARTS[part] == "in" else 1]
        actual = shape[-1] if _LORA_PARTS[part] == "in" else shape[0]  # A is (r, in), B is (out, r)
        if expected is not None and actual != expected:
            raise AdapterMismatchError(
                f"adapter {adapter_dir} does not match base model {base_label}: {key} has shape {list(shape)} "
                f"but module {module_path!r} has {_LORA_PARTS[part]} features {expected}"
            )
    _warn_on_other_base(config, base_label, adapter_dir)
    return config


def _check_saved_module(key: str, module_path: str, shape: tuple[int, ...], modules: dict[str, Any],
                        parameters: dict[str, tuple[int, ...]], adapter_dir: Path, base_label: str) -> None:
    """Fully saved modules (``modules_to_save``): the base parameter must exist with the same shape."""
    name = module_path.replace(".modules_to_save", "").replace(".original_module", "")
    expected = parameters.get(name)
    if expected is None and name.rsplit(".", 1)[0] not in modules:
        raise AdapterMismatchError(
            f"adapter {adapter_dir} does not match base model {base_label}: "
            f"it saves {name!r}, which the base model does not have"
        )
    if expected is not None and expected != shape:
        raise AdapterMismatchError(
            f"adapter {adapter_dir} does not match base model {base_label}: {key} has shape {list(shape)} "
            f"but the base model's {name} has {list(expected)}"
        )


def _warn_on_other_base(config: dict[str, Any], base_label: str, adapter_dir: Path) -> None:
    recorded = config.get("base_model_name_or_path")
    if not recorded:
        return
    recorded = recorded.rstrip("/")
    same = base_label.rstrip("/") == recorded or base_label.startswith(recorded + "/")
    if not same and Path(recorded).name not in Path(base_label).parts:
        warnings.warn(
            f"adapter {adapter_dir} was trained on {recorded!r}; applying it to {base_label} "
            "(module shapes match)",
            stacklevel=3,
        )


def meta_model(source: Any) -> Any:
    """The architecture of ``source`` on the meta device: shapes without loading weights."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(load_config(source))


def attach_adapter(model: Any, adapter_dir: Path | str, *, merge: bool = True) -> Any:
    """The base model with the PEFT adapter applied, in eval mode.

    ``merge``: fold LoRA weights into the base weights (a plain model, no adapter layers left), which
    generates faster, notably on a CPU; else a ``PeftModel`` with the adapter attached.
    """
    from peft import PeftModel

    adapted = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False).eval()
    return adapted.merge_and_unload().eval() if merge else adapted
