"""Prediction files, gold look-up, bad input, atomic output and the `llasmol evaluate` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llasmol.cli import app
from llasmol.data.raw import DataFormatError, iter_raw_records
from llasmol.evaluate import EvaluationWarning, evaluate_predictions, read_predictions
from llasmol.tasks import get_task

REPO_ROOT = Path(__file__).resolve().parents[2]


def _write_lines(path, items):
    path.write_text("".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items))
    return path


def _prediction_lines(folder, task, count, answer=lambda record: [record.output]):
    return [{"input": r.input, "gold": r.output, "pred": answer(r), "task": task, "target": r.target}
            for r in list(iter_raw_records(folder / f"{task}.jsonl"))[:count]]


def test_answers_are_extracted_from_raw_output(tmp_path):
    path = _write_lines(tmp_path / "forward_synthesis.jsonl", [
        {"input": "CCO", "gold": "CCO", "output": ["<SMILES> CCO </SMILES> done", "CCO", None], "task": "FS"},
        {"input": "CC", "gold": "CC", "output": None},
    ])
    records = read_predictions(path, get_task("FS"))
    assert records[0].answers == ("CCO", "", "")
    assert records[1].answers is None and records[1].line == 2


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("{not json", None, "not valid JSON"),
        ({"gold": "C", "pred": ["C"]}, "input", "missing"),
        ({"input": "C", "gold": "C", "pred": "C", "target": 3}, "target", "expected a string"),
        ({"input": "C", "gold": "C", "pred": [1]}, "pred", "item 0 is int"),
        ({"input": "C", "gold": "C", "pred": {"a": 1}}, "pred", "expected a list"),
        ({"input": "C", "gold": "C"}, "pred", "missing"),
        ({"input": "C", "gold": "C", "pred": ["C"], "task": "retrosynthesis"}, "task", "does not match"),
    ],
)
def test_malformed_lines_name_file_line_and_field(tmp_path, line, field, message):
    good = {"input": "CCO", "gold": "CCO", "pred": ["CCO"]}
    path = _write_lines(tmp_path / "forward_synthesis.jsonl", [good, line])
    with pytest.raises(DataFormatError, match=message) as caught:
        read_predictions(path, get_task("forward_synthesis"))
    assert caught.value.line == 2 and caught.value.field == field
    assert str(caught.value).startswith(f"{path}:2:")


def test_unknown_task_file_is_skipped_with_a_warning(tmp_path):
    _write_lines(tmp_path / "property_prediction-esol.jsonl", [{"input": "C", "gold": "-1.5", "pred": ["-1.0"]}])
    _write_lines(tmp_path / "notes.jsonl", [{"anything": 1}])
    with pytest.warns(EvaluationWarning, match="notes.jsonl"):
        results = evaluate_predictions(tmp_path, workers=1, show_progress=False)
    assert list(results) == ["property_prediction-esol"]
    assert results["property_prediction-esol"]["RMSE"] == pytest.approx(0.5)


def test_invalid_gold_error_names_file_and_line(tmp_path):
    path = _write_lines(tmp_path / "molecule_generation.jsonl", [
        {"input": "a", "gold": "CCO", "pred": ["CCO"]},
        {"input": "b", "gold": "C1CC(", "pred": ["CCO"]},
    ])
    with pytest.raises(DataFormatError, match=r"C1CC\(") as caught:
        evaluate_predictions(tmp_path, workers=1, show_progress=False)
    assert caught.value.file == path and caught.value.line == 2 and caught.value.field == "gold"


def test_invalid_gold_among_tasks_scored_side_by_side_on_workers(tmp_path, smolinstruct_val):
    _write_lines(tmp_path / "forward_synthesis.jsonl", _prediction_lines(smolinstruct_val, "forward_synthesis", 30))
    path = _write_lines(tmp_path / "molecule_generation.jsonl", [
        {"input": "a", "gold": "CCO", "pred": ["CCO"]},
        {"input": "b", "gold": "C1CC(", "pred": ["CCO"]},
    ])
    with pytest.raises(DataFormatError, match=r"C1CC\(") as caught:
        evaluate_predictions(tmp_path, output=tmp_path / "metrics.json", workers=2, show_progress=False)
    assert caught.value.file == path and caught.value.line == 2
    assert not (tmp_path / "metrics.json").exists()


def test_bad_file_read_after_smiles_went_to_the_workers_stops_the_run(tmp_path, smolinstruct_val):
    # molecule tasks are read first and their SMILES sent to the workers while the rest is read
    _write_lines(tmp_path / "forward_synthesis.jsonl", _prediction_lines(smolinstruct_val, "forward_synthesis", 200))
    bad = _write_lines(tmp_path / "name_conversion-i2f.jsonl", [{"input": "x", "gold": "C", "pred": ["C"]}, "{broken"])
    with pytest.raises(DataFormatError) as caught:
        evaluate_predictions(tmp_path, output=tmp_path / "metrics.json", workers=2, show_progress=False)
    assert caught.value.file == bad and caught.value.line == 2
    assert not (tmp_path / "metrics.json").exists()


def test_missing_gold_file_is_an_error_before_any_file_is_read(tmp_path):
    _write_lines(tmp_path / "forward_synthesis.jsonl", ["{broken"])  # an error of its own, if it were read
    (tmp_path / "split").mkdir()
    with pytest.raises(FileNotFoundError, match="gold file not found"):
        evaluate_predictions(tmp_path, gold=tmp_path / "split", workers=2, show_progress=False)


def test_input_missing_from_the_gold_split_is_an_error(tmp_path, smolinstruct_val):
    _write_lines(tmp_path / "name_conversion-s2f.jsonl", [{"input": "not in the split", "gold": "C", "pred": ["C"]}])
    with pytest.raises(DataFormatError, match="not found in"):
        evaluate_predictions(tmp_path, gold=smolinstruct_val, workers=1, show_progress=False)


def test_failed_run_leaves_earlier_output_intact(tmp_path):
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    _write_lines(predictions / "property_prediction-bbbp.jsonl", [{"input": "C", "gold": "Yes", "pred": ["Yes"]}])
    output = tmp_path / "out" / "metrics.json"
    first = evaluate_predictions(predictions, output=output, workers=1, show_progress=False)
    written = output.read_text()
    assert json.loads(written)["property_prediction-bbbp"]["Acc"] == 100.0 == first["property_prediction-bbbp"]["Acc"]
    _write_lines(predictions / "property_prediction-bbbp.jsonl", ["{broken"])
    with pytest.raises(DataFormatError):
        evaluate_predictions(predictions, output=output, workers=1, show_progress=False)
    assert output.read_text() == written
    assert sorted(path.name for path in output.parent.iterdir()) == ["metrics.json", "report.md"]


@pytest.mark.slow  # loads WordNet and the SciBERT vocabulary
def test_cli_end_to_end(tmp_path, smolinstruct_val, shared_data):
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    _write_lines(predictions / "forward_synthesis.jsonl", _prediction_lines(smolinstruct_val, "forward_synthesis", 6))
    _write_lines(predictions / "property_prediction-sider.jsonl",
                 _prediction_lines(smolinstruct_val, "property_prediction-sider", 20, lambda r: ["No"]))
    _write_lines(predictions / "molecule_captioning.jsonl",
                 _prediction_lines(smolinstruct_val, "molecule_captioning", 4))
    output = tmp_path / "metrics.json"
    result = CliRunner().invoke(app, [
        "evaluate", str(predictions), "--gold", str(smolinstruct_val), "--output", str(output),
        "--scibert-vocab", str(shared_data / "scibert" / "vocab.txt"), "--workers", "1",
    ])
    assert result.exit_code == 0, result.output
    assert "LlaSMol-Mistral" in result.output and "63.3" in result.output
    metrics = json.loads(output.read_text())
    assert list(metrics) == ["forward_synthesis", "molecule_captioning", "property_prediction-sider"]
    assert metrics["forward_synthesis"]["EM"] == 100.0 and metrics["forward_synthesis"]["num_all"] == 6
    assert metrics["molecule_captioning"]["bleu4"] == pytest.approx(1.0)
    sider = metrics["property_prediction-sider"]
    assert sider["num_all"] == 20 and sider["num_correct"] == sum(
        r.output == "No" for r in list(iter_raw_records(smolinstruct_val / "property_prediction-sider.jsonl"))[:20])
    report = (tmp_path / "report.md").read_text()
    assert "| FS | 6 | EM | 100.0 | 63.3 |" in report


def test_cli_reports_bad_input_in_one_line(tmp_path):
    _write_lines(tmp_path / "property_prediction-hiv.jsonl", [{"input": "C", "gold": "No", "pred": 5}])
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 1
    assert "property_prediction-hiv.jsonl:1: field 'pred'" in result.output.replace("\n", "")  # rich wraps lines
    assert not (tmp_path / "metrics.json").exists()


def test_cli_task_filter(tmp_path):
    _write_lines(tmp_path / "property_prediction-hiv.jsonl", [{"input": "C", "gold": "No", "pred": ["No"]}])
    _write_lines(tmp_path / "property_prediction-esol.jsonl", [{"input": "C", "gold": "1", "pred": ["1"]}])
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path), "--tasks", "PP-HIV", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert list(json.loads((tmp_path / "metrics.json").read_text())) == ["property_prediction-hiv"]


def test_wordnet_lexnames_table_matches_the_shipped_file():
    from llasmol.evaluate.resources import lexnames_table

    shipped = (REPO_ROOT / "scripts" / "wordnet_lexnames").read_text()
    assert [line.split() for line in lexnames_table().splitlines()] == [line.split() for line in shipped.splitlines()]


def test_wordnet_is_found_on_nltks_path():
    from llasmol.evaluate.resources import ensure_wordnet

    root = ensure_wordnet()
    assert (root / "corpora" / "wordnet" / "lexnames").is_file()


def test_missing_scibert_vocabulary_is_a_clear_error(tmp_path, monkeypatch):
    from llasmol.evaluate import ResourceError, load_caption_tokenizer

    with pytest.raises(ResourceError, match="not found"):
        load_caption_tokenizer(tmp_path / "missing" / "vocab.txt")
    monkeypatch.setenv("LLASMOL_SCIBERT_VOCAB", "llasmol-tests/no-such-tokenizer")  # a hub id, offline
    with pytest.raises(ResourceError, match="--scibert-vocab"):
        load_caption_tokenizer()


def test_missing_scibert_vocabulary_stops_an_evaluation_before_it_writes(tmp_path, smolinstruct_val):
    from llasmol.evaluate import ResourceError

    predictions = tmp_path / "predictions"
    predictions.mkdir()
    _write_lines(predictions / "forward_synthesis.jsonl", _prediction_lines(smolinstruct_val, "forward_synthesis", 3))
    _write_lines(predictions / "molecule_captioning.jsonl",
                 _prediction_lines(smolinstruct_val, "molecule_captioning", 2))
    with pytest.raises(ResourceError, match="not found"):
        evaluate_predictions(predictions, output=tmp_path / "metrics.json", scibert_vocab=tmp_path / "vocab.txt",
                             workers=1, show_progress=False)
    assert not (tmp_path / "metrics.json").exists()
