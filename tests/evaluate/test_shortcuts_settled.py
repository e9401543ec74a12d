"""Answers that cannot change a count are not canonicalized, and every metric stays as the plain algorithm's."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from rdkit import Chem

from llasmol.chem import canonicalize_smiles
from llasmol.data.raw import iter_raw_records
from llasmol.evaluate import molecules
from llasmol.evaluate.memo import forget_remembered
from llasmol.evaluate.molecules import score_molecules
from llasmol.evaluate.parallel import WorkPool
from llasmol.evaluate.reference import reference_molecule_metrics
from llasmol.evaluate.shortcuts import PLAIN_SMILES, heavy_atom_key, part_heavy_atoms


def _assert_scored_as_reference(answers: list[list[str | None]], golds: list[list[str]], match_parts: bool,
                                pool: WorkPool | None = None) -> None:
    k = max(len(sample) for sample in answers)
    forget_remembered()
    metrics = score_molecules(answers, golds, k, match_parts=match_parts, pool=pool)
    assert metrics == reference_molecule_metrics(answers, golds, k, match_parts)


HAND_CASES = [  # (answers, gold): what follows the first exact answer could change a count if it were scored
    (["OCC", "C1CC(", "CCN"], "CCO"),  # exact first, then invalid and wrong
    (["C1CC(", "C1CC(", "OCC"], "CCO"),  # invalid until the exact third
    (["", "OCC", "C1CC("], "CCO"),  # missing, then exact
    (["Oc1ccccn1", "C1CC(", "CCO"], "O=c1cccc[nH]1"),  # exact by InChI only (a tautomer), then invalid
    (["CC(=O)[O-]", "CC(=O)O", "C1CC("], "CC(=O)O"),  # same heavy atoms, then exact
    (["CCO.CC", "CC", "CCO.C"], "CC.CCO"),  # reactant sets: exact, then a subset, then a shared part
    (["CC", "C1CC(", "CC.CCO"], "CC.CCO"),  # a subset, invalid, exact
    (["CCN", "CCCl", "CCBr"], "CCO"),  # never exact, heavy atoms unlike the gold's after a valid answer
    (["C1CC(", "CCCl", "OCC"], "CCO"),  # invalid, then valid with other heavy atoms, then exact
    (["CC.CCN", "CCBr", "OCC.CC"], "CC.CCO"),  # a shared part, a part unlike any gold part, exact
    (["CCO.*C", "*CC", "[#6]CO.CC"], "CC.CCO"),  # dummy atoms, an atomic number: heavy atoms not read
    # Too many atoms for InChI: both InChIs are empty, so they match although their heavy atoms differ.
    (["CCO", "O" + "C" * 1100], "C" * 1100),
]


@pytest.mark.parametrize("match_parts", [False, True])
def test_hand_cases_score_as_the_plain_algorithm(match_parts: bool) -> None:
    answers = [list(sample) for sample, _ in HAND_CASES]
    _assert_scored_as_reference(answers, [[gold] for _, gold in HAND_CASES], match_parts)


def _perturbed(gold: str, other: str, rng: random.Random) -> list[str]:
    wrong = gold.replace("C", "N", 1)
    choices = [gold, gold[: len(gold) // 2] + "(", "", other, wrong]
    return [rng.choice(choices) for _ in range(5)]


@pytest.mark.parametrize("task", ["forward_synthesis", "retrosynthesis"])
def test_real_samples_score_as_the_plain_algorithm(smolinstruct_val: Path, task: str) -> None:
    rng = random.Random(7)
    records = list(iter_raw_records(smolinstruct_val / f"{task}.jsonl"))[:40]
    outputs = [record.output.replace(";", ".") for record in records]
    answers = [_perturbed(gold, outputs[(index + 1) % len(outputs)], rng) for index, gold in enumerate(outputs)]
    with WorkPool(2) as pool:
        _assert_scored_as_reference(answers, [[gold] for gold in outputs], task == "retrosynthesis", pool)


def test_answers_that_cannot_change_a_count_are_not_canonicalized(monkeypatch: pytest.MonkeyPatch) -> None:
    canonicalized: set[str] = set()

    def recorded(smiles: str) -> str | None:
        canonicalized.add(smiles)
        return canonicalize_smiles(smiles)

    monkeypatch.setattr(molecules, "canonicalize_smiles", recorded)
    answers = [["OCC", "CCN"], ["CCCl", "CCBr", "C(O)C"], ["C1CC(", "CCI"], ["CCF", "[#6]CS"]]
    golds = [["CCO"]] * len(answers)
    _assert_scored_as_reference(answers, golds, match_parts=False)
    assert "CCN" not in canonicalized  # after an exact answer
    assert "CCBr" not in canonicalized  # after a valid answer, with heavy atoms the gold does not have
    assert {"C(O)C", "CCI", "[#6]CS"} <= canonicalized  # may match; after an invalid answer; not plain


def _rewrites(smiles: str, rng: random.Random) -> list[str]:
    """``smiles`` in a random atom order, and with atom maps."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return []
    shuffled = Chem.MolToRandomSmilesVect(mol, 1, randomSeed=rng.randrange(1 << 30))[0]
    for atom in mol.GetAtoms():
        atom.SetAtomMapNum(atom.GetIdx() + 1)
    return [shuffled, Chem.MolToSmiles(mol)]


def test_plainly_written_answers_have_the_heavy_atoms_of_their_canonical_form(smolinstruct_val: Path) -> None:
    rng = random.Random(3)
    texts = []
    for task in ("forward_synthesis", "retrosynthesis", "molecule_generation", "name_conversion-i2s"):
        for record in list(iter_raw_records(smolinstruct_val / f"{task}.jsonl"))[:300]:
            smiles = record.output.replace(";", ".")
            texts += [smiles, *_rewrites(smiles, rng)]
    plain = [text for text in texts if PLAIN_SMILES.fullmatch(text)]
    assert len(plain) > 0.9 * len(texts)
    for text in plain:
        form = canonicalize_smiles(text)
        assert form is not None
        assert heavy_atom_key(text) == heavy_atom_key(form), text
        assert sorted(map(part_heavy_atoms, text.split("."))) == sorted(map(part_heavy_atoms, form.split("."))), text
    assert not PLAIN_SMILES.fullmatch("[#6]CO")  # an atomic number: read by RDKit, not by the text
