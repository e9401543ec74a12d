"""RL rewards (``llasmol.rl.rewards``) on real SMolInstruct samples, and their agreement with the evaluator."""

from __future__ import annotations

import itertools
import pickle
import re
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from rdkit import Chem

from llasmol.chem import canonicalize_smiles, fingerprint_similarities, molecule_fingerprints
from llasmol.data.raw import RawRecord, iter_raw_records
from llasmol.evaluate import PredictionRecord, score_task
from llasmol.rl import (
    REWARDS_BY_FAMILY,
    RewardWarning,
    answer_reward,
    chemistry_reward,
    completion_text,
    format_reward,
    molecule_reward,
    morgan_similarity,
    name_reward,
)
from llasmol.rl import rewards as rewards_module
from llasmol.tasks import TASK_NAMES, MetricFamily, Task, get_task

SAMPLES_PER_TASK = 6
AGREEMENT_SAMPLES = 40
MOLECULE_TASKS = [name for name in TASK_NAMES if get_task(name).metric_family is MetricFamily.MOLECULE]
TEN_KB = "lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 180
UNICODE = "分子式 🧪 ∂∑√ é\u200b\udcff"  # CJK, emoji, maths, a zero-width space, a lone surrogate


def wrap(task: Task, text: str) -> str:
    """The answer as the model writes it: in the task's tags (spaces inside), captions plain."""
    return task.output_tag.wrap(text) if task.output_tag is not None else text


@pytest.fixture(scope="session")
def records(smolinstruct_val: Path) -> dict[str, list[RawRecord]]:
    """The first real samples of each task (SIDER: one record per side-effect class)."""
    count = AGREEMENT_SAMPLES + 20
    return {name: list(itertools.islice(iter_raw_records(smolinstruct_val / f"{name}.jsonl"), count))
            for name in TASK_NAMES}


@pytest.fixture(scope="session")
def reward(caption_resources: Any) -> Callable[..., list[float]]:
    """:func:`chemistry_reward` with the evaluator's caption resources, as a trainer would be given it."""
    return partial(chemistry_reward, caption_resources=caption_resources)


def score(reward: Callable[..., list[float]], task: Task, completions: list[Any], golds: list[Any]) -> list[float]:
    return reward([""] * len(completions), completions, task=[task.name] * len(completions), gold=golds,
                  completion_ids=[[0]] * len(completions), trainer_state=None)


def near_miss(task: Task, record: RawRecord, others: list[RawRecord]) -> str | None:
    """A plausible wrong answer: another molecule, one count changed, a changed locant, half a caption..."""
    gold = record.output
    family = task.metric_family
    if family is MetricFamily.MOLECULE:
        own = canonicalize_smiles(gold.replace(";", "."))
        return next(other.output for other in others if canonicalize_smiles(other.output.replace(";", ".")) != own)
    if family is MetricFamily.FORMULA:
        element, count = re.match(r"([A-Z][a-z]?)(\d*)", gold).groups()
        return f"{element}{int(count or 1) + 1}{gold[len(element) + len(count):]}"
    if family is MetricFamily.NAME:
        digit = re.search(r"\d", gold)
        if digit is None:
            return None
        changed = str((int(digit.group()) + 1) % 10)
        return gold[:digit.start()] + changed + gold[digit.end():]
    if family is MetricFamily.CAPTION:
        words = gold.split()
        return " ".join(words[:len(words) // 2])
    if family is MetricFamily.REGRESSION:
        return str(float(gold) + 1)
    return "No" if gold.strip().lower() == "yes" else "Yes"


def garbage(task: Task, gold: str) -> list[Any]:
    """Completions that must score 0.0: nothing usable in them."""
    junk: list[Any] = ["", "   \n", TEN_KB, UNICODE, wrap(task, ""), wrap(task, UNICODE),
                       [{"role": "assistant", "content": None}], [], None, {"role": "assistant"}, 42,
                       "<think> unfinished reasoning " + wrap(task, gold)]
    if task.output_tag is not None:
        junk += [gold, f"{task.output_tag.left} {gold}", f"{gold} {task.output_tag.right}",
                 f"{task.output_tag.right} {gold} {task.output_tag.left}"]
    if task.metric_family not in (MetricFamily.NAME, MetricFamily.CAPTION):
        junk += [wrap(task, "C1CC(=O"), wrap(task, TEN_KB)]
    return junk


@pytest.mark.parametrize("task_name", TASK_NAMES)
def test_gold_tops_near_miss_tops_garbage(task_name: str, records: dict[str, list[RawRecord]],
                                          reward: Callable[..., list[float]]) -> None:
    task = get_task(task_name)
    samples = records[task_name]
    if task.metric_family is MetricFamily.NAME:  # a changed locant needs a locant
        samples = [record for record in samples if re.search(r"\d", record.output)]
    for record in samples[:SAMPLES_PER_TASK]:
        gold = record.output
        top = score(reward, task, [wrap(task, gold), [{"role": "assistant", "content": wrap(task, gold)}]], [gold] * 2)
        assert top == [1.0, 1.0], (gold, top)
        wrong = near_miss(task, record, samples)
        assert wrong is not None
        [near] = score(reward, task, [wrap(task, wrong)], [gold])
        assert 0.0 < near < 1.0, (gold, wrong, near)
        if task.metric_family in (MetricFamily.MOLECULE, MetricFamily.FORMULA, MetricFamily.REGRESSION):
            assert near >= rewards_module.VALID_REWARD
        junk = garbage(task, gold)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RewardWarning)
            scored = score(reward, task, junk, [gold] * len(junk))
        assert scored == [0.0] * len(junk), [(item if not isinstance(item, str) else item[:40], value)
                                             for item, value in zip(junk, scored, strict=True) if value]


@pytest.mark.parametrize("task_name", TASK_NAMES)
def test_per_type_reward_scores_its_type_and_skips_the_others(task_name: str, records: dict[str, list[RawRecord]],
                                                              reward: Callable[..., list[float]],
                                                              caption_resources: Any) -> None:
    task = get_task(task_name)
    other = next(name for name in TASK_NAMES if get_task(name).metric_family is not task.metric_family)
    gold, other_gold = records[task_name][0].output, records[other][0].output
    typed = partial(REWARDS_BY_FAMILY[task.metric_family], caption_resources=caption_resources)
    completions = [wrap(task, gold), wrap(get_task(other), other_gold)]
    assert typed(None, completions, task=[task_name, other], gold=[gold, other_gold]) == [1.0, None]
    assert reward(None, completions, task=[task_name, other], gold=[gold, other_gold]) == [1.0, 1.0]
    # without a task column, every sample is read as the function's type
    assert typed(None, [wrap(task, gold)], gold=[gold]) == [1.0]


def evaluator_verdict(task: Task, record: RawRecord, answer: str) -> tuple[bool, bool]:
    """(exact match, no usable answer) of one answer, as ``score_task`` counts them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics = score_task(task, [PredictionRecord.of(record.input, record.output, [answer])])
    if task.metric_family is MetricFamily.MOLECULE:
        return metrics["num_t1_exact_match"] == 1, metrics["num_t1_invalid"] + metrics["num_t1_no_answer"] == 1
    if task.metric_family is MetricFamily.FORMULA:
        return metrics["num_t1_ele_match"] == 1, metrics["num_t1_formula_invalid"] + metrics["num_t1_no_answer"] == 1
    if task.metric_family is MetricFamily.NAME:
        return metrics["num_t1_split_match"] == 1, metrics["num_t1_no_answer"] == 1
    return metrics["num_correct"] == 1, metrics["num_invalid"] + metrics["num_no_answer"] == 1


def molecule_variants(gold: str, other: str) -> list[str]:
    """Answers around a gold SMILES: rewrites that keep it, and changes that do not."""
    mol = Chem.MolFromSmiles(gold.replace(";", "."))
    mapped = Chem.Mol(mol)
    for atom in mapped.GetAtoms():
        atom.SetAtomMapNum(atom.GetIdx() + 1)
    parts = gold.replace(";", ".").split(".")
    return [
        gold,
        Chem.MolToSmiles(mol, doRandom=True),  # another way to write it
        Chem.MolToSmiles(mol),  # aromatic
        Chem.MolToSmiles(mol, isomericSmiles=False),  # stereo dropped: matches only without stereo
        Chem.MolToSmiles(mapped),  # atom maps are ignored
        gold.replace(".", ";"),
        f"{gold}.{parts[0]}",  # a part repeated: the identity ignores duplicates
        ".".join(parts[:-1]) if len(parts) > 1 else f"{gold}.O",  # a part missing or added
        other,
        f"C{gold}" if gold[0] == "C" else f"{gold}C",  # usually another molecule, sometimes invalid
        gold + "(",  # invalid
        "CC(C)(C)(C)(C)C",  # a carbon with too many bonds
    ]


HANDWRITTEN = [  # tautomers, charges, isotopes, explicit hydrogens and dummy atoms, against the InChI identity
    ("O=C1C=CC=CN1", ["OC1=CC=CC=N1", "O=c1cccc[nH]1", "Oc1ccccn1"]),
    ("CC(=O)O", ["CC(=O)[O-]", "CC(O)=O", "[2H]OC(C)=O", "[CH3]C(=O)O", "CC(=O)O.CC(=O)O"]),
    ("C[N+](C)(C)C.[Cl-]", ["[Cl-].C[N+](C)(C)C", "C[N+](C)(C)C", "CN(C)C.CCl"]),
    ("*C(=O)O", ["*C(O)=O", "CC(=O)O", "[*]C(=O)O"]),
]


@pytest.mark.parametrize("task_name", MOLECULE_TASKS)
def test_exact_reward_agrees_with_the_evaluator_on_molecules(task_name: str, records: dict[str, list[RawRecord]],
                                                             reward: Callable[..., list[float]]) -> None:
    task = get_task(task_name)
    samples = records[task_name][:AGREEMENT_SAMPLES]
    cases = [(record, answer) for index, record in enumerate(samples)
             for answer in molecule_variants(record.output, samples[(index + 1) % len(samples)].output)]
    cases += [(RawRecord("handwritten", gold, task_name, "", None, 0, 1), answer)
              for gold, answers in HANDWRITTEN for answer in [gold, *answers]]
    scored = score(reward, task, [wrap(task, answer) for _, answer in cases], [record.output for record, _ in cases])
    exact_count = 0
    for (record, answer), value in zip(cases, scored, strict=True):
        exact, unusable = evaluator_verdict(task, record, answer)
        assert (value == 1.0) == exact, (record.output, answer, value)
        assert (value == 0.0) == unusable, (record.output, answer, value)
        exact_count += exact
    assert AGREEMENT_SAMPLES * 4 <= exact_count < len(cases)  # both verdicts well represented


@pytest.mark.parametrize("task_name", [name for name in TASK_NAMES if get_task(name).metric_family in (
    MetricFamily.FORMULA, MetricFamily.NAME, MetricFamily.CLASSIFICATION)])
def test_exact_reward_agrees_with_the_evaluator_on_formulas_names_and_labels(
        task_name: str, records: dict[str, list[RawRecord]], reward: Callable[..., list[float]]) -> None:
    task = get_task(task_name)
    samples = records[task_name][:12]
    cases = []
    for record in samples:
        gold = record.output
        answers = [gold, f" {gold} ", gold.lower(), gold + "2", near_miss(task, record, samples) or gold + "x"]
        if ";" in gold:
            answers.append(";".join(reversed(gold.split(";"))))
        cases += [(record, answer) for answer in answers]
    scored = score(reward, task, [wrap(task, answer) for _, answer in cases], [record.output for record, _ in cases])
    for (record, answer), value in zip(cases, scored, strict=True):
        exact, unusable = evaluator_verdict(task, record, answer)
        assert (value == 1.0) == exact, (record.output, answer, value)
        if task.metric_family is not MetricFamily.NAME:  # any non-empty name is an answer
            assert (value == 0.0) == unusable, (record.output, answer, value)


def test_rewards_follow_their_definitions() -> None:
    near = answer_reward("CCCO", "CCO", "forward_synthesis")
    assert near == pytest.approx(0.1 + 0.5 * morgan_similarity("CCCO", "CCO"))
    assert answer_reward("C2H6O", "C2H6O", "NC-S2F") == 1.0
    assert answer_reward("C2H7O", "C2H6O", "NC-S2F") == pytest.approx(0.1 + 0.5 * 9 / 10)
    assert answer_reward("-1.5", "-2.5", "PP-ESOL") == pytest.approx(0.1 + 0.9 * 0.36787944117144233)
    assert answer_reward("nan", "-2.5", "PP-ESOL") == answer_reward("inf", "-2.5", "PP-Lipo") == 0.0
    assert answer_reward("yes", "Yes", "PP-HIV") == 1.0
    assert answer_reward("No", "Yes", "PP-SIDER") == 0.1
    assert answer_reward("b;a", "a;b", "NC-S2I") == 1.0
    assert 0.0 < answer_reward("2-methylpropane", "2-methylbutane", "NC-S2I") < 0.5
    # several acceptable golds: the best; a gold written in its tags is read inside them
    assert answer_reward("CCO", ["CCN", "OCC"], "MG") == 1.0
    assert answer_reward("CCO", "<SMILES> OCC </SMILES>", "MG") == 1.0
    # golds stored as booleans or numbers
    assert chemistry_reward(None, ["<BOOLEAN> Yes </BOOLEAN>", "<NUMBER> 1.5 </NUMBER>"], task=["PP-HIV", "PP-ESOL"],
                            gold=[True, 1.5]) == [1.0, 1.0]


def test_morgan_similarity_is_the_evaluators() -> None:
    first, second = "CC(=O)OC1=CC=CC=C1C(=O)O", "CC(=O)NC1=CC=C(O)C=C1"
    expected = fingerprint_similarities(molecule_fingerprints(Chem.MolFromSmiles(first)),
                                        molecule_fingerprints(Chem.MolFromSmiles(second)))[2]
    assert morgan_similarity(first, second) == pytest.approx(expected)


def test_reasoning_and_message_forms() -> None:
    completions = ["<think> maybe <SMILES> CCN </SMILES> </think> <SMILES> CCO </SMILES>",
                   [{"role": "user", "content": "x"}, {"role": "assistant", "content": "<SMILES> CCO </SMILES>"}],
                   [{"role": "assistant", "content": [{"type": "text", "text": "<SMILES> CCO </SMILES>"}]}],
                   {"role": "assistant", "content": "<SMILES> OCC </SMILES>"}]
    assert chemistry_reward(None, completions, task="FS", gold="CCO") == [1.0] * 4
    assert completion_text([{"role": "assistant", "content": None}]) is None


def test_format_reward() -> None:
    completions = ["<SMILES> CCO </SMILES>", "<SMILES> CCO </SMILES> <SMILES> C </SMILES>", "<SMILES> CCO",
                   "</SMILES> CCO <SMILES>", "<SMILES>  </SMILES>", "<SMILES> <IUPAC> x </SMILES>", "CCO",
                   "<think> <SMILES> </think> <SMILES> CCO </SMILES>", [{"role": "assistant", "content": None}], None]
    assert format_reward(None, completions, task="forward_synthesis") == [1.0, 0, 0, 0, 0, 0, 0, 1.0, 0, 0]
    captions = ["The molecule is an alcohol.", "", "<SMILES> CCO </SMILES>"]
    assert format_reward(None, captions, task="molecule_captioning") == [1.0, 0.0, 0.0]
    assert format_reward(None, ["<BOOLEAN> Yes </BOOLEAN>", "<NUMBER> 1 </NUMBER>"],
                         task=["PP-BBBP", "PP-BBBP"], completion_ids=[[1], [2]]) == [1.0, 0.0]


def test_an_exception_costs_only_its_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    real = rewards_module.canonicalize_smiles

    def fragile(smiles: str) -> str | None:
        if smiles == "CCCCCCCCCN":
            raise RuntimeError("boom")
        return real(smiles)

    monkeypatch.setattr(rewards_module, "canonicalize_smiles", fragile)
    completions = ["<SMILES> CCO </SMILES>", "<SMILES> CCCCCCCCCN </SMILES>", "<SMILES> CCO </SMILES>"]
    with pytest.warns(RewardWarning, match="boom"):
        assert chemistry_reward(None, completions, task="FS", gold="CCO") == [1.0, 0.0, 1.0]


def test_unreadable_golds_and_unknown_tasks_score_zero_with_a_warning() -> None:
    with pytest.warns(RewardWarning):
        assert chemistry_reward(None, ["<SMILES> CCO </SMILES>"] * 3, task=["FS", "no-such-task", "FS"],
                                gold=["C1CC(", "CCO", None]) == [0.0, 0.0, 0.0]
    with pytest.warns(RewardWarning):
        assert chemistry_reward(None, ["<NUMBER> 1 </NUMBER>"], task=["PP-ESOL"], gold=["n/a"]) == [0.0]
    with pytest.raises(ValueError, match="2 items for 1 completions"):
        chemistry_reward(None, ["x"], task=["FS"], gold=["C", "C"])


def test_reward_functions_pickle_under_their_names() -> None:
    for function in [chemistry_reward, format_reward, *REWARDS_BY_FAMILY.values()]:
        assert pickle.loads(pickle.dumps(function)) is function
    assert name_reward.__name__ == "name_reward"


def test_a_batch_of_sixteen_scores_well_under_a_second(records: dict[str, list[RawRecord]]) -> None:
    task = get_task("retrosynthesis")
    fresh = records["retrosynthesis"][AGREEMENT_SAMPLES:AGREEMENT_SAMPLES + 16]
    golds = [record.output for record in fresh]
    completions = [wrap(task, golds[(index + 1) % 16] if index % 2 else Chem.MolToSmiles(
        Chem.MolFromSmiles(gold), doRandom=True)) for index, gold in enumerate(golds)]
    started = time.perf_counter()
    scored = molecule_reward(None, completions, task=[task.name] * 16, gold=golds)
    assert time.perf_counter() - started < 1.0
    assert scored[0::2] == [1.0] * 8 and all(0.1 <= value < 1.0 for value in scored[1::2])
