"""Model loading: resolving sources, GGUF warnings, and GGUF conversions kept per process."""

from __future__ import annotations

import logging

import pytest

from llasmol.models import (
    DEFAULT_MODEL,
    _gguf_stamp,
    _without_packed_dtype_warning,
    load_causal_lm,
    load_tokenizer,
    resolve_model,
)


def test_packed_dtype_warning_is_dropped_only_while_loading(caplog: pytest.LogCaptureFixture) -> None:
    quantizer_logger = logging.getLogger("transformers.quantizers.quantizer_gguf")
    packed = "Loading a GGUF checkpoint with its weights packed is fastest in float32, and this one was asked for"
    with caplog.at_level(logging.WARNING, logger=quantizer_logger.name):
        with _without_packed_dtype_warning():
            quantizer_logger.warning(packed)
            quantizer_logger.warning("another warning")
        quantizer_logger.warning(packed)
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["another warning", packed]


def test_gguf_path_is_split_into_folder_and_file(tmp_path) -> None:
    gguf = tmp_path / "model.Q4_0.gguf"
    gguf.write_bytes(b"GGUF")
    source = resolve_model(str(gguf))
    assert (source.name_or_path, source.gguf_file) == (str(tmp_path.resolve()), "model.Q4_0.gguf")
    assert resolve_model("org/model", "file.gguf").label == "org/model/file.gguf"
    assert resolve_model(DEFAULT_MODEL).gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_gguf_stamp_follows_the_file(tmp_path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    source = resolve_model(str(gguf))
    first = _gguf_stamp(source)
    gguf.write_bytes(b"GGUF and more")
    assert first is not None and _gguf_stamp(source) != first
    assert _gguf_stamp(resolve_model("org/model")) is None


@pytest.mark.slow
def test_a_gguf_file_is_converted_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve_model()
    loads: list[str] = []
    for factory in (AutoModelForCausalLM, AutoTokenizer):
        original = factory.from_pretrained

        def counted(*args, _original=original, _name=factory.__name__, **kwargs):
            loads.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(factory, "from_pretrained", counted)
    first_tokenizer, second_tokenizer = load_tokenizer(source), load_tokenizer(source)
    first_tokenizer.pad_token = "<|endoftext|>"
    assert second_tokenizer is not first_tokenizer and second_tokenizer.pad_token == "<|im_end|>"
    assert second_tokenizer("CCO is ethanol")["input_ids"] == first_tokenizer("CCO is ethanol")["input_ids"]

    first = load_causal_lm(source, dtype=torch.float32)
    pristine = first.model.embed_tokens.weight.detach().clone()
    with torch.no_grad():
        first.model.embed_tokens.weight.add_(1.0)  # a caller's changes stay in its own copy
    second = load_causal_lm(source, dtype=torch.float32)
    assert torch.equal(second.model.embed_tokens.weight, pristine)
    assert second.lm_head.weight is second.model.embed_tokens.weight  # still tied
    assert not second.training and getattr(second, "hf_quantizer", None) is None
    assert loads.count("AutoModelForCausalLM") <= 1 and loads.count("AutoTokenizer") <= 1
