"""Building SMolInstruct-style data from the real sources: QC, splits, leakage control, layout, failure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llasmol.chem import canonicalize_smiles, molecule_identity
from llasmol.data import DataFormatError, iter_smolinstruct, load_smolinstruct
from llasmol.data.build import (
    BuildReport,
    Tally,
    build_dataset,
    check_names,
    relabel_by_atom_maps,
)
from llasmol.data.build.config import BuildConfig, build_config_from_dict, load_build_config
from llasmol.data.build.qc import QCOptions, clean_reaction
from llasmol.data.build.records import ReactionRecord
from llasmol.data.build.sources import SIDER_CLASSES
from llasmol.tasks import AnswerType, Tag, get_task

REPO_ROOT = Path(__file__).resolve().parents[2]
SPLITS = ("train", "validation", "test")


def _config(sources: list[dict[str, Any]], **options: Any) -> BuildConfig:
    return build_config_from_dict({"seed": 7, "sources": sources, **options}, base=Path("/"))


def _real_sources(data: Path, limit: int) -> list[dict[str, Any]]:
    """Every kind of real source, capped to ``limit`` rows each."""
    reactions = ["forward_synthesis", "retrosynthesis"]
    chebi = ["molecule_captioning", "molecule_generation"]
    names = ["name_conversion-i2f", "name_conversion-i2s", "name_conversion-s2f", "name_conversion-s2i"]
    sources = [
        {"name": "uspto-val", "reader": "reaction_smiles", "path": data / "uspto50k/raw_val.csv", "tasks": reactions},
        {"name": "uspto-test", "reader": "reaction_smiles", "path": data / "uspto50k/raw_test.csv",
         "tasks": reactions},
        {"name": "uspto-train", "reader": "reaction_table", "path": data / "uspto50k/processed.csv",
         "tasks": reactions, "split": "train"},
        {"name": "chebi-val", "reader": "chebi20", "path": data / "chebi20/validation.txt", "tasks": chebi},
        {"name": "chebi-test", "reader": "chebi20", "path": data / "chebi20/test.txt", "tasks": chebi},
        {"name": "names", "reader": "smolinstruct_raw", "path": data / "smolinstruct/val/name_conversion-i2s.jsonl",
         "tasks": names, "split": "auto"},
    ]
    for folder, file, preset, task in [
        ("moleculenet_esol", "delaney-processed.csv", "esol", "property_prediction-esol"),
        ("moleculenet_lipophilicity", "Lipophilicity.csv", "lipophilicity", "property_prediction-lipo"),
        ("moleculenet_bbbp", "BBBP.csv", "bbbp", "property_prediction-bbbp"),
        ("moleculenet_clintox", "clintox.csv", "clintox", "property_prediction-clintox"),
        ("moleculenet_hiv", "HIV.csv", "hiv", "property_prediction-hiv"),
        ("moleculenet_sider", "sider.csv", "sider", "property_prediction-sider"),
    ]:
        sources.append({"name": preset, "reader": "moleculenet", "path": data / folder / file, "tasks": [task],
                        "options": {"preset": preset}})
    for source in sources:
        source["path"] = str(source["path"])
        source["limit"] = limit
    return sources


@pytest.fixture(scope="module")
def real_build(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport]:
    out = tmp_path_factory.mktemp("build") / "smolinstruct"
    report = build_dataset(_config(_real_sources(shared_data, 100)), out, workers=2)
    return out, report


_ROWS: dict[tuple[Path, str], list[dict[str, Any]]] = {}


def _rows(path: Path, split: str) -> list[dict[str, Any]]:
    """Rows of a split read back through the loader (read once per build and split)."""
    if (path, split) not in _ROWS:
        _ROWS[(path, split)] = list(iter_smolinstruct(path, split))
    return _ROWS[(path, split)]


@pytest.mark.slow
def test_build_reads_back_through_the_loader(real_build: tuple[Path, BuildReport]) -> None:
    out, report = real_build
    for split in SPLITS:
        rows = _rows(out, split)
        by_task: dict[str, int] = {}
        for row in rows:
            by_task[row["task"]] = by_task.get(row["task"], 0) + 1
        expected = {task: report.samples(task, split) for task in report.stats if report.samples(task, split)}
        assert by_task == expected
    assert report.samples("property_prediction-sider", "train") > 0
    sider = next(row for row in _rows(out, "train") if row["task"] == "property_prediction-sider")
    assert sider["target"] in SIDER_CLASSES and sider["target"] in sider["input"]
    dataset = load_smolinstruct(out, splits="validation")
    assert dataset["validation"].num_rows == sum(report.samples(task, "validation") for task in report.stats)
    card = (out / "README.md").read_text()
    assert "## Statistics" in card and "## Leakage control" in card
    assert json.loads((out / "qc_report.json").read_text())["total_samples"] == report.total_samples


@pytest.mark.slow
def test_no_evaluation_answer_appears_in_training(real_build: tuple[Path, BuildReport]) -> None:
    out, _ = real_build
    evaluation = {canonicalize_smiles(row["raw_output"]) for split in ("validation", "test")
                  for row in _rows(out, split) if get_task(row["task"]).answer_type is AnswerType.SMILES}
    training = [row for row in _rows(out, "train") if get_task(row["task"]).answer_type is AnswerType.SMILES]
    assert training and evaluation
    leaks = [row for row in training if canonicalize_smiles(row["raw_output"]) in evaluation]
    assert leaks == []


@pytest.mark.slow
def test_splits_are_shared_and_seeded(real_build: tuple[Path, BuildReport]) -> None:
    out, report = real_build
    split_of_name: dict[str, set[str]] = {}
    for split in SPLITS:
        for row in _rows(out, split):
            if row["task"] in ("name_conversion-i2s", "name_conversion-i2f"):
                split_of_name.setdefault(row["raw_input"], set()).add(split)
    assert split_of_name and all(len(splits) == 1 for splits in split_of_name.values())
    hiv = [report.samples("property_prediction-hiv", split) for split in SPLITS]
    assert hiv[0] > hiv[1] > 0 and hiv[0] > hiv[2] > 0
    assert report.samples("molecule_captioning", "train") == 0  # ChEBI-20 keeps its own validation/test split
    assert report.samples("molecule_captioning", "test") == report.samples("molecule_generation", "test")


@pytest.mark.slow
def test_output_is_canonical_and_selfies_align(real_build: tuple[Path, BuildReport]) -> None:
    out, _ = real_build
    checked = 0
    for path in sorted((out / "raw").glob("*/*.jsonl")):
        selfies_path = out / "raw_selfies" / path.parent.name / path.name
        task = get_task(path.stem)
        lines, selfies_lines = path.read_text().splitlines(), selfies_path.read_text().splitlines()
        assert len(lines) == len(selfies_lines)
        for line in lines:
            item = json.loads(line)
            for tag, value in ((task.input_tag, item["input"]), (task.output_tag, item["output"])):
                if tag is Tag.SMILES:
                    assert canonicalize_smiles(value) == value
                    checked += 1
    assert checked > 500


def _official_answers(path: Path) -> dict[str, set[tuple[str, ...] | None]]:
    """Input -> identities of the official answers (a description or name may have several); SMolInstruct
    separates some answers' parts with ';', read as '.'."""
    answers: dict[str, set[tuple[str, ...] | None]] = {}
    for item in map(json.loads, path.read_text().splitlines()):
        answers.setdefault(item["input"], set()).add(molecule_identity(item["output"].replace(";", ".")))
    return answers


@pytest.mark.slow
def test_answers_denote_the_source_molecules(shared_data: Path, tmp_path: Path) -> None:
    val = shared_data / "smolinstruct" / "val"
    sources = [{"name": task, "reader": "smolinstruct_raw", "path": str(val / f"{task}.jsonl"), "tasks": [task],
                "limit": 120} for task in ("molecule_generation", "name_conversion-i2s", "retrosynthesis")]
    report = build_dataset(_config(sources, opsin_check=False, selfies=False), tmp_path / "out", workers=1)
    compared = 0
    for task in ("molecule_generation", "name_conversion-i2s"):
        official = _official_answers(val / f"{task}.jsonl")
        for line in (tmp_path / "out/raw/dev" / f"{task}.jsonl").read_text().splitlines():
            item = json.loads(line)
            assert molecule_identity(item["output"]) in official[item["input"]]
            compared += 1
    official_reactants = set().union(*_official_answers(val / "retrosynthesis.jsonl").values())
    ours = [json.loads(line)["output"] for line in (tmp_path / "out/raw/dev/retrosynthesis.jsonl").read_text()
            .splitlines()]
    matched = sum(molecule_identity(answer) in official_reactants for answer in ours)
    assert compared > 200 and len(ours) > 100 and matched >= 0.95 * len(ours)
    assert report.samples("retrosynthesis", "validation") == len(ours)


def test_atom_maps_relabel_reactants_and_reagents() -> None:
    tally = Tally()
    reactants, reagents = relabel_by_atom_maps(
        ["[CH3:1][C:2](=[O:3])Cl", "[Na+].[OH-]", "ClCCl"], ["[NH2:4][CH3:5]"],
        ["[CH3:1][C:2](=[O:3])[NH:4][CH3:5]"], tally,
    )
    assert reactants == ["[CH3:1][C:2](=[O:3])Cl", "[NH2:4][CH3:5]"]
    assert reagents == ["[Na+].[OH-]", "ClCCl"]
    assert tally == {"relabelled_reactant_to_reagent": 2, "relabelled_reagent_to_reactant": 1}
    record = ReactionRecord("[CH3:1][C:2](=[O:3])Cl.ClCCl", "[NH2:4][CH3:5].CCN(CC)CC",
                            "[CH3:1][C:2](=[O:3])[NH:4][CH3:5]", line=2)
    unit = clean_reaction(record, QCOptions(selfies=False), Tally())
    assert unit is not None
    assert unit.reactants == tuple(sorted(["CC(=O)Cl", "CN"]))
    assert set(unit.reagents) == {"ClCCl", "CCN(CC)CC"} and unit.product == "CNC(C)=O"
    dropped = Tally()
    assert clean_reaction(ReactionRecord("CCO.CC(=O)O", "", "CCO", line=3), QCOptions(selfies=False), dropped) is None
    assert dropped["product_in_reactants"] == 1


def test_bad_rows_are_dropped_and_counted(tmp_path: Path) -> None:
    table = tmp_path / "esol.csv"
    table.write_text("smiles,measured log solubility in mols per litre\nCCO,0.5\nC1CC,1.0\nCCN,not-a-number\n"
                     "CCC,1,extra\nc1ccccc1,-2.1\n")
    sources = [{"name": "esol", "reader": "moleculenet", "path": str(table), "tasks": ["PP-ESOL"],
                "options": {"preset": "esol"}, "split": "train"}]
    report = build_dataset(_config(sources, selfies=False), tmp_path / "out", workers=1)
    assert report.source_qc["esol"] == {"bad_label": 1, "bad_row": 1, "records_kept": 2, "records_read": 3,
                                        "unparsable_molecule": 1}
    assert report.samples("property_prediction-esol", "train") == 2


@pytest.mark.parametrize(("name", "text", "reader", "where"), [
    ("bbbp.csv", "num,name,p_np\n1,x,1\n", "moleculenet", ":1: field 'smiles'"),
    ("raw.jsonl", '{"input": "CCO", "output": "Yes", "task": "property_prediction-bbbp"}\n{broken\n',
     "smolinstruct_raw", ":2: not valid JSON"),
])
def test_malformed_file_names_file_and_line(tmp_path: Path, name: str, text: str, reader: str, where: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    sources = [{"reader": reader, "path": str(path), "tasks": ["PP-BBBP"], "options": {"preset": "bbbp"}}]
    with pytest.raises(DataFormatError) as caught:
        build_dataset(_config(sources, selfies=False), tmp_path / "out", workers=1)
    assert str(path) + where in str(caught.value)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))


def _small_sources(data: Path) -> list[dict[str, Any]]:
    return [source for source in _real_sources(data, 40) if source["name"] in ("uspto-val", "uspto-train", "sider",
                                                                              "chebi-test", "esol")]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.mark.slow
def test_same_config_and_seed_give_identical_bytes(shared_data: Path, tmp_path: Path) -> None:
    config = _config(_small_sources(shared_data))
    build_dataset(config, tmp_path / "a", workers=2)
    build_dataset(config, tmp_path / "b", workers=1)
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert first == second and "sample/instruction_tuning/train/property_prediction-sider.json" in first
    build_dataset(config, tmp_path / "za", zip_output=True, workers=1)
    build_dataset(config, tmp_path / "zb", zip_output=True, workers=1)
    assert (tmp_path / "za/data.zip").read_bytes() == (tmp_path / "zb/data.zip").read_bytes()
    rows = list(iter_smolinstruct(tmp_path / "za/data.zip", "test"))
    assert len(rows) == sum(1 for _ in iter_smolinstruct(tmp_path / "a", "test")) > 0
    other_seed = build_config_from_dict({"seed": 8, "sources": _small_sources(shared_data)}, base=Path("/"))
    build_dataset(other_seed, tmp_path / "c", workers=1)
    assert _tree(tmp_path / "c") != first


def test_interrupted_build_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "esol.csv"
    table.write_text("smiles,measured log solubility in mols per litre\nCCO,0.5\nCCN,1.0\n")
    config = _config([{"reader": "moleculenet", "path": str(table), "tasks": ["PP-ESOL"],
                       "options": {"preset": "esol"}}], selfies=False)
    out = tmp_path / "out"
    build_dataset(config, out, workers=1)
    before = _tree(out)

    def interrupt(self: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("llasmol.data.build.writer.LayoutWriter.finish", interrupt)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(config, out, workers=1, overwrite=True)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(config, tmp_path / "fresh", workers=1)
    assert _tree(out) == before
    assert not (tmp_path / "fresh").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["esol.csv", "out"]
    with pytest.raises(FileExistsError):
        build_dataset(config, out, workers=1)


def test_opsin_checks_real_names(smolinstruct_val: Path) -> None:
    items = [json.loads(line) for line in
             (smolinstruct_val / "name_conversion-i2s.jsonl").read_text().splitlines()[:6]]
    pairs = [(item["input"], item["output"]) for item in items]
    pairs.append((items[0]["input"], items[1]["output"]))  # a name paired with another molecule
    pairs.append(("not a chemical name at all", "CCO"))
    pairs.append(("ethanol;hydrochloride", "CCO.Cl"))  # PubChem's multi-component names
    reasons = check_names(pairs)
    assert reasons[-3:] == ["opsin_mismatch", "opsin_unparsable", None]
    assert reasons[:6].count(None) >= 5


def test_pubchem_name_table_checks_formula_and_name(tmp_path: Path) -> None:
    table = tmp_path / "names.csv"
    table.write_text("CID,IUPAC name,SMILES,formula\n"
                     "702,ethanol,CCO,C2H6O\n"
                     "887,methanol,CO,C2H6O\n"  # wrong formula
                     "6344,propan-2-ol,CCO,C2H6O\n"  # name of another molecule
                     "5,ethanamine;hydrochloride,CCN.Cl,C2H8ClN\n")
    tasks = ["name_conversion-i2f", "name_conversion-s2i"]
    report = build_dataset(_config([{"name": "pubchem", "reader": "pubchem_names", "path": str(table),
                                     "tasks": tasks, "split": "test"}]), tmp_path / "out", workers=1)
    assert report.source_qc["pubchem"]["formula_mismatch"] == 1
    assert report.source_qc["pubchem"]["opsin_mismatch"] == 1
    rows = list(iter_smolinstruct(tmp_path / "out", "test", tasks=["name_conversion-i2f"]))
    assert sorted(row["raw_output"] for row in rows) == ["C2H6O", "C2H8ClN"]


def test_sider_classes_are_those_of_smolinstruct(smolinstruct_val: Path) -> None:
    first = json.loads((smolinstruct_val / "property_prediction-sider.jsonl").read_text().splitlines()[0])
    assert list(first["output"]) == list(SIDER_CLASSES)


def test_example_config_resolves_shared_data(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLASMOL_SHARED_DATA", raising=False)
    config = load_build_config(REPO_ROOT / "configs/data/shared_sources.yaml")
    assert all(source.path.is_file() for source in config.sources)
    assert set(config.tasks) == {task for source in config.sources for task in source.tasks}
    assert len(config.tasks) == 14
    monkeypatch.setenv("LLASMOL_SHARED_DATA", "/elsewhere")
    moved = load_build_config(REPO_ROOT / "configs/data/shared_sources.yaml")
    assert str(moved.sources[0].path).startswith("/elsewhere/")


def test_cli_build_and_its_errors(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from llasmol.cli import app

    table = tmp_path / "clintox.csv"
    table.write_text("smiles,FDA_APPROVED,CT_TOX\nCCO,1,0\nCCN,1,1\nc1ccccc1O,1,0\n")
    config = tmp_path / "build.yaml"
    config.write_text("seed: 1\nselfies: false\nsources:\n  - reader: moleculenet\n    path: clintox.csv\n"
                      "    tasks: [PP-ClinTox]\n    options: {preset: clintox}\n")
    runner = CliRunner()
    result = runner.invoke(app, ["data", "build", str(config), "--out", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "3 samples" in result.output
    answers = sorted(row["raw_output"] for split in SPLITS for row in iter_smolinstruct(tmp_path / "out", split))
    assert answers == ["No", "No", "Yes"]
    result = runner.invoke(app, ["data", "build", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "already exists" in " ".join(result.output.split())
    config.write_text(config.read_text().replace("clintox.csv", "missing.csv"))
    result = runner.invoke(app, ["data", "build", str(config), "--out", str(tmp_path / "other")])
    assert result.exit_code == 1 and "missing.csv" in "".join(result.output.split())


def test_duplicates_keep_the_evaluation_copy(tmp_path: Path) -> None:
    header = "smiles,measured log solubility in mols per litre\n"
    (tmp_path / "first.csv").write_text(header + "CCO,0.5\nCCN,1.0\n")
    (tmp_path / "second.csv").write_text(header + "OCC,0.5\nCCCl,-1.0\n")  # OCC is CCO written differently
    sources = [{"name": name, "reader": "moleculenet", "path": str(tmp_path / f"{name}.csv"), "tasks": ["PP-ESOL"],
                "options": {"preset": "esol"}, "split": split} for name, split in (("first", "train"),
                                                                                  ("second", "test"))]
    report = build_dataset(_config(sources, selfies=False), tmp_path / "out", workers=1)
    assert report.task_qc["property_prediction-esol"] == {"duplicate": 1}
    train = [row["raw_input"] for row in iter_smolinstruct(tmp_path / "out", "train")]
    test = sorted(row["raw_input"] for row in iter_smolinstruct(tmp_path / "out", "test"))
    assert train == ["CCN"]
    assert test == ["CCCl", "CCO"]


def test_auto_train_source_adds_training_data_only(tmp_path: Path) -> None:
    molecules = [(length, group) for group in ("", "O", "Cl", "N") for length in range(1, 9)]
    main = tmp_path / "main.csv"
    main.write_text("iupac,smiles\n" + "".join(f"name {index},{'C' * length}{group}\n"
                                                for index, (length, group) in enumerate(molecules)))
    extra = tmp_path / "extra.csv"  # the same molecules under other names, written differently, and one more
    extra.write_text("iupac,smiles\n" + "".join(f"other name {index},{group}{'C' * length}\n"
                                                for index, (length, group) in enumerate([*molecules, (10, "Br")])))
    source = {"reader": "pubchem_names", "tasks": ["NC-S2I"], "split": "auto"}
    alone = [{**source, "name": "main", "path": str(main)}]
    both = [*alone, {**source, "name": "extra", "path": str(extra), "split": "auto_train",
                     "description": "generated names"}]
    report_alone = build_dataset(_config(alone, selfies=False, opsin_check=False), tmp_path / "alone", workers=1)
    report = build_dataset(_config(both, selfies=False, opsin_check=False), tmp_path / "both", workers=1)

    def inputs(root: Path, split: str) -> set[str]:
        return {canonicalize_smiles(row["raw_input"]) for row in iter_smolinstruct(root, split)}

    held_out = inputs(tmp_path / "both", "validation") | inputs(tmp_path / "both", "test")
    assert held_out and held_out == inputs(tmp_path / "alone", "validation") | inputs(tmp_path / "alone", "test")
    assert not held_out & inputs(tmp_path / "both", "train")  # the extra names of held-out molecules are dropped
    assert report.source_qc["extra"]["held_out_dropped"] == len(held_out)
    extra_rows = report.samples("name_conversion-s2i", "train") - report_alone.samples("name_conversion-s2i", "train")
    assert extra_rows == len(molecules) + 1 - len(held_out)
    assert "- **extra**: generated names" in (tmp_path / "both" / "README.md").read_text()
