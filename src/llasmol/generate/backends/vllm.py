"""vLLM backend (GPU, optional extra ``llasmol[vllm]``): vLLM's offline beam search.

vLLM is imported only when this backend is chosen, so the rest of llasmol works without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from llasmol.generate.adapters import check_adapter, meta_model, read_adapter_config
from llasmol.generate.backends.base import BackendUnavailableError
from llasmol.models import ModelSource, load_tokenizer
from llasmol.tasks import DEFAULT_MAX_NEW_TOKENS, DEFAULT_MAX_PROMPT_TOKENS, GenerationSettings

# vLLM schedules requests itself; this many prompts are handed over per call.
PROMPTS_PER_CALL = 512
GPU_MEMORY_UTILIZATION = 0.85
_ADAPTER_NAME = "llasmol-adapter"


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as error:
        raise BackendUnavailableError(
            "the vLLM backend needs vLLM and a GPU: pip install 'llasmol[vllm]' "
            f"(import failed: {error}); or use --backend hf"
        ) from None
    return vllm


class VLLMBackend:
    """A model served by ``vllm.LLM``; beams come from ``LLM.beam_search`` with ``BeamSearchParams``."""

    name = "vllm"

    def __init__(self, source: ModelSource, adapter: str | None = None, device: str | None = None,
                 dtype: Any = None) -> None:
        vllm = _import_vllm()
        if device is not None and not str(device).startswith("cuda"):
            raise BackendUnavailableError(f"the vLLM backend runs on a GPU only (device {device!r} asked for)")
        self.source = source
        self.tokenizer = load_tokenizer(source)
        self._lora_request = None
        llm_kwargs: dict[str, Any] = {
            "model": self._model_path(source),
            "tokenizer": None if source.gguf_file else source.name_or_path,  # GGUF: read from the file
            "dtype": "auto" if dtype is None else str(dtype).removeprefix("torch."),
            "seed": 0,
            "gpu_memory_utilization": GPU_MEMORY_UTILIZATION,
            "max_model_len": DEFAULT_MAX_PROMPT_TOKENS + DEFAULT_MAX_NEW_TOKENS,
        }
        if adapter is not None:
            check_adapter(adapter, meta_model(source), source.label)
            rank = int(read_adapter_config(adapter).get("r", 16))
            llm_kwargs.update(enable_lora=True, max_lora_rank=max(rank, 8))
            from vllm.lora.request import LoRARequest

            self._lora_request = LoRARequest(_ADAPTER_NAME, 1, os.path.abspath(adapter))
        self.llm = vllm.LLM(**llm_kwargs)

    @staticmethod
    def _model_path(source: ModelSource) -> str:
        if source.gguf_file:
            return os.path.join(source.name_or_path, source.gguf_file)
        return source.name_or_path

    def batch_size_for(self, settings: GenerationSettings, max_prompt_tokens: int) -> int:
        return PROMPTS_PER_CALL

    def generate(self, prompts: Sequence[Sequence[int]], settings: GenerationSettings) -> list[list[str]]:
        """Beam search for all prompts at once; texts are decoded from the new tokens only."""
        from vllm.inputs import TokensPrompt
        from vllm.sampling_params import BeamSearchParams

        if not prompts:
            return []
        if settings.no_repeat_ngram_size:
            raise BackendUnavailableError("the vLLM backend has no no_repeat_ngram_size; use the hf backend")
        params = BeamSearchParams(beam_width=settings.num_beams, max_tokens=settings.max_new_tokens)
        requests = [TokensPrompt(prompt_token_ids=list(ids)) for ids in prompts]
        outputs = self.llm.beam_search(requests, params, lora_request=self._lora_request)
        results = []
        for ids, output in zip(prompts, outputs, strict=True):
            best = output.sequences[:settings.num_return_sequences]
            results.append([
                self.tokenizer.decode(sequence.tokens[len(ids):], skip_special_tokens=True).strip()
                for sequence in best
            ])
        return results
