"""IUPAC names checked with OPSIN (the jar shipped by py2opsin): one JVM start per batch of names.

PubChem writes multi-component names with ';' (``...;hydrochloride``), which OPSIN rejects: each
component is parsed on its own and the structures joined with '.'. A name passes when OPSIN's
structure equals the given molecule with stereochemistry removed on both sides.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from rdkit import Chem

from llasmol.errors import LlasmolError


class OpsinUnavailableError(LlasmolError, RuntimeError):
    """OPSIN cannot run (no Java, or py2opsin missing) while the name check is switched on."""


def _run_opsin(names: Sequence[str]) -> list[str]:
    try:
        from py2opsin import py2opsin
    except ImportError as error:  # pragma: no cover - py2opsin is a dependency
        raise OpsinUnavailableError("the OPSIN name check needs the py2opsin package") from error
    if shutil.which("java") is None:
        raise OpsinUnavailableError("the OPSIN name check needs Java (17+) on PATH; or set opsin_check: false")
    workdir = Path(tempfile.mkdtemp(prefix="llasmol-opsin-"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = py2opsin(list(names), output_format="SMILES", tmp_fpath=str(workdir / "names.txt"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if result is False or len(result) != len(names):
        raise OpsinUnavailableError(f"OPSIN returned {0 if result is False else len(result)} results "
                                    f"for {len(names)} names")
    return [smiles.strip() for smiles in result]


def name_components(name: str) -> list[str]:
    """The components of a PubChem-style name (``a;b`` → ``[a, b]``)."""
    return [part.strip() for part in name.split(";") if part.strip()]


def names_to_smiles(names: Sequence[str]) -> list[str | None]:
    """OPSIN's SMILES for each name (components joined with '.'), ``None`` where a part fails."""
    components = [name_components(name.replace("\n", " ")) for name in names]
    unique = sorted({part for parts in components for part in parts})
    parsed = dict(zip(unique, _run_opsin(unique), strict=True)) if unique else {}
    results: list[str | None] = []
    for parts in components:
        smiles = [parsed[part] for part in parts]
        results.append(".".join(smiles) if parts and all(smiles) else None)
    return results


@lru_cache(maxsize=1 << 16)
def stereo_free_key(smiles: str) -> str | None:
    """Canonical SMILES without stereochemistry, parts sorted; ``None`` if RDKit cannot parse it."""
    keys = []
    for part in smiles.split("."):
        mol = Chem.MolFromSmiles(part)
        if mol is None:
            return None
        Chem.RemoveStereochemistry(mol)
        keys.append(Chem.MolToSmiles(mol))
    return ".".join(sorted(keys))


def check_names(pairs: Sequence[tuple[str, str]]) -> list[str | None]:
    """For each ``(name, smiles)``: ``None`` if OPSIN parses the name into that molecule (stereo
    aside), else the reason: ``opsin_unparsable`` or ``opsin_mismatch``."""
    opsin_smiles = names_to_smiles([name for name, _ in pairs])
    reasons: list[str | None] = []
    for (_, smiles), parsed in zip(pairs, opsin_smiles, strict=True):
        if parsed is None or stereo_free_key(parsed) is None:
            reasons.append("opsin_unparsable")
        elif stereo_free_key(parsed) != stereo_free_key(smiles):
            reasons.append("opsin_mismatch")
        else:
            reasons.append(None)
    return reasons
