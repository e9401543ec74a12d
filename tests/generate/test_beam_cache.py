"""The beam-search cache: the same keys and values as Hugging Face's DynamicCache, fewer copies."""

from __future__ import annotations

import pytest
import torch
from transformers.cache_utils import DynamicCache, DynamicSlidingWindowLayer

from llasmol.generate.backends.beam_cache import BeamSearchCache

PROMPTS, BEAMS, HEADS, PROMPT_LENGTH, HEAD_DIM, LAYERS = 2, 3, 2, 5, 4, 2


def _prompt_cache() -> DynamicCache:
    cache = DynamicCache()
    for layer in range(LAYERS):
        cache.update(torch.randn(PROMPTS, HEADS, PROMPT_LENGTH, HEAD_DIM),
                     torch.randn(PROMPTS, HEADS, PROMPT_LENGTH, HEAD_DIM), layer)
    return cache


def _steps(count: int) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    shape = (PROMPTS * BEAMS, HEADS, 1, HEAD_DIM)
    return [[(torch.randn(shape), torch.randn(shape)) for _ in range(LAYERS)] for _ in range(count)]


def test_appends_and_reorders_as_the_dynamic_cache_does() -> None:
    torch.manual_seed(0)
    prompt = _prompt_cache()
    beam_cache = BeamSearchCache(prompt, BEAMS, max_new_tokens=4)
    reference = DynamicCache()
    for layer in range(LAYERS):
        reference.update(prompt.layers[layer].keys.repeat_interleave(BEAMS, 0),
                         prompt.layers[layer].values.repeat_interleave(BEAMS, 0), layer)
    # Beams move within their prompt's group: 0-2 for the first prompt, 3-5 for the second.
    orders = [torch.tensor([0, 0, 1, 5, 3, 3]), torch.tensor([2, 1, 1, 4, 4, 5]), torch.tensor([1, 0, 2, 3, 5, 4])]
    for step, order in zip(_steps(3), orders, strict=True):
        for layer, (keys, values) in enumerate(step):
            ours = beam_cache.update(keys, values, layer)
            theirs = reference.update(keys, values, layer)
            assert torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1])
        beam_cache.reorder_cache(order)
        reference.reorder_cache(order)
    assert beam_cache.get_seq_length() == reference.get_seq_length() == PROMPT_LENGTH + 3
    for ours, theirs in zip(beam_cache.layers, reference.layers, strict=True):
        assert torch.equal(ours.keys, theirs.keys) and torch.equal(ours.values, theirs.values)


def test_a_beam_moved_to_another_prompt_is_refused() -> None:
    beam_cache = BeamSearchCache(_prompt_cache(), BEAMS, max_new_tokens=2)
    for layer, (keys, values) in enumerate(_steps(1)[0]):
        beam_cache.update(keys, values, layer)
    with pytest.raises(RuntimeError, match="another prompt"):
        beam_cache.reorder_cache(torch.tensor([0, 1, 3, 3, 4, 5]))


def test_writing_past_the_room_fails_clearly() -> None:
    beam_cache = BeamSearchCache(_prompt_cache(), BEAMS, max_new_tokens=1)
    keys, values = _steps(1)[0][0]
    beam_cache.update(keys, values, 0)
    with pytest.raises(RuntimeError, match="cache full"):
        beam_cache.update(keys, values, 0)


def test_sliding_window_layers_keep_hugging_faces_cache() -> None:
    cache = DynamicCache()
    cache.layers = [DynamicSlidingWindowLayer(sliding_window=4)]
    cache.update(torch.randn(1, 1, 2, 2), torch.randn(1, 1, 2, 2), 0)
    assert not BeamSearchCache.supports(cache)
    assert BeamSearchCache.supports(_prompt_cache())
