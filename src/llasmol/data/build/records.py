"""Plain records that source readers yield, and the counters every build step reports into."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

SPLITS: tuple[str, ...] = ("train", "validation", "test")
"""Split names a build speaks of; on disk ``validation`` is written as ``dev``."""


@dataclass(frozen=True, slots=True)
class MoleculeRecord:
    """One molecule from a source, with whatever the source says about it.

    ``labels`` holds property answers as ``(target, answer)`` pairs; ``target`` is ``None`` for
    single-target properties and the class name for multi-target ones (SIDER).
    """

    smiles: str | None
    line: int
    iupac: str | None = None
    formula: str | None = None
    description: str | None = None
    labels: tuple[tuple[str | None, str], ...] = ()
    split: str | None = None


@dataclass(frozen=True, slots=True)
class ReactionRecord:
    """One reaction: '.'-joined reactants, reagents and products, atom-mapped or not."""

    reactants: str
    reagents: str
    products: str
    line: int
    split: str | None = None


Record = MoleculeRecord | ReactionRecord


class Tally(Counter):
    """Counts of dropped or changed items by reason; what the QC report is made of."""

    def add(self, reason: str, count: int = 1) -> None:
        self[reason] += count
