"""Canonical SMILES as SMolInstruct writes them, and molecule identity by InChI."""

from __future__ import annotations

import re
from functools import lru_cache

from rdkit import Chem, RDLogger
from rdkit.Chem import rdinchi
from rdkit.Chem.rdmolops import AssignStereochemistry

RDLogger.DisableLog("rdApp.*")

_CACHE_SIZE = 1 << 18


def _copy_without_hydrogen_info(mol: Chem.Mol) -> Chem.RWMol:
    """Rebuild ``mol`` atom by atom, keeping elements, charges, bonds and stereo only."""
    copy = Chem.RWMol()
    for atom in mol.GetAtoms():
        new_atom = Chem.Atom(atom.GetSymbol())
        new_atom.SetFormalCharge(atom.GetFormalCharge())
        if atom.GetIsAromatic() and atom.GetNoImplicit():
            new_atom.SetNumExplicitHs(atom.GetNumExplicitHs())
        copy.AddAtom(new_atom)
    for bond in mol.GetBonds():
        begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        copy.AddBond(begin, end, bond.GetBondType())
        new_bond = copy.GetBondBetweenAtoms(begin, end)
        new_bond.SetBondDir(bond.GetBondDir())
        new_bond.SetStereo(bond.GetStereo())
    # Atoms and bonds were added in the same order, so neighbour order (and with it the
    # meaning of a chiral tag) is unchanged. As the reference does, a tag is kept only on
    # atoms that can still be tetrahedral centres.
    for atom, new_atom in zip(mol.GetAtoms(), copy.GetAtoms(), strict=True):
        if _can_be_tetrahedral(new_atom):
            new_atom.SetChiralTag(atom.GetChiralTag())
    return copy


def _can_be_tetrahedral(atom: Chem.Atom) -> bool:
    degree = atom.GetDegree()
    if degree < 3:
        return False
    return degree > 3 or all(bond.GetBondType() == Chem.BondType.SINGLE for bond in atom.GetBonds())


# What RDKit raises where it cannot go on (sanitization and kekulization errors are MolSanitizeException,
# a ValueError; invariant and precondition violations are RuntimeError). The reference catches every
# exception of its chain and calls the SMILES invalid.
_RDKIT_ERRORS = (ValueError, RuntimeError)


@lru_cache(maxsize=_CACHE_SIZE)
def _canonical_part(part: str) -> str | None:
    try:
        return _canonical_part_of_text(part)
    except _RDKIT_ERRORS:
        return None


def _canonical_part_of_text(part: str) -> str | None:
    mol = Chem.MolFromSmiles(part)
    if mol is None:
        return None
    if ":" in part:  # only bracket atoms like [CH3:1] carry atom maps
        for atom in mol.GetAtoms():
            atom.SetAtomMapNum(0)
    if "@" not in part:  # a part with tetrahedral stereo almost always keeps it: no fast path
        kekule = _kekule_smiles(mol)
        if (kekule is not None and "@" not in kekule
                and ("[" not in kekule or (rebuild_is_identity(kekule, mol)
                                           and _implicit_hydrogens_at_default_valence(kekule, mol)))):
            # Only default-valence atoms, or bracket atoms the rebuild reproduces, and no tetrahedral
            # stereo: settling and rebuilding leave the molecule as it is, and its Kekulé SMILES does
            # not depend on how the input was written (checked against the full chain on 186k real
            # parts and their rewrites, see tests; those with such bracket atoms also on every such
            # part of the real data here, with rewrites and mutations: 180k strings).
            return kekule
    return _canonical_of_rdkit_smiles(Chem.MolToSmiles(mol))


def _kekule_smiles(mol: Chem.Mol) -> str | None:
    """RDKit's Kekulé SMILES of ``mol``; ``None`` where it has no Kekulé form (``C1=CC=[N+2]C=C1``)."""
    try:
        return Chem.MolToSmiles(mol, kekuleSmiles=True)
    except Chem.KekulizeException:
        return None


def _implicit_hydrogens_at_default_valence(kekule: str, mol: Chem.Mol) -> bool:
    """Whether every atom written without brackets got hydrogens up to its element's first valence.

    Such an atom at a higher valence (``I=O`` read as ``O=[IH]``) is written in brackets with the
    hydrogens RDKit gave it, and reading that text runs RDKit's clean-up on it (``[O-][IH+]``): its
    Kekulé SMILES is not settled, so the settling round trips must run. Only a kept hydride with
    hydrogens in ``kekule`` (RDKit's Kekulé SMILES of ``mol``) can be such an atom.
    """
    if _KEPT_HYDRIDES_WITH_HYDROGENS.isdisjoint(BRACKET_ATOM.findall(kekule)):
        return True
    table = Chem.GetPeriodicTable()
    for atom in mol.GetAtoms():
        if atom.GetNoImplicit() or atom.GetNumImplicitHs() == 0:
            continue
        if atom.GetTotalValence() != table.GetDefaultValence(atom.GetAtomicNum()):
            return False
    return True


@lru_cache(maxsize=_CACHE_SIZE)
def _canonical_of_rdkit_smiles(smiles: str) -> str | None:
    """The canonical form from RDKit's SMILES of a part, which differently written inputs share."""
    for _ in range(2):  # settle RDKit's output before rebuilding, as the reference does
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            return None
        settled = Chem.MolToSmiles(mol)
        if settled == smiles:  # a fixed point: another round trip would give the same string
            if rebuild_is_identity(settled, mol):
                return Chem.MolToSmiles(mol, kekuleSmiles=True)
            break
        smiles = settled
    return _rebuilt_canonical(smiles)


# Main-group elements whose neutral atoms RDKit writes in brackets with their hydrogens (always, or
# at a valence other than the first allowed one): silyl and stannyl groups, hypervalent S and P.
HYDRIDE_ELEMENTS = ("B", "Si", "Ge", "Sn", "P", "As", "Sb", "S", "Se", "Te", "I")


def _hydride_bracket_atoms(elements: tuple[str, ...], max_hydrogens: int = 3) -> frozenset[str]:
    """Neutral bracket atoms like ``[Si]``, ``[SH]`` whose hydrogen count the rebuild reproduces.

    Without a radical, such an atom's valence (bonds plus hydrogens) is one RDKit allows; the
    rebuild gives it the hydrogens that fill its bonds up to the smallest allowed valence. The two
    agree unless another allowed valence lies between its bonds and that total, which this rules
    out for every allowed total (``[SH]`` is kept, ``[SH2]`` is not: S allows 2, 4 and 6).
    """
    table = Chem.GetPeriodicTable()
    kept = set()
    for element in elements:
        valences = list(table.GetValenceList(element))
        if -1 in valences:  # any valence: the rebuild would give no hydrogens
            continue
        for hydrogens in range(max_hydrogens + 1):
            if not any(total - hydrogens <= other < total for total in valences for other in valences):
                count = "" if hydrogens < 2 else str(hydrogens)
                kept.add(f"[{element}{'H' if hydrogens else ''}{count}]")
    return frozenset(kept)


# Bracket atoms whose hydrogens and charge the rebuild reproduces as written: a charged atom
# without hydrogens (valence filled, checked for radicals; a halide anion only without bonds), an
# aromatic atom, whose hydrogen count the rebuild copies, or a neutral main-group hydride as above.
# Other bracket atoms (explicit hydrogens on other atoms, isotopes, metals, unusual valences) are rebuilt.
_HALOGENS = frozenset({"Cl", "Br", "I"})
_HALIDE_ANIONS = ("[Cl-]", "[Br-]", "[I-]")
_KEPT_HYDRIDES = _hydride_bracket_atoms(HYDRIDE_ELEMENTS)
_KEPT_HYDRIDES_WITH_HYDROGENS = frozenset(atom for atom in _KEPT_HYDRIDES if "H" in atom)
_KEPT_BRACKET_ATOMS = (frozenset({"[nH]", "[n+]", "[N+]", "[O-]", "[Na+]", "[K+]", "[Li+]", *_HALIDE_ANIONS})
                       | _KEPT_HYDRIDES)
# Tetrahedral carbon centres: a carbon with three neighbours and a hydrogen, or four neighbours,
# has only single bonds, so the rebuild keeps its tag; neighbour order, and with it the tag's
# meaning, is unchanged.
_TETRAHEDRAL_CARBONS = frozenset({"[C@H]", "[C@@H]", "[C@]", "[C@@]"})
_IDENTITY_BRACKET_ATOMS = _KEPT_BRACKET_ATOMS | _TETRAHEDRAL_CARBONS
BRACKET_ATOM = re.compile(r"\[[^\]]*\]")  # a bracket atom of SMILES text


def rebuild_is_identity(written: str, mol: Chem.Mol) -> bool:
    """Whether rebuilding without hydrogen information gives ``mol`` back unchanged.

    ``written`` is RDKit's SMILES of ``mol``: settled, or in Kekulé form without tetrahedral stereo.
    True when its bracket atoms are all of :data:`_KEPT_BRACKET_ATOMS` or tetrahedral carbon
    centres and carry no radical: every atom then has RDKit's default hydrogen count (or,
    aromatic, the copied one) and keeps its stereo tag, so the Kekulé SMILES of ``mol`` is the
    canonical form. Checked against the full rebuild on 186k real parts (15k of them with
    tetrahedral centres) from USPTO, ChEBI-20 and SMolInstruct, and their random rewrites (see tests).
    """
    if "[" not in written:
        return True
    if not _IDENTITY_BRACKET_ATOMS.issuperset(BRACKET_ATOM.findall(written)):
        return False
    halides = any(halide in written for halide in _HALIDE_ANIONS)
    return all(atom.GetNumRadicalElectrons() == 0 and not (halides and _bonded_halide(atom)) for atom in mol.GetAtoms())


def _bonded_halide(atom: Chem.Atom) -> bool:
    """A halide anion with bonds (``C[I-](C)C``): the rebuild may give it a hydrogen (``C[IH-](C)C``)."""
    return atom.GetFormalCharge() == -1 and atom.GetSymbol() in _HALOGENS and atom.GetDegree() > 0


_REBUILD_SANITIZATION = (Chem.SanitizeFlags.SANITIZE_SETAROMATICITY | Chem.SanitizeFlags.SANITIZE_PROPERTIES
                         | Chem.SanitizeFlags.SANITIZE_ADJUSTHS)


def rebuilt_smiles(smiles: str) -> str:
    """The reference's ``canonicalize``: the molecule rebuilt atom by atom, sanitized leniently, written."""
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    mol.UpdatePropertyCache()
    rebuilt = _copy_without_hydrogen_info(mol)
    Chem.SanitizeMol(rebuilt, sanitizeOps=_REBUILD_SANITIZATION, catchErrors=True)
    AssignStereochemistry(rebuilt, cleanIt=False, force=True, flagPossibleStereoCenters=True)
    return Chem.MolToSmiles(rebuilt)


def _rebuilt_canonical(smiles: str) -> str | None:
    """The canonical form of a settled RDKit SMILES by the reference's full rebuild."""
    mol = Chem.MolFromSmiles(rebuilt_smiles(smiles))
    if mol is None:
        return None
    return Chem.MolToSmiles(mol, kekuleSmiles=True)


# An organic-subset atom of Kekulé text (no aromatic atoms), and a part of a canonical form
# written with such atoms only.
ORGANIC_ATOM = re.compile(r"Cl|Br|[BCNOPSFI]")
_BRACKET_FREE_KEKULE = re.compile(rf"(?:{ORGANIC_ATOM.pattern}|[-=#/\\()%0-9])+")


def reads_back(canonical_part: str) -> bool:
    """Whether RDKit surely reads back a part of a canonical form, known from its text alone.

    True for a part without bracket atoms. It is RDKit's Kekulé SMILES of a sanitized molecule:
    each atom is uncharged, with the hydrogens its default valence gives it, and each bond is
    written with its order, so the reading has the same atoms, bonds and valences, which passed
    sanitization once (checked on real parts, see tests). ``False`` means: parse it to know.
    """
    return _BRACKET_FREE_KEKULE.fullmatch(canonical_part) is not None


# Standard InChI refuses a structure of 1024 atoms or more; a shorter text has fewer atoms.
_INCHI_TEXT_LIMIT = 1000


def has_inchi(canonical_part: str) -> bool:
    """Whether a part of a canonical form surely has a non-empty standard InChI, known from its text.

    True for a part that :func:`reads_back` of fewer than 1000 characters: a neutral molecule of
    organic-subset atoms at default valences and fewer than 1000 atoms, which InChI always writes
    (checked on every such part of the real data, see tests). ``False`` means: compute it to know.
    """
    return len(canonical_part) < _INCHI_TEXT_LIMIT and reads_back(canonical_part)


@lru_cache(maxsize=_CACHE_SIZE)
def canonicalize_smiles(smiles: str) -> str | None:
    """Canonical Kekulé isomeric SMILES with sorted '.'-parts, or ``None`` if invalid.

    An empty or unparsable part makes the whole string invalid; atom-map numbers are dropped.
    """
    parts = smiles.replace(" ", "").split(".")
    canonical_parts = []
    for part in parts:
        if not part:
            return None
        canonical = _canonical_part(part)
        if canonical is None:
            return None
        canonical_parts.append(canonical)
    return ".".join(sorted(canonical_parts))


def canonicalize_molecule(smiles: str) -> str:
    """Like :func:`canonicalize_smiles` but raises ``ValueError`` for invalid input."""
    canonical = canonicalize_smiles(smiles)
    if canonical is None:
        raise ValueError(f"invalid SMILES: {smiles!r}")
    return canonical


@lru_cache(maxsize=_CACHE_SIZE)
def part_inchi(part: str) -> str | None:
    """Standard InChI of one molecule (no '.'); ``None`` if RDKit cannot read it, ``""`` if InChI fails."""
    mol = Chem.MolFromSmiles(part)
    if mol is None:
        return None
    return rdinchi.MolToInchi(mol, "")[0]  # what Chem.MolToInchi returns, without logging InChI's warnings


def part_identities(smiles: str) -> frozenset[str] | None:
    """The set of standard InChIs of the '.'-separated parts, or ``None`` if a part is invalid."""
    inchis = set()
    for part in smiles.split("."):
        inchi = part_inchi(part)
        if inchi is None:
            return None
        inchis.add(inchi)
    return frozenset(inchis)


@lru_cache(maxsize=_CACHE_SIZE)
def molecule_identity(smiles: str) -> tuple[str, ...] | None:
    """Sorted tuple of the distinct standard InChIs of the parts; order and duplicates ignored."""
    identities = part_identities(smiles)
    return None if identities is None else tuple(sorted(identities))
