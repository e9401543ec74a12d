"""The run report, from metrics computed by the real evaluator on small real prediction files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from llasmol.evaluate import evaluate_predictions
from llasmol.pipeline.report import (
    BASE,
    CONSTANT,
    FINETUNED,
    Example,
    ReportInputs,
    ahead_counts,
    example_molecules,
    molecule_svg,
    tagged_text,
    task_rows,
    write_report,
)
from llasmol.tasks import TASK_NAMES, Tag, get_task, paper_rows

# Real molecules: (IUPAC name, SMILES, formula) of FreeSolv entries.
MOLECULES = [
    ("methanesulfonyl chloride", "CS(=O)(=O)Cl", "CH3ClO2S"),
    ("3-methylbut-1-ene", "CC(C)C=C", "C5H10"),
    ("2-ethylpyrazine", "CCC1=CN=CC=N1", "C6H8N2"),
    ("pentane", "CCCCC", "C5H12"),
]
SOLUBILITY = [("CCCCC", "-3.18"), ("C1CCCC1", "-2.64"), ("CCO", "1.10"), ("c1ccccc1", "-1.64")]


def _write_predictions(folder: Path, finetuned: bool) -> None:
    folder.mkdir(parents=True)
    i2s, s2f, esol = [], [], []
    for index, (name, smiles, formula) in enumerate(MOLECULES):
        right = finetuned and index < 3
        i2s.append({"input": f"<IUPAC> {name} </IUPAC>", "gold": smiles,
                    "pred": [smiles if right else "C1CC", "CCN"] if finetuned else [None]})
        s2f.append({"input": f"<SMILES> {smiles} </SMILES>", "gold": formula,
                    "pred": [formula if right else "C2H6O"] if finetuned else [""]})
    for smiles, value in SOLUBILITY:
        answer = f"{float(value) + 0.3:.2f}" if finetuned else "soluble"
        esol.append({"input": f"<SMILES> {smiles} </SMILES>", "gold": value, "pred": [answer]})
    for task, records in (("name_conversion-i2s", i2s), ("name_conversion-s2f", s2f),
                          ("property_prediction-esol", esol)):
        lines = "".join(json.dumps({**record, "task": task}) + "\n" for record in records)
        (folder / f"{task}.jsonl").write_text(lines, encoding="utf-8")


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> tuple[Path, dict, dict[str, Path]]:
    root = tmp_path_factory.mktemp("report")
    predictions = {BASE: root / "predictions" / BASE, FINETUNED: root / "predictions" / FINETUNED}
    _write_predictions(predictions[BASE], finetuned=False)
    _write_predictions(predictions[FINETUNED], finetuned=True)
    metrics = {label: evaluate_predictions(folder, workers=1, show_progress=False)
               for label, folder in predictions.items()}
    return root, metrics, predictions


def test_rows_compare_base_finetuned_and_paper(scored):
    _, metrics, _ = scored
    rows = {row.task.short_name: row for row in task_rows(metrics)}
    assert set(rows) == {"NC-I2S", "NC-S2F", "PP-ESOL"}
    assert rows["NC-I2S"].base == 0.0 and rows["NC-I2S"].finetuned == pytest.approx(75.0)
    assert rows["NC-S2F"].finetuned == pytest.approx(75.0) and rows["NC-S2F"].paper == 93.2
    esol = rows["PP-ESOL"]
    assert not esol.higher_is_better and esol.finetuned == pytest.approx(0.3, abs=1e-6)
    assert esol.base is None  # no number among the base model's answers
    assert all(row.improved for row in rows.values())


def test_report_files_are_written_and_self_contained(scored, tmp_path: Path):
    _, metrics, predictions = scored
    log = tmp_path / "train_log.jsonl"
    log.write_text("".join(json.dumps({"step": step, "loss": 3.0 / step}) + "\n" for step in range(1, 11))
                   + json.dumps({"step": 10, "eval_loss": 0.5}) + "\n", encoding="utf-8")
    files = write_report(ReportInputs(metrics=metrics, title="test run", predictions=predictions, train_log=log,
                                      settings={"model": "tiny"}, notes=["fewer beams than the paper"],
                                      stage_seconds={"train": 12.5, "report": 0.5}, examples_per_task=2),
                         tmp_path)
    html = files.html.read_text(encoding="utf-8")
    # Self-contained: no scripts, stylesheets or images fetched from elsewhere.
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", html)
    assert "<script" not in html and "@import" not in html
    assert html.count("data:image/png;base64,") == 2  # metric panels + loss curve
    assert html.count("<svg") >= 4  # molecules of the examples (query, gold, answers)
    assert "fewer beams than the paper" in html and "93.2" in html and "LlaSMol-Mistral" in html
    markdown = files.markdown.read_text(encoding="utf-8")
    # base, fine-tuned, constant (none for a name task), GPT-4, Claude 3 Opus, LlaSMol-Mistral, ahead of, improved
    assert ("| name_conversion-s2f | EM ↑ | 0.000 | 75.0 | – | 4.800 | 9.200 | 93.2 | GPT-4, Claude | yes | "
            "0.000 → 100.0 |") in markdown
    assert ("ahead (strictly better) of GPT-4 on 3 of 3 (NC-I2S, NC-S2F, PP-ESOL); Claude 3 Opus on 3 of 3 "
            "(NC-I2S, NC-S2F, PP-ESOL); LlaSMol-Mistral on 2 of 3 (NC-I2S, PP-ESOL)") in markdown
    assert (tmp_path / "report_assets" / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "report_assets" / "loss.png").is_file()
    summary = json.loads(files.summary.read_text(encoding="utf-8"))
    assert summary["name_conversion-i2s"]["metric"] == "EM"
    assert summary["name_conversion-i2s"][BASE] == 0.0 and summary["name_conversion-i2s"][FINETUNED] == 75.0
    assert summary["property_prediction-esol"][BASE] is None and summary["property_prediction-esol"]["improved"]
    assert summary["name_conversion-i2s"]["valid"] == {BASE: 0.0, FINETUNED: 75.0}
    assert summary["name_conversion-s2f"]["references"] == {"GPT-4": 4.8, "Claude 3 Opus": 9.2, "LlaSMol-Mistral": 93.2}
    assert summary["name_conversion-s2f"]["ahead_of"] == {"GPT-4": True, "Claude 3 Opus": True,
                                                          "LlaSMol-Mistral": False}


def test_constant_answers_are_a_column_not_a_model(scored):
    _, metrics, _ = scored
    constant = {"property_prediction-esol": {"RMSE": 0.25, "answers": {None: "-1.500"}}}
    rows = {row.task.short_name: row for row in task_rows({**metrics, CONSTANT: constant})}
    assert set(rows) == {"NC-I2S", "NC-S2F", "PP-ESOL"}
    assert rows["PP-ESOL"].constant == 0.25 and rows["NC-S2F"].constant is None
    # lower RMSE is better: 0.3 is behind the constant's 0.25 but ahead of every paper row
    assert rows["PP-ESOL"].better(rows["PP-ESOL"].finetuned, rows["PP-ESOL"].constant) is False
    assert ahead_counts(list(rows.values()))["GPT-4"] == ["NC-I2S", "NC-S2F", "PP-ESOL"]


def test_paper_rows_cover_every_task_for_each_model():
    rows = paper_rows()
    assert list(rows) == ["GPT-4", "Claude 3 Opus", "LlaSMol-Mistral"]
    for model, figures in rows.items():
        assert set(figures) == set(TASK_NAMES), model
    # the bar the issue quotes: GPT-4's zero-shot row
    assert rows["GPT-4"]["name_conversion-s2i"] == 0.0 and rows["GPT-4"]["property_prediction-esol"] == 2.570
    assert rows["LlaSMol-Mistral"]["name_conversion-s2f"] == get_task("NC-S2F").paper_figures["EM"]


def test_report_without_training_log_or_predictions(scored, tmp_path: Path):
    _, metrics, _ = scored
    files = write_report(ReportInputs(metrics={BASE: metrics[BASE]}), tmp_path)
    html = files.html.read_text(encoding="utf-8")
    assert "Training loss" not in html and html.count("data:image/png;base64,") == 1
    assert json.loads(files.summary.read_text())["name_conversion-s2f"][FINETUNED] is None


def test_molecule_drawings_and_tag_extraction():
    assert molecule_svg("CCO").startswith("<svg") and molecule_svg("C1CC") is None and molecule_svg(None) is None
    assert molecule_svg("CCO;O") is not None  # ';' separates parts, as in SMolInstruct answers
    query = "What is the formula of <SMILES> CC(C)C=C </SMILES> ?"
    assert tagged_text(query, Tag.SMILES) == "CC(C)C=C" and tagged_text(query, Tag.IUPAC) is None
    raw = Example(get_task("NC-S2F"), "CC(C)C=C", "C5H10", {FINETUNED: "C5H10"})  # raw input: the SMILES itself
    assert [caption for caption, _ in example_molecules(raw)] == ["query"]
    named = Example(get_task("NC-I2S"), "ethanol", "CCO", {BASE: None, FINETUNED: "C1CC"})
    assert [caption for caption, _ in example_molecules(named)] == ["gold", FINETUNED]
    assert "not a valid SMILES" in example_molecules(named)[1][1]
