"""Reading SMolInstruct: raw split folders, the official layout (folder and zip), templates and the data CLI."""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llasmol.chem import molecule_identity
from llasmol.cli import app
from llasmol.data import (
    FIELDS,
    DataFormatError,
    DownloadError,
    dataset_info,
    download_smolinstruct,
    iter_smolinstruct,
    layout,
    load_smolinstruct,
)
from llasmol.data.raw import iter_raw_records
from llasmol.data.selfies_codec import selfies_to_smiles, smiles_to_selfies
from llasmol.data.templates import (
    TARGET_PLACEHOLDER,
    choose_template_id,
    core_tags,
    layout_templates,
    load_templates,
    render,
    wrap,
)
from llasmol.tasks import TASK_NAMES, Tag, UnknownTaskError, extract_answer, get_task

SIDER = "property_prediction-sider"


def _provenance_rows(shared_data: Path) -> dict[str, int]:
    text = (shared_data / "smolinstruct" / "PROVENANCE.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| val/([\w-]+)\.jsonl \| \d+ \| (\d+) \|", text, flags=re.MULTILINE)
    return {task: int(count) for task, count in rows}


def _same_molecule(a: str, b: str) -> bool:
    identity = molecule_identity(a.replace(";", "."))
    return identity is not None and identity == molecule_identity(b.replace(";", "."))


# ---------------------------------------------------------------------------------------------
# templates
# ---------------------------------------------------------------------------------------------


def test_every_task_has_ten_distinct_templates_with_placeholders() -> None:
    for name in TASK_NAMES:
        templates = load_templates(name)
        assert len(templates) >= 10, name
        assert len({t.input for t in templates}) == len(templates), f"{name}: duplicate queries"
        assert all("<INPUT>" in t.input and "<OUTPUT>" in t.output for t in templates)
        assert all(t.has_target == (name == SIDER) for t in templates)


def test_every_template_answer_gives_back_the_raw_answer(smolinstruct_val: Path) -> None:
    for name in TASK_NAMES:
        task = get_task(name)
        record = next(iter_raw_records(smolinstruct_val / f"{name}.jsonl"))
        for template in load_templates(name):
            query, answer = render(template, record.input, record.output, task, record.target)
            assert extract_answer(answer, task) == record.output, (name, template)
            assert "<INPUT>" not in query and "<TARGET>" not in query and "<OUTPUT>" not in answer


def test_layout_templates_expand_sider_per_target_and_choice_points_into_them() -> None:
    targets = ["Eye disorders", "Cardiac disorders"]
    expanded = layout_templates(SIDER, targets)
    base = load_templates(SIDER)
    assert len(expanded) == 2 * len(base)
    assert all(TARGET_PLACEHOLDER not in t.input for t in expanded)
    for index in range(20):
        template_id = choose_template_id(SIDER, index, seed=3, target="Cardiac disorders", targets=targets)
        local = choose_template_id(SIDER, index, seed=3, target="Cardiac disorders")
        assert template_id == len(base) + local
        assert expanded[template_id] == base[local].with_target("Cardiac disorders")
    with pytest.raises(ValueError, match="targets"):
        layout_templates(SIDER)


def test_core_tags_follow_registry_and_selfies() -> None:
    assert core_tags("molecule_generation") == {"input": None, "output": ["<SMILES>", "</SMILES>"]}
    assert core_tags("FS", use_selfies=True)["input"] == ["<SELFIES>", "</SELFIES>"]
    assert core_tags("NC-I2F", use_selfies=True) == {"input": ["<IUPAC>", "</IUPAC>"],
                                                     "output": ["<MOLFORMULA>", "</MOLFORMULA>"]}
    query, answer = render(load_templates("NC-S2F")[0], "CCO", "C2H6O", "NC-S2F")
    assert "<SMILES> CCO </SMILES>" in query and "<MOLFORMULA> C2H6O </MOLFORMULA>" in answer
    query, _ = render(load_templates("NC-S2F")[0], "[C][C][O]", "C2H6O", "NC-S2F", use_selfies=True)
    assert "<SELFIES> [C][C][O] </SELFIES>" in query and "SMILES" not in query


# ---------------------------------------------------------------------------------------------
# raw split folders (the real validation data)
# ---------------------------------------------------------------------------------------------


def test_raw_val_counts_match_provenance(shared_data: Path, smolinstruct_val: Path) -> None:
    expected = _provenance_rows(shared_data)
    assert len(expected) == 14
    info = dataset_info(smolinstruct_val)
    assert info["layout"] == "raw" and info["splits"] == ["dev"]
    for task, rows in expected.items():
        # SIDER: one sample per side-effect class, 20 per molecule
        assert info["tasks"][task] == {"dev": rows * (20 if task == SIDER else 1)}, task
    assert info["total"] == sum(info["totals"].values()) == sum(expected.values()) + 19 * expected[SIDER]


def test_load_real_val_as_dataset_dict(smolinstruct_val: Path, tmp_path: Path) -> None:
    data = load_smolinstruct(smolinstruct_val, cache_dir=tmp_path / "cache")
    assert list(data) == ["validation"]
    validation = data["validation"]
    assert validation.column_names == list(FIELDS)
    counts = Counter(validation["task"])
    assert {task: {"dev": n} for task, n in counts.items()} == dataset_info(smolinstruct_val)["tasks"]
    assert set(validation["split"]) == {"dev"}
    sider = validation.filter(lambda row: row["task"] == SIDER)
    assert len(set(sider["target"])) == 20
    assert set(validation.filter(lambda row: row["task"] != SIDER)["target"]) == {None}


def test_rendering_is_seeded_and_wraps_in_core_tags(smolinstruct_val: Path) -> None:
    def rows(seed: int, tags: bool = True) -> list[dict]:
        return list(iter_smolinstruct(smolinstruct_val, "validation", seed=seed, use_first=40,
                                      insert_core_tags=tags))

    first, again, other = rows(0), rows(0), rows(1)
    assert first == again
    assert len(first) == 14 * 40
    assert sum(a["input"] != b["input"] for a, b in zip(first, other, strict=True)) > 100
    for row in first:
        task = get_task(row["task"])
        assert row["input"].count(wrap(row["raw_input"], task.input_tags)) == 1
        assert wrap(row["raw_output"], task.output_tags) in row["output"]
        assert row["input_core_tag_left"] == (task.input_tag.left if task.input_tag else None)
        assert row["output_core_tag_right"] == (task.output_tag.right if task.output_tag else None)
    for row in rows(0, tags=False):
        assert row["raw_input"] in row["input"] and "<SMILES>" not in row["input"] + row["output"]
        assert row["input_core_tag_left"] == (get_task(row["task"]).input_tags or (None,))[0]


def test_raw_folder_selfies_decode_to_the_same_molecules(smolinstruct_val: Path) -> None:
    smiles_rows = list(iter_smolinstruct(smolinstruct_val, "dev", tasks=["FS", "MG", "PP-BBBP"], use_first=25))
    selfies_rows = list(iter_smolinstruct(smolinstruct_val, "dev", tasks=["FS", "MG", "PP-BBBP"], use_first=25,
                                          use_selfies=True))
    assert len(selfies_rows) == 75
    for plain, coded in zip(smiles_rows, selfies_rows, strict=True):
        task = get_task(plain["task"])
        if task.input_tag is Tag.SMILES:
            assert _same_molecule(selfies_to_smiles(coded["raw_input"]), plain["raw_input"])
            assert coded["input_core_tag_left"] == "<SELFIES>" and "SMILES" not in coded["input"]
        else:
            assert coded["raw_input"] == plain["raw_input"]
        if task.output_tag is Tag.SMILES:
            assert _same_molecule(selfies_to_smiles(coded["raw_output"]), plain["raw_output"])


def test_split_folders_are_found_by_name_or_by_their_records(shared_data: Path, tmp_path: Path) -> None:
    root = shared_data / "smolinstruct"  # val/ (records say "dev") and train_partial/ (records say "train")
    info = dataset_info(root)
    assert info["splits"] == ["train", "dev"]
    assert info["tasks"]["property_prediction-esol"] == {"train": 888, "dev": 111}
    assert "forward_synthesis" not in {t for t, c in info["tasks"].items() if "train" in c}
    rows = list(iter_smolinstruct(root, "train", tasks="PP-ESOL", use_first=3))
    assert [row["split"] for row in rows] == ["train"] * 3
    with pytest.raises(ValueError, match="has no data for forward_synthesis"):
        list(iter_smolinstruct(root, "train", tasks=["FS"]))
    with pytest.raises(ValueError, match="no 'test' split"):
        list(iter_smolinstruct(root, "test"))
    data = load_smolinstruct(root, tasks=["FS", "PP-ESOL"], cache_dir=tmp_path / "cache")
    assert {split: rows.num_rows for split, rows in data.items()} == {"train": 888, "validation": 2049 + 111}
    with pytest.raises(ValueError, match="split 'train' has no data for forward_synthesis"):
        load_smolinstruct(root, tasks=["FS"], splits="train", cache_dir=tmp_path / "cache")


def test_unknown_task_lists_the_valid_ones(smolinstruct_val: Path) -> None:
    with pytest.raises(UnknownTaskError, match="valid tasks: forward_synthesis"):
        list(iter_smolinstruct(smolinstruct_val, "validation", tasks=["not_a_task"]))


def test_malformed_line_names_file_and_line(tmp_path: Path, smolinstruct_val: Path) -> None:
    folder = tmp_path / "dev"
    folder.mkdir()
    lines = (smolinstruct_val / "property_prediction-esol.jsonl").read_text().splitlines()[:4]
    lines[2] = lines[2][:-5]
    (folder / "property_prediction-esol.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"property_prediction-esol\.jsonl:3: not valid JSON"):
        list(iter_smolinstruct(folder, "validation"))
    with pytest.raises(DataFormatError, match=r"property_prediction-esol\.jsonl:3: not valid JSON"):
        load_smolinstruct(folder, cache_dir=tmp_path / "cache")
    lines[2] = json.dumps({"input": "CCO", "output": 1.5, "task": "property_prediction-esol", "split": "dev"})
    (folder / "property_prediction-esol.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"esol\.jsonl:3: field 'output'"):
        list(iter_smolinstruct(folder, "validation"))


# ---------------------------------------------------------------------------------------------
# the official layout, written from real validation records
# ---------------------------------------------------------------------------------------------

OFFICIAL_TASKS = {"forward_synthesis": 12, "molecule_generation": 10, "name_conversion-i2f": 8, SIDER: 3}


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _selfies_item(item: dict, task_name: str) -> dict:
    task = get_task(task_name)
    coded = dict(item)
    if task.input_tag is Tag.SMILES:
        coded["input"] = smiles_to_selfies(item["input"])
    if task.output_tag is Tag.SMILES:
        coded["output"] = smiles_to_selfies(item["output"])
    return coded


def _write_official(root: Path, val: Path) -> dict[str, list[dict]]:
    """A small official-layout dataset: dev, test (= dev records) and test_subset; returns the raw items."""
    items_of: dict[str, list[dict]] = {}
    for task_name, count in OFFICIAL_TASKS.items():
        lines = (val / f"{task_name}.jsonl").read_text(encoding="utf-8").splitlines()[:count]
        items = [json.loads(line) for line in lines]
        items_of[task_name] = items
        targets = list(items[0]["output"]) if task_name == SIDER else None
        _write_json(root / layout.template_file(layout.DEFAULT_TEMPLATE_NAME, task_name),
                    [t.to_json() for t in layout_templates(task_name, targets)])
        _write_json(root / layout.core_tag_file(task_name), core_tags(task_name))
        for split in ("dev", "test"):
            split_items = [dict(item, split=split) for item in items]
            for folder, coded in (("raw", split_items), ("raw_selfies", [_selfies_item(i, task_name) for i in
                                                                         split_items])):
                path = root / folder / split / f"{task_name}.jsonl"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("".join(json.dumps(i) + "\n" for i in coded), encoding="utf-8")
        samples = []
        for idx in range(count):
            for target in targets or [None]:
                sample = {"idx": idx, "template_id": choose_template_id(task_name, idx, 0, target, targets)}
                if target is not None:
                    sample["target"] = target
                samples.append(sample)
        for split, split_samples in (("dev", samples), ("test", samples[::-1]), ("test_subset", samples[:2])):
            _write_json(root / layout.sample_file(layout.DEFAULT_SAMPLE_GROUP, split, task_name),
                        {"task": task_name, "split": split, "template_name": layout.DEFAULT_TEMPLATE_NAME,
                         "samples": split_samples})
    return items_of


def _zip_folder(folder: Path, archive: Path, top: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                handle.write(path, f"{top}{path.relative_to(folder).as_posix()}")
    return archive


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory, smolinstruct_val: Path) -> tuple[Path, dict[str, list[dict]]]:
    root = tmp_path_factory.mktemp("official") / "data"
    return root, _write_official(root, smolinstruct_val)


@pytest.fixture(params=["folder", "zip", "zip-with-top-folder", "folder-holding-data.zip"])
def official_path(request: pytest.FixtureRequest, official: tuple[Path, dict], tmp_path: Path) -> Path:
    root, _ = official
    if request.param == "folder":
        return root
    archive = _zip_folder(root, tmp_path / "data.zip", "data/" if request.param == "zip-with-top-folder" else "")
    if request.param == "folder-holding-data.zip":
        (tmp_path / "README.md").write_text("dataset card\n")
        return tmp_path
    return archive


def test_official_layout_rows_have_exact_fields(official: tuple[Path, dict], official_path: Path) -> None:
    _, items_of = official
    rows = list(iter_smolinstruct(official_path, "validation"))
    sider_targets = list(items_of[SIDER][0]["output"])
    assert len(rows) == sum(OFFICIAL_TASKS.values()) + 19 * OFFICIAL_TASKS[SIDER]
    fs = rows[0]
    item = items_of["forward_synthesis"][0]
    template = load_templates("forward_synthesis")[choose_template_id("forward_synthesis", 0, 0)]
    assert fs == {
        "input": template.input.replace("<INPUT>", f"<SMILES> {item['input']} </SMILES>"),
        "output": template.output.replace("<OUTPUT>", f"<SMILES> {item['output']} </SMILES>"),
        "raw_input": item["input"], "raw_output": item["output"], "split": "dev", "task": "forward_synthesis",
        "target": None, "input_core_tag_left": "<SMILES>", "input_core_tag_right": "</SMILES>",
        "output_core_tag_left": "<SMILES>", "output_core_tag_right": "</SMILES>",
    }
    mg = next(row for row in rows if row["task"] == "molecule_generation")
    assert mg["raw_input"] in mg["input"] and mg["input_core_tag_left"] is None
    sider = [row for row in rows if row["task"] == SIDER]
    assert [row["target"] for row in sider[:20]] == sider_targets
    for position, row in enumerate(sider):
        assert row["target"] in row["input"] and "<TARGET>" not in row["input"]
        assert row["raw_output"] == items_of[SIDER][position // 20]["output"][row["target"]]
    # A built dataset renders the same text as the raw folder does with the same seed.
    raw_rendered = list(iter_smolinstruct(official[0] / "raw" / "dev", "validation", tasks=list(OFFICIAL_TASKS)))
    assert [(r["input"], r["output"]) for r in raw_rendered] == [(r["input"], r["output"]) for r in rows]


def test_official_layout_dataset_dict_and_options(official: tuple[Path, dict], official_path: Path,
                                                  tmp_path: Path) -> None:
    data = load_smolinstruct(official_path, cache_dir=tmp_path / "cache")
    assert list(data) == ["validation", "test"]
    assert data["validation"].column_names == list(FIELDS)

    def fs_inputs(split: str) -> list[str]:
        return data[split].filter(lambda row: row["task"] == "forward_synthesis")["raw_input"]

    assert fs_inputs("test") == fs_inputs("validation")[::-1]  # test samples point backwards: not streamed
    assert set(data["test"]["split"]) == {"test"} and set(data["validation"]["split"]) == {"dev"}
    subset = load_smolinstruct(official_path, splits=["test"], use_test_subset=True, cache_dir=tmp_path / "cache")
    assert subset["test"].num_rows == 2 * len(OFFICIAL_TASKS)
    assert set(subset["test"]["split"]) == {"test_subset"}
    first = list(iter_smolinstruct(official_path, "dev", use_first=3, tasks=["FS", "NC-I2F"]))
    assert Counter(row["task"] for row in first) == {"forward_synthesis": 3, "name_conversion-i2f": 3}
    untagged = next(iter_smolinstruct(official_path, "validation", insert_core_tags=False, tasks="NC-I2F"))
    assert "<IUPAC>" not in untagged["input"] and untagged["input_core_tag_left"] == "<IUPAC>"


def test_official_layout_selfies(official: tuple[Path, dict], official_path: Path) -> None:
    plain = list(iter_smolinstruct(official_path, "validation", tasks=["FS", "MG"]))
    coded = list(iter_smolinstruct(official_path, "validation", tasks=["FS", "MG"], use_selfies=True))
    for a, b in zip(plain, coded, strict=True):
        assert _same_molecule(selfies_to_smiles(b["raw_output"]), a["raw_output"])
        assert b["output_core_tag_left"] == "<SELFIES>" and "<SELFIES> " in b["output"]
        assert "SMILES" not in b["input"] + b["output"]


def test_official_layout_info_and_bad_sample_file(official: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = official
    info = dataset_info(root)
    assert info["layout"] == "official" and info["splits"] == ["dev", "test", "test_subset"]
    assert info["tasks"][SIDER] == {"dev": 60, "test": 60, "test_subset": 2}
    assert info["totals"]["test_subset"] == 2 * len(OFFICIAL_TASKS)
    assert info["total"] == info["totals"]["dev"] + info["totals"]["test"]
    broken = tmp_path / "broken"
    _write_official(broken, root / "raw" / "dev")
    sample = broken / layout.sample_file(layout.DEFAULT_SAMPLE_GROUP, "dev", "forward_synthesis")
    data = json.loads(sample.read_text())
    data["split"] = "train"
    sample.write_text(json.dumps(data))
    with pytest.raises(DataFormatError, match=r"forward_synthesis\.json: field 'split': expected 'dev'"):
        list(iter_smolinstruct(broken, "validation"))
    data["split"], data["samples"][0]["idx"] = "dev", 999
    sample.write_text(json.dumps(data))
    with pytest.raises(DataFormatError, match="idx 999"):
        list(iter_smolinstruct(broken, "validation", tasks="FS"))


# ---------------------------------------------------------------------------------------------
# CLI and download
# ---------------------------------------------------------------------------------------------


def test_cli_info_and_show(smolinstruct_val: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["data", "info", str(smolinstruct_val), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tasks"] == dataset_info(smolinstruct_val)["tasks"]
    result = runner.invoke(app, ["data", "info", str(smolinstruct_val)])
    assert result.exit_code == 0 and "20,498" in result.output
    result = runner.invoke(app, ["data", "show", str(smolinstruct_val), "--task", "PP-ESOL", "-n", "2", "--raw"])
    assert result.exit_code == 0, result.output
    shown = [json.loads(line) for line in result.output.splitlines()]
    assert [row["raw_input"] for row in shown] == [r.input for r in islice(
        iter_raw_records(smolinstruct_val / "property_prediction-esol.jsonl"), 2)]
    result = runner.invoke(app, ["data", "show", str(smolinstruct_val), "--task", "NC-S2F", "-n", "1"])
    assert result.exit_code == 0 and "MOLFORMULA" in result.output
    result = runner.invoke(app, ["data", "show", str(smolinstruct_val), "--task", "nope"])
    assert result.exit_code == 1 and "unknown task 'nope'" in result.output


def test_download_fails_offline_with_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True, raising=False)
    with pytest.raises(DownloadError, match=r"cannot download osunlp/SMolInstruct/data\.zip") as caught:
        download_smolinstruct(tmp_path / "dl")
    assert "\n" not in str(caught.value)
    result = CliRunner().invoke(app, ["data", "download", "--dest", str(tmp_path / "dl")])
    assert result.exit_code == 1 and "cannot download" in result.output
