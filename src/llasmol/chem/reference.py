"""The reference's canonical SMILES in its plain form: every step, no short cut, no cache.

The steps of ``canonicalize_molecule_smiles`` in OSU-NLP-Group/LLM4Chem (``utils/smiles_canonicalization.py``)
for each '.'-part: read, drop atom maps, three RDKit writes with two reads between them, the
atom-by-atom rebuild without hydrogen information, and a Kekulé write of its reading; any exception
on the way makes the whole string invalid. :func:`llasmol.chem.canonicalize_smiles` gives the
strings of :func:`plain_canonical_smiles` (this chain, spaces removed first, see docs/evaluation.md)
faster; the tests and benchmarks compare the two.
"""

from __future__ import annotations

from rdkit import Chem

from llasmol.chem.smiles import rebuilt_smiles


def _read(smiles: str) -> Chem.Mol:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:  # the reference asserts
        raise ValueError(f"RDKit cannot read {smiles!r}")
    return mol


def _reference_part(part: str) -> str:
    """One part's canonical form; raises where the reference's steps raise (or assert)."""
    if not part:
        raise ValueError("SMILES contains empty part.")
    mol = _read(part)
    for atom in mol.GetAtoms():
        atom.SetAtomMapNum(0)
    smiles = Chem.MolToSmiles(mol)
    for _ in range(2):
        smiles = Chem.MolToSmiles(Chem.MolFromSmiles(smiles))  # MolToSmiles(None) raises, as there
    mol = _read(rebuilt_smiles(smiles))
    return Chem.MolToSmiles(mol, kekuleSmiles=True)


def reference_canonical(smiles: str) -> str | None:
    """The reference's canonical form of a SMILES (parts sorted), or ``None`` where any step raises."""
    try:
        return ".".join(sorted(_reference_part(part) for part in smiles.split(".")))
    except Exception:  # the reference's bare ``except``: any error makes the SMILES invalid
        return None


def plain_canonical_smiles(smiles: str) -> str | None:
    """What :func:`llasmol.chem.canonicalize_smiles` must give: the reference's canonical form of the text
    without its spaces."""
    return reference_canonical(smiles.replace(" ", ""))
