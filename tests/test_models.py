"""Model loading: resolving sources, GGUF warnings, and GGUF conversions kept per process."""

from __future__ import annotations

import logging

import pytest

from llasmol.models import (
    DEFAULT_MODEL,
    gguf_stamp,
    load_causal_lm,
    load_tokenizer,
    resolve_model,
    without_packed_dtype_warning,
)


def test_packed_dtype_warning_is_dropped_only_while_loading(caplog: pytest.LogCaptureFixture) -> None:
    quantizer_logger = logging.getLogger("transformers.quantizers.quantizer_gguf")
    packed = "Loading a GGUF checkpoint with its weights packed is fastest in float32, and this one was asked for"
    with caplog.at_level(logging.WARNING, logger=quantizer_logger.name):
        with without_packed_dtype_warning():
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
    first = gguf_stamp(source)
    gguf.write_bytes(b"GGUF and more")
    assert first is not None and gguf_stamp(source) != first
    assert gguf_stamp(resolve_model("org/model")) is None


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


@pytest.mark.slow
def test_a_converted_gguf_is_kept_on_disk_and_loads_as_converted(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llasmol import models

    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(models, "_kept_gguf", {})
    source = resolve_model()
    tokenizer = load_tokenizer(source)
    first = load_causal_lm(source, dtype=torch.bfloat16)  # converted in float32, kept, loaded back in bf16
    kept = list((tmp_path / "cache" / "gguf").glob("*/*"))
    assert sorted(path.name for path in kept) == ["model", "tokenizer"]
    assert not list((tmp_path / "cache" / "gguf").glob("*/.*"))  # no temporary folder left behind

    monkeypatch.setattr(models, "_kept_gguf", {})  # as a new process: only the disk copy is there
    direct = {dtype: AutoModelForCausalLM.from_pretrained(source.name_or_path, gguf_file=source.gguf_file,
                                                          dtype=dtype) for dtype in (torch.float32, torch.bfloat16)}
    for dtype, model in ((torch.bfloat16, first), (torch.float32, load_causal_lm(source, dtype=torch.float32)),
                         (torch.bfloat16, load_causal_lm(source, dtype=torch.bfloat16))):
        expected = direct[dtype].state_dict()
        found = model.state_dict()
        assert found.keys() == expected.keys()
        assert all(found[name].dtype == dtype and torch.equal(found[name], expected[name]) for name in expected)
        assert model.lm_head.weight is model.model.embed_tokens.weight
        assert model.name_or_path == source.name_or_path  # what an adapter records as its base
    reference = AutoTokenizer.from_pretrained(source.name_or_path, gguf_file=source.gguf_file)
    reloaded = load_tokenizer(source)
    text = "<|im_start|>user\nName CC(=O)OC1=CC=CC=C1C(=O)O<|im_end|> é 中文"
    assert reloaded(text)["input_ids"] == reference(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert reloaded.chat_template == reference.chat_template and reloaded.pad_token == tokenizer.pad_token


def test_an_unwritable_cache_warns_and_keeps_nothing(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    from llasmol.models import save_converted

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")

    def save(folder) -> None:
        (folder / "weights").write_text("x")

    with caplog.at_level(logging.WARNING, logger="llasmol.models"):
        save_converted(blocked / "gguf" / "model", save)
    assert "could not keep the converted GGUF" in caplog.text
    save_converted(tmp_path / "cache" / "model", save)
    assert (tmp_path / "cache" / "model" / "weights").read_text() == "x"
    assert [path.name for path in (tmp_path / "cache").iterdir()] == ["model"]
