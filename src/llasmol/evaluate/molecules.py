"""SMILES answers (FS, RS, MG, NC-I2S): validity, exact match by InChI, fingerprint similarity.

Each distinct string is canonicalized once and each distinct (answer, gold) pair compared once,
on the pool's worker processes; sample-level counts are then plain look-ups.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TypeVar

from rdkit import Chem

from llasmol.chem import (
    FingerprintSet,
    canonicalize_smiles,
    fingerprint_similarities,
    molecule_fingerprints,
    molecule_identity,
    part_identities,
    self_similarities,
)
from llasmol.evaluate.gold import InvalidGoldError
from llasmol.evaluate.parallel import WorkPool
from llasmol.evaluate.progress import NoProgress, ProgressHook
from llasmol.evaluate.records import pad_answers

Answers = Sequence[str | None]
Key = TypeVar("Key")
Value = TypeVar("Value")


@dataclass(frozen=True)
class SmilesFacts:
    """What scoring needs to know about one answer string."""

    canonical: str | None  # None: invalid SMILES
    identity: tuple[str, ...] | None  # sorted distinct InChIs of the parts
    parts: frozenset[str] | None  # InChIs of the parts, for reactant-set matches


def smiles_facts(smiles: str, with_parts: bool = False) -> SmilesFacts:
    """Canonical form and InChI identity of one SMILES (identity of the canonical form)."""
    canonical = canonicalize_smiles(smiles)
    if canonical is None:
        return SmilesFacts(None, None, None)
    return SmilesFacts(canonical, molecule_identity(canonical), part_identities(canonical) if with_parts else None)


HeavyAtoms = frozenset[tuple[str, ...]]

# An atom of a SMILES: a bracket atom (its element symbol captured) or an organic-subset atom.
_SMILES_ATOM = re.compile(r"\[\d*([A-Za-z][a-z]?|\*)[^\]]*\]|(Cl|Br|[BCNOPSFIbcnops]|\*)")


def heavy_atom_key(canonical: str) -> HeavyAtoms | None:
    """The set of the parts' sorted heavy-atom symbols; ``None`` where InChI may not describe them.

    Equal non-empty standard InChIs have the same formula layer, which counts every atom other
    than hydrogen, so two canonical forms whose part InChIs are all non-empty and form equal sets
    have equal keys. A part with a dummy atom (which InChI cannot write) gives ``None``: its
    identity must be computed. Read from the SMILES text (a bracket's element is its first
    symbol after the isotope); no molecule is parsed.
    """
    key = set()
    for part in canonical.split("."):
        symbols = []
        for bracket, organic in _SMILES_ATOM.findall(part):
            symbol = (bracket or organic).capitalize()
            if symbol == "*":
                return None
            if symbol != "H":
                symbols.append(symbol)
        key.add(tuple(sorted(symbols)))
    return frozenset(key)


def _canonical_chunk(smiles_list: list[str]) -> list[tuple[str | None, HeavyAtoms | None]]:
    found: list[tuple[str | None, HeavyAtoms | None]] = []
    for smiles in smiles_list:
        canonical = canonicalize_smiles(smiles)
        found.append((canonical, None if canonical is None else heavy_atom_key(canonical)))
    return found


def _identity_chunk(canonicals: list[str], with_parts: bool
                    ) -> list[tuple[tuple[str, ...] | None, frozenset[str] | None]]:
    return [(molecule_identity(canonical), part_identities(canonical) if with_parts else None)
            for canonical in canonicals]


@lru_cache(maxsize=1 << 16)
def _fingerprints(canonical: str) -> FingerprintSet | None:
    mol = Chem.MolFromSmiles(canonical)
    return None if mol is None else molecule_fingerprints(mol)


def _fingerprint_chunk(canonicals: list[str]) -> list[FingerprintSet | None]:
    return [_fingerprints(canonical) for canonical in canonicals]


Similarities = tuple[float, float, float]


def _self_similarity_chunk(canonicals: list[str]) -> list[Similarities | None]:
    molecules = (Chem.MolFromSmiles(canonical) for canonical in canonicals)
    return [None if mol is None else self_similarities(mol) for mol in molecules]


# What worker processes computed, kept by this process so that later evaluations in it (several
# runs scored against the same golds) send only strings and pairs not seen before.
_MAX_REMEMBERED = 1 << 20
_remembered_canonical: dict[str, tuple[str | None, HeavyAtoms | None]] = {}
_remembered_identities: dict[tuple[str, bool], tuple[tuple[str, ...] | None, frozenset[str] | None]] = {}
_remembered_similarities: dict[tuple[str, str], tuple[float, float, float] | None] = {}


def _remembered(keys: list[Key], memory: dict[Key, Value], compute: Callable[[list[Key]], list[Value]]
                ) -> dict[Key, Value]:
    """``{key: value}`` for ``keys``, computing only those not in ``memory``, and remembering them."""
    missing = [key for key in keys if key not in memory]
    computed = dict(zip(missing, compute(missing), strict=True))
    found = {key: memory[key] if key in memory else computed[key] for key in keys}
    if len(memory) + len(computed) > _MAX_REMEMBERED:
        memory.clear()
    memory.update(computed)
    return found


def canonicalize_later(texts: Sequence[str], pool: WorkPool, progress: ProgressHook | None = None
                       ) -> Callable[[], None]:
    """Start canonicalizing ``texts`` on the pool's workers; the returned function waits and remembers them.

    Several tasks' strings sent at once keep the workers busy between the tasks' own steps.
    """
    progress = progress or NoProgress()
    missing = [text for text in dict.fromkeys(texts) if text not in _remembered_canonical]
    progress.add(len(missing))
    results = pool.map_later(_canonical_chunk, missing, progress.advance)

    def remember() -> None:
        _remembered(missing, _remembered_canonical, lambda _: results())

    return remember


def forget_remembered() -> None:
    """Drop the canonical forms and similarities this process remembers from earlier evaluations."""
    _remembered_canonical.clear()
    _remembered_identities.clear()
    _remembered_similarities.clear()


def _present(answer: str | None) -> bool:
    return answer is not None and answer != ""


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _count_all(flags: list[list[bool]], depth: int) -> int:
    """Samples whose first ``depth`` flags all hold."""
    return sum(all(sample[:depth]) for sample in flags)


def _count_any(flags: list[list[bool]], depth: int) -> int:
    """Samples with a flag among the first ``depth`` that holds."""
    return sum(any(sample[:depth]) for sample in flags)


def score_molecules(answers: Sequence[Answers | None], golds: Sequence[Sequence[str]], k: int, *,
                    match_parts: bool = False, pool: WorkPool | None = None,
                    progress: ProgressHook | None = None) -> dict[str, float | int | None]:
    """The paper's SMILES metrics; answers and golds already stripped, with ';' read as '.'.

    Raises :class:`InvalidGoldError` for a gold answer RDKit cannot read.
    """
    pool, progress = pool or WorkPool(), progress or NoProgress()
    padded = pad_answers(answers, k)
    distinct = list(dict.fromkeys([a for sample in padded for a in sample if _present(a)]
                                  + [g for sample in golds for g in sample]))

    def canonicalize(texts: list[str]) -> list[tuple[str | None, HeavyAtoms | None]]:
        progress.add(len(texts))
        return pool.map(_canonical_chunk, texts, progress.advance)

    canonical = _remembered(distinct, _remembered_canonical, canonicalize)
    for sample_golds in golds:
        for gold in sample_golds:
            if canonical[gold][0] is None:
                raise InvalidGoldError(gold, "not a valid SMILES")

    def identify(keys: list[tuple[str, bool]]) -> list[tuple[tuple[str, ...] | None, frozenset[str] | None]]:
        progress.add(len(keys))
        return pool.map(partial(_identity_chunk, with_parts=match_parts), [text for text, _ in keys],
                        progress.advance)

    gold_forms = list(dict.fromkeys(canonical[g][0] for sample in golds for g in sample))
    identities = _remembered([(form, match_parts) for form in gold_forms], _remembered_identities, identify)
    answer_forms = _answers_needing_identity(padded, golds, canonical, identities, match_parts)
    identities.update(_remembered([(form, match_parts) for form in answer_forms], _remembered_identities, identify))
    facts = {text: _facts_of(canonical[text][0], identities.get((canonical[text][0], match_parts)))
             for text in distinct}

    no_answer, invalid, exact, intersection, subset = [], [], [], [], []
    for sample, sample_golds in zip(padded, golds, strict=True):
        gold_ids = {facts[gold].identity for gold in sample_golds}
        # Equal canonical forms have equal identities, known from the gold's.
        id_by_form = {facts[gold].canonical: facts[gold].identity for gold in sample_golds}
        gold_parts = [facts[gold].parts for gold in sample_golds]
        sample_facts = [facts[a] if _present(a) else None for a in sample]
        no_answer.append([f is None for f in sample_facts])
        invalid.append([f is not None and f.canonical is None for f in sample_facts])
        valid = [f if f is not None and f.canonical is not None else None for f in sample_facts]
        exact.append([f is not None and _matches(f, id_by_form, gold_ids) for f in valid])
        if match_parts:
            intersection.append([f is not None and f.parts is not None and any(f.parts & g for g in gold_parts if g)
                                 for f in valid])
            subset.append([f is not None and bool(f.parts) and any(f.parts <= g for g in gold_parts if g)
                           for f in valid])

    metrics: dict[str, float | int | None] = {"num_all": len(padded)}
    for depth in range(1, k + 1):
        metrics[f"num_t{depth}_no_answer"] = _count_all(no_answer, depth)
        metrics[f"num_t{depth}_invalid"] = _count_all(invalid, depth)
    for depth in range(1, k + 1):
        metrics[f"num_t{depth}_exact_match"] = _count_any(exact, depth)
    metrics.update(_fingerprint_metrics(padded, golds, facts, pool, progress))
    if match_parts:
        for depth in range(1, k + 1):
            metrics[f"num_t{depth}_subset"] = _count_any(subset, depth)
            metrics[f"num_t{depth}_intersection"] = _count_any(intersection, depth)
    return metrics


_NOT_COMPUTED: tuple[str, ...] = ("<identity not computed>",)


def _facts_of(canonical: str | None, identity: tuple[tuple[str, ...] | None, frozenset[str] | None] | None
              ) -> SmilesFacts:
    """Facts of one string; an identity left uncomputed (it cannot match a gold) is a placeholder."""
    if canonical is None:
        return SmilesFacts(None, None, None)
    if identity is None:
        return SmilesFacts(canonical, _NOT_COMPUTED, None)
    return SmilesFacts(canonical, identity[0], identity[1])


def _matches(facts: SmilesFacts, id_by_form: dict[str | None, tuple[str, ...] | None],
             gold_ids: set[tuple[str, ...] | None]) -> bool:
    """Exact match by InChI identity, as ``facts.identity in gold_ids`` for a valid answer."""
    if facts.canonical in id_by_form:
        return id_by_form[facts.canonical] is not None
    if facts.identity is _NOT_COMPUTED:
        return False  # its heavy atoms differ from every gold's, so its InChIs do too
    return facts.identity is not None and facts.identity in gold_ids


def _answers_needing_identity(padded: list[list[str | None]], golds: Sequence[Sequence[str]],
                              canonical: dict[str, tuple[str | None, HeavyAtoms | None]],
                              identities: dict[tuple[str, bool], tuple[tuple[str, ...] | None, frozenset[str] | None]],
                              match_parts: bool) -> list[str]:
    """Canonical answers whose InChIs can change a metric.

    With ``match_parts`` every valid answer (parts are compared). Otherwise an answer equal to a
    gold's canonical form takes the gold's identity, and one whose heavy-atom key differs from
    every gold's (all of whose part InChIs are non-empty) cannot have a gold's identity.
    """
    needed: dict[str, None] = {}
    for sample, sample_golds in zip(padded, golds, strict=True):
        gold_forms = {canonical[gold][0] for gold in sample_golds}
        gold_keys = set()
        all_keyed = True
        for gold in sample_golds:
            form, key = canonical[gold]
            identity = identities[(form, match_parts)][0]
            if key is None or identity is None or "" in identity:
                all_keyed = False
            gold_keys.add(key)
        for answer in sample:
            if not _present(answer):
                continue
            form, key = canonical[answer]
            if form is None or (not match_parts and form in gold_forms):
                continue
            if match_parts or not all_keyed or key is None or key in gold_keys:
                needed[form] = None
    return list(needed)


def _fingerprint_metrics(padded: list[list[str | None]], golds: Sequence[Sequence[str]],
                         facts: dict[str, SmilesFacts], pool: WorkPool,
                         progress: ProgressHook) -> dict[str, float | None]:
    """Mean over samples with a valid top-1 answer of the best similarity to any gold."""
    scored: list[tuple[str, list[str]]] = []
    for sample, sample_golds in zip(padded, golds, strict=True):
        top = sample[0]
        if _present(top) and facts[top].canonical is not None:
            scored.append((facts[top].canonical, [facts[gold].canonical for gold in sample_golds]))
    pairs = list(dict.fromkeys((answer, gold) for answer, sample_golds in scored for gold in sample_golds))

    def compare(missing: list[tuple[str, str]]) -> list[Similarities | None]:
        # Each molecule is fingerprinted once, on one worker; the similarities are cheap here. A
        # molecule met only in pairs with itself (an exact answer) needs no full fingerprints.
        molecules = list(dict.fromkeys(molecule for pair in missing if pair[0] != pair[1] for molecule in pair))
        fingerprinted = set(molecules)
        only_self = [answer for answer in dict.fromkeys(answer for answer, gold in missing if answer == gold)
                     if answer not in fingerprinted]
        progress.add(len(molecules) + len(only_self))
        found = dict(zip(molecules, pool.map(_fingerprint_chunk, molecules, progress.advance), strict=True))
        itself = dict(zip(only_self, pool.map(_self_similarity_chunk, only_self, progress.advance), strict=True))
        return [itself[answer] if answer in itself
                else None if found[answer] is None or found[gold] is None
                else fingerprint_similarities(found[answer], found[gold]) for answer, gold in missing]

    similarity = _remembered(pairs, _remembered_similarities, compare)
    maccs, rdkit, morgan = [], [], []
    for answer, sample_golds in scored:
        found = [similarity[(answer, gold)] for gold in sample_golds]
        if all(value is None for value in found):
            continue  # the canonical answer does not parse again: no fingerprint
        best = [0.0, 0.0, 0.0]
        for value in found:
            if value is not None:
                best = [max(old, new) for old, new in zip(best, value, strict=True)]
        maccs.append(best[0])
        rdkit.append(best[1])
        morgan.append(best[2])
    return {"t1_maccs_fps": _mean(maccs), "t1_rdk_fps": _mean(rdkit), "t1_morgan_fps": _mean(morgan)}

