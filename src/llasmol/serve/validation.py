"""Checks on requests before they reach the model: SMILES validity with a reason, and sizes."""

from __future__ import annotations

import re

from rdkit import Chem

from llasmol.chem import canonicalize_smiles
from llasmol.errors import LlasmolError
from llasmol.tasks import Tag

# Characters that may appear in a SMILES string (';' separates parts as SMolInstruct writes them).
_SMILES_CHARACTERS = re.compile(r"[A-Za-z0-9@+\-\[\]()=#$:/\\.%*~;]+")
_SMILES_SPAN = re.compile(re.escape(Tag.SMILES.left) + r"(.*?)" + re.escape(Tag.SMILES.right), re.DOTALL)


class InvalidSmilesError(LlasmolError, ValueError):
    """A SMILES string RDKit cannot read; ``reason`` says why."""

    def __init__(self, smiles: str, reason: str) -> None:
        self.smiles, self.reason = smiles, reason
        super().__init__(f"invalid SMILES {smiles!r}: {reason}")


def check_smiles(smiles: str) -> str:
    """The canonical form of ``smiles`` (parts separated by '.' or ';'); raises :class:`InvalidSmilesError`."""
    smiles = smiles.strip()
    if not smiles:
        raise InvalidSmilesError(smiles, "it is empty")
    canonical = canonicalize_smiles(smiles.replace(";", "."))
    if canonical is None:
        raise InvalidSmilesError(smiles, explain_invalid_smiles(smiles))
    return canonical


def first_smiles_span(query: str) -> str | None:
    """The text inside the first ``<SMILES> … </SMILES>`` span of a free-text query, if any."""
    match = _SMILES_SPAN.search(query)
    return match.group(1).strip() if match else None


def explain_invalid_smiles(smiles: str) -> str:
    """A short human reason why RDKit rejects ``smiles`` (syntax or chemistry)."""
    syntax_problem = _syntax_problem(smiles)
    if syntax_problem:
        return syntax_problem
    for part in re.split(r"[.;]", smiles):
        if not part:
            return "it has an empty part (two separators in a row, or one at an end)"
        mol = Chem.MolFromSmiles(part, sanitize=False)
        if mol is None:
            return f"RDKit cannot parse the part {part!r}"
        problems = Chem.DetectChemistryProblems(mol)
        if problems:
            return f"{problems[0].Message()} (in {part!r})"
    return "RDKit cannot read it"


def _syntax_problem(smiles: str) -> str | None:
    unexpected = sorted(set(_SMILES_CHARACTERS.sub("", smiles)))
    if unexpected:
        return f"unexpected character(s) {' '.join(repr(c) for c in unexpected)}"
    for opening, closing, name in (("(", ")", "parentheses"), ("[", "]", "brackets")):
        problem = _unbalanced(smiles, opening, closing, name)
        if problem:
            return problem
    for part in re.split(r"[.;]", smiles):
        unclosed = _unclosed_ring_bonds(part)
        if unclosed:
            return f"unclosed ring bond(s) {', '.join(unclosed)} in {part!r}"
    return None


def _unbalanced(smiles: str, opening: str, closing: str, name: str) -> str | None:
    depth = 0
    for position, character in enumerate(smiles, start=1):
        depth += (character == opening) - (character == closing)
        if depth < 0:
            return f"unbalanced {name}: {closing!r} at position {position} closes nothing"
    return f"unbalanced {name}: {depth} {opening!r} never closed" if depth else None


def _unclosed_ring_bonds(part: str) -> list[str]:
    """Ring-bond labels opened but never closed in one part (outside bracket atoms)."""
    outside_brackets = re.sub(r"\[[^\]]*\]", "", part)
    open_labels: set[str] = set()
    for label in re.findall(r"%\d\d|\d", outside_brackets):
        open_labels ^= {label}
    return sorted(open_labels)
