"""Every task scores real validation samples, answered in many ways, as the plain algorithm does.

The answers are the golds, other writings of them, wrong answers (other samples' golds, mutated
ones), invalid text, blank answers, ``None`` and skipped samples; each sample's golds are all those
of its input in the split. ``score_task`` (caches, skip rules, short cuts) must give exactly the
metrics of ``llasmol.evaluate.reference``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from rdkit import Chem

from llasmol.data.raw import iter_raw_records
from llasmol.evaluate import InvalidGoldError, PredictionRecord, score_task
from llasmol.evaluate.gold import golds_from_split
from llasmol.evaluate.reference import reference_scores
from llasmol.tasks import TASKS, AnswerType, get_task
from tests.evaluate.reference_helpers import assert_scored_as_reference

SAMPLES = 40
SHARED_INPUT_SAMPLES = 10  # more, of inputs with several golds (where the split has them)
SKIPPED = 0.05  # share of samples without answers (None)


def _rewritten(smiles: str, rng: random.Random) -> str:
    """The same molecules in a random atom order, with atom maps at random."""
    mol = Chem.MolFromSmiles(smiles.replace(";", "."))
    if mol is None:
        return smiles
    if rng.random() < 0.3:
        for atom in mol.GetAtoms():
            atom.SetAtomMapNum(atom.GetIdx() + 1)
    return Chem.MolToRandomSmilesVect(mol, 1, randomSeed=rng.randrange(1 << 30))[0]


def _mutated(smiles: str, rng: random.Random) -> str:
    spots = [i for i, char in enumerate(smiles) if char == "C" and smiles[i + 1:i + 2] != "l"]
    if not spots:
        return smiles + "C"
    spot = rng.choice(spots)
    return smiles[:spot] + rng.choice(["N", "O", "S", "[NH4+]", "[Si]", "[C@H]", "I(=O)", "*"]) + smiles[spot + 1:]


def _smiles_writings(gold: str, other: str, rng: random.Random) -> list[str | None]:
    parts = gold.replace(";", ".").split(".")
    return [gold, gold, _rewritten(gold, rng), " ".join([gold[:3], gold[3:]]), f" {gold} ", _mutated(gold, rng),
            _mutated(_rewritten(gold, rng), rng), gold[: len(gold) // 2] + "(", other, f"{other}.{parts[0]}",
            rng.choice(parts), ".".join(reversed(parts)), "", "   ", None, "c1ccccc1;", "not a molecule"]


def _formula_writings(gold: str, other: str, rng: random.Random) -> list[str | None]:
    shuffled = list(_element_tokens(gold))
    rng.shuffle(shuffled)
    bumped = "".join(str(int(c) + 1) if c.isdigit() and i == 1 else c for i, c in enumerate(gold))
    return [gold, gold, "".join(shuffled), bumped, f"{gold}(OH)2", f"{gold}+", f"{gold}-2", gold.lower(), f" {gold}",
            other, "", None, "C(H3)2", "H2O"]


def _element_tokens(formula: str) -> list[str]:
    tokens: list[str] = []
    for char in formula:
        if char.isupper() or not tokens:
            tokens.append(char)
        else:
            tokens[-1] += char
    return tokens


def _name_writings(gold: str, other: str, rng: random.Random) -> list[str | None]:
    return [gold, gold, ";".join(reversed(gold.split(";"))), f"{gold};sodium", gold.replace("methyl", "ethyl"),
            gold.upper(), f"  {gold}", other, "", None]


def _caption_writings(gold: str, other: str, rng: random.Random) -> list[str | None]:
    sentences = gold.split(". ")
    return [gold, gold.upper(), ". ".join(sentences[1:] + sentences[:1]), gold[: len(gold) // 3], other,
            f"{other[:40]} {gold[40:]}", "the", "", "  ", None]


def _number_writings(gold: str, other: str, rng: random.Random) -> list[str | None]:
    return [gold, f"{float(gold) + rng.gauss(0, 1):.3f}", f"{float(gold) + rng.gauss(0, 1):.3f}", f" {gold} ",
            other, "1e5", "n/a", "nan", "-inf", "", None]


def _label_writings(gold: str, other: str, rng: random.Random) -> list[str | None]:
    flipped = "No" if gold.lower() == "yes" else "Yes"
    return [gold, gold, gold.upper(), f" {gold.lower()} ", flipped, flipped, "maybe", "", None]


WRITINGS: dict[AnswerType, Callable[[str, str, random.Random], list[str | None]]] = {
    AnswerType.SMILES: _smiles_writings, AnswerType.FORMULA: _formula_writings, AnswerType.IUPAC: _name_writings,
    AnswerType.TEXT: _caption_writings,
}


def _answers(task_name: str, gold: str, other: str, rng: random.Random) -> list[str | None] | None:
    """A sample's answers: the task's k, a few lists shorter (or empty); ``None`` for a skipped sample."""
    task = get_task(task_name)
    if rng.random() < SKIPPED:
        return None
    writings = WRITINGS.get(task.answer_type)
    if writings is None:
        writings = _number_writings if task.answer_type is AnswerType.NUMBER else _label_writings
    pool = writings(gold, other, rng)
    k = task.generation.num_return_sequences
    return [rng.choice(pool) for _ in range(k if rng.random() < 0.9 else max(k - 2, 0))]


def _answered_records(split: Path) -> list[PredictionRecord]:
    """The split's first samples and those of inputs with several golds, answered; another sample's
    gold (a sibling's, where the input has several) is their wrong answer."""
    every = list(iter_raw_records(split))
    siblings: dict[tuple[str, str | None], list[str]] = {}
    for record in every:
        siblings.setdefault((record.input, record.target), []).append(record.output)
    shared = [record for record in every[SAMPLES:] if len(set(siblings[(record.input, record.target)])) > 1]
    raw = every[:SAMPLES] + shared[:SHARED_INPUT_SAMPLES]
    rng = random.Random(split.stem)
    records = []
    for index, record in enumerate(raw):
        others = [gold for gold in siblings[(record.input, record.target)] if gold != record.output]
        other = others[0] if others else raw[(index * 7 + 3) % len(raw)].output
        records.append(PredictionRecord.of(record.input, record.output, _answers(split.stem, record.output, other, rng),
                                           record.target))
    return records


@pytest.mark.parametrize("task_name", list(TASKS))
def test_metrics_equal_the_plain_algorithms(task_name: str, smolinstruct_val: Path, caption_resources,
                                            plain_caption_tokenizer) -> None:
    split = smolinstruct_val / f"{task_name}.jsonl"
    records = _answered_records(split)
    golds = golds_from_split(get_task(task_name), records, split, split).answers
    assert_scored_as_reference(task_name, records, golds, caption_resources, plain_caption_tokenizer)


def test_samples_without_answers_score_as_the_plain_algorithm(smolinstruct_val: Path, caption_resources,
                                                              plain_caption_tokenizer) -> None:
    for task_name in TASKS:
        raw = list(iter_raw_records(smolinstruct_val / f"{task_name}.jsonl"))[:3]
        records = [PredictionRecord.of(r.input, r.output, answers, r.target)
                   for r, answers in zip(raw, [None, [], [None, ""]], strict=True)]
        assert_scored_as_reference(task_name, records, None, caption_resources, plain_caption_tokenizer)


UNREADABLE_GOLDS = [("forward_synthesis", "C1CC("), ("name_conversion-s2f", "C(H3)2"),
                    ("property_prediction-esol", "n/a"), ("property_prediction-bbbp", "maybe")]


@pytest.mark.parametrize(("task_name", "gold"), UNREADABLE_GOLDS)
def test_a_gold_the_metric_cannot_read_is_an_error_in_both(task_name: str, gold: str) -> None:
    records = [PredictionRecord.of("input", gold, ["C"])]
    with pytest.raises(InvalidGoldError, match="invalid gold answer"):
        score_task(task_name, records)
    with pytest.raises(InvalidGoldError, match="invalid gold answer"):
        reference_scores(task_name, [["C"]], [[gold]])
