"""Exact matches when InChIs are computed only for answers whose heavy atoms could match a gold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdkit import Chem

from llasmol.chem import canonicalize_smiles
from llasmol.evaluate.memo import forget_remembered
from llasmol.evaluate.molecules import score_molecules
from llasmol.evaluate.shortcuts import heavy_atom_key

CASES = [  # (answer, gold, exact match by standard InChI)
    ("Oc1ccccn1", "O=c1cccc[nH]1", True),  # tautomers with one standard InChI
    ("O=C1C=CC=CN1", "OC1=CC=CC=N1", True),  # the same, both without bracket atoms: the gold's InChI is computed
    ("CCO.CCO", "CCO", True),  # duplicated parts: the same set of InChIs
    ("OCC", "CCO", True),  # the same canonical form
    ("CC(=O)[O-]", "CC(=O)O", False),  # same heavy atoms, InChI differs in its proton layer
    ("CCN", "CCO", False),  # heavy atoms differ: no InChI needed
    ("*CCC", "*CC", True),  # InChI fails on dummy atoms for both: empty InChIs compare equal
    ("[Na+].[Cl-]", "Cl[Na]", False),
    ("C1CC(", "CCO", False),  # invalid
]


@pytest.mark.parametrize(("answer", "gold", "expected"), CASES)
def test_exact_match_with_identity_short_cut(answer: str, gold: str, expected: bool) -> None:
    forget_remembered()
    metrics = score_molecules([[answer]], [[gold]], 1)
    assert metrics["num_t1_exact_match"] == int(expected)


def test_all_cases_in_one_call_give_the_same_counts() -> None:
    forget_remembered()
    metrics = score_molecules([[a] for a, _, _ in CASES], [[g] for _, g, _ in CASES], 1)
    assert metrics["num_t1_exact_match"] == sum(expected for _, _, expected in CASES)


def test_heavy_atom_key() -> None:
    assert heavy_atom_key("CCO.CCO") == heavy_atom_key("OCC")
    assert heavy_atom_key("CC(=O)O") == heavy_atom_key("CC(=O)[O-]")
    assert heavy_atom_key("CCN") != heavy_atom_key("CCO")
    assert heavy_atom_key("*CC") is None
    assert heavy_atom_key("[2H]C([2H])Cl") == heavy_atom_key("ClC")  # deuterium is hydrogen
    assert heavy_atom_key("C[Hg]Cl") != heavy_atom_key("CCl")
    assert heavy_atom_key("C1=C[Se]C=C1") == heavy_atom_key("c1cc[se]c1")


def _rdkit_heavy_atoms(canonical: str) -> frozenset[tuple[str, ...]]:
    parts = (Chem.MolFromSmiles(part, sanitize=False) for part in canonical.split("."))
    return frozenset(tuple(sorted(atom.GetSymbol() for atom in mol.GetAtoms() if atom.GetAtomicNum() != 1))
                     for mol in parts)


def test_heavy_atom_key_read_from_text_equals_rdkits_atoms(smolinstruct_val: Path) -> None:
    answers = []
    for name in ("forward_synthesis", "retrosynthesis", "molecule_generation", "name_conversion-i2s"):
        with open(smolinstruct_val / f"{name}.jsonl") as handle:
            answers += [json.loads(line)["output"].replace(";", ".") for line in handle]
    canonicals = {form for form in map(canonicalize_smiles, answers) if form is not None}
    assert len(canonicals) > 5000
    assert sum("[" in form for form in canonicals) > 500  # bracket atoms: charges, stereo, metals
    mismatches = [form for form in canonicals if heavy_atom_key(form) != _rdkit_heavy_atoms(form)]
    assert not mismatches[:5]


PART_CASES = [  # (answer, gold): reactant sets compared part by part
    ("Oc1ccccn1.CCO", "O=c1cccc[nH]1.CC"),  # a tautomer part: same heavy atoms, one standard InChI
    ("CCN.CCCC", "CCO.CCC"),  # no part's heavy atoms meet a gold part's
    ("CCO.C", "CCO.CC"),  # one part equal to a gold part
    ("CC", "CCO.CC"),  # a subset
    ("OCC.CC.CC", "CC.CCO"),  # the same set, written otherwise and with a duplicate
    ("CC(=O)[O-].[Na+]", "CC(=O)O.[Na+]"),  # same heavy atoms, InChIs differ in the proton layer
    ("O=C1C=CC=CN1.CCO", "OC1=CC=CC=N1.CC"),  # a tautomer part, gold parts without bracket atoms
    ("CCO", "CCO.OC1=CC=CC=N1"),  # written as a gold part: no InChI needed
]


def test_reactant_parts_match_as_with_every_inchi_computed() -> None:
    from llasmol.chem import canonicalize_smiles, part_identities

    forget_remembered()
    answers, golds = [[a] for a, _ in PART_CASES], [[g] for _, g in PART_CASES]
    metrics = score_molecules(answers, golds, 1, match_parts=True)
    pairs = [(part_identities(canonicalize_smiles(a)), part_identities(canonicalize_smiles(g))) for a, g in PART_CASES]
    assert metrics["num_t1_exact_match"] == sum(a == g for a, g in pairs) == 1
    assert metrics["num_t1_intersection"] == sum(bool(a & g) for a, g in pairs) == 7
    assert metrics["num_t1_subset"] == sum(a <= g for a, g in pairs) == 3


def test_answer_part_with_an_inchi_from_another_sample_is_compared_with_golds_without_one() -> None:
    """The zwitterion's InChI is computed as the first sample's gold part; in the second sample it
    meets a gold part without bracket atoms, whose InChI must then be computed too."""
    forget_remembered()
    answers, golds = [["CCO"], ["[NH3+]CC(=O)[O-]"]], [["[NH3+]CC(=O)[O-]"], ["NCC(=O)O.CC"]]
    metrics = score_molecules(answers, golds, 1, match_parts=True)
    assert metrics["num_t1_intersection"] == 1 and metrics["num_t1_subset"] == 1


def test_golds_without_bracket_atoms_get_inchis_only_where_an_answer_may_match(monkeypatch) -> None:
    from llasmol.chem import part_inchi
    from llasmol.evaluate import molecules

    computed: set[str] = set()

    def recorded(part: str) -> str | None:
        computed.add(part)
        return part_inchi(part)

    monkeypatch.setattr(molecules, "part_inchi", recorded)
    forget_remembered()
    answers = [["CCN"], ["CC(C)N"], ["O=C1C=CC=CN1"], ["CN"]]
    golds = [["CCO"], ["CC(C)[N+](=O)[O-]"], ["OC1=CC=CC=N1"], ["C[Si](C)(C)C.CO"]]
    assert score_molecules(answers, golds, 1)["num_t1_exact_match"] == 1
    # Heavy atoms tell CCN from CCO; the nitro gold's InChI may be empty as far as its text says.
    assert computed == {"CC(C)[N+](=O)[O-]", "O=C1C=CC=CN1", "OC1=CC=CC=N1", "C[Si](C)(C)C"}


def test_parts_without_bracket_atoms_have_standard_inchis(smolinstruct_val: Path) -> None:
    from llasmol.chem import has_inchi, part_inchi

    texts = []
    for name in ("forward_synthesis", "retrosynthesis", "molecule_generation", "name_conversion-i2s"):
        with open(smolinstruct_val / f"{name}.jsonl") as handle:
            texts += [text.replace(";", ".") for line in handle for text in json.loads(line).values()
                      if isinstance(text, str)]
    parts = {part for form in map(canonicalize_smiles, texts) if form for part in form.split(".")}
    said_to_have = [part for part in parts if has_inchi(part)]
    assert len(said_to_have) > 3000 and len(parts) - len(said_to_have) > 1000
    assert all(part_inchi(part) for part in said_to_have)
    assert not any(has_inchi(part) for part in parts if "[" in part)
    assert has_inchi("C" * 999) and part_inchi("C" * 999)
    assert not has_inchi("C" * 1000) and part_inchi("C" * 1024) == ""  # InChI refuses 1024 atoms


def _same_inchi_groups(length: int) -> list[list[str]]:
    """Molecules of one chain length, grouped by standard InChI (with and without bracket atoms)."""
    chain = "C" * length
    return [[f"[NH3+]{chain}C(=O)[O-]", f"N{chain}C(=O)O"],  # zwitterion and neutral form
            [f"{chain}C(=O)[O-]"], [f"{chain}C(=O)O"], [f"{chain}N"], [f"{chain}O", f"O{chain}"],
            ["Oc1ccccn1", "O=c1cccc[nH]1"], ["C[Si](C)(C)C"], ["*CC"], ["[Na+]"], ["C1CC("]]


def _random_samples(seed: int, count: int) -> tuple[list[list[str]], list[list[str]]]:
    """(answers, golds): mostly molecules of the sample's own chain length, lengths shared by a few samples."""
    import random

    rng = random.Random(seed)

    def molecule(length: int, valid: bool) -> str:
        text = rng.choice(rng.choice(_same_inchi_groups(length if rng.random() < 0.8 else rng.randint(1, 60))))
        return text if not valid or canonicalize_smiles(text) is not None else "CC"

    def mixture(length: int, valid: bool, most: int) -> str:
        return ".".join(molecule(length, valid) for _ in range(rng.randint(1, most)))

    lengths = [rng.randint(1, 60) for _ in range(count)]
    golds = [[mixture(length, True, 2)] for length in lengths]
    return [[mixture(length, False, 2), mixture(length, False, 3)] for length in lengths], golds


@pytest.mark.parametrize("match_parts", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 4])
def test_random_samples_score_as_with_every_inchi_computed(seed: int, match_parts: bool) -> None:
    """Many samples in one call, so that InChIs computed for one sample meet texts of another."""
    from llasmol.chem import part_identities

    answers, golds = _random_samples(seed, 300)
    forget_remembered()
    metrics = score_molecules(answers, golds, 2, match_parts=match_parts)

    def identities(text: str) -> frozenset[str] | None:
        canonical = canonicalize_smiles(text)
        return None if canonical is None else part_identities(canonical)

    expected = {"exact_match": [0, 0], "intersection": [0, 0], "subset": [0, 0]}
    for sample, (gold,) in zip(answers, golds, strict=True):
        gold_ids = identities(gold)
        found = {"exact_match": False, "intersection": False, "subset": False}
        for depth, answer in enumerate(sample):
            ids = identities(answer)
            if ids is not None:
                found["exact_match"] |= ids == gold_ids
                found["intersection"] |= bool(ids & gold_ids)
                found["subset"] |= bool(ids) and ids <= gold_ids
            for name, hit in found.items():
                expected[name][depth] += hit
    names = ("exact_match", "intersection", "subset") if match_parts else ("exact_match",)
    for name in names:
        assert [metrics[f"num_t{depth}_{name}"] for depth in (1, 2)] == expected[name], name
    assert 0 < expected["exact_match"][1] < expected["intersection"][1] < len(golds)
