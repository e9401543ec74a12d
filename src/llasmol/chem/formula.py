"""Molecular formulas: parsing to element counts, validity, and formulas from SMILES."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from rdkit import Chem
from rdkit.Chem.rdMolDescriptors import CalcMolFormula

from llasmol.errors import LlasmolError

_VALID_FORMULA = re.compile(r"([A-Za-z]\d*)+([+\-]\d*)*$")
_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*)|([(\[{])|([)\]}])(\d*)")
_CHARGE = re.compile(r"[+\-]\d*")


class FormulaError(LlasmolError, ValueError):
    """A string that is not a molecular formula."""


def is_valid_formula(formula: str) -> bool:
    """The reference rule: letters and digits, then an optional trailing charge; no brackets."""
    return _VALID_FORMULA.match(formula) is not None


def _count_elements(formula: str) -> Counter[str]:
    stack: list[Counter[str]] = [Counter()]
    position = 0
    while position < len(formula):
        match = _TOKEN.match(formula, position)
        if match is None:
            break  # the charge (or anything the grammar does not know) ends the element part
        element, count, opening, closing, multiplier = match.groups()
        if element:
            stack[-1][element] += int(count or 1)
        elif opening:
            stack.append(Counter())
        elif closing and len(stack) > 1:
            group = stack.pop()
            for name, number in group.items():
                stack[-1][name] += number * int(multiplier or 1)
        position = match.end()
    while len(stack) > 1:  # unclosed brackets count once
        group = stack.pop()
        stack[-1].update(group)
    return stack[0]


@lru_cache(maxsize=1 << 16)
def parse_formula(formula: str) -> dict[str, int]:
    """Element counts of a valid formula; a trailing charge counts as element '+' or '-'.

    Raises :class:`FormulaError` for strings the reference treats as invalid.
    """
    if not is_valid_formula(formula):
        raise FormulaError(f"invalid molecular formula: {formula!r}")
    try:
        counts = dict(_count_elements(formula))
        charge = _CHARGE.search(formula)
        if charge is not None:
            sign, digits = charge.group()[0], charge.group()[1:]
            counts[sign] = int(digits) if digits else 1
    except ValueError as error:  # a count of more digits than int() reads (4300): the reference's error too
        raise FormulaError(f"invalid molecular formula: {formula[:40]!r}...: {error}") from None
    return counts


def formula_of_smiles(smiles: str) -> str | None:
    """Hill-order molecular formula of a SMILES (all parts together), or ``None`` if invalid."""
    mol = Chem.MolFromSmiles(smiles)
    return None if mol is None else CalcMolFormula(mol)
