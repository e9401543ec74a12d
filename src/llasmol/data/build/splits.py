"""Seeded, order-free splits: a unit's split depends only on (seed, its canonical key).

Hashing the canonical key means every task built from the same molecule or reaction puts it in the
same split (name-conversion tasks share one molecule split; forward and retrosynthesis one
reaction split) without holding the data in memory.
"""

from __future__ import annotations

import hashlib

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import SPLITS


def unit_fraction(key: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by ``seed`` and ``key``."""
    digest = hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def seeded_split(key: str, seed: int, ratios: tuple[float, float, float]) -> str:
    """``train``/``validation``/``test`` for a canonical key, in the given proportions."""
    fraction = unit_fraction(key, seed)
    if fraction < ratios[0]:
        return "train"
    return "validation" if fraction < ratios[0] + ratios[1] else "test"


def resolve_split(unit_split: str | None, key: str, source: SourceConfig, seed: int,
                  ratios: tuple[float, float, float]) -> str:
    """The split of one unit: the config's fixed split, else the source's own, else the seeded one."""
    if source.split in SPLITS:
        return source.split
    if source.split == "source" and unit_split in SPLITS:
        return unit_split  # type: ignore[return-value]
    return seeded_split(key, seed, ratios)
