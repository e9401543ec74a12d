"""Pieces of the server without a model: SMILES checks, drawings, shipped examples, settings, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llasmol.cli import app
from llasmol.data.raw import iter_raw_records
from llasmol.serve import ServeSettings
from llasmol.serve.depict import smiles_to_svg
from llasmol.serve.examples import load_examples, select_examples, write_examples
from llasmol.serve.server import model_label
from llasmol.serve.validation import InvalidSmilesError, check_smiles, explain_invalid_smiles, first_smiles_span
from llasmol.tasks import TASK_NAMES, TASKS, Tag


def test_check_smiles_canonicalizes_and_accepts_semicolon_parts() -> None:
    assert check_smiles(" OCC ") == "CCO"
    assert check_smiles("CCO;Cl") == check_smiles("CCO.Cl")


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [("", "empty"), ("CC)(", "parentheses"), ("C[NH3", "brackets"), ("C1CC2CC1", "ring bond(s) 2"),
     ("CC..O", "empty part"), ("FC(F)(F)(F)F", "valence"), ("n1cccc1C", "kekulize"), ("[Qq]C", "[Qq]")],
)
def test_invalid_smiles_come_with_a_reason(smiles: str, reason: str) -> None:
    with pytest.raises(InvalidSmilesError) as caught:
        check_smiles(smiles)
    assert reason.lower() in caught.value.reason.lower()
    assert caught.value.smiles == smiles.strip()


def test_ring_bond_explanations_skip_digits_inside_bracket_atoms() -> None:
    assert explain_invalid_smiles("[13CH3]C1CC") == "unclosed ring bond(s) 1 in '[13CH3]C1CC'"
    assert explain_invalid_smiles("C%12CC") == "unclosed ring bond(s) %12 in 'C%12CC'"


def test_first_smiles_span_finds_the_first_tagged_molecule() -> None:
    assert first_smiles_span("Name <SMILES> CCO </SMILES> and <SMILES> C </SMILES>") == "CCO"
    assert first_smiles_span("no molecule here") is None


def test_smiles_to_svg_draws_every_part() -> None:
    svg = smiles_to_svg("CCO.[Na+].[Cl-]")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert sorted(set(re.findall(r"class='atom-(\d+)", svg))) == ["2", "3", "4"]  # labels of O, Na+, Cl-
    with pytest.raises(InvalidSmilesError):
        smiles_to_svg("C1CC")


def test_shipped_examples_are_real_validation_samples(smolinstruct_val: Path) -> None:
    examples = load_examples()["tasks"]
    assert list(examples) == list(TASK_NAMES)
    for name, entry in examples.items():
        records = {(record.input, record.target, record.output)
                   for record in iter_raw_records(smolinstruct_val / f"{name}.jsonl")}
        assert len(entry["examples"]) >= 3
        for example in entry["examples"]:
            assert (example["input"], example["target"], example["reference"]) in records, name
            if TASKS[name].input_tag is Tag.SMILES:
                check_smiles(example["input"])


def test_examples_rebuild_to_the_shipped_file(smolinstruct_val: Path, tmp_path: Path) -> None:
    write_examples(select_examples(smolinstruct_val), tmp_path / "examples.json")
    assert json.loads((tmp_path / "examples.json").read_text(encoding="utf-8")) == load_examples()


def test_settings_reject_impossible_limits() -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        ServeSettings(max_batch_size=0)
    with pytest.raises(ValueError, match="timeout_s"):
        ServeSettings(timeout_s=0)


def test_model_label_names_base_and_adapter() -> None:
    assert model_label(None, None) == "smollm2"
    assert model_label("/models/mistral-7b", "/runs/demo/adapter") == "mistral-7b+adapter"


def test_cli_serve_help_and_bad_settings_fail_before_loading() -> None:
    runner = CliRunner()
    help_text = runner.invoke(app, ["serve", "--help"]).output
    assert "--adapter" in help_text and "--max-batch-size" in help_text and "--timeout" in help_text
    result = runner.invoke(app, ["serve", "--max-batch-size", "0"])
    assert result.exit_code == 1
    assert "max_batch_size" in result.output
