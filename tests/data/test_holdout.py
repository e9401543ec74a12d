"""Held-out slices of SMolInstruct's own samples (``llasmol.data.holdout``), on the real release files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llasmol.chem import formula_of_smiles
from llasmol.data.holdout import HOLDOUT_REPORT, hold_out_smolinstruct
from llasmol.data.raw import DataFormatError
from llasmol.tasks import TASK_NAMES

NAME_TASKS = ("name_conversion-i2f", "name_conversion-i2s", "name_conversion-s2f", "name_conversion-s2i")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _molecules(task: str, records: list[dict], names: dict[str, str]) -> set[str]:
    """The molecules a task's records are about, as the SMILES written in the release."""
    if task == "forward_synthesis":
        return {record["output"] for record in records}
    if task == "retrosynthesis":
        return {record["input"] for record in records}
    if task in ("molecule_generation", "name_conversion-i2s"):
        return {record["output"] for record in records}
    if task == "name_conversion-i2f":
        return {names[record["input"]] for record in records if record["input"] in names}
    if task == "molecule_captioning" or task.startswith("property_prediction") or task in NAME_TASKS:
        return {record["input"].replace(";", ".") for record in records}
    raise AssertionError(task)


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> tuple[Path, object]:
    source = shared_data / "smolinstruct"
    output = tmp_path_factory.mktemp("holdout") / "data"
    report = hold_out_smolinstruct([source / "val", source / "train_partial"], output, per_task=20, seed=7,
                                   derive_formulas=300, derive_descriptions=True)
    return output, report


def test_every_task_holds_out_its_share_of_validation_lines_verbatim(held_out, smolinstruct_val: Path):
    output, report = held_out
    for task in TASK_NAMES:
        test = _lines(output / "raw" / "test" / f"{task}.jsonl")
        assert len(test) == report.held_out[task] == 20
        source = _lines(smolinstruct_val / f"{task}.jsonl")
        for record in test:  # a validation line as it is, only its split renamed
            assert record["split"] == "test"
            assert {**record, "split": "dev"} in source or {**record, "split": "validation"} in source
    saved = json.loads((output / HOLDOUT_REPORT).read_text())
    assert saved["held_out"] == report.held_out and saved["per_task"] == 20


def test_no_training_sample_of_any_task_is_about_a_held_out_molecule(held_out):
    output, report = held_out
    records = {split: {task: _lines(output / "raw" / split / f"{task}.jsonl") for task in TASK_NAMES}
               for split in ("train", "test")}
    names = {}
    for split in records.values():
        names |= {record["input"]: record["output"] for record in split["name_conversion-i2s"]}
        names |= {record["output"]: record["input"] for record in split["name_conversion-s2i"]}
    held = set().union(*(_molecules(task, items, names) for task, items in records["test"].items()))
    for task, items in records["train"].items():
        assert not _molecules(task, items, names) & held, task
    # tasks about the same molecules hold out the same ones
    assert _molecules("name_conversion-s2f", records["test"]["name_conversion-s2f"], names) \
        == _molecules("name_conversion-s2i", records["test"]["name_conversion-s2i"], names)
    assert sum(report.dropped_shared_molecule.values()) > 0  # lines of other tasks did share them


def test_derived_formulas_are_rdkit_formulas_of_training_molecules(held_out):
    output, report = held_out
    train = _lines(output / "raw" / "train" / "name_conversion-s2f.jsonl")
    derived = train[len(train) - report.derived["name_conversion-s2f"]:]
    assert len(derived) == 300
    for record in derived:
        assert record["output"] == formula_of_smiles(record["input"].replace(";", "."))
    held = {record["input"] for record in _lines(output / "raw" / "test" / "name_conversion-s2f.jsonl")}
    assert not {record["input"] for record in derived} & held
    assert len({record["input"] for record in train}) == len(train)  # no molecule twice


def test_a_second_run_replaces_the_folder_whole(held_out, shared_data: Path, tmp_path: Path):
    source = shared_data / "smolinstruct" / "val"
    output = tmp_path / "data"
    hold_out_smolinstruct([source], output, per_task=5, tasks=["PP-ESOL"])
    (output / "stray.txt").write_text("left by hand")
    report = hold_out_smolinstruct([source], output, per_task=3, tasks=["property_prediction-esol"])
    assert report.held_out == {"property_prediction-esol": 3}
    assert not (output / "stray.txt").exists()
    assert [path.name for path in tmp_path.iterdir()] == ["data"]  # no staging folder left beside it


def test_bad_lines_name_the_file_and_line(tmp_path: Path):
    folder = tmp_path / "val"
    folder.mkdir()
    (folder / "property_prediction-esol.jsonl").write_text('{"input": "CCO", "output": "1.0", "split": "dev"}\n'
                                                          '{"input": "CCC", "split": "dev"}\n')
    with pytest.raises(DataFormatError, match=r"property_prediction-esol.jsonl.*2.*output"):
        hold_out_smolinstruct([folder], tmp_path / "out", per_task=1)
    assert not (tmp_path / "out").exists()
    with pytest.raises(FileNotFoundError, match="no such folder"):
        hold_out_smolinstruct([tmp_path / "missing"], tmp_path / "out")
