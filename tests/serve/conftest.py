"""Fixtures for the server tests: a tiny random Llama served by the real ``LlaSMol``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 64-wide random Llama with SmolLM2's tokenizer, saved as a model folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from llasmol.models import load_tokenizer, resolve_model

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = load_tokenizer(resolve_model())
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llasmol(tiny_model_dir: Path) -> Any:
    """The real ``LlaSMol`` predictor on the tiny model (CPU)."""
    from llasmol.generate import LlaSMol

    return LlaSMol.from_pretrained(model=str(tiny_model_dir), device="cpu")
