"""``llasmol compare``: runs side by side, each extraction mode its own column, beside the paper's rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llasmol.cli import app
from llasmol.evaluate import evaluate_predictions
from llasmol.evaluate.compare import RunMetricsError, columns_of_run, compare_markdown


def _predictions(folder: Path, answers: list[str]) -> Path:
    """A BBBP predictions file whose golds are Yes, No, Yes, No …; answers are raw replies."""
    folder.mkdir(parents=True)
    with (folder / "property_prediction-bbbp.jsonl").open("w") as handle:
        for index, reply in enumerate(answers):
            gold = "Yes" if index % 2 == 0 else "No"
            handle.write(json.dumps({"input": f"C{'C' * index}O", "gold": gold, "output": [reply]}) + "\n")
    return folder


def _row(table: str, short_name: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {short_name} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_runs_and_modes_are_columns_beside_the_paper_rows(tmp_path: Path) -> None:
    tuned = _predictions(tmp_path / "tuned", ["<BOOLEAN> Yes </BOOLEAN>", "<BOOLEAN> No </BOOLEAN>"] * 2)
    untuned = _predictions(tmp_path / "untuned", ["Yes, it crosses.", "<BOOLEAN> No </BOOLEAN>"] * 2)
    for folder in (tuned, untuned):
        evaluate_predictions(folder, output=folder / "metrics.json", show_progress=False)
    evaluate_predictions(untuned, output=untuned / "metrics_lenient.json", extraction="lenient",
                         show_progress=False)
    table = compare_markdown([*columns_of_run(tuned), *columns_of_run(untuned, "API model")])
    header = _row(table, "task")
    assert header == ["task", "figure", "tuned", "API model", "API model [lenient]", "GPT-4", "Claude 3 Opus",
                      "LlaSMol-Mistral"]
    assert _row(table, "PP-BBBP") == ["PP-BBBP", "Acc", "100.0", "50.0", "100.0", "62.9", "75.1", "74.6"]
    assert "| PP-HIV |" not in table  # no run scored it


def test_a_pipeline_metrics_file_gives_a_column_per_model(tmp_path: Path) -> None:
    run = _predictions(tmp_path / "run", ["<BOOLEAN> Yes </BOOLEAN>"] * 4)
    scored = evaluate_predictions(run, show_progress=False)
    pipeline = tmp_path / "metrics.json"
    pipeline.write_text(json.dumps({"base": scored, "finetuned": scored}))
    assert [column.label for column in columns_of_run(pipeline, "cpu")] == ["cpu base", "cpu finetuned"]
    result = CliRunner().invoke(app, ["compare", f"cpu={pipeline}", "--output", str(tmp_path / "compare.md")])
    assert result.exit_code == 0, result.output
    assert _row((tmp_path / "compare.md").read_text(), "PP-BBBP")[2:4] == ["50.0", "50.0"]


def test_a_folder_without_metrics_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunMetricsError, match="no metrics"):
        columns_of_run(tmp_path)
    result = CliRunner().invoke(app, ["compare", str(tmp_path)])
    assert result.exit_code == 1 and "run `llasmol evaluate` on it first" in result.output


def test_opencompass_figures_are_a_column_of_their_own(tmp_path: Path) -> None:
    run = _predictions(tmp_path / "run", ["<BOOLEAN> Yes </BOOLEAN>", "No, it does not cross."] * 2)
    result = CliRunner().invoke(app, ["evaluate", str(run), "--protocol", "opencompass"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "metrics_opencompass.json").read_text())["property_prediction-bbbp"]["accuracy"] == 100.0
    evaluate_predictions(run, output=run / "metrics.json", show_progress=False)
    table = compare_markdown(columns_of_run(run))
    assert _row(table, "PP-BBBP")[2:4] == ["50.0", "100.0"]  # an untagged No counts for OpenCompass only
    assert "[opencompass] columns hold OpenCompass's own figures" in table
