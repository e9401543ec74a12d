"""SMILES answers (FS, RS, MG, NC-I2S): validity, exact match by InChI, fingerprint similarity.

Each distinct string is canonicalized once and each distinct (answer, gold) pair compared once,
on the pool's worker processes; sample-level counts are then plain look-ups.
"""

from __future__ import annotations

import re
import threading
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
    part_inchi,
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


HeavyAtoms = frozenset[tuple[str, ...]]

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


def _canonical_chunk(smiles_list: list[str]) -> list[str | None]:
    return [canonicalize_smiles(smiles) for smiles in smiles_list]


def _inchi_chunk(parts: list[str]) -> list[str | None]:
    return [part_inchi(part) for part in parts]


def _parses_chunk(parts: list[str]) -> list[bool]:
    return [Chem.MolFromSmiles(part) is not None for part in parts]


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
_memory_lock = threading.Lock()
_remembered_canonical: dict[str, str | None] = {}
_remembered_inchis: dict[str, str | None] = {}  # part -> standard InChI
_remembered_parses: dict[str, bool] = {}  # part -> whether RDKit reads it
_remembered_similarities: dict[tuple[str, str], tuple[float, float, float] | None] = {}


def _remembered_later(keys: list[Key], memory: dict[Key, Value],
                      start: Callable[[list[Key]], Callable[[], list[Value]]]) -> Callable[[], dict[Key, Value]]:
    """Start computing the ``keys`` not in ``memory`` (``start(missing)`` returns a function that waits).

    The returned function waits, remembers what was computed and gives ``{key: value}`` for
    ``keys``. Safe when tasks are scored on several threads (a key may then be computed twice).
    """
    with _memory_lock:
        found = {key: memory[key] for key in keys if key in memory}
    missing = [key for key in keys if key not in found]
    results = start(missing)

    def finish() -> dict[Key, Value]:
        computed = dict(zip(missing, results(), strict=True))
        with _memory_lock:
            if len(memory) + len(computed) > _MAX_REMEMBERED:
                memory.clear()
            memory.update(computed)
        return {**found, **computed}

    return finish


def _on_workers(pool: WorkPool, progress: ProgressHook, chunk_function: Callable[[list[Key]], list[Value]]
                ) -> Callable[[list[Key]], Callable[[], list[Value]]]:
    """``start(items)`` for :func:`_remembered_later`: ``chunk_function`` over the items on the pool's workers."""
    def start(items: list[Key]) -> Callable[[], list[Value]]:
        progress.add(len(items))
        return pool.map_later(chunk_function, items, progress.advance)
    return start


def canonicalize_later(texts: Sequence[str], pool: WorkPool, progress: ProgressHook | None = None
                       ) -> Callable[[], None]:
    """Start canonicalizing ``texts`` on the pool's workers; the returned function waits and remembers them.

    Several tasks' strings sent at once keep the workers busy between the tasks' own steps.
    """
    finish = _remembered_later(list(dict.fromkeys(texts)), _remembered_canonical,
                               _on_workers(pool, progress or NoProgress(), _canonical_chunk))

    def remember() -> None:
        finish()

    return remember


def forget_remembered() -> None:
    """Drop the canonical forms and similarities this process remembers from earlier evaluations."""
    with _memory_lock:
        _remembered_canonical.clear()
        _remembered_inchis.clear()
        _remembered_parses.clear()
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

    canonical = _remembered_later(distinct, _remembered_canonical, _on_workers(pool, progress, _canonical_chunk))()
    for sample_golds in golds:
        for gold in sample_golds:
            if canonical[gold] is None:
                raise InvalidGoldError(gold, "not a valid SMILES")
    # Fingerprints need only canonical forms: they are computed while InChIs are.
    fingerprint_metrics = _fingerprint_metrics_later(padded, golds, canonical, pool, progress)

    gold_forms = list(dict.fromkeys(canonical[g] for sample in golds for g in sample))
    gold_parts = list(dict.fromkeys(part for form in gold_forms for part in form.split(".")))
    inchis = _remembered_later(gold_parts, _remembered_inchis, _on_workers(pool, progress, _inchi_chunk))()
    needed, unchecked = _answer_parts_needing_inchis(padded, golds, canonical, inchis, match_parts)
    needed_inchis = _remembered_later(needed, _remembered_inchis, _on_workers(pool, progress, _inchi_chunk))
    parses = _remembered_later(unchecked, _remembered_parses, _on_workers(pool, progress, _parses_chunk))()
    inchis.update(needed_inchis())
    facts = {text: _facts_of(canonical[text], inchis, parses, match_parts) for text in distinct}

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
    metrics.update(fingerprint_metrics())
    if match_parts:
        for depth in range(1, k + 1):
            metrics[f"num_t{depth}_subset"] = _count_any(subset, depth)
            metrics[f"num_t{depth}_intersection"] = _count_any(intersection, depth)
    return metrics


_NOT_COMPUTED: tuple[str, ...] = ("<identity not computed>",)


def _facts_of(canonical: str | None, inchis: dict[str, str | None], parses: dict[str, bool],
              match_parts: bool) -> SmilesFacts:
    """Facts of one string from its parts' InChIs.

    An answer whose InChIs were not computed cannot match a gold: its identity is a placeholder;
    with ``match_parts`` a part without InChI stands for itself (it shares no gold part's InChI),
    and a part RDKit cannot read again voids the identity, as its InChI would.
    """
    if canonical is None:
        return SmilesFacts(None, None, None)
    found: list[str] = []
    for part in canonical.split("."):
        if part in inchis:
            inchi = inchis[part]
        elif not match_parts:
            return SmilesFacts(canonical, _NOT_COMPUTED, None)
        else:
            inchi = f"<no InChI computed: {part}>" if parses[part] else None
        if inchi is None:
            return SmilesFacts(canonical, None, None)
        found.append(inchi)
    distinct = frozenset(found)
    return SmilesFacts(canonical, tuple(sorted(distinct)), distinct if match_parts else None)


def _matches(facts: SmilesFacts, id_by_form: dict[str | None, tuple[str, ...] | None],
             gold_ids: set[tuple[str, ...] | None]) -> bool:
    """Exact match by InChI identity, as ``facts.identity in gold_ids`` for a valid answer."""
    if facts.canonical in id_by_form:
        return id_by_form[facts.canonical] is not None
    if facts.identity is _NOT_COMPUTED:
        return False  # its heavy atoms differ from every gold's, so its InChIs do too
    return facts.identity is not None and facts.identity in gold_ids


def _fully_keyed(parts: Sequence[str], inchis: dict[str, str | None]) -> bool:
    """Whether heavy atoms tell these parts' InChIs apart: no dummy atom, every InChI computed and non-empty."""
    return all(part_heavy_atoms(part) is not None and inchis[part] for part in parts)


def _answer_parts_needing_inchis(padded: list[list[str | None]], golds: Sequence[Sequence[str]],
                                 canonical: dict[str, str | None],
                                 inchis: dict[str, str | None], match_parts: bool) -> tuple[list[str], list[str]]:
    """(answer parts whose InChIs can change a metric, parts that need only a check that they parse).

    Equal non-empty standard InChIs have equal heavy atoms (see :func:`heavy_atom_key`). Without
    ``match_parts`` a whole answer is compared: one equal to a gold's canonical form takes that
    gold's identity, one whose heavy-atom key differs from every gold's cannot share it. With
    ``match_parts`` each part is compared with the gold parts the same way.
    """
    needed: dict[str, None] = {}
    unchecked: dict[str, None] = {}
    for sample, sample_golds in zip(padded, golds, strict=True):
        forms = {canonical[gold] for gold in sample_golds}
        parts = {part for form in forms if form for part in form.split(".")}
        keyed = _fully_keyed(list(parts), inchis)
        keys = ({part_heavy_atoms(part) for part in parts} if match_parts
                else {heavy_atom_key(form) for form in forms})
        for answer in sample:
            form = canonical[answer] if _present(answer) else None
            if form is None:
                continue
            if match_parts:
                for part in form.split("."):
                    if part in inchis:
                        continue
                    atoms = part_heavy_atoms(part)
                    target = needed if not keyed or atoms is None or atoms in keys else unchecked
                    target[part] = None
            elif form not in forms:
                key = heavy_atom_key(form)
                if not keyed or key is None or key in keys:
                    needed.update(dict.fromkeys(part for part in form.split(".") if part not in inchis))
    return list(needed), [part for part in unchecked if part not in needed]


def _fingerprint_metrics_later(padded: list[list[str | None]], golds: Sequence[Sequence[str]],
                               canonical: dict[str, str | None], pool: WorkPool, progress: ProgressHook
                               ) -> Callable[[], dict[str, float | None]]:
    """Start the fingerprint work now; the returned function waits for it.

    It gives the mean, over samples with a valid top-1 answer, of the best similarity to any gold.
    """
    scored: list[tuple[str, list[str]]] = []
    for sample, sample_golds in zip(padded, golds, strict=True):
        top = sample[0]
        form = canonical[top] if _present(top) else None
        if form is not None:
            scored.append((form, [canonical[gold] for gold in sample_golds]))
    pairs = list(dict.fromkeys((answer, gold) for answer, sample_golds in scored for gold in sample_golds))
    similarity = _remembered_later(pairs, _remembered_similarities, partial(_compare_later, pool, progress))

    def finish() -> dict[str, float | None]:
        return _best_similarity_means(scored, similarity())

    return finish


def _compare_later(pool: WorkPool, progress: ProgressHook, pairs: list[tuple[str, str]]
                   ) -> Callable[[], list[Similarities | None]]:
    """Start fingerprinting the molecules of ``pairs``; the returned function waits and compares them.

    Each molecule is fingerprinted once, on one worker; the similarities are cheap here. A
    molecule met only in pairs with itself (an exact answer) needs no full fingerprints.
    """
    molecules = list(dict.fromkeys(molecule for pair in pairs if pair[0] != pair[1] for molecule in pair))
    fingerprinted = set(molecules)
    only_self = [answer for answer in dict.fromkeys(answer for answer, gold in pairs if answer == gold)
                 if answer not in fingerprinted]
    progress.add(len(molecules) + len(only_self))
    fingerprints = pool.map_later(_fingerprint_chunk, molecules, progress.advance)
    self_similarities = pool.map_later(_self_similarity_chunk, only_self, progress.advance)

    def compare() -> list[Similarities | None]:
        found = dict(zip(molecules, fingerprints(), strict=True))
        itself = dict(zip(only_self, self_similarities(), strict=True))
        return [itself[answer] if answer in itself
                else None if found[answer] is None or found[gold] is None
                else fingerprint_similarities(found[answer], found[gold]) for answer, gold in pairs]

    return compare


def _best_similarity_means(scored: list[tuple[str, list[str]]],
                           similarity: dict[tuple[str, str], Similarities | None]) -> dict[str, float | None]:
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
