"""RDKit primitives: canonical SMILES, InChI identity, formulas, fingerprints."""

from __future__ import annotations

import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import AllChem, MACCSkeys

from llasmol.chem import (
    FormulaError,
    canonicalize_molecule,
    canonicalize_smiles,
    fingerprint_similarities,
    formula_of_smiles,
    is_valid_formula,
    molecule_fingerprints,
    molecule_identity,
    parse_formula,
    part_identities,
    part_inchi,
)
from llasmol.data.raw import iter_raw_records

SMILES_ANSWER_TASKS = ("forward_synthesis", "retrosynthesis", "molecule_generation", "name_conversion-i2s")


def _inchi_set(smiles: str) -> tuple[str, ...]:
    """Independent identity: sorted distinct InChIs of the parts, straight from RDKit."""
    return tuple(sorted({Chem.MolToInchi(Chem.MolFromSmiles(part)) for part in smiles.split(".")}))


@pytest.mark.slow
@pytest.mark.parametrize("task", SMILES_ANSWER_TASKS)
def test_canonical_form_of_every_validation_answer_keeps_its_inchi_and_is_stable(smolinstruct_val, task):
    answers = {record.output.replace(";", ".") for record in iter_raw_records(smolinstruct_val / f"{task}.jsonl")}
    assert len(answers) > 800
    for answer in answers:
        canonical = canonicalize_smiles(answer)
        assert canonical is not None, answer
        assert _inchi_set(canonical) == _inchi_set(answer), answer
        assert canonicalize_smiles(canonical) == canonical, answer  # idempotent
        assert molecule_identity(answer) == _inchi_set(answer)


def test_part_inchi_is_rdkits_standard_inchi_empty_when_inchi_fails():
    assert part_inchi("OCC") == Chem.MolToInchi(Chem.MolFromSmiles("CCO")) == "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3"
    assert part_inchi("C" * 1100) == Chem.MolToInchi(Chem.MolFromSmiles("C" * 1100)) == ""  # too many atoms
    assert part_inchi("C1CC(") is None


def test_canonical_form_is_kekule_sorted_and_order_independent():
    assert canonicalize_smiles("c1ccccc1O") == "OC1=CC=CC=C1"
    assert canonicalize_smiles("OCC.c1ccccc1") == canonicalize_smiles("c1ccccc1.CCO")
    parts = canonicalize_smiles("c1ccccc1.CCO").split(".")
    assert parts == sorted(parts)


def test_atom_maps_are_cleared():
    mapped = "[CH3:1][CH2:2][OH:3]"
    assert canonicalize_smiles(mapped) == canonicalize_smiles("CCO") == "CCO"
    assert ":" not in canonicalize_smiles("[CH3:7]C(=O)[O-:8].[Na+:9]")


@pytest.mark.parametrize("smiles", ["C1CC(", "CC.", ".CC", "C..C", "", "Xx", "CC(C)(C)(C)(C)C", "c1cccc1"])
def test_invalid_or_empty_parts_give_none(smiles):
    assert canonicalize_smiles(smiles) is None
    with pytest.raises(ValueError, match="invalid SMILES"):
        canonicalize_molecule(smiles)


def test_identity_ignores_part_order_and_duplicates_but_not_stereo():
    assert molecule_identity("CCO.O") == molecule_identity("O.CCO.O")
    assert molecule_identity("C/C=C/C") != molecule_identity("C/C=C\\C")
    assert molecule_identity("C1CC(") is None
    assert part_identities("CCO.CCO") == frozenset({Chem.MolToInchi(Chem.MolFromSmiles("CCO"))})
    assert part_identities("CCO.C1CC(") is None


@pytest.mark.parametrize(
    ("formula", "counts"),
    [
        ("C6H6", {"C": 6, "H": 6}),
        ("H6C6", {"C": 6, "H": 6}),
        ("CH3CH2OH", {"C": 2, "H": 6, "O": 1}),
        ("C2H3O2-", {"C": 2, "H": 3, "O": 2, "-": 1}),
        ("NH4+", {"N": 1, "H": 4, "+": 1}),
        ("C10H12N5O13P3-4", {"C": 10, "H": 12, "N": 5, "O": 13, "P": 3, "-": 4}),
        ("Fe2O3", {"Fe": 2, "O": 3}),
        ("c6h6", {}),  # lower case passes the validity rule but names no element
    ],
)
def test_formula_element_counts(formula, counts):
    assert is_valid_formula(formula)
    assert parse_formula(formula) == counts


@pytest.mark.parametrize("formula", ["Ca(OH)2", "[NH4]+", "C6H6 ", "C6-H6", "", "+", "6C", "C6H6.H2O"])
def test_formulas_the_reference_rejects(formula):
    assert not is_valid_formula(formula)
    with pytest.raises(FormulaError):
        parse_formula(formula)


def test_formula_of_smiles_is_hill_order():
    assert formula_of_smiles("OCC") == "C2H6O"
    assert formula_of_smiles("O") == "H2O"
    assert formula_of_smiles("CC(=O)[O-]") == "C2H3O2-"
    assert parse_formula(formula_of_smiles("CC(=O)[O-]")) == {"C": 2, "H": 3, "O": 2, "-": 1}
    assert formula_of_smiles("C1CC(") is None


def test_fingerprints_equal_rdkit_legacy_functions(smolinstruct_val):
    """Tanimoto of the generator fingerprints equals RDKit's legacy MACCS/RDKFingerprint/GetMorganFingerprint."""
    records = list(iter_raw_records(smolinstruct_val / "molecule_generation.jsonl"))[:40]
    mols = [Chem.MolFromSmiles(record.output.replace(";", ".")) for record in records]
    fingerprints = [molecule_fingerprints(mol) for mol in mols]
    for first in range(0, 40, 2):
        second = first + 1
        ours = fingerprint_similarities(fingerprints[first], fingerprints[second])
        a, b = mols[first], mols[second]
        legacy = (
            DataStructs.TanimotoSimilarity(MACCSkeys.GenMACCSKeys(a), MACCSkeys.GenMACCSKeys(b)),
            DataStructs.TanimotoSimilarity(Chem.RDKFingerprint(a), Chem.RDKFingerprint(b)),
            DataStructs.TanimotoSimilarity(AllChem.GetMorganFingerprint(a, 2), AllChem.GetMorganFingerprint(b, 2)),
        )
        assert ours == pytest.approx(legacy, abs=1e-12)
    assert fingerprint_similarities(fingerprints[0], fingerprints[0]) == (1.0, 1.0, 1.0)
