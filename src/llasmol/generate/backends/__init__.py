"""Generation backends behind one interface: Hugging Face ``generate`` and vLLM."""

from __future__ import annotations

from typing import Any

from llasmol.generate.backends.base import Backend, BackendUnavailableError

BACKEND_NAMES = ("hf", "vllm")


def load_backend(name: str, source: Any, adapter: str | None = None, device: str | None = None,
                 dtype: str | None = None) -> Backend:
    """Load the model behind backend ``name`` (``hf`` or ``vllm``)."""
    if name == "hf":
        from llasmol.generate.backends.hf import HFBackend

        return HFBackend(source, adapter=adapter, device=device, dtype=dtype)
    if name == "vllm":
        from llasmol.generate.backends.vllm import VLLMBackend

        return VLLMBackend(source, adapter=adapter, device=device, dtype=dtype)
    raise ValueError(f"unknown backend {name!r}; valid backends: {', '.join(BACKEND_NAMES)}")


__all__ = ["BACKEND_NAMES", "Backend", "BackendUnavailableError", "load_backend"]
