"""The evaluator survives any answer: the crash classes fixed at their cause, and each answer scored in isolation."""

from __future__ import annotations

import json
import math
import re
import warnings

import pytest
from rdkit import Chem
from typer.testing import CliRunner

from llasmol.chem import FormulaError, canonicalize_smiles, parse_formula
from llasmol.chem.reference import reference_canonical
from llasmol.cli import app
from llasmol.data.raw import iter_raw_records
from llasmol.evaluate import EvaluationWarning, PredictionRecord, evaluate_predictions, score_task
from llasmol.evaluate import molecules as molecule_scoring
from llasmol.evaluate.memo import forget_remembered


def _records(folder, task, count):
    return list(iter_raw_records(folder / f"{task}.jsonl"))[:count]


def _with_answers(raw, answers):
    return [PredictionRecord.of(r.input, r.output, a, r.target) for r, a in zip(raw, answers, strict=True)]


def _unkekulizable(golds: list[str]) -> list[str]:
    """Real golds with one ring ``=N`` made ``=[N+2]``: RDKit reads them but has no Kekulé form for them."""
    found = []
    for gold in golds:
        for match in re.finditer(r"=N", gold):
            text = gold[:match.start() + 1] + "[N+2]" + gold[match.end():]
            mol = Chem.MolFromSmiles(text)
            if mol is None:
                continue
            try:
                Chem.MolToSmiles(mol, kekuleSmiles=True)
            except Chem.KekulizeException:
                found.append(text)
                break
    return found


def test_unkekulizable_answers_are_invalid_as_in_the_reference(smolinstruct_val):
    raw = _records(smolinstruct_val, "forward_synthesis", 300)
    answers = _unkekulizable([r.output for r in raw])[:5]
    assert len(answers) == 5
    for answer in answers:
        assert canonicalize_smiles(answer) is None
        assert reference_canonical(answer) is None
    metrics = score_task("FS", _with_answers(raw[:5], [[answer] for answer in answers]))
    assert metrics["num_t1_invalid"] == 5 and metrics["num_scoring_errors"] == 0


def test_formula_counts_past_the_integer_string_limit_are_invalid(smolinstruct_val):
    raw = _records(smolinstruct_val, "name_conversion-s2f", 3)
    huge = re.sub(r"\d+", "9" * 5000, raw[0].output, count=1)  # int() refuses over 4300 digits
    with pytest.raises(FormulaError):
        parse_formula(huge)
    metrics = score_task("NC-S2F", _with_answers(raw, [[huge], [raw[1].output + "-" + "7" * 5000], [raw[2].output]]))
    assert metrics["num_t1_formula_invalid"] == 2 and metrics["num_t1_ele_match"] == 1
    assert metrics["num_scoring_errors"] == 0


def test_squared_error_past_the_float_range_gives_an_infinite_rmse(smolinstruct_val):
    raw = _records(smolinstruct_val, "property_prediction-esol", 3)
    metrics = score_task("PP-ESOL", _with_answers(raw, [["1e155"], [raw[1].output], ["-1e200"]]))
    assert metrics["RMSE"] == math.inf and metrics["num_invalid"] == 0  # the reference's numpy RMSE is inf too
    finite = score_task("PP-ESOL", _with_answers(raw, [[r.output] for r in raw]))
    assert finite["RMSE"] == 0.0


def _iodo_golds(smolinstruct_val) -> list[str]:
    golds = [r.output for r in _records(smolinstruct_val, "forward_synthesis", 4000)]
    return [gold for gold in golds if re.search(r"I(?![a-z])", gold.replace("[", " ").replace("]", " "))][:20]


def test_hypervalent_halide_anions_equal_the_full_chain(smolinstruct_val):
    iodo = _iodo_golds(smolinstruct_val)
    assert len(iodo) >= 5
    cases = []
    for gold in iodo:
        for replacement in ("[I-](C)C", "[I-](C)(C)(C)C", "[I-](F)(F)(F)F", "[Br-](C)C", "[I-]C"):
            cases.append(re.sub(r"I(?![a-z])", replacement, gold, count=1))
    cases += ["C[I-](C)C", "C[I-](C)(C)(C)C", "F[I-](F)(F)(F)F", "C[I-]C", "[I-]", "I=O", "O=I(=O)C", "OCl=O"]
    differing = [(case, canonicalize_smiles(case), reference_canonical(case)) for case in cases
                 if canonicalize_smiles(case) != reference_canonical(case)]
    assert not differing
    assert canonicalize_smiles("C[I-](C)(C)(C)C") == "C[IH-](C)(C)(C)C"  # the rebuild gives it a hydrogen
    assert canonicalize_smiles("I=O") == "[O-][IH+]"  # RDKit's clean-up on reading O=[IH]


@pytest.mark.parametrize("workers", [1, 2])  # 2: the failure comes back from a worker process
def test_an_answer_whose_scoring_raises_counts_invalid_and_the_run_goes_on(tmp_path, smolinstruct_val, monkeypatch,
                                                                           workers):
    poison = "CC(=O)OC1=CC=CC=C1C(=O)O.[Fake]"

    def canonicalize_or_raise(smiles: str) -> str | None:
        if smiles == poison:
            raise RuntimeError("simulated RDKit failure")
        return canonicalize_smiles(smiles)

    monkeypatch.setattr(molecule_scoring, "canonicalize_smiles", canonicalize_or_raise)
    forget_remembered()
    raw = _records(smolinstruct_val, "forward_synthesis", 4)
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    answers = [[raw[0].output], [poison], [raw[2].output], [poison]]
    with open(predictions / "forward_synthesis.jsonl", "w") as handle:
        for record, sample in zip(raw, answers, strict=True):
            handle.write(json.dumps({"input": record.input, "gold": record.output, "pred": sample}) + "\n")
    esol = _records(smolinstruct_val, "property_prediction-esol", 2)
    with open(predictions / "property_prediction-esol.jsonl", "w") as handle:
        for record in esol:
            handle.write(json.dumps({"input": record.input, "gold": record.output, "pred": [record.output]}) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics = evaluate_predictions(predictions, output=tmp_path / "metrics.json", workers=workers,
                                       show_progress=False)
    forget_remembered()
    fs = metrics["forward_synthesis"]
    assert fs["num_scoring_errors"] == 2 and fs["num_t1_invalid"] == 2 and fs["num_t1_exact_match"] == 2
    assert metrics["property_prediction-esol"]["RMSE"] == 0.0
    assert metrics["property_prediction-esol"]["num_scoring_errors"] == 0
    messages = [str(w.message) for w in caught if issubclass(w.category, EvaluationWarning)]
    assert [m for m in messages if "line 2" in m and "forward_synthesis" in m and "simulated RDKit failure" in m]
    assert [m for m in messages if "line 4" in m]
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["forward_synthesis"]["num_scoring_errors"] == 2
    assert "raised (see the warnings): FS 2." in (tmp_path / "report.md").read_text()


def test_a_raising_step_on_the_workers_counts_the_answer_invalid(smolinstruct_val, monkeypatch):
    """Later steps too: an InChI step that raises makes its answer invalid and leaves it out of the fingerprints."""
    raw = _records(smolinstruct_val, "forward_synthesis", 3)
    gold, wrong = "CCCCCCN", "CCCCC(C)N"  # another molecule with the gold's heavy atoms: its InChI is computed
    real_inchi = molecule_scoring.part_inchi

    def inchi_or_raise(part: str) -> str | None:
        if part == canonicalize_smiles(wrong):
            raise ValueError("simulated InChI failure")
        return real_inchi(part)

    monkeypatch.setattr(molecule_scoring, "part_inchi", inchi_or_raise)
    forget_remembered()
    records = _with_answers(raw, [[raw[0].output], [wrong], [raw[2].output]])
    records[1] = PredictionRecord.of(raw[1].input, gold, [wrong])
    with pytest.warns(EvaluationWarning, match="forward_synthesis sample 2: .*simulated InChI failure"):
        metrics = score_task("FS", records)
    forget_remembered()
    assert metrics["num_scoring_errors"] == 1 and metrics["num_t1_invalid"] == 1
    assert metrics["t1_morgan_fps"] == 1.0  # the two exact answers only


def test_cli_exits_zero_on_adversarial_answers(tmp_path, smolinstruct_val):
    raw = _records(smolinstruct_val, "forward_synthesis", 300)
    answers = [*_unkekulizable([r.output for r in raw])[:2], "", "C" * 10_000, "\u2603\x00<SMILES>", "[I-](C)(C)(C)C"]
    with open(tmp_path / "forward_synthesis.jsonl", "w") as handle:
        for record, answer in zip(raw, answers, strict=False):
            handle.write(json.dumps({"input": record.input, "gold": record.output, "pred": [answer]}) + "\n")
    s2f = _records(smolinstruct_val, "name_conversion-s2f", 2)
    with open(tmp_path / "name_conversion-s2f.jsonl", "w") as handle:
        for record, answer in zip(s2f, ["C" + "1" * 5000, "H2O+" + "3" * 5000], strict=True):
            handle.write(json.dumps({"input": record.input, "gold": record.output, "pred": [answer]}) + "\n")
    esol = _records(smolinstruct_val, "property_prediction-esol", 2)
    with open(tmp_path / "property_prediction-esol.jsonl", "w") as handle:
        for record, answer in zip(esol, ["1e155", "nan"], strict=True):
            handle.write(json.dumps({"input": record.input, "gold": record.output, "pred": [answer]}) + "\n")
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path), "--workers", "1",
                                      "--output", str(tmp_path / "out" / "metrics.json")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["forward_synthesis"]["num_t1_invalid"] == 3  # 2 unkekulizable and the snowman
    assert metrics["forward_synthesis"]["num_t1_no_answer"] == 1
    assert metrics["name_conversion-s2f"]["num_t1_formula_invalid"] == 2
    assert metrics["property_prediction-esol"]["num_invalid"] == 1  # nan
