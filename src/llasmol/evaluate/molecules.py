"""SMILES answers (FS, RS, MG, NC-I2S): validity, exact match by InChI, fingerprint similarity.

Each distinct string is canonicalized once and each distinct (answer, gold) pair compared once,
on the pool's worker processes; sample-level counts are then plain look-ups.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TypeVar

from rdkit import Chem

from llasmol.chem import (
    FingerprintSet,
    canonicalize_smiles,
    fingerprint_similarities,
    has_inchi,
    molecule_fingerprints,
    part_inchi,
    reads_back,
    self_similarities,
    self_similarities_of_text,
)
from llasmol.evaluate.gold import InvalidGoldError
from llasmol.evaluate.isolation import ScoringErrors, ScoringFailure, each_guarded, guarded
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


# The steps run on the workers, each item guarded: an exception on one comes back as a ScoringFailure.
def _canonical_chunk(smiles_list: list[str]) -> list[str | ScoringFailure | None]:
    return each_guarded(canonicalize_smiles, smiles_list)


def _inchi_chunk(parts: list[str]) -> list[str | ScoringFailure | None]:
    return each_guarded(part_inchi, parts)


def _parses(part: str) -> bool:
    return Chem.MolFromSmiles(part) is not None


def _parses_chunk(parts: list[str]) -> list[bool | ScoringFailure]:
    return each_guarded(_parses, parts)


@lru_cache(maxsize=1 << 16)
def _fingerprints(canonical: str) -> FingerprintSet | None:
    mol = Chem.MolFromSmiles(canonical)
    return None if mol is None else molecule_fingerprints(mol)


Similarities = tuple[float, float, float]


def _pair_similarities(pair: tuple[str, str]) -> Similarities | None:
    """Fingerprint similarities of (answer, gold) canonical forms; ``None`` where one does not parse again."""
    first, second = _fingerprints(pair[0]), _fingerprints(pair[1])
    return None if first is None or second is None else fingerprint_similarities(first, second)


def _similarity_chunk(pairs: list[tuple[str, str]]) -> list[Similarities | ScoringFailure | None]:
    return each_guarded(_pair_similarities, pairs)


def _own_similarities(canonical: str) -> Similarities | None:
    mol = Chem.MolFromSmiles(canonical)
    return None if mol is None else self_similarities(mol)


def _self_similarity_chunk(canonicals: list[str]) -> list[Similarities | ScoringFailure | None]:
    return each_guarded(_own_similarities, canonicals)


# What worker processes computed, kept by this process so that later evaluations in it (several
# runs scored against the same golds) send only strings and pairs not seen before. A step that
# raised on an item is kept as its ScoringFailure, so that every evaluation counts it.
_MAX_REMEMBERED = 1 << 20
_memory_lock = threading.Lock()
_remembered_canonical: dict[str, str | ScoringFailure | None] = {}
_remembered_inchis: dict[str, str | ScoringFailure | None] = {}  # part -> standard InChI
_remembered_parses: dict[str, bool | ScoringFailure] = {}  # part -> whether RDKit reads it
_remembered_similarities: dict[tuple[str, str], Similarities | ScoringFailure | None] = {}


# Where a step raised: (step name, item) -> reason. The item stands in the result for the value
# the step gives when RDKit cannot go on (see _Step.fallback).
Failures = dict[tuple[str, object], str]


@dataclass(frozen=True)
class _Step:
    """A step's name and its result for an item it raised on: ``None`` (canonical form, InChI,
    similarities) or ``False`` (whether a part reads back)."""

    name: str
    fallback: object = None


_CANONICAL = _Step("canonical form")
_INCHI = _Step("InChI")
_PARSES = _Step("parse", False)
_SIMILARITY = _Step("fingerprints")


def _remembered_later(keys: list[Key], memory: dict[Key, Value],
                      start: Callable[[list[Key]], Callable[[], list[Value]]],
                      step: _Step | None = None, failures: Failures | None = None) -> Callable[[], dict[Key, Value]]:
    """Start computing the ``keys`` not in ``memory`` (``start(missing)`` returns a function that waits).

    The returned function waits, remembers what was computed and gives ``{key: value}`` for
    ``keys``, a :class:`ScoringFailure` replaced by the ``step``'s fallback and recorded in
    ``failures``. Safe when tasks are scored on several threads (a key may then be computed twice).
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
        return _without_failures({**found, **computed}, step, failures)

    return finish


def _without_failures(values: dict[Key, Value], step: _Step | None, failures: Failures | None) -> dict[Key, Value]:
    """``values`` with each :class:`ScoringFailure` replaced by the step's fallback (and recorded)."""
    for key, value in values.items():
        if isinstance(value, ScoringFailure):
            if failures is not None and step is not None:
                failures[(step.name, key)] = value.reason
            values[key] = step.fallback if step is not None else None
    return values


def _on_workers(pool: WorkPool, progress: ProgressHook, chunk_function: Callable[[list[Key]], list[Value]]
                ) -> Callable[[list[Key]], Callable[[], list[Value]]]:
    """``start(items)`` for :func:`_remembered_later`: ``chunk_function`` over the items on the pool's workers."""
    def start(items: list[Key]) -> Callable[[], list[Value]]:
        progress.add(len(items))
        return pool.map_later(chunk_function, items, progress.advance)
    return start


def _remembered_later_on(pool: WorkPool, progress: ProgressHook, memory: dict[Key, Value],
                         chunk_function: Callable[[list[Key]], list[Value]], step: _Step | None = None,
                         failures: Failures | None = None) -> Callable[[list[Key]], Callable[[], dict[Key, Value]]]:
    """``start(keys)``: :func:`_remembered_later` of ``chunk_function`` over distinct keys, on the workers."""
    on_workers = _on_workers(pool, progress, chunk_function)

    def start(keys: list[Key]) -> Callable[[], dict[Key, Value]]:
        return _remembered_later(list(dict.fromkeys(keys)), memory, on_workers, step, failures)

    return start


def _parse_checks_on(pool: WorkPool, progress: ProgressHook, failures: Failures
                     ) -> Callable[[list[str]], Callable[[], dict[str, bool]]]:
    """``start(parts)``: whether RDKit reads back each canonical part; parsed only where the text leaves it open."""
    check = _remembered_later_on(pool, progress, _remembered_parses, _parses_chunk, _PARSES, failures)

    def start(parts: list[str]) -> Callable[[], dict[str, bool]]:
        finish = check([part for part in parts if not reads_back(part)])
        return lambda: {**dict.fromkeys(parts, True), **finish()}

    return start


def first_strings(answers: Sequence[Answers | None], golds: Sequence[Sequence[str]]) -> list[str]:
    """The strings scoring canonicalizes first: every gold and each sample's first answer.

    Later answers are canonicalized only where the earlier ones leave the sample unsettled (see
    :func:`_answers_worth_scoring`).
    """
    firsts = [sample[0] for sample in answers if sample and _present(sample[0])]
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


def _answers_worth_scoring(padded: list[list[str | None]], gold_forms: Sequence[Sequence[str]],
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
            if not _present(text) or text in canonical:
                continue
            if decided[index] and _matches_no_gold(text, index, gold_forms, gold_keys, match_parts):
                not_canonicalized.setdefault(index, []).append(text)
            else:
                wanted.append(text)
        if wanted:
            canonical.update(canonicalize(wanted)())
        for index, text in zip(unsettled, strings, strict=True):
            form = canonical.get(text) if _present(text) else None
            decided[index] = decided[index] or not _present(text) or form is not None
            if form in matching_forms[index]:
                settled_at[index] = depth
    kept = [sample if at is None else sample[:at + 1] + [None] * (len(sample) - at - 1)
            for sample, at in zip(padded, settled_at, strict=True)]
    return kept, not_canonicalized


def _parts_of(forms: Iterable[str]) -> list[str]:
    """The distinct '.'-separated parts of canonical forms."""
    return list(dict.fromkeys(part for form in forms for part in form.split(".")))


def canonicalize_later(texts: Sequence[str], pool: WorkPool, progress: ProgressHook | None = None
                       ) -> Callable[[], None]:
    """Start canonicalizing ``texts`` on the pool's workers; the returned function waits and remembers them.

    Several tasks' strings sent at once keep the workers busy between the tasks' own steps.
    """
    finish = _remembered_later_on(pool, progress or NoProgress(), _remembered_canonical, _canonical_chunk)(list(texts))

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


def _count_all(flags: list[list[bool]], k: int) -> list[int]:
    """For j = 1..k, the samples whose first j flags all hold."""
    ends = Counter(sample.index(False) if False in sample else k for sample in flags)  # all hold up to j = end
    counts, holding = [], len(flags)
    for depth in range(1, k + 1):
        holding -= ends[depth - 1]
        counts.append(holding)
    return counts


def _count_any(flags: list[list[bool]], k: int) -> list[int]:
    """For j = 1..k, the samples with a flag among the first j that holds."""
    starts = Counter(sample.index(True) for sample in flags if True in sample)
    counts, found = [], 0
    for depth in range(1, k + 1):
        found += starts[depth - 1]
        counts.append(found)
    return counts


def score_molecules(answers: Sequence[Answers | None], golds: Sequence[Sequence[str]], k: int, *,
                    match_parts: bool = False, pool: WorkPool | None = None,
                    progress: ProgressHook | None = None, errors: ScoringErrors | None = None
                    ) -> dict[str, float | int | None]:
    """The paper's SMILES metrics; answers and golds already stripped, with ';' read as '.'.

    An answer on which a step raised counts as invalid, its sample recorded in ``errors``.
    Raises :class:`InvalidGoldError` for a gold answer RDKit cannot read.
    """
    pool, progress = pool or WorkPool(), progress or NoProgress()
    failures: Failures = {}
    canonicalize = _remembered_later_on(pool, progress, _remembered_canonical, _canonical_chunk, _CANONICAL, failures)
    padded = pad_answers(answers, k)
    canonical = canonicalize(first_strings(padded, golds))()
    for sample_golds in golds:
        for gold in sample_golds:
            if canonical[gold] is None:
                raise InvalidGoldError(gold, "not a valid SMILES")
    gold_forms = [[canonical[gold] for gold in sample_golds] for sample_golds in golds]
    check_parses = _parse_checks_on(pool, progress, failures)
    parses = check_parses(_parts_of(form for forms in gold_forms for form in forms))()
    padded, not_canonicalized = _answers_worth_scoring(padded, gold_forms, canonical, parses, canonicalize, match_parts)
    # Only samples with a valid answer written unlike their golds (or one left uncanonicalized)
    # need InChIs. Of their golds' parts, first those whose InChI may be empty: heavy atoms then
    # tell the others apart from the answers (see _answer_parts_needing_inchis).
    compared = sorted({index for index, (sample, forms) in enumerate(zip(padded, gold_forms, strict=True))
                       if any(canonical.get(a) not in (None, *forms) for a in sample if _present(a))}
                      | set(not_canonicalized))
    compute_inchis = _remembered_later_on(pool, progress, _remembered_inchis, _inchi_chunk, _INCHI, failures)
    gold_inchis = compute_inchis([part for part in _parts_of(form for index in compared for form in gold_forms[index])
                                  if not has_inchi(part)])
    # Fingerprints need only canonical forms: they are computed while InChIs are.
    fingerprint_metrics = _fingerprint_metrics_later(padded, golds, canonical, parses, pool, progress, failures)
    inchis = gold_inchis()
    # A gold with an empty InChI may equal any answer: those left uncanonicalized beside it are now.
    unkeyed = [text for index, texts in not_canonicalized.items()
               if not _fully_keyed(_parts_of(gold_forms[index]), inchis) for text in texts if text not in canonical]
    if unkeyed:
        canonical.update(canonicalize(unkeyed)())
    needed, unchecked = _answer_parts_needing_inchis([padded[index] for index in compared],
                                                     [gold_forms[index] for index in compared],
                                                     canonical, inchis, match_parts)
    needed_inchis = compute_inchis(needed)
    parses.update(check_parses(unchecked)())
    inchis.update(needed_inchis())
    distinct = list(dict.fromkeys([a for sample in padded for a in sample if _present(a)]
                                  + [g for sample in golds for g in sample]))
    # An answer left uncanonicalized counts as invalid: after a missing or valid answer, and matching
    # no gold, it changes no count as it is.
    facts = {text: _facts_of(canonical.get(text), inchis, parses, match_parts) for text in distinct}
    errors = errors if errors is not None else ScoringErrors()
    failed_answers = _record_failures(padded, golds, canonical, failures, errors)
    facts.update(dict.fromkeys(failed_answers, SmilesFacts(None, None, None)))  # invalid

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
    metrics.update(_by_depth({"no_answer": _count_all(no_answer, k), "invalid": _count_all(invalid, k)}))
    metrics.update(_by_depth({"exact_match": _count_any(exact, k)}))
    metrics.update(fingerprint_metrics({canonical.get(text) for text in failed_answers}))
    if match_parts:
        metrics.update(_by_depth({"subset": _count_any(subset, k), "intersection": _count_any(intersection, k)}))
    return metrics


def _failure_keys(text: str, canonical: dict[str, str | None]) -> list[tuple[str, object]]:
    """The (step, item) keys a string's scoring went through: its canonical form, its parts' steps."""
    keys: list[tuple[str, object]] = [(_CANONICAL.name, text)]
    form = canonical.get(text)
    if form is not None:
        keys += [(step.name, part) for part in form.split(".") for step in (_INCHI, _PARSES)]
    return keys


def _record_failures(padded: list[list[str | None]], golds: Sequence[Sequence[str]], canonical: dict[str, str | None],
                     failures: Failures, errors: ScoringErrors) -> set[str]:
    """Record in ``errors`` each sample where a step raised on one of its strings; the answers concerned."""
    if not failures:
        return set()
    failed_answers: set[str] = set()
    for index, (sample, sample_golds) in enumerate(zip(padded, golds, strict=True)):
        top = canonical.get(sample[0]) if _present(sample[0]) else None
        pairs = [(_SIMILARITY.name, (top, canonical.get(gold))) for gold in sample_golds]
        for text, is_answer in [(a, True) for a in sample if _present(a)] + [(g, False) for g in sample_golds]:
            keys = _failure_keys(text, canonical) + (pairs if is_answer and text == sample[0] else [])
            reason = next((failures[key] for key in keys if key in failures), None)
            if reason is not None:
                errors.add(index, f"{text[:60]!r}: {reason}")
                if is_answer:
                    failed_answers.add(text)
    return failed_answers


def _by_depth(counts: dict[str, list[int]]) -> dict[str, int]:
    """``num_t{j}_{name}`` for j = 1..k, the names' counts at one j next to each other."""
    k = len(next(iter(counts.values())))
    return {f"num_t{depth}_{name}": values[depth - 1] for depth in range(1, k + 1) for name, values in counts.items()}


def _facts_of(canonical: str | None, inchis: dict[str, str | None], parses: dict[str, bool],
              match_parts: bool) -> SmilesFacts:
    """Facts of one string from its parts' InChIs.

    A part whose InChI was not computed stands for itself: a placeholder that equals no InChI
    (its InChI cannot change a metric, see :func:`_answer_parts_needing_inchis`), or ``None`` if
    RDKit cannot read it again, as its InChI would be. Whether it reads is known for every such
    part of a gold and, with ``match_parts``, of an answer.
    """
    if canonical is None:
        return SmilesFacts(None, None, None)
    found: list[str] = []
    for part in canonical.split("."):
        if part in inchis:
            inchi = inchis[part]
        else:
            readable = parses[part] if match_parts else parses.get(part, True)
            inchi = f"<no InChI computed: {part}>" if readable else None
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
    return facts.identity is not None and facts.identity in gold_ids


def _fully_keyed(parts: Sequence[str], inchis: dict[str, str | None]) -> bool:
    """Whether heavy atoms tell these parts' InChIs apart: no dummy atom, every InChI non-empty.

    An InChI is known non-empty from the part's text (:func:`has_inchi`) or computed.
    """
    return all(part_heavy_atoms(part) is not None and (has_inchi(part) or inchis[part]) for part in parts)


def _answer_parts_needing_inchis(padded: list[list[str | None]], gold_forms: Sequence[Sequence[str]],
                                 canonical: dict[str, str | None],
                                 inchis: dict[str, str | None], match_parts: bool) -> tuple[list[str], list[str]]:
    """(parts whose InChIs can change a metric, answer parts that need only a check that they parse).

    Equal non-empty standard InChIs have equal heavy atoms (see :func:`heavy_atom_key`). Without
    ``match_parts`` a whole answer is compared: one equal to a gold's canonical form takes that
    gold's identity, one whose heavy-atom key differs from every gold's cannot share it. With
    ``match_parts`` each part is compared with the gold parts the same way, and one written as a
    gold part is that part. Where an answer is compared, so are its sample's gold parts: those
    whose InChIs were not computed are needed too. A part without a computed InChI stands for
    itself (see :func:`_facts_of`), so no two different texts are compared unless both are computed.
    """
    needed: dict[str, None] = {}
    unchecked: dict[str, None] = {}
    for sample, sample_forms in zip(padded, gold_forms, strict=True):
        forms = set(sample_forms)
        parts = {part for form in forms for part in form.split(".")}
        keyed = _fully_keyed(list(parts), inchis)
        keys = _comparison_keys(forms, match_parts) or set()  # None (a dummy atom) leaves the golds unkeyed
        compared = False
        for answer in sample:
            form = canonical.get(answer) if _present(answer) else None
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


def _fingerprint_metrics_later(padded: list[list[str | None]], golds: Sequence[Sequence[str]],
                               canonical: dict[str, str | None], gold_parts_read: dict[str, bool],
                               pool: WorkPool, progress: ProgressHook, failures: Failures
                               ) -> Callable[[set[str | None]], dict[str, float | None]]:
    """Start the fingerprint work now; the returned function waits for it.

    It gives the mean, over samples with a valid top-1 answer (not among the canonical forms it
    is given to leave out), of the best similarity to any gold. ``gold_parts_read``: whether RDKit
    reads back each gold part with bracket atoms.
    """
    scored: list[tuple[str, list[str]]] = []
    for sample, sample_golds in zip(padded, golds, strict=True):
        top = sample[0]
        form = canonical[top] if _present(top) else None
        if form is not None:
            scored.append((form, [canonical[gold] for gold in sample_golds]))
    pairs = list(dict.fromkeys((answer, gold) for answer, sample_golds in scored for gold in sample_golds))
    similarity = _remembered_later(pairs, _remembered_similarities,
                                   partial(_compare_later, pool, progress, gold_parts_read), _SIMILARITY, failures)

    def finish(left_out: set[str | None]) -> dict[str, float | None]:
        return _best_similarity_means([item for item in scored if item[0] not in left_out], similarity())

    return finish


def _compare_later(pool: WorkPool, progress: ProgressHook, gold_parts_read: dict[str, bool],
                   pairs: list[tuple[str, str]]) -> Callable[[], list[Similarities | None]]:
    """Start comparing the molecules of (answer, gold) ``pairs``; the returned function waits for the results.

    The workers fingerprint (each molecule at most once per worker) and compare, and send back
    three numbers a pair. A gold paired with itself (an exact answer) needs no fingerprints, and
    mostly not even parsing, since whether its parts read back is known (see
    :func:`self_similarities_of_text`).
    """
    compared = [(answer, gold) for answer, gold in pairs if answer != gold]
    itself = {answer: guarded(partial(self_similarities_of_text, parts_read=gold_parts_read), answer)
              for answer, gold in pairs if answer == gold}
    to_parse = [answer for answer, found in itself.items() if found is None]
    progress.add(len(compared) + len(to_parse))
    similarities = pool.map_later(_similarity_chunk, compared, progress.advance)
    self_similarities = pool.map_later(_self_similarity_chunk, to_parse, progress.advance)

    def compare() -> list[Similarities | ScoringFailure | None]:
        found = dict(zip(compared, similarities(), strict=True))
        itself.update(zip(to_parse, self_similarities(), strict=True))
        return [itself[answer] if answer == gold else found[(answer, gold)] for answer, gold in pairs]

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
