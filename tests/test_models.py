"""Model loading helpers that need no model."""

from __future__ import annotations

import logging

import pytest

from llasmol.models import DEFAULT_MODEL, _without_packed_dtype_warning, resolve_model


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
