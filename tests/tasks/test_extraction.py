"""Answer extraction: the paper's reading, reasoning replies, and the opt-in lenient reading scored apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llasmol.cli import app
from llasmol.data.raw import iter_raw_records
from llasmol.evaluate import evaluate_predictions, read_predictions
from llasmol.tasks import extract_answer, extract_answer_lenient, get_task, split_reasoning

LENIENT_CASES = [
    # (task, reply, lenient answer, the paper's answer)
    # read whole, the paper's way finds the tags inside the reasoning: generation stores the answer apart
    ("FS", "<think>maybe <SMILES> CC </SMILES></think>The product is **CCO**.", "CCO", "CC"),
    ("FS", "First <SMILES> CC </SMILES>, on reflection <SMILES> CCO </SMILES>", "CCO", "CC"),
    ("MG", "The molecule is CC(=O)O. I hope this helps.", "CC(=O)O", ""),
    ("FS", "I think it is C", "", ""),  # a lone capital letter is a word, not methane
    ("NC-S2F", "The formula is C6H6O.", "C6H6O", ""),
    ("NC-I2F", "**Molecular formula:** \\boxed{C10H12N2O}", "C10H12N2O", ""),
    ("NC-S2I", "Answer: 2-methylpropan-1-ol.", "2-methylpropan-1-ol", ""),
    ("PP-ESOL", "logS \u2248 \u22122.35 mol/L", "-2.35", ""),
    ("PP-BBBP", "<think>It is small and lipophilic, so yes?</think> No, it does not cross.", "No", ""),
    ("PP-HIV", "<BOOLEAN> Yes </BOOLEAN>", "Yes", "Yes"),
    ("FS", "<think>no closing tag, cut by the token limit <SMILES> CCO </SMILES>", "", "CCO"),
]


@pytest.mark.parametrize(("task", "reply", "lenient", "paper"), LENIENT_CASES)
def test_lenient_reading_of_replies(task: str, reply: str, lenient: str, paper: str) -> None:
    assert extract_answer_lenient(reply, get_task(task)) == lenient
    assert extract_answer(reply, get_task(task)) == paper  # the paper's reading is unchanged


def test_replies_without_reasoning_are_kept_whole() -> None:
    assert split_reasoning("<SMILES> CCO </SMILES>") == (None, "<SMILES> CCO </SMILES>")
    assert split_reasoning("<think>a</think><think>b</think> x") == ("a</think><think>b", " x")


def test_lenient_scores_go_to_their_own_files(tmp_path: Path, smolinstruct_val: Path) -> None:
    samples = list(iter_raw_records(smolinstruct_val / "name_conversion-s2f.jsonl"))[:4]
    replies = [f"The formula is {sample.output}." if index % 2 == 0 else f"<MOLFORMULA> {sample.output} "
               "</MOLFORMULA>" for index, sample in enumerate(samples)]
    with (tmp_path / "name_conversion-s2f.jsonl").open("w") as handle:
        for sample, reply in zip(samples, replies, strict=True):
            record = {"input": sample.input, "gold": sample.output, "output": [reply],
                      "pred": [extract_answer(reply, get_task("NC-S2F"))]}
            handle.write(json.dumps(record) + "\n")
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path), "--workers", "1", "--extraction", "lenient"])
    assert result.exit_code == 0, result.output
    paper = json.loads((tmp_path / "metrics.json").read_text())["name_conversion-s2f"]
    lenient = json.loads((tmp_path / "metrics_lenient.json").read_text())["name_conversion-s2f"]
    assert (paper["num_t1_ele_match"], lenient["num_t1_ele_match"]) == (2, 4)
    assert "lenient extraction" in (tmp_path / "report_lenient.md").read_text()
    assert "lenient extraction" not in (tmp_path / "report.md").read_text()


def test_lenient_extraction_needs_the_generated_texts(tmp_path: Path) -> None:
    path = tmp_path / "name_conversion-s2f.jsonl"
    path.write_text(json.dumps({"input": "CCO", "gold": "C2H6O", "pred": ["C2H6O"]}) + "\n")
    with pytest.raises(ValueError, match=r"name_conversion-s2f.jsonl:1: field .output.: missing"):
        read_predictions(path, get_task("NC-S2F"), "lenient")
    with pytest.raises(ValueError, match="unknown extraction mode"):
        evaluate_predictions(tmp_path, extraction="loose", show_progress=False)
