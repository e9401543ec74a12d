"""The constant answer a property score must beat: the training data's majority class or mean."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from llasmol.evaluate.constant import constant_answers, constant_scores, score_constant
from llasmol.tasks import get_task


def _write(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def test_regression_answers_the_training_mean(smolinstruct_val: Path, shared_data: Path):
    train = shared_data / "smolinstruct" / "train_partial" / "property_prediction-esol.jsonl"
    values = [float(json.loads(line)["output"]) for line in train.read_text().splitlines() if line.strip()]
    answers = constant_answers(train, "PP-ESOL")
    assert answers == {None: f"{statistics.fmean(values):.3f}"}


def test_sider_answers_each_side_effect_class_its_own_majority(shared_data: Path):
    train = shared_data / "smolinstruct" / "train_partial" / "property_prediction-sider.jsonl"
    lines = [json.loads(line) for line in train.read_text().splitlines() if line.strip()]
    answers = constant_answers(train, "PP-SIDER")
    assert len(answers) == 20 and set(answers.values()) == {"Yes", "No"}  # not one answer for every class
    for target, answer in answers.items():
        yes = sum(line["output"][target] == "Yes" for line in lines)
        assert answer == ("Yes" if yes > len(lines) - yes else "No"), target


def test_constant_scores_use_the_evaluator_on_the_scored_samples(tmp_path: Path):
    train = _write(tmp_path / "train" / "property_prediction-bbbp.jsonl",
                   [{"input": smiles, "output": label} for smiles, label in
                    (("CCO", "Yes"), ("CCN", "Yes"), ("CCC", "No"))])
    _write(tmp_path / "train" / "property_prediction-esol.jsonl",
           [{"input": "CCO", "output": "1.0"}, {"input": "CCC", "output": "-2.0"}])
    predictions = tmp_path / "predictions"
    _write(predictions / "property_prediction-bbbp.jsonl",
           [{"input": f"<SMILES> {smiles} </SMILES>", "gold": gold, "pred": ["No"], "task": "property_prediction-bbbp"}
            for smiles, gold in (("c1ccccc1", "Yes"), ("CCCl", "No"), ("CCBr", "Yes"), ("CCI", "Yes"))])
    _write(predictions / "property_prediction-esol.jsonl",
           [{"input": "<SMILES> CO </SMILES>", "gold": "0.5", "pred": ["9"], "task": "property_prediction-esol"}])
    _write(predictions / "name_conversion-s2f.jsonl",
           [{"input": "<SMILES> CO </SMILES>", "gold": "CH4O", "pred": ["CH4O"], "task": "name_conversion-s2f"}])
    bbbp = score_constant(train, predictions / "property_prediction-bbbp.jsonl", get_task("PP-BBBP"))
    assert bbbp["answers"] == {None: "Yes"} and bbbp["Acc"] == pytest.approx(75.0)
    scores = constant_scores(tmp_path / "train", predictions, ["PP-BBBP", "PP-ESOL", "NC-S2F"])
    assert set(scores) == {"property_prediction-bbbp", "property_prediction-esol"}  # property tasks only
    assert scores["property_prediction-esol"]["RMSE"] == pytest.approx(1.0)  # mean -0.5 against gold 0.5
