"""Quality control of source records, run in worker processes on chunks of records.

Molecules get the evaluator's canonical Kekulé SMILES, an RDKit formula (checked against the
source's formula when it has one), SELFIES, and an OPSIN check of their IUPAC name. Reactions are
relabelled by atom maps (a molecule with no mapped atom in the product is a reagent) and dropped
when the product is among the reactants. Every drop is counted in a :class:`Tally`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import selfies

from llasmol.chem import FormulaError, canonicalize_smiles, formula_of_smiles, parse_formula
from llasmol.data.build.opsin import check_names
from llasmol.data.build.records import MoleculeRecord, ReactionRecord, Record, Tally

_ATOM_MAP = re.compile(r":(\d+)\]")


@dataclass(frozen=True)
class QCOptions:
    """What the workers compute and check."""

    opsin_check: bool = True
    selfies: bool = True
    need_formula: bool = False


@dataclass(slots=True)
class CleanMolecule:
    """A molecule that passed QC: canonical SMILES plus what the source said about it."""

    smiles: str
    line: int
    split: str | None
    formula: str | None = None
    iupac: str | None = None
    description: str | None = None
    labels: tuple[tuple[str | None, str], ...] = ()
    selfies: dict[str, str] = field(default_factory=dict)

    @property
    def split_key(self) -> str:
        return self.smiles


@dataclass(slots=True)
class CleanReaction:
    """A reaction that passed QC: canonical reactant, reagent and product molecules."""

    reactants: tuple[str, ...]
    reagents: tuple[str, ...]
    product: str
    line: int
    split: str | None
    selfies: dict[str, str] = field(default_factory=dict)

    @property
    def split_key(self) -> str:
        """The reaction without its reagents: forward and retro samples of it share a split."""
        return ".".join(self.reactants) + ">>" + self.product


CleanUnit = CleanMolecule | CleanReaction


@lru_cache(maxsize=1 << 18)
def selfies_of(smiles: str) -> str | None:
    """SELFIES of one molecule, or ``None`` if SELFIES cannot encode it."""
    try:
        return selfies.encoder(smiles)
    except selfies.EncoderError:
        return None


def _add_selfies(parts: list[str], table: dict[str, str], tally: Tally) -> bool:
    for part in parts:
        encoded = selfies_of(part)
        if encoded is None:
            tally.add("selfies_unencodable")
            return False
        table[part] = encoded
    return True


def _formulas_agree(source_formula: str, rdkit_formula: str) -> bool | None:
    try:
        return parse_formula(source_formula.replace(" ", "")) == parse_formula(rdkit_formula)
    except FormulaError:
        return None


def clean_molecule(record: MoleculeRecord, options: QCOptions, tally: Tally) -> CleanMolecule | None:
    """Canonicalize and check one molecule (the OPSIN name check runs per chunk, see :func:`clean_chunk`)."""
    if not record.smiles:
        tally.add("missing_molecule")
        return None
    canonical = canonicalize_smiles(record.smiles)
    if canonical is None:
        tally.add("unparsable_molecule")
        return None
    formula = formula_of_smiles(canonical) if options.need_formula or record.formula else None
    if record.formula:
        agree = _formulas_agree(record.formula, formula or "")
        if not agree:
            tally.add("bad_source_formula" if agree is None else "formula_mismatch")
            return None
    unit = CleanMolecule(
        smiles=canonical, line=record.line, split=record.split, formula=formula,
        iupac=record.iupac or None, description=record.description, labels=record.labels,
    )
    if options.selfies and not _add_selfies(canonical.split("."), unit.selfies, tally):
        return None
    return unit


def _map_numbers(smiles: str) -> set[str]:
    return set(_ATOM_MAP.findall(smiles))


def relabel_by_atom_maps(reactants: list[str], reagents: list[str], products: list[str],
                         tally: Tally) -> tuple[list[str], list[str]]:
    """Reactants are the molecules sharing a mapped atom with the product; the rest are reagents.

    An unmapped reaction (no atom maps in the product) keeps the source's labels.
    """
    product_maps = set().union(*map(_map_numbers, products)) if products else set()
    if not product_maps:
        tally.add("unmapped_reaction")
        return reactants, reagents
    new_reactants, new_reagents = [], []
    for role, molecules in (("reactant", reactants), ("reagent", reagents)):
        for molecule in molecules:
            is_reactant = bool(_map_numbers(molecule) & product_maps)
            (new_reactants if is_reactant else new_reagents).append(molecule)
            if is_reactant != (role == "reactant"):
                tally.add(f"relabelled_{role}_to_{'reactant' if is_reactant else 'reagent'}")
    return new_reactants, new_reagents


def _canonical_parts(molecules: list[str]) -> list[str] | None:
    parts = []
    for molecule in molecules:
        canonical = canonicalize_smiles(molecule)
        if canonical is None:
            return None
        parts.extend(canonical.split("."))
    return sorted(parts)


def clean_reaction(record: ReactionRecord, options: QCOptions, tally: Tally) -> CleanReaction | None:
    """Relabel, canonicalize and check one reaction."""
    split_parts = [[part for part in side.split(".") if part] for side in
                   (record.reactants, record.reagents, record.products)]
    reactants, reagents, products = split_parts
    if not products:
        tally.add("no_product")
        return None
    reactants, reagents = relabel_by_atom_maps(reactants, reagents, products, tally)
    if not reactants:
        tally.add("no_reactants")
        return None
    canonical = [_canonical_parts(side) for side in (reactants, reagents, products)]
    if any(parts is None for parts in canonical):
        tally.add("unparsable_molecule")
        return None
    reactant_parts, reagent_parts, product_parts = canonical  # type: ignore[misc]
    if set(product_parts) & set(reactant_parts):
        tally.add("product_in_reactants")
        return None
    unit = CleanReaction(
        reactants=tuple(reactant_parts), reagents=tuple(reagent_parts), product=".".join(product_parts),
        line=record.line, split=record.split,
    )
    if options.selfies and not _add_selfies(reactant_parts + reagent_parts + product_parts, unit.selfies, tally):
        return None
    return unit


def _check_names_of(units: list[CleanUnit | None], tally: Tally) -> None:
    """Drop (set to ``None``) molecules whose name OPSIN does not parse into the same structure."""
    named = [index for index, unit in enumerate(units) if isinstance(unit, CleanMolecule) and unit.iupac]
    if not named:
        return
    reasons = check_names([(units[index].iupac, units[index].smiles) for index in named])  # type: ignore[union-attr]
    for index, reason in zip(named, reasons, strict=True):
        if reason is not None:
            tally.add(reason)
            units[index] = None


def clean_chunk(records: list[Record], options: QCOptions) -> tuple[list[CleanUnit | None], Tally]:
    """QC of a chunk of records; the result keeps one slot per record (``None`` = dropped)."""
    tally = Tally()
    units: list[CleanUnit | None] = [
        clean_reaction(record, options, tally) if isinstance(record, ReactionRecord)
        else clean_molecule(record, options, tally)
        for record in records
    ]
    if options.opsin_check:
        _check_names_of(units, tally)
    return units, tally
