"""A key/value cache for beam search that copies only what beam search changes.

Hugging Face's ``DynamicCache`` appends each step's keys and values with ``torch.cat`` (a copy of
the whole cache) and reorders beams with ``index_select`` over every position (another copy), so
every step copies the whole cache twice. Here each layer's buffers are allocated once for the prompt
and every token to come, a step writes its position in place, and a reorder copies only generated
positions: the beams of one prompt share their prompt positions, and beam search only moves a beam
within its own prompt's group. The outputs are the same.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer


class BeamSearchLayer(DynamicLayer):
    """One layer's prompt keys/values, copied to each beam, with room for ``max_new_tokens`` more positions."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, num_beams: int, max_new_tokens: int) -> None:
        super().__init__()
        prompts, heads, prompt_length, head_dim = keys.shape
        shape = (prompts * num_beams, heads, prompt_length + max_new_tokens, head_dim)
        self._key_buffer = keys.new_empty(shape)
        self._value_buffer = values.new_empty(shape)
        self._key_buffer[:, :, :prompt_length] = keys.repeat_interleave(num_beams, dim=0)
        self._value_buffer[:, :, :prompt_length] = values.repeat_interleave(num_beams, dim=0)
        self.prompt_length = prompt_length
        self.device = keys.device
        self.is_initialized = True
        self._show(prompt_length)

    def _show(self, length: int) -> None:
        self.length = length
        self.keys = self._key_buffer[:, :, :length]
        self.values = self._value_buffer[:, :, :length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write the new positions after the cached ones; the keys and values so far, as views."""
        end = self.length + key_states.shape[-2]
        if end > self._key_buffer.shape[-2]:
            raise RuntimeError(f"beam-search cache full: {end} positions, room for {self._key_buffer.shape[-2]}")
        self._key_buffer[:, :, self.length:end] = key_states
        self._value_buffer[:, :, self.length:end] = value_states
        self._show(end)
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        """Reorder the generated positions only (the caller checked that beams stay in their groups)."""
        generated = slice(self.prompt_length, self.length)
        if self.length > self.prompt_length:
            self._key_buffer[:, :, generated] = self._key_buffer[:, :, generated].index_select(0, beam_idx)
            self._value_buffer[:, :, generated] = self._value_buffer[:, :, generated].index_select(0, beam_idx)


class BeamSearchCache(Cache):
    """:class:`BeamSearchLayer` for every layer of a prompt cache; for beam search inside ``generate``."""

    def __init__(self, prompt_cache: DynamicCache, num_beams: int, max_new_tokens: int) -> None:
        super().__init__(layers=[BeamSearchLayer(layer.keys, layer.values, num_beams, max_new_tokens)
                                 for layer in prompt_cache.layers])
        self.num_beams = num_beams

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        groups = torch.arange(beam_idx.shape[0], device=beam_idx.device) // self.num_beams
        if not torch.equal(beam_idx // self.num_beams, groups):
            raise RuntimeError("beam search moved a beam to another prompt's group")
        super().reorder_cache(beam_idx)

    @staticmethod
    def supports(prompt_cache: Any) -> bool:
        """Whether every layer of ``prompt_cache`` is a plain full-attention ``DynamicLayer``."""
        layers = getattr(prompt_cache, "layers", None)
        return bool(layers) and all(type(layer) is DynamicLayer and layer.keys is not None for layer in layers)
