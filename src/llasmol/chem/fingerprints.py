"""Fingerprint similarities used by the molecule metrics (MACCS, RDKit path, Morgan counts)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rdkit import Chem, DataStructs
from rdkit.Chem import MACCSkeys, rdFingerprintGenerator

from llasmol.chem.smiles import BRACKET_ATOM, ORGANIC_ATOM, reads_back

_RDKIT_PATH = rdFingerprintGenerator.GetRDKitFPGenerator()
_MORGAN_R2 = rdFingerprintGenerator.GetMorganGenerator(radius=2)


@dataclass(frozen=True)
class FingerprintSet:
    """The three fingerprints of one molecule."""

    maccs: DataStructs.ExplicitBitVect
    rdkit: DataStructs.ExplicitBitVect
    morgan: DataStructs.UIntSparseIntVect


def molecule_fingerprints(mol: Chem.Mol) -> FingerprintSet:
    """MACCS keys, RDKit path fingerprint (2048 bits, paths ≤ 7) and unhashed Morgan r=2 counts."""
    return FingerprintSet(
        maccs=MACCSkeys.GenMACCSKeys(mol),
        rdkit=_RDKIT_PATH.GetFingerprint(mol),
        morgan=_MORGAN_R2.GetSparseCountFingerprint(mol),
    )


def fingerprint_similarities(first: FingerprintSet, second: FingerprintSet) -> tuple[float, float, float]:
    """Tanimoto similarity (MACCS, RDKit, Morgan) of two fingerprint sets."""
    return (
        DataStructs.TanimotoSimilarity(first.maccs, second.maccs),
        DataStructs.TanimotoSimilarity(first.rdkit, second.rdkit),
        DataStructs.TanimotoSimilarity(first.morgan, second.morgan),
    )


# Atoms that set a MACCS key on their own: N (key 161), O (164), ring atoms (165), CH3/CH4 (160).
_MACCS_KEY_ATOM = Chem.MolFromSmarts("[#7,#8,R,CH3,CH4]")


def _has_maccs_keys(mol: Chem.Mol) -> bool:
    return mol.HasSubstructMatch(_MACCS_KEY_ATOM) or MACCSkeys.GenMACCSKeys(mol).GetNumOnBits() > 0


def self_similarities(mol: Chem.Mol) -> tuple[float, float, float]:
    """:func:`fingerprint_similarities` of ``mol`` with itself, without computing its fingerprints.

    Tanimoto of a fingerprint with itself is 1.0, or 0.0 (RDKit's value) when it is empty: the
    RDKit path fingerprint is empty exactly when the molecule has no bond, the Morgan count
    fingerprint never (every atom gives an environment), the MACCS keys when no key's pattern
    matches (computed unless an atom alone sets a key).
    """
    return (1.0 if _has_maccs_keys(mol) else 0.0, 1.0 if mol.GetNumBonds() else 0.0,
            1.0 if mol.GetNumAtoms() else 0.0)


# In Kekulé text outside bracket atoms: a nitrogen, an oxygen or a ring closure (ring atoms), each a MACCS key.
_MACCS_KEY_TEXT = re.compile(r"[NO%0-9]")
_BRACKET_NITROGEN_OR_OXYGEN = re.compile(r"\[\d*[NO](?![a-z])")  # [N+], [O-], [15NH3+]; not [Na+], [Os]
_BRACKET_HYDROGEN = re.compile(r"\[\d*H(?![a-z])")  # [H], [2H], [H+]; not [Hg], [He]
_KEKULE_ATOM = re.compile(rf"{BRACKET_ATOM.pattern}|\*|{ORGANIC_ATOM.pattern}")  # any atom of Kekulé text


def self_similarities_of_text(canonical: str, parts_read: Mapping[str, bool] | None = None
                              ) -> tuple[float, float, float] | None:
    """:func:`self_similarities` of a canonical form read from its text; ``None`` where it does not settle them.

    ``parts_read``: whether RDKit reads back parts with bracket atoms, where that is known (a
    part without is known to, see :func:`llasmol.chem.smiles.reads_back`). Settled when every
    part reads back, none has a hydrogen atom (which reading may remove), and a nitrogen, an
    oxygen or a ring closure sets a MACCS key: the path fingerprint then is empty exactly when no
    part has two atoms (a bond).
    """
    parts = canonical.split(".")
    known = parts_read or {}
    if not all(reads_back(part) or known.get(part) for part in parts) or _BRACKET_HYDROGEN.search(canonical):
        return None
    if not (_MACCS_KEY_TEXT.search(BRACKET_ATOM.sub("", canonical)) or _BRACKET_NITROGEN_OR_OXYGEN.search(canonical)):
        return None
    has_bond = any(len(_KEKULE_ATOM.findall(part)) > 1 for part in parts)
    return (1.0, 1.0 if has_bond else 0.0, 1.0)
