"""Fast unit tests of generation: typed answers, query checks, batch planning, resumable output."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from llasmol.data.raw import DataFormatError
from llasmol.generate.answers import first_valid_index, parse_answer, verified_order
from llasmol.generate.output import append_lines, recover_lines
from llasmol.generate.queries import (
    InvalidInputError,
    InvalidInputWarning,
    canonicalize_query,
    prepare_task_input,
)
from llasmol.generate.runner import plan_window
from llasmol.generate.settings import DecodingOptionError, DecodingOptions, describe_settings, resolve_settings
from llasmol.tasks import GenerationSettings, get_task


def test_parse_answer_types_each_answer_type() -> None:
    assert parse_answer("OCC", get_task("FS")) == "CCO"
    assert parse_answer("CCO;[Na+]", get_task("RS")) == "CCO.[Na+]"
    assert parse_answer("C1CC", get_task("FS")) is None
    assert parse_answer("C2H6O", get_task("NC-S2F")) == "C2H6O"
    assert parse_answer("C2H6O(", get_task("NC-S2F")) is None
    assert parse_answer(" -1.25 ", get_task("PP-ESOL")) == -1.25
    assert parse_answer("nan", get_task("PP-Lipo")) is None
    assert parse_answer("Yes", get_task("PP-BBBP")) is True
    assert parse_answer("no", get_task("PP-HIV")) is False
    assert parse_answer("maybe", get_task("PP-HIV")) is None
    assert parse_answer("ethanol", get_task("NC-S2I")) == "ethanol"
    assert parse_answer("  ", get_task("MC")) is None


def test_verified_order_moves_first_valid_answer_to_top() -> None:
    task = get_task("FS")
    answers = ["C1CC", "", "OCC", "CCN"]
    assert first_valid_index(answers, task) == 2
    assert verified_order(answers, task) == ["OCC", "C1CC", "", "CCN"]
    assert verified_order(["C1CC", "X"], task) == ["C1CC", "X"]  # nothing valid: unchanged
    assert verified_order(None, task) is None


def test_canonicalize_query_rewrites_first_smiles_span() -> None:
    query = "What is <SMILES>OCC</SMILES>? And <SMILES> OCC </SMILES>."
    assert canonicalize_query(query) == "What is <SMILES> CCO </SMILES>? And <SMILES> OCC </SMILES>."
    assert canonicalize_query("no molecule here") == "no molecule here"
    # SMolInstruct writes a drug and its salt as ';'-separated groups: each is canonicalized, the ';' kept
    assert canonicalize_query("Is <SMILES> OCC;Cl </SMILES> toxic?") == "Is <SMILES> CCO;Cl </SMILES> toxic?"


def test_canonicalize_query_names_invalid_smiles() -> None:
    with pytest.raises(InvalidInputError, match="C1CC"):
        canonicalize_query("Describe <SMILES> C1CC </SMILES>.")
    assert isinstance(InvalidInputError("x"), ValueError)
    with pytest.warns(InvalidInputWarning, match="C1CC"):
        assert canonicalize_query("Describe <SMILES> C1CC </SMILES>.", on_invalid="warn") == (
            "Describe <SMILES> C1CC </SMILES>.")
    with pytest.raises(InvalidInputError, match="never closes"):
        canonicalize_query("Describe <SMILES> CCO")


def test_prepare_task_input_canonicalizes_and_strips_tags() -> None:
    assert prepare_task_input(get_task("NC-S2F"), "<SMILES> OCC </SMILES>") == "CCO"
    assert prepare_task_input(get_task("NC-I2S"), " ethanol ") == "ethanol"
    # a real BBBP input: a drug and its salt, ';'-separated as SMolInstruct writes them
    salt = "CCCCOC1=CC=C(C(=O)CCN2CCCCC2)C=C1;Cl"
    assert prepare_task_input(get_task("PP-BBBP"), salt) == salt
    with pytest.raises(InvalidInputError):
        prepare_task_input(get_task("PP-BBBP"), "CCO;")
    with pytest.raises(InvalidInputError, match="Xx"):
        prepare_task_input(get_task("PP-BBBP"), "Xx")
    with pytest.raises(InvalidInputError, match="empty"):
        prepare_task_input(get_task("MG"), "  ")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert prepare_task_input(get_task("PP-BBBP"), "Xx", on_invalid="warn") == "Xx"


def test_plan_window_skips_long_prompts_and_sorts_by_length() -> None:
    lengths = [5, 700, 3, 9, 3, 1, 600, 4]
    skipped, batches = plan_window(lengths, 0, 8, batch_size=2, max_prompt_tokens=512)
    assert skipped == [1, 6]
    assert batches == [[5, 2], [4, 7], [0, 3]]
    skipped, batches = plan_window(lengths, 4, 8, batch_size=4, max_prompt_tokens=512)
    assert skipped == [6] and batches == [[5, 4, 7]]


def test_each_decoding_option_given_is_the_value_used() -> None:
    fs = get_task("FS")  # the paper: 8 beams, 5 returned, 1024 new tokens
    assert resolve_settings(fs) == resolve_settings(fs, DecodingOptions()) == fs.generation
    assert resolve_settings(fs, DecodingOptions(max_new_tokens=32)) == GenerationSettings(8, 5, 32)
    assert resolve_settings(get_task("PP-BBBP"), DecodingOptions(max_new_tokens=64)).max_new_tokens == 64
    assert resolve_settings(fs, DecodingOptions(num_beams=1)) == GenerationSettings(1, 1, 1024)
    assert resolve_settings(fs, DecodingOptions(num_beams=3)) == GenerationSettings(3, 3, 1024)
    assert resolve_settings(fs, DecodingOptions(num_beams=16, num_return_sequences=10)) == GenerationSettings(
        16, 10, 1024)
    assert resolve_settings(fs, DecodingOptions(no_repeat_ngram_size=3)) == GenerationSettings(8, 5, 1024, 3)
    shared = DecodingOptions(num_beams=1, max_new_tokens=40)
    assert DecodingOptions(max_new_tokens=160).over(shared) == DecodingOptions(num_beams=1, max_new_tokens=160)
    assert describe_settings(GenerationSettings(1, 1, 200, 3)) == (
        "1 beam, 1 returned, ≤200 new tokens, no repeated 3-gram")


@pytest.mark.parametrize("values, message", [
    ({"num_beams": 0}, "num_beams must be a positive integer"),
    ({"max_new_tokens": True}, "max_new_tokens must be a positive integer"),
    ({"num_beams": 2, "num_return_sequences": 3}, "cannot exceed num_beams"),
    ({"beams": 2}, "unknown decoding option.*num_beams, num_return_sequences, max_new_tokens, no_repeat_ngram_size"),
])
def test_bad_decoding_options_say_what_is_wrong(values: dict, message: str) -> None:
    with pytest.raises(DecodingOptionError, match=message):
        DecodingOptions.from_mapping(values)


def test_recover_lines_truncates_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        append_lines(handle, [{"a": 1}, {"a": 2}])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"a": 3, "b"')  # a run killed mid-write
    assert recover_lines(path) == [{"a": 1}, {"a": 2}]
    assert path.read_text(encoding="utf-8") == '{"a": 1}\n{"a": 2}\n'
    assert recover_lines(tmp_path / "absent.jsonl") == []


def test_recover_lines_reports_a_corrupt_complete_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"a": 1}) + "\nnot json\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"t\.jsonl:2"):
        recover_lines(path)
