"""Exact matches when InChIs are computed only for answers whose heavy atoms could match a gold."""

from __future__ import annotations

import pytest

from llasmol.evaluate.molecules import forget_remembered, heavy_atom_key, score_molecules

CASES = [  # (answer, gold, exact match by standard InChI)
    ("Oc1ccccn1", "O=c1cccc[nH]1", True),  # tautomers with one standard InChI
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
