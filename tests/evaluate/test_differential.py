"""Differential fuzzing: ``canonicalize_smiles`` against the reference chain on mutated real golds (and
what scoring reads from a canonical form's text against RDKit), and every scorer against the plain
algorithm (``llasmol.evaluate.reference``) on arbitrary text.

The mutations put bracket atoms of every element of the organic subset and the halogens (aromatic
forms too) with isotopes, tetrahedral tags, 0-4 explicit hydrogens (so radicals and hypervalent
atoms) and charges up to ±3 in place of atoms of real golds, or add branches to raise an atom's
valence. A plain run tries a fixed set of examples; ``--hypothesis-profile=long`` (see conftest)
tries many more at random, and ``--hypothesis-show-statistics`` shows which paths they took.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from rdkit import Chem

from llasmol.chem import (
    canonicalize_smiles,
    fingerprint_similarities,
    has_inchi,
    molecule_fingerprints,
    part_inchi,
    reads_back,
    self_similarities_of_text,
)
from llasmol.chem.reference import reference_canonical
from llasmol.data.raw import iter_raw_records
from llasmol.evaluate import PredictionRecord
from llasmol.evaluate.shortcuts import part_heavy_atoms
from tests.evaluate.reference_helpers import assert_scored_as_reference

ELEMENTS = ("B", "C", "N", "O", "P", "S", "F", "Cl", "Br", "I")
AROMATIC = ("b", "c", "n", "o", "p", "s")
ATOM = re.compile(r"\[[^\]]*\]|Cl|Br|[BCNOPSFI]|[bcnops]")
GOLD_TASKS = ("forward_synthesis", "retrosynthesis", "molecule_generation", "name_conversion-i2s")
GOLDS_PER_TASK = 500


@cache
def _real_golds(folder: Path) -> tuple[str, ...]:
    golds = []
    for task in GOLD_TASKS:
        golds += [record.output for record in list(iter_raw_records(folder / f"{task}.jsonl"))[:GOLDS_PER_TASK]]
    return tuple(dict.fromkeys(golds))


@st.composite
def bracket_atoms(draw: st.DrawFn, aromatic: bool) -> str:
    element = draw(st.sampled_from(AROMATIC if aromatic and draw(st.booleans()) else ELEMENTS))
    isotope = draw(st.sampled_from(("", "", "", "2", "13", "127")))
    chirality = draw(st.sampled_from(("", "", "", "@", "@@")))
    hydrogens = draw(st.sampled_from(("", "H", "H2", "H3", "H4")))
    charge = draw(st.sampled_from(("", "", "+", "-", "+2", "-2", "+3", "-3")))
    return f"[{isotope}{element}{chirality}{hydrogens}{charge}]"


@st.composite
def mutated_golds(draw: st.DrawFn, golds: tuple[str, ...]) -> str:
    """A real gold, as written or in a random RDKit writing, with one to three atoms mutated."""
    text = golds[draw(st.integers(0, len(golds) - 1))]
    seed = draw(st.integers(0, 1 << 30))  # 0: as written; else the seed of a random writing
    mol = Chem.MolFromSmiles(text) if seed else None
    if mol is not None:
        text = Chem.MolToRandomSmilesVect(mol, 1, randomSeed=seed)[0]
    atoms = list(ATOM.finditer(text))
    chosen = draw(st.lists(st.integers(0, len(atoms) - 1), min_size=1, max_size=3, unique=True))
    for match in sorted((atoms[index] for index in chosen), key=lambda m: m.start(), reverse=True):
        atom = match.group()
        if draw(st.integers(0, 3)) == 0:  # a branch raises the atom's valence (hypervalent, or over the limit)
            replacement = atom + draw(st.sampled_from(("(=O)", "(O)", "(C)", "(=O)(=O)", "(F)(F)")))
        else:
            replacement = draw(bracket_atoms(aromatic=atom.islower() or atom[1:2].islower()))
        text = text[:match.start()] + replacement + text[match.end():]
    return text


@given(data=st.data())
def test_canonical_forms_equal_the_reference_chain_on_mutated_golds(smolinstruct_val: Path, data: st.DataObject
                                                                    ) -> None:
    text = data.draw(mutated_golds(_real_golds(smolinstruct_val)), label="SMILES")
    ours = canonicalize_smiles(text)
    event("invalid" if ours is None else "valid, " + ("with" if "[" in ours else "without") + " bracket atoms")
    assert ours == reference_canonical(text)
    if ours is not None:
        _assert_text_short_cuts_hold(ours)


def _assert_text_short_cuts_hold(canonical: str) -> None:
    """What scoring reads from a canonical form's text is what RDKit and InChI compute from it."""
    mols = [Chem.MolFromSmiles(part) for part in canonical.split(".")]
    for part, mol in zip(canonical.split("."), mols, strict=True):
        if reads_back(part):
            assert mol is not None
        if has_inchi(part):
            assert part_inchi(part)
        if mol is not None:
            written = Chem.MolToSmiles(mol, kekuleSmiles=True)
            assert part_heavy_atoms(part) == part_heavy_atoms(written) or part_heavy_atoms(part) is None
    settled = self_similarities_of_text(canonical)
    if settled is not None:
        whole = Chem.MolFromSmiles(canonical)
        assert whole is not None and settled == fingerprint_similarities(*[molecule_fingerprints(whole)] * 2)


ADVERSARIAL = ("", " ", "None", "nan", "inf", "-inf", "1e400", "1e155", "Yes", "no", "C" * 1030, "H2O+" + "9" * 5000,
               "C(H3)2", "C1=CC=[N+2]C=C1", "[I-](C)(C)C", "I=O", "</SMILES>", "\u2603", "\x00", "CC;O", ". .")
answers = st.one_of(st.text(max_size=200), st.sampled_from(ADVERSARIAL))
samples = st.lists(st.one_of(st.none(), st.lists(st.one_of(st.none(), answers), max_size=3)), min_size=1, max_size=4)


@pytest.mark.parametrize("task", ["forward_synthesis", "retrosynthesis", "name_conversion-s2f", "name_conversion-s2i",
                                  "property_prediction-esol", "property_prediction-bbbp", "molecule_captioning"])
@given(answer_lists=samples)
def test_scorers_take_any_text_as_the_plain_algorithm_does(task: str, smolinstruct_val: Path, caption_resources,
                                                           plain_caption_tokenizer,
                                                           answer_lists: list[list[str | None] | None]) -> None:
    raw = _first_records(smolinstruct_val, task)
    records = [PredictionRecord.of(r.input, r.output, sample, r.target)
               for r, sample in zip(raw, answer_lists, strict=False)]
    metrics = assert_scored_as_reference(task, records, None, caption_resources, plain_caption_tokenizer)
    assert metrics["num_all"] == len(records)  # and no step raised on any answer (num_scoring_errors 0)


@cache
def _first_records(folder: Path, task: str) -> list:
    return list(iter_raw_records(folder / f"{task}.jsonl"))[:4]
