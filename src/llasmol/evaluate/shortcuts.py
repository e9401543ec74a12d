"""The skip rules of SMILES scoring: work left out where it cannot change a metric, each with its reason.

The plain algorithm (:mod:`llasmol.evaluate.reference`) canonicalizes every answer, computes the
InChI of every part and compares identities. :func:`~llasmol.evaluate.molecules.score_molecules`
gives the same metrics with less work, by these rules:

1. **Settled samples** (:func:`answers_worth_scoring`). An answer written as a gold is settles every
   top-j count of its sample from its depth on, so the answers after it are not read.
2. **Answers that change no count** (:func:`answers_worth_scoring`). After a missing or valid answer,
   a plainly written answer (:data:`PLAIN_SMILES`) with heavy atoms no gold has cannot be an exact
   match, and its validity changes no count: it is not canonicalized.
3. **Identity by heavy atoms** (:func:`answer_parts_needing_inchis`). Equal non-empty standard InChIs
   have equal formula layers, so equal heavy atoms (:func:`heavy_atom_key`): an InChI is computed
   only where heavy atoms cannot tell an answer from its golds, and only for samples with a valid
   answer written unlike their golds.

Rules 2 and 3 hold only where the golds' InChIs are all non-empty and no part has a dummy atom
(:func:`fully_keyed`); the scorer checks that before relying on them. Two more short cuts live in
:mod:`llasmol.chem`: whether a canonical part reads back and has a non-empty InChI, read from its
text (``reads_back``, ``has_inchi``), and the fingerprint similarity of a molecule to itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from llasmol.chem import has_inchi

Answers = Sequence[str | None]
HeavyAtoms = frozenset[tuple[str, ...]]


def present(answer: str | None) -> bool:
    """Whether there is an answer (``None`` and ``""`` are none)."""
    return answer is not None and answer != ""


# An atom of a SMILES: a bracket atom (its element symbol captured) or an organic-subset atom.
_SMILES_ATOM = re.compile(r"\[\d*([A-Za-z][a-z]?|\*)[^\]]*\]|(Cl|Br|[BCNOPSFIbcnops]|\*)")


@lru_cache(maxsize=1 << 18)
def part_heavy_atoms(part: str) -> tuple[str, ...] | None:
    """Sorted heavy-atom symbols of one molecule's SMILES; ``None`` if it has a dummy atom.

    Read from the text (a bracket's element is its first symbol after the isotope); nothing is parsed.
    """
    symbols = []
    for bracket, organic in _SMILES_ATOM.findall(part):
        symbol = (bracket or organic).capitalize()
        if symbol == "*":
            return None
        if symbol != "H":
            symbols.append(symbol)
    return tuple(sorted(symbols))


def heavy_atom_key(canonical: str) -> HeavyAtoms | None:
    """The set of the parts' sorted heavy-atom symbols; ``None`` where InChI may not describe them.

    Equal non-empty standard InChIs have the same formula layer, which counts every atom other
    than hydrogen, so two canonical forms whose part InChIs are all non-empty and form equal sets
    have equal keys. A part with a dummy atom (which InChI cannot write) gives ``None``: its
    identity must be computed.
    """
    key = set()
    for part in canonical.split("."):
        atoms = part_heavy_atoms(part)
        if atoms is None:
            return None
        key.add(atoms)
    return frozenset(key)


def first_strings(answers: Sequence[Answers | None], golds: Sequence[Sequence[str]]) -> list[str]:
    """The strings scoring canonicalizes first: every gold and each sample's first answer.

    Later answers are canonicalized only where the earlier ones leave the sample unsettled (see
    :func:`answers_worth_scoring`).
    """
    firsts = [sample[0] for sample in answers if sample and present(sample[0])]
    return list(dict.fromkeys([gold for sample in golds for gold in sample] + firsts))


# Atoms written the standard way only: organic-subset atoms, and bracket atoms of an element symbol
# (or aromatic b, c, n, o, p, s, se, te, as) with isotope, tetrahedral stereo, hydrogens, charge
# and atom map. Such text names its heavy atoms as RDKit reads them (see part_heavy_atoms).
_PLAIN_ATOM = (r"Cl|Br|[BCNOPSFIbcnops*]"
               r"|\[\d*(?:[A-Z][a-z]?|[bcnops]|se|te|as|\*)(?:@@?)?(?:H\d?)?(?:[+-]{1,2}\d?)?(?::\d+)?\]")
PLAIN_SMILES = re.compile(rf"(?:{_PLAIN_ATOM}|[-=#$:/\\().%0-9])+")


def _comparison_keys(forms: Iterable[str], match_parts: bool) -> set[HeavyAtoms] | set[tuple[str, ...]] | None:
    """Heavy-atom keys of whole forms (of their parts with ``match_parts``); ``None`` with a dummy atom."""
    keys: set = ({part_heavy_atoms(part) for form in forms for part in form.split(".")} if match_parts
                 else {heavy_atom_key(form) for form in forms})
    return None if None in keys else keys


def _matches_no_gold(text: str, index: int, gold_forms: Sequence[Sequence[str]], gold_keys: dict[int, set | None],
                     match_parts: bool) -> bool:
    """Whether plainly written ``text`` has heavy atoms no gold of sample ``index`` has (their keys cached)."""
    if not PLAIN_SMILES.fullmatch(text):
        return False
    if index not in gold_keys:
        gold_keys[index] = _comparison_keys(gold_forms[index], match_parts)
    keys, own_keys = gold_keys[index], _comparison_keys([text], match_parts)
    return keys is not None and own_keys is not None and own_keys.isdisjoint(keys)


def answers_worth_scoring(padded: list[list[str | None]], gold_forms: Sequence[Sequence[str]],
                          canonical: dict[str, str | None], parses: dict[str, bool],
                          canonicalize: Callable[[list[str]], Callable[[], dict[str, str | None]]],
                          match_parts: bool) -> tuple[list[list[str | None]], dict[int, list[str]]]:
    """(the answers, each sample's after its first one written as a gold is as ``None``; by sample,
    the answers left uncanonicalized).

    An answer written as a gold is settles every top-j count of its sample from its depth on: it
    is present, valid, an exact match (the gold's parts parse, so they have InChIs) and so also
    shares parts with that gold and is a subset of it, whatever follows it. The answers at each
    depth are canonicalized (into ``canonical``) only for the samples not settled before it, and
    not where they can change no count: after a missing or valid answer (so no top-j of the sample
    is all invalid), written plainly with heavy atoms no gold of the sample has. Such an answer
    cannot match if the golds' InChIs are all non-empty, which the caller checks.
    """
    matching_forms = [{form for form in forms if all(parses[part] for part in form.split("."))}
                      for forms in gold_forms]
    gold_keys: dict[int, set | None] = {}  # by sample, once one of its answers may be left out
    settled_at: list[int | None] = [None] * len(padded)
    decided = [False] * len(padded)  # an earlier answer was missing or valid
    not_canonicalized: dict[int, list[str]] = {}
    for depth in range(len(padded[0]) if padded else 0):
        unsettled = [index for index, at in enumerate(settled_at) if at is None]
        strings = [padded[index][depth] for index in unsettled]
        wanted = []
        for index, text in zip(unsettled, strings, strict=True):
            if not present(text) or text in canonical:
                continue
            if decided[index] and _matches_no_gold(text, index, gold_forms, gold_keys, match_parts):
                not_canonicalized.setdefault(index, []).append(text)
            else:
                wanted.append(text)
        if wanted:
            canonical.update(canonicalize(wanted)())
        for index, text in zip(unsettled, strings, strict=True):
            form = canonical.get(text) if present(text) else None
            decided[index] = decided[index] or not present(text) or form is not None
            if form in matching_forms[index]:
                settled_at[index] = depth
    kept = [sample if at is None else sample[:at + 1] + [None] * (len(sample) - at - 1)
            for sample, at in zip(padded, settled_at, strict=True)]
    return kept, not_canonicalized


def fully_keyed(parts: Sequence[str], inchis: dict[str, str | None]) -> bool:
    """Whether heavy atoms tell these parts' InChIs apart: no dummy atom, every InChI non-empty.

    An InChI is known non-empty from the part's text (:func:`has_inchi`) or computed.
    """
    return all(part_heavy_atoms(part) is not None and (has_inchi(part) or inchis[part]) for part in parts)


def answer_parts_needing_inchis(padded: list[list[str | None]], gold_forms: Sequence[Sequence[str]],
                                canonical: dict[str, str | None],
                                inchis: dict[str, str | None], match_parts: bool) -> tuple[list[str], list[str]]:
    """(parts whose InChIs can change a metric, answer parts that need only a check that they parse).

    Equal non-empty standard InChIs have equal heavy atoms (see :func:`heavy_atom_key`). Without
    ``match_parts`` a whole answer is compared: one equal to a gold's canonical form takes that
    gold's identity, one whose heavy-atom key differs from every gold's cannot share it. With
    ``match_parts`` each part is compared with the gold parts the same way, and one written as a
    gold part is that part. Where an answer is compared, so are its sample's gold parts: those
    whose InChIs were not computed are needed too. A part without a computed InChI stands for
    itself (see :mod:`llasmol.evaluate.molecules`), so no two different texts are compared unless both
    are computed.
    """
    needed: dict[str, None] = {}
    unchecked: dict[str, None] = {}
    for sample, sample_forms in zip(padded, gold_forms, strict=True):
        forms = set(sample_forms)
        parts = {part for form in forms for part in form.split(".")}
        keyed = fully_keyed(list(parts), inchis)
        keys = _comparison_keys(forms, match_parts) or set()  # None (a dummy atom) leaves the golds unkeyed
        compared = False
        for answer in sample:
            form = canonical.get(answer) if present(answer) else None
            if form is None:
                continue
            if match_parts:
                for part in form.split("."):
                    if part in parts:
                        continue
                    atoms = part_heavy_atoms(part)
                    if not keyed or atoms is None or atoms in keys:
                        compared = True
                        if part not in inchis:
                            needed[part] = None
                    elif part not in inchis:
                        unchecked[part] = None
            elif form not in forms:
                key = heavy_atom_key(form)
                if not keyed or key is None or key in keys:
                    needed.update(dict.fromkeys(part for part in form.split(".") if part not in inchis))
                    compared = True
        if compared:
            needed.update(dict.fromkeys(part for part in parts if part not in inchis))
    return list(needed), [part for part in unchecked if part not in needed]
