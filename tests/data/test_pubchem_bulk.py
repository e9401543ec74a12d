"""PubChem's bulk files streamed and merged by CID, plain or gzip; bad lines skipped and counted, or named."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from llasmol.chem import formula_of_smiles
from llasmol.data import DataFormatError
from llasmol.data.build import Tally, build_dataset
from llasmol.data.build.config import build_config_from_dict
from llasmol.data.build.sources import get_reader
from llasmol.data.build.sources.textfiles import numbered_lines


def _write(path: Path, lines: list[str]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as handle:
        handle.writelines(f"{line}\n" for line in lines)
    return path


def _named_molecules(smolinstruct_val: Path, count: int) -> list[tuple[str, str]]:
    """(SMILES, IUPAC name) pairs of real SMolInstruct samples."""
    pairs = []
    with (smolinstruct_val / "name_conversion-s2i.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            pairs.append((record["input"], record["output"]))
            if len(pairs) == count:
                break
    return pairs


@pytest.fixture()
def bulk_files(smolinstruct_val: Path, tmp_path: Path) -> tuple[Path, Path, Path, list[tuple[str, str]]]:
    """CID-SMILES.gz for 30 real molecules (CIDs 10, 20, …); names for the even ones, formulas for the first 20."""
    pairs = _named_molecules(smolinstruct_val, 30)
    smiles = _write(tmp_path / "CID-SMILES.gz", [f"{10 * (i + 1)}\t{s}" for i, (s, _) in enumerate(pairs)])
    names = _write(tmp_path / "CID-IUPAC.gz", [f"{10 * (i + 1)}\t{n}" for i, (_, n) in enumerate(pairs) if i % 2 == 0])
    formulas = _write(tmp_path / "CID-Mass.gz",
                      [f"{10 * (i + 1)}\t{formula_of_smiles(s)}\t1.0\t1.0" for i, (s, _) in enumerate(pairs[:20])])
    return smiles, names, formulas, pairs


def _source(smiles: Path, **options: object) -> dict:
    return {"name": "bulk", "reader": "pubchem_bulk", "path": str(smiles),
            "tasks": ["name_conversion-s2f", "name_conversion-s2i"], "split": "auto", **options}


def _records(source: dict, tally: Tally | None = None) -> list:
    config = build_config_from_dict({"sources": [source], "opsin_check": False}, base=Path("/"))
    return list(get_reader("pubchem_bulk")(config.sources[0], tally if tally is not None else Tally()))


def test_side_files_are_merged_by_cid(bulk_files) -> None:
    smiles, names, formulas, pairs = bulk_files
    records = _records(_source(smiles, options={"iupac_path": str(names), "formula_path": str(formulas)}))
    assert [record.smiles for record in records] == [s for s, _ in pairs]
    assert [record.iupac for record in records] == [n if i % 2 == 0 else None for i, (_, n) in enumerate(pairs)]
    assert [record.formula for record in records[:20]] == [formula_of_smiles(s) for s, _ in pairs[:20]]
    assert all(record.formula is None for record in records[20:])
    assert [record.line for record in records] == list(range(1, 31))


def test_side_file_paths_are_relative_to_the_config(bulk_files, tmp_path: Path) -> None:
    smiles, names, _, _ = bulk_files
    config = build_config_from_dict({"sources": [_source(Path(smiles.name), options={"iupac_path": names.name})]},
                                    base=tmp_path)
    assert config.sources[0].options["iupac_path"] == str(names)


@pytest.mark.parametrize(("bad", "field"), [("not-a-cid\tCCO", "CID"), ("35", "SMILES"), ("36\t", "SMILES")])
def test_a_malformed_line_is_skipped_and_counted_or_named(bulk_files, bad: str, field: str) -> None:
    smiles, _, _, pairs = bulk_files
    lines = [f"{10 * (i + 1)}\t{s}" for i, (s, _) in enumerate(pairs[:5])]
    _write(smiles, [*lines[:3], bad, *lines[3:]])
    tally = Tally()
    assert len(_records(_source(smiles), tally)) == 5
    assert tally == {"bad_line_smiles": 1}
    with pytest.raises(DataFormatError, match=rf"CID-SMILES\.gz:4: field '{field}'") as error:
        _records(_source(smiles, on_bad_line="error"))
    assert (error.value.line, error.value.field) == (4, field)


def test_cids_out_of_order_are_an_error(bulk_files) -> None:
    smiles, _, _, pairs = bulk_files
    _write(smiles, [f"20\t{pairs[0][0]}", f"10\t{pairs[1][0]}"])
    with pytest.raises(DataFormatError, match=r"CID-SMILES\.gz:2: .*ascending CID order"):
        _records(_source(smiles))


def test_a_torn_gzip_names_the_file_and_the_line_it_reached(bulk_files) -> None:
    smiles, _, _, pairs = bulk_files
    _write(smiles, [f"{cid}\t{pairs[cid % 30][0]}" for cid in range(1, 5001)])
    data = smiles.read_bytes()
    smiles.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"CID-SMILES\.gz:\d+: torn or corrupt gzip") as error:
        _records(_source(smiles))
    assert 1 < error.value.line < 5000
    lines_read = sum(1 for _ in zip(range(error.value.line - 1), numbered_lines(smiles), strict=False))
    assert lines_read == error.value.line - 1  # every line before the one named was read


def test_plain_and_gzip_files_read_alike(bulk_files, tmp_path: Path) -> None:
    smiles, _, _, _ = bulk_files
    plain = tmp_path / "CID-SMILES"
    plain.write_text(gzip.decompress(smiles.read_bytes()).decode(), encoding="utf-8")
    assert list(numbered_lines(plain)) == list(numbered_lines(smiles))


def test_a_bulk_build_makes_name_samples_and_counts_bad_lines(bulk_files, tmp_path: Path) -> None:
    smiles, names, formulas, pairs = bulk_files
    text = gzip.decompress(smiles.read_bytes()).decode().splitlines()
    _write(smiles, [*text[:10], "garbage", *text[10:]])
    config = build_config_from_dict({"seed": 3, "opsin_check": False, "selfies": False, "sources": [
        _source(smiles, options={"iupac_path": str(names), "formula_path": str(formulas)})]}, base=Path("/"))
    report = build_dataset(config, tmp_path / "out", workers=1)
    assert report.source_qc["bulk"]["bad_line_smiles"] == 1
    assert report.source_qc["bulk"]["records_read"] == 30
    s2i = [json.loads(line) for path in (tmp_path / "out" / "raw").glob("*/name_conversion-s2i.jsonl")
           for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(row["output"] for row in s2i) == sorted(n for i, (_, n) in enumerate(pairs) if i % 2 == 0)


def test_a_missing_side_file_fails_before_any_work(bulk_files, tmp_path: Path) -> None:
    smiles, _, _, _ = bulk_files
    config = build_config_from_dict({"sources": [_source(smiles, options={"iupac_path": "nowhere.gz"})]},
                                    base=tmp_path)
    with pytest.raises(DataFormatError, match=r"nowhere\.gz: not found .*options\.iupac_path"):
        build_dataset(config, tmp_path / "out", workers=1)
    assert not (tmp_path / "out").exists()
