"""Answers that cannot change a count are not canonicalized, and every count stays as the reference's."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from rdkit import Chem

from llasmol.chem import canonicalize_smiles, part_identities
from llasmol.data.raw import iter_raw_records
from llasmol.evaluate import molecules
from llasmol.evaluate.molecules import forget_remembered, heavy_atom_key, part_heavy_atoms, score_molecules
from llasmol.evaluate.parallel import WorkPool


def _counts_computing_every_answer(answers: Sequence[Sequence[str | None]], golds: Sequence[Sequence[str]], k: int,
                                   match_parts: bool) -> dict[str, int]:
    """The top-j counts, with every answer canonicalized and every InChI computed (the reference's way)."""
    flags: dict[str, list[list[bool]]] = {name: [] for name in ("missing", "invalid", "exact", "shared", "subset")}
    for sample, sample_golds in zip(answers, golds, strict=True):
        gold_parts = [part_identities(canonicalize_smiles(gold)) for gold in sample_golds]
        rows: dict[str, list[bool]] = {name: [] for name in flags}
        for answer in [*sample, *[None] * (k - len(sample))][:k]:
            form = canonicalize_smiles(answer) if answer else None
            parts = part_identities(form) if form is not None else None
            rows["missing"].append(not answer)
            rows["invalid"].append(bool(answer) and form is None)
            rows["exact"].append(parts is not None and any(parts == gold for gold in gold_parts if gold is not None))
            rows["shared"].append(parts is not None and any(parts & gold for gold in gold_parts if gold))
            rows["subset"].append(bool(parts) and any(parts <= gold for gold in gold_parts if gold))
        for name, row in rows.items():
            flags[name].append(row)
    counts = {}
    for depth in range(1, k + 1):
        counts[f"num_t{depth}_no_answer"] = sum(all(row[:depth]) for row in flags["missing"])
        counts[f"num_t{depth}_invalid"] = sum(all(row[:depth]) for row in flags["invalid"])
        counts[f"num_t{depth}_exact_match"] = sum(any(row[:depth]) for row in flags["exact"])
        if match_parts:
            counts[f"num_t{depth}_intersection"] = sum(any(row[:depth]) for row in flags["shared"])
            counts[f"num_t{depth}_subset"] = sum(any(row[:depth]) for row in flags["subset"])
    return counts


def _assert_counts_as_computing_every_answer(answers: list[list[str | None]], golds: list[list[str]],
                                             match_parts: bool, pool: WorkPool | None = None) -> None:
    k = max(len(sample) for sample in answers)
    forget_remembered()
    metrics = score_molecules(answers, golds, k, match_parts=match_parts, pool=pool)
    expected = _counts_computing_every_answer(answers, golds, k, match_parts)
    assert {key: metrics[key] for key in expected} == expected


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
def test_hand_cases_count_as_with_every_answer_computed(match_parts: bool) -> None:
    answers = [list(sample) for sample, _ in HAND_CASES]
    _assert_counts_as_computing_every_answer(answers, [[gold] for _, gold in HAND_CASES], match_parts)


def _perturbed(gold: str, other: str, rng: random.Random) -> list[str]:
    wrong = gold.replace("C", "N", 1)
    choices = [gold, gold[: len(gold) // 2] + "(", "", other, wrong]
    return [rng.choice(choices) for _ in range(5)]


@pytest.mark.parametrize("task", ["forward_synthesis", "retrosynthesis"])
def test_real_samples_count_as_with_every_answer_computed(smolinstruct_val: Path, task: str) -> None:
    rng = random.Random(7)
    records = list(iter_raw_records(smolinstruct_val / f"{task}.jsonl"))[:40]
    outputs = [record.output.replace(";", ".") for record in records]
    answers = [_perturbed(gold, outputs[(index + 1) % len(outputs)], rng) for index, gold in enumerate(outputs)]
    with WorkPool(2) as pool:
        _assert_counts_as_computing_every_answer(answers, [[gold] for gold in outputs], task == "retrosynthesis", pool)


def test_answers_that_cannot_change_a_count_are_not_canonicalized() -> None:
    answers = [["OCC", "CCN"], ["CCCl", "CCBr", "C(O)C"], ["C1CC(", "CCI"], ["CCF", "[#6]CS"]]
    golds = [["CCO"]] * len(answers)
    _assert_counts_as_computing_every_answer(answers, golds, match_parts=False)
    remembered = molecules._remembered_canonical
    assert "CCN" not in remembered  # after an exact answer
    assert "CCBr" not in remembered  # after a valid answer, with heavy atoms the gold does not have
    assert {"C(O)C", "CCI", "[#6]CS"} <= remembered.keys()  # may match; after an invalid answer; not plain


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
    plain = [text for text in texts if molecules._PLAIN_SMILES.fullmatch(text)]
    assert len(plain) > 0.9 * len(texts)
    for text in plain:
        form = canonicalize_smiles(text)
        assert form is not None
        assert heavy_atom_key(text) == heavy_atom_key(form), text
        assert sorted(map(part_heavy_atoms, text.split("."))) == sorted(map(part_heavy_atoms, form.split("."))), text
    assert not molecules._PLAIN_SMILES.fullmatch("[#6]CO")  # an atomic number: read by RDKit, not by the text
