"""Atomic writes (llasmol.files) and the one-line error for a write the disk refuses."""

from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from llasmol.cli import user_error_message
from llasmol.errors import LlasmolError
from llasmol.files import atomic_folder, write_error_message, write_json_atomic, write_text_atomic


def test_an_atomic_write_replaces_the_whole_file(tmp_path: Path):
    path = tmp_path / "sub" / "metrics.json"
    write_json_atomic(path, {"a": "é"})
    write_json_atomic(path, {"b": 1})
    assert json.loads(path.read_text(encoding="utf-8")) == {"b": 1}
    assert [entry.name for entry in path.parent.iterdir()] == ["metrics.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path):
    path = tmp_path / "report.md"
    write_text_atomic(path, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(path, "new \ud800")  # fails while writing the temporary file
    assert path.read_text() == "old\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["report.md"]


def test_an_atomic_folder_replaces_the_old_one_whole_or_not_at_all(tmp_path: Path):
    merged = tmp_path / "merged"
    with atomic_folder(merged) as staging:
        (staging / "config.json").write_text("{}")
    with pytest.raises(KeyboardInterrupt), atomic_folder(merged) as staging:
        (staging / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt  # killed mid-save
    assert sorted(entry.name for entry in merged.iterdir()) == ["config.json"]
    with atomic_folder(merged) as staging:
        (staging / "model.safetensors").write_bytes(b"whole")
    assert sorted(entry.name for entry in merged.iterdir()) == ["model.safetensors"]
    assert [entry.name for entry in tmp_path.iterdir()] == ["merged"]  # no staging folder left


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "No space left"), (errno.EROFS, "Read-only"),
                                             (errno.EACCES, "Permission denied"), (errno.EFBIG, "too large")])
def test_a_refused_write_is_one_line_naming_the_file(code: int, words: str):
    error = OSError(code, os.strerror(code), "/runs/x/metrics.json")
    message = user_error_message(error)
    assert message == write_error_message(error)
    assert message.startswith("cannot write /runs/x/metrics.json: ") and words in message and "\n" not in message


def test_other_errors_are_left_to_their_traceback():
    assert user_error_message(OSError(errno.EIO, "Input/output error")) is None
    assert user_error_message(RuntimeError("a bug")) is None
    assert user_error_message(LlasmolError("bad input")) == "bad input"


def _limit_file_size_to(size: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))  # writes past it fail with EFBIG
    return limit


def test_the_cli_reports_a_refused_write_in_one_line_and_writes_nothing(tmp_path: Path):
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    (predictions / "property_prediction-hiv.jsonl").write_text(
        json.dumps({"input": "C", "gold": "No", "pred": ["No"]}) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "llasmol.cli", "evaluate", str(predictions), "--workers", "1"],
        capture_output=True, text=True, preexec_fn=_limit_file_size_to(64), timeout=300,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]  # besides the progress bar
    assert errors == [f"error: cannot write {predictions / 'metrics.json'}: File too large"]
    assert [entry.name for entry in predictions.iterdir()] == ["property_prediction-hiv.jsonl"]
