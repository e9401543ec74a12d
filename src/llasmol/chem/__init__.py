"""RDKit primitives shared by data building and evaluation."""

from llasmol.chem.fingerprints import (
    FingerprintSet,
    fingerprint_similarities,
    molecule_fingerprints,
    self_similarities,
    self_similarities_of_text,
)
from llasmol.chem.formula import FormulaError, formula_of_smiles, is_valid_formula, parse_formula
from llasmol.chem.smiles import (
    canonicalize_molecule,
    canonicalize_smiles,
    has_inchi,
    molecule_identity,
    part_identities,
    part_inchi,
    reads_back,
)

__all__ = [
    "FingerprintSet",
    "FormulaError",
    "canonicalize_molecule",
    "canonicalize_smiles",
    "fingerprint_similarities",
    "formula_of_smiles",
    "has_inchi",
    "is_valid_formula",
    "molecule_fingerprints",
    "molecule_identity",
    "parse_formula",
    "part_identities",
    "part_inchi",
    "reads_back",
    "self_similarities",
    "self_similarities_of_text",
]
