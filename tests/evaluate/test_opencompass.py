"""OpenCompass's SMolInstruct protocol (``llasmol.evaluate.opencompass``), case by case and on real samples.

The expected values are worked out by hand from ``opencompass/datasets/smolinstruct.py``;
``benchmarks/opencompass_parity.py`` checks the same functions against OpenCompass's own code.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from rdkit import Chem

from llasmol.data.raw import DataFormatError, iter_raw_records
from llasmol.evaluate.gold import InvalidGoldError
from llasmol.evaluate.opencompass import (
    METRICS_FILE,
    SUMMARY_TASKS,
    OpenCompassInputError,
    chemical_answer,
    evaluate_opencompass,
    reference_text,
    score_replies,
    select_mini_set,
    summary_score,
    write_opencompass_metrics,
    yes_no_label,
)
from llasmol.tasks import TASK_NAMES, get_task

YES, NO = "<BOOLEAN> Yes </BOOLEAN>", "<BOOLEAN> No </BOOLEAN>"


def _score(task: str, replies: list[str], gold: str) -> dict[str, float]:
    return score_replies(task, replies, [reference_text(task, gold)] * len(replies))


def test_reference_text_wraps_the_gold_in_the_task_tags() -> None:
    assert reference_text("FS", "CCO") == "<SMILES> CCO </SMILES>"
    assert reference_text("PP-SIDER", "Yes") == YES
    assert reference_text("MC", "The molecule is an acid.") == "The molecule is an acid."


@pytest.mark.parametrize(("text", "answer"), [
    ("<SMILES> CCO </SMILES>", "CCO"),
    ("<SMILES>C</SMILES> no, <IUPAC>\n ethanol \n</IUPAC>", "ethanol"),  # the last span, of any of the three tags
    ("Reactants and Reagents:**\n```\nCC.O\n```", "CC.O"),
    ("  CCO \n", "  CCO \n"),  # untagged: the whole text, unstripped
    ("<SMILES> CCO", "<SMILES> CCO"),
])
def test_chemical_answer(text: str, answer: str) -> None:
    assert chemical_answer(text) == answer


def test_fingerprint_similarity_gold_top_same_molecule_equal_garbage_zero() -> None:
    gold = "CC(=O)OC1=CC=CC=C1C(=O)O"
    aromatic = Chem.MolToSmiles(Chem.MolFromSmiles(gold))
    assert aromatic != gold
    assert _score("FS", [f"<SMILES> {gold} </SMILES>"], gold) == {"score": 100.0, "valid_score": 100.0}
    assert _score("FS", [f"<SMILES> {aromatic} </SMILES>"], gold) == {"score": 100.0, "valid_score": 100.0}
    assert _score("MG", ["unknown!"], gold) == {"score": 0.0, "valid_score": 0.0}
    # RDKit reads the text after a space as a name: "I cannot tell." is iodine, valid.
    assert _score("MG", ["I cannot tell."], gold) == {"score": 0.0, "valid_score": 100.0}
    # An empty answer reads as a molecule without atoms: valid, similarity 0.
    assert _score("RS", [""], gold) == {"score": 0.0, "valid_score": 100.0}
    wrong = _score("FS", ["<SMILES> CCCCCC </SMILES>"], gold)
    assert 0 < wrong["score"] < 100 and wrong["valid_score"] == 100.0
    mixed = _score("FS", [f"<SMILES> {gold} </SMILES>", aromatic, "garbage (", ""], gold)
    assert mixed == {"score": 50.0, "valid_score": 75.0}
    # SMolInstruct writes some golds' parts with ';', which RDKit does not read: nothing scores.
    assert _score("MG", ["<SMILES> CCO;Cl </SMILES>", "CCO.Cl"], "CCO;Cl") == {"score": 0.0, "valid_score": 0.0}


def test_exact_match_compares_strings() -> None:
    gold = "CC(=O)OC1=CC=CC=C1C(=O)O"
    aromatic = Chem.MolToSmiles(Chem.MolFromSmiles(gold))
    replies = [f"<SMILES> {gold} </SMILES>", f"<SMILES> {aromatic} </SMILES>", f"\n {gold} \n", "", "nothing"]
    assert _score("NC-I2S", replies, gold) == {"score": 40.0, "valid_score": 100.0}
    assert _score("NC-S2I", ["<IUPAC> ethanol </IUPAC>", "<IUPAC> Ethanol </IUPAC>"], "ethanol")["score"] == 50.0


def test_element_match() -> None:
    replies = [
        "<MOLFORMULA> C2H6O </MOLFORMULA>",  # match
        "<MOLFORMULA> H6OC2 </MOLFORMULA>",  # match: element counts
        "<MOLFORMULA> C2H6O1xyz </MOLFORMULA>",  # match: the parse stops at a lower-case letter after a count
        "<MOLFORMULA> C2H6Oxyz </MOLFORMULA>",  # no match: "Ox" reads as an element
        "<MOLFORMULA> C2H6O+ </MOLFORMULA>",  # a charge is an element
        "<MOLFORMULA> c2h6o </MOLFORMULA>",  # valid, reads as nothing
        "<MOLFORMULA> C2 H6 O </MOLFORMULA>",  # invalid
        "",  # no answer: neither a match nor invalid
        "<MOLFORMULA> C" + "9" * 5000 + " </MOLFORMULA>",  # a count int() refuses: invalid
    ]
    assert _score("NC-S2F", replies, "C2H6O") == {"score": 3 / 9 * 100, "valid_score": 100 - 2 / 9 * 100}
    with pytest.raises(InvalidGoldError):
        _score("NC-I2F", ["C2H6O"], "C2(H6)O")


def test_mean_error() -> None:
    replies = ["<NUMBER> -1.0 </NUMBER>", "no number", "\\boxed{-2.5}", "<NUMBER> -2 </NUMBER>"]
    # |−1 − (−2)|, |0 − (−2)|, |−2.5 − (−2)|, 0
    assert _score("PP-ESOL", replies, "-2.0") == {"score": (1.0 + 2.0 + 0.5 + 0.0) / 4}
    assert _score("PP-Lipo", ["<NUMBER> 1" + "0" * 400 + " </NUMBER>"], "1.5") == {"score": math.inf}
    with pytest.raises(InvalidGoldError):
        score_replies("PP-Lipo", ["<NUMBER> 1 </NUMBER>"], ["1.5"])  # a reference without its tags


@pytest.mark.parametrize(("reply", "label"), [
    ("Yes", YES), ("no.", NO), ("<BOOLEAN> No </BOOLEAN>", NO), ("The answer is yes", YES), ("\\boxed{No}", NO),
    ("<think>It could be no</think> Yes", YES), ("**Answer:** yes", YES), ("Answer: NO, because", NO),
    ("I think it is not toxic, so no", NO), ("Nothing is known about it.", NO), ("maybe", ""), ("", ""),
    ('The answer is: "No".', ""),
])
def test_yes_no_label(reply: str, label: str) -> None:
    assert yes_no_label(reply) == label


def test_accuracy_compares_labels_with_the_reference_text() -> None:
    replies = ["<BOOLEAN> Yes </BOOLEAN>", "No", "maybe", "yes"]
    assert _score("PP-BBBP", replies, "Yes") == {"accuracy": 50.0}
    # Text around the tagged label in the reference (a template's) makes every answer wrong.
    assert score_replies("PP-HIV", ["Yes"], ["The answer is <BOOLEAN> Yes </BOOLEAN> ."]) == {"accuracy": 0.0}


def test_meteor_on_whole_replies() -> None:
    gold = "The molecule is a monocarboxylic acid that is acetic acid substituted by a phenyl group."
    exact = _score("MC", [gold], gold)["score"]
    assert 0.99 < exact < 1.0  # METEOR's fragmentation penalty
    worse = _score("MC", ["The molecule is an acid.</s>"], gold)["score"]
    assert 0 < worse < exact
    assert _score("MC", [gold, ""], gold) == {"score": exact / 2}


def test_unequal_or_no_samples() -> None:
    with pytest.raises(OpenCompassInputError):
        score_replies("FS", ["CCO"], [])
    with pytest.raises(OpenCompassInputError):
        score_replies("FS", [], [])


def test_mini_set_is_opencompass_draw() -> None:
    samples = [f"sample {index}" for index in range(4104)]
    mini = select_mini_set(samples)
    random.seed(1024)  # SmolInstructDataset.load, mini_set=True
    assert mini == random.sample(samples, min(500, len(samples)))
    assert len(mini) == 500 and len(set(mini)) == 500
    assert select_mini_set(samples) == mini
    small = select_mini_set(samples[:143])
    assert sorted(small) == sorted(samples[:143]) and small != samples[:143]


def test_summary_score() -> None:
    results = {name: {"score": 50.0} for name in SUMMARY_TASKS}
    for name in ("property_prediction-bbbp", "property_prediction-clintox", "property_prediction-hiv",
                 "property_prediction-sider"):
        results[name] = {"accuracy": 80.0}
    results["molecule_captioning"] = {"score": 0.5}  # x 100: 50
    results["property_prediction-esol"] = {"score": 1.0}  # max((2 - 1) / 2, 0) x 100: 50
    results["property_prediction-lipo"] = {"score": 3.0}  # max((1.2 - 3) / 1.2, 0) x 100: 0
    assert summary_score(results) == pytest.approx((9 * 50 + 4 * 80 + 0) / 14)
    del results["retrosynthesis"]
    assert summary_score(results) is None


def _line(task: str, gold: str, output: list[str] | None, target: str | None = None) -> str:
    return json.dumps({"input": "CCO", "gold": gold, "task": task, "target": target, "output": output,
                       "pred": None if output is None else [text.strip() for text in output]})


def test_folder_reads_the_first_output(tmp_path: Path) -> None:
    lines = [_line("property_prediction-bbbp", "Yes", ["<BOOLEAN> Yes </BOOLEAN>", "<BOOLEAN> No </BOOLEAN>"]),
             _line("property_prediction-bbbp", "No", ["No"]),
             _line("property_prediction-bbbp", "No", None)]  # skipped: an empty reply
    (tmp_path / "property_prediction-bbbp.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "property_prediction-esol.jsonl").write_text(
        _line("property_prediction-esol", "-1.5", ["<NUMBER> 1" + "0" * 400 + " </NUMBER>"]) + "\n")
    results = evaluate_opencompass(tmp_path)
    assert results == {"property_prediction-esol": {"score": math.inf},
                       "property_prediction-bbbp": {"accuracy": 2 / 3 * 100}}
    path = write_opencompass_metrics(results, tmp_path)
    assert path == tmp_path / METRICS_FILE
    assert json.loads(path.read_text()) == {"property_prediction-esol": {"score": None},
                                            "property_prediction-bbbp": {"accuracy": 2 / 3 * 100}}


def test_folder_needs_raw_replies(tmp_path: Path) -> None:
    line = json.dumps({"input": "CCO", "gold": "Yes", "task": "property_prediction-hiv", "pred": ["Yes"]})
    (tmp_path / "property_prediction-hiv.jsonl").write_text(line + "\n")
    with pytest.raises(DataFormatError, match="'output'"):
        evaluate_opencompass(tmp_path)


def test_folder_names_an_unreadable_gold(tmp_path: Path) -> None:
    lines = [_line("property_prediction-lipo", "1.2", ["<NUMBER> 1 </NUMBER>"]),
             _line("property_prediction-lipo", "n/a", ["<NUMBER> 1 </NUMBER>"])]
    (tmp_path / "property_prediction-lipo.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"property_prediction-lipo.jsonl:2: field 'gold'"):
        evaluate_opencompass(tmp_path)


def _gold_generations(folder: Path, split: Path) -> None:
    """A generations folder of the split whose replies are the tagged golds, as a perfect model writes them."""
    for name in TASK_NAMES:
        task = get_task(name)
        with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for record in iter_raw_records(split / f"{name}.jsonl"):
                reply = reference_text(task, record.output)
                handle.write(json.dumps({"input": record.input, "gold": record.output, "task": name,
                                         "target": record.target, "output": [reply], "pred": [record.output]}) + "\n")


def test_real_samples_gold_scores_top(tmp_path: Path, smolinstruct_val: Path) -> None:
    _gold_generations(tmp_path, smolinstruct_val)
    results = evaluate_opencompass(tmp_path, mini_set=True)
    assert list(results) == list(TASK_NAMES)
    for name, metrics in results.items():
        if name == "molecule_captioning":
            assert 0.99 < metrics["score"] < 1.0
        elif name in ("property_prediction-esol", "property_prediction-lipo"):
            assert metrics == {"score": 0.0}
        elif metrics.keys() == {"accuracy"}:
            assert metrics == {"accuracy": 100.0}
        elif name == "molecule_generation":
            # Golds whose parts SMolInstruct separates with ';' do not read in RDKit: 0 whatever the reply.
            golds = select_mini_set([r.output for r in iter_raw_records(smolinstruct_val / f"{name}.jsonl")])
            readable = sum(Chem.MolFromSmiles(gold) is not None for gold in golds) / len(golds) * 100
            assert 95 < readable < 100
            assert metrics == {"score": pytest.approx(readable), "valid_score": pytest.approx(readable)}
        else:
            assert metrics == {"score": 100.0, "valid_score": 100.0}, name
    summary = summary_score(results)
    assert summary is not None and 99.5 < summary < 100.0


def test_real_samples_noncanonical_smiles(smolinstruct_val: Path) -> None:
    golds = [record.output for record in iter_raw_records(smolinstruct_val / "name_conversion-i2s.jsonl")][:200]
    rewritten = [Chem.MolToSmiles(Chem.MolFromSmiles(gold)) for gold in golds]
    replies = [f"<SMILES> {smiles} </SMILES>" for smiles in rewritten]
    references = [reference_text("NC-I2S", gold) for gold in golds]
    same_text = sum(smiles == gold for smiles, gold in zip(rewritten, golds, strict=True))
    assert same_text < len(golds) / 2  # RDKit's aromatic form mostly differs from SMolInstruct's Kekulé one
    assert score_replies("NC-I2S", replies, references) == {"score": same_text / len(golds) * 100,
                                                             "valid_score": 100.0}
    assert score_replies("MG", replies, references) == {"score": 100.0, "valid_score": 100.0}
