"""Hugging Face ``generate`` backend (CPU and GPU): left-padded batches, beam search, OOM fallback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llasmol.generate.adapters import attach_adapter, check_adapter, meta_model
from llasmol.models import ModelSource, load_causal_lm, load_tokenizer
from llasmol.tasks import GenerationSettings

# Rows (prompts x beams) per forward pass on CPU: more gives no speed-up and costs memory.
CPU_MAX_ROWS = 64
# Prompts per batch on a GPU, whatever the memory allows.
GPU_MAX_PROMPTS = 256
# Share of the memory left after loading the model that one batch may use.
MEMORY_SHARE = 0.5
_LOGITS_BUFFERS = 4  # float32 vocabulary-sized buffers per row during beam search


def _cache_keyword() -> str:
    """``cache`` in recent transformers, ``past_key_values`` before."""
    from transformers.generation import utils

    return "cache" if "cache" in getattr(utils, "ALL_CACHE_NAMES", ()) else "past_key_values"


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: Any, device: str) -> Any:
    """``None``/``"auto"``: bfloat16 on a GPU that supports it, float32 on CPU; else the named dtype."""
    import torch

    if dtype is None or dtype == "auto":
        cuda_bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if cuda_bf16 else torch.float32
    if isinstance(dtype, str):
        resolved = getattr(torch, dtype, None)
        if not isinstance(resolved, torch.dtype):
            raise ValueError(f"unknown dtype {dtype!r}; use e.g. float32, bfloat16, float16")
        return resolved
    return dtype


class HFBackend:
    """A causal LM (optionally with a PEFT adapter) generating with ``model.generate``."""

    name = "hf"

    def __init__(self, source: ModelSource, adapter: str | None = None, device: str | None = None,
                 dtype: Any = None) -> None:
        import torch

        self.source = source
        self.device = device or default_device()
        self.dtype = resolve_dtype(dtype, self.device)
        if adapter is not None:
            check_adapter(adapter, meta_model(source), source.label)
        self.tokenizer = load_tokenizer(source)
        model = load_causal_lm(source, dtype=self.dtype, device=self.device)
        self.model = attach_adapter(model, adapter) if adapter is not None else model
        self._memory_budget = self._measure_memory_budget(torch)

    def _measure_memory_budget(self, torch: Any) -> int:
        if self.device.startswith("cuda"):
            free, _total = torch.cuda.mem_get_info(torch.device(self.device))
            return int(free * MEMORY_SHARE)
        import psutil

        return int(psutil.virtual_memory().total * MEMORY_SHARE / 4)

    def _bytes_per_row(self, settings: GenerationSettings, max_prompt_tokens: int) -> int:
        config = self.model.config
        layers = config.num_hidden_layers
        heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        element = self.dtype.itemsize
        cache = 2 * layers * heads * head_dim * element * (max_prompt_tokens + settings.max_new_tokens)
        return cache + _LOGITS_BUFFERS * 4 * config.vocab_size

    def batch_size_for(self, settings: GenerationSettings, max_prompt_tokens: int) -> int:
        """Prompts per batch: what fits in the memory budget, capped for CPU speed or GPU sanity."""
        rows = max(1, self._memory_budget // self._bytes_per_row(settings, max_prompt_tokens))
        if not self.device.startswith("cuda"):
            rows = min(rows, CPU_MAX_ROWS)
            return max(1, rows // settings.num_beams)
        return max(1, min(GPU_MAX_PROMPTS, rows // settings.num_beams))

    def left_padded(self, prompts: Sequence[Sequence[int]]) -> dict[str, Any]:
        """``model.generate`` inputs of token-id prompts: left-padded ids and their attention mask."""
        import torch

        width = max(len(ids) for ids in prompts)
        pad = self.tokenizer.pad_token_id
        input_ids = [[pad] * (width - len(ids)) + list(ids) for ids in prompts]
        attention = [[0] * (width - len(ids)) + [1] * len(ids) for ids in prompts]
        return {
            "input_ids": torch.tensor(input_ids, dtype=torch.long, device=self.device),
            "attention_mask": torch.tensor(attention, dtype=torch.long, device=self.device),
        }

    def generation_config(self, settings: GenerationSettings) -> Any:
        """The ``transformers.GenerationConfig`` this backend generates with for ``settings``."""
        from transformers import GenerationConfig

        return GenerationConfig(
            num_beams=settings.num_beams,
            num_return_sequences=settings.num_return_sequences,
            max_new_tokens=settings.max_new_tokens,
            no_repeat_ngram_size=settings.no_repeat_ngram_size,
            do_sample=False,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
            bos_token_id=self.tokenizer.bos_token_id,
        )

    def generate(self, prompts: Sequence[Sequence[int]], settings: GenerationSettings) -> list[list[str]]:
        """Beam search over a left-padded batch; on GPU out-of-memory the batch is split in halves."""
        import torch

        if not prompts:
            return []
        try:
            return self._generate_batch(prompts, settings)
        except torch.cuda.OutOfMemoryError:
            if len(prompts) == 1:
                raise
            torch.cuda.empty_cache()
            half = len(prompts) // 2
            return self.generate(prompts[:half], settings) + self.generate(prompts[half:], settings)

    def _prompt_cache(self, batch: dict[str, Any], settings: GenerationSettings) -> Any:
        """KV cache of every prompt but its last token, computed once per prompt, then copied per beam.

        ``generate`` would otherwise run the prompt through the model once per beam. Where the model's
        layers allow it, the cache is a :class:`BeamSearchCache`, which appends and reorders beams
        without copying the prompt positions again at every step.
        """
        from llasmol.generate.backends.beam_cache import BeamSearchCache

        input_ids, attention_mask = batch["input_ids"][:, :-1], batch["attention_mask"][:, :-1]
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        outputs = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=positions,
                             use_cache=True, logits_to_keep=1)
        cache = getattr(outputs, "cache", None) or outputs.past_key_values
        if BeamSearchCache.supports(cache):
            # Positions still to come: the prompt's last token, then every generated token but the last.
            return BeamSearchCache(cache, settings.num_beams, settings.max_new_tokens)
        cache.batch_repeat_interleave(settings.num_beams)
        return cache

    def _generate_batch(self, prompts: Sequence[Sequence[int]], settings: GenerationSettings) -> list[list[str]]:
        import torch

        batch = self.left_padded(prompts)
        config = self.generation_config(settings)
        with torch.inference_mode():
            if settings.num_beams > 1 and batch["input_ids"].shape[1] > 1:
                batch[_cache_keyword()] = self._prompt_cache(batch, settings)
            sequences = self.model.generate(**batch, generation_config=config)
        new_tokens = sequences[:, batch["input_ids"].shape[1]:]
        texts = [text.strip() for text in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
        returns = settings.num_return_sequences
        return [texts[index * returns:(index + 1) * returns] for index in range(len(prompts))]
