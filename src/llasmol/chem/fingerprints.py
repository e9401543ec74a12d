"""Fingerprint similarities used by the molecule metrics (MACCS, RDKit path, Morgan counts)."""

from __future__ import annotations

from dataclasses import dataclass

from rdkit import Chem, DataStructs
from rdkit.Chem import MACCSkeys, rdFingerprintGenerator

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
