"""The short cuts in ``canonicalize_smiles`` give exactly what the full rebuild chain gives, on real data."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from rdkit import Chem

from llasmol.chem import canonicalize_smiles
from llasmol.chem.reference import plain_canonical_smiles
from llasmol.chem.smiles import HYDRIDE_ELEMENTS, rebuild_is_identity

PER_SOURCE = 1500


def _real_smiles(shared_data: Path) -> list[str]:
    rng = random.Random(7)
    lines = (shared_data / "uspto_mit" / "tgt-valid.txt").read_text().splitlines()
    found = [line.replace(" ", "") for line in rng.sample(lines, PER_SOURCE)]
    with open(shared_data / "uspto50k" / "raw_val.csv", newline="") as handle:
        reactions = [row["reactants>reagents>production"] for row in csv.DictReader(handle)]
    found += [side for reaction in rng.sample(reactions, PER_SOURCE // 3) for side in reaction.split(">") if side]
    with open(shared_data / "chebi20" / "validation.txt", newline="") as handle:
        found += [row["SMILES"] for row in csv.DictReader(handle, delimiter="\t")][:PER_SOURCE]
    with open(shared_data / "smolinstruct" / "val" / "forward_synthesis.jsonl") as handle:
        records = [json.loads(line) for line in handle]
    found += [text for record in records[:PER_SOURCE // 2] for text in (record["input"], record["output"])]
    return found


def _perturbed(smiles: list[str], rng: random.Random) -> list[str]:
    """Random atom orders, mutated atoms and broken strings of a sample."""
    out = []
    for text in rng.sample(smiles, len(smiles) // 4):
        mol = Chem.MolFromSmiles(text)
        if mol is not None:
            out.append(Chem.MolToRandomSmilesVect(mol, 1, randomSeed=rng.randrange(1 << 30))[0])
        spots = [i for i, char in enumerate(text) if char == "C"]
        if spots:
            spot = rng.choice(spots)
            out.append(text[:spot] + rng.choice("NOS") + text[spot + 1:])
        out.append(text[: len(text) // 2] + "(")
    return out


@pytest.mark.slow
def test_short_cuts_agree_with_the_full_chain_on_real_smiles(shared_data: Path) -> None:
    smiles = _real_smiles(shared_data)
    smiles = list(dict.fromkeys(smiles + _perturbed(smiles, random.Random(11))))
    mismatches = [(text, canonicalize_smiles(text), plain_canonical_smiles(text)) for text in smiles
                  if canonicalize_smiles(text) != plain_canonical_smiles(text)]
    assert not mismatches[:5]
    # Both paths were exercised: plain parts, kept bracket atoms, and parts that need the rebuild.
    parts = {part for text in smiles for part in text.split(".") if part}
    molecules = [mol for mol in map(Chem.MolFromSmiles, parts) if mol is not None]
    rdkit = [Chem.MolToSmiles(mol) for mol in molecules]
    assert sum("[" not in text and "@" not in text for text in rdkit) > 1000
    assert sum("[N+]" in text and "@" not in text for text in rdkit) > 50
    kekule = [(Chem.MolToSmiles(mol, kekuleSmiles=True), mol) for mol in molecules]
    kept_in_kekule_form = [text for text, mol in kekule
                           if "[" in text and "@" not in text and rebuild_is_identity(text, mol)]
    assert len(kept_in_kekule_form) > 200
    assert sum("@" in text for text in rdkit) > 500
    assert sum(canonical is None for canonical in map(canonicalize_smiles, smiles)) > 100


def _hydride_cases() -> list[str]:
    """Neutral bracket atoms of the hydride elements with 0-3 hydrogens and 0-6 methyl groups: alone,
    in a ring and with a double bond (kept atoms, atoms that need the rebuild, and invalid ones)."""
    cases = []
    for element in HYDRIDE_ELEMENTS:
        for hydrogens in range(4):
            atom = f"[{element}{'H' if hydrogens else ''}{hydrogens if hydrogens > 1 else ''}]"
            for methyls in range(7):
                cases.append(atom + "(C)" * methyls)
                cases.append(f"O={atom}" + "(C)" * methyls)
                cases.append(f"C1CC{atom}1" + "(C)" * methyls)
    return cases


def test_kept_hydride_bracket_atoms_agree_with_the_full_chain() -> None:
    cases = _hydride_cases()
    mismatches = [(text, canonicalize_smiles(text), plain_canonical_smiles(text)) for text in cases
                  if canonicalize_smiles(text) != plain_canonical_smiles(text)]
    assert not mismatches
    # Many of them skipped the rebuild.
    written = [(Chem.MolToSmiles(mol), mol) for mol in map(Chem.MolFromSmiles, cases) if mol is not None]
    assert sum("[" in text and rebuild_is_identity(text, mol) for text, mol in written) > 50
