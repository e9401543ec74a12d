"""SMILES answers (FS, RS, MG, NC-I2S): validity, exact match by InChI, fingerprint similarity.

Each distinct string is canonicalized once and each distinct (answer, gold) pair compared once,
on the pool's worker processes (:mod:`llasmol.evaluate.memo`); sample-level counts are then plain
look-ups. Work that cannot change a metric is left out by the rules of
:mod:`llasmol.evaluate.shortcuts`; the metrics are those of :mod:`llasmol.evaluate.reference`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

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
from llasmol.evaluate.memo import (
    Failures,
    Step,
    on_workers,
    process_memory,
    remembered_later,
    step_on_workers,
    without_failures,
)
from llasmol.evaluate.parallel import WorkPool
from llasmol.evaluate.progress import NoProgress, ProgressHook
from llasmol.evaluate.records import pad_answers
from llasmol.evaluate.shortcuts import (
    answer_parts_needing_inchis,
    answers_worth_scoring,
    first_strings,
    fully_keyed,
    present,
)

Answers = Sequence[str | None]


@dataclass(frozen=True)
class SmilesFacts:
    """What scoring needs to know about one answer string."""

    canonical: str | None  # None: invalid SMILES
    identity: tuple[str, ...] | None  # sorted distinct InChIs of the parts
    parts: frozenset[str] | None  # InChIs of the parts, for reactant-set matches


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


# What the workers computed, kept by this process so that later evaluations in it (several runs
# scored against the same golds) send only strings and pairs not seen before.
_remembered_canonical = process_memory()  # text -> canonical form
_remembered_inchis = process_memory()  # part -> standard InChI
_remembered_parses = process_memory()  # part -> whether RDKit reads it
_remembered_similarities = process_memory()  # (answer, gold) canonical forms -> similarities

# Where a step raises on an item, the item counts as RDKit failing on it.
_CANONICAL = Step("canonical form")
_INCHI = Step("InChI")
_PARSES = Step("parse", False)
_SIMILARITY = Step("fingerprints")


def _parse_checks_on(pool: WorkPool, progress: ProgressHook, failures: Failures
                     ) -> Callable[[list[str]], Callable[[], dict[str, bool]]]:
    """``start(parts)``: whether RDKit reads back each canonical part; parsed only where the text leaves it open."""
    check = step_on_workers(pool, progress, _remembered_parses, _parses_chunk, _PARSES, failures)

    def start(parts: list[str]) -> Callable[[], dict[str, bool]]:
        finish = check([part for part in parts if not reads_back(part)])
        return lambda: {**dict.fromkeys(parts, True), **finish()}

    return start


def _parts_of(forms: Iterable[str]) -> list[str]:
    """The distinct '.'-separated parts of canonical forms."""
    return list(dict.fromkeys(part for form in forms for part in form.split(".")))


def canonicalize_later(texts: Sequence[str], pool: WorkPool, progress: ProgressHook | None = None
                       ) -> Callable[[], None]:
    """Start canonicalizing ``texts`` on the pool's workers; the returned function waits and remembers them.

    Several tasks' strings sent at once keep the workers busy between the tasks' own steps.
    """
    finish = remembered_later(texts, _remembered_canonical, on_workers(pool, progress or NoProgress(),
                                                                       _canonical_chunk))

    def remember() -> None:
        finish()

    return remember


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
    canonicalize = step_on_workers(pool, progress, _remembered_canonical, _canonical_chunk, _CANONICAL, failures)
    padded = pad_answers(answers, k)
    canonical = canonicalize(first_strings(padded, golds))()
    for sample_golds in golds:
        for gold in sample_golds:
            if canonical[gold] is None:
                raise InvalidGoldError(gold, "not a valid SMILES")
    gold_forms = [[canonical[gold] for gold in sample_golds] for sample_golds in golds]
    check_parses = _parse_checks_on(pool, progress, failures)
    parses = check_parses(_parts_of(form for forms in gold_forms for form in forms))()
    padded, not_canonicalized = answers_worth_scoring(padded, gold_forms, canonical, parses, canonicalize, match_parts)
    # Only samples with a valid answer written unlike their golds (or one left uncanonicalized)
    # need InChIs. Of their golds' parts, first those whose InChI may be empty: heavy atoms then
    # tell the others apart from the answers (see _answer_parts_needing_inchis).
    compared = sorted({index for index, (sample, forms) in enumerate(zip(padded, gold_forms, strict=True))
                       if any(canonical.get(a) not in (None, *forms) for a in sample if present(a))}
                      | set(not_canonicalized))
    compute_inchis = step_on_workers(pool, progress, _remembered_inchis, _inchi_chunk, _INCHI, failures)
    gold_inchis = compute_inchis([part for part in _parts_of(form for index in compared for form in gold_forms[index])
                                  if not has_inchi(part)])
    # Fingerprints need only canonical forms: they are computed while InChIs are.
    fingerprint_metrics = _fingerprint_metrics_later(padded, golds, canonical, parses, pool, progress, failures)
    inchis = gold_inchis()
    # A gold with an empty InChI may equal any answer: those left uncanonicalized beside it are now.
    unkeyed = [text for index, texts in not_canonicalized.items()
               if not fully_keyed(_parts_of(gold_forms[index]), inchis) for text in texts if text not in canonical]
    if unkeyed:
        canonical.update(canonicalize(unkeyed)())
    needed, unchecked = answer_parts_needing_inchis([padded[index] for index in compared],
                                                     [gold_forms[index] for index in compared],
                                                     canonical, inchis, match_parts)
    needed_inchis = compute_inchis(needed)
    parses.update(check_parses(unchecked)())
    inchis.update(needed_inchis())
    distinct = list(dict.fromkeys([a for sample in padded for a in sample if present(a)]
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
        sample_facts = [facts[a] if present(a) else None for a in sample]
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
        top = canonical.get(sample[0]) if present(sample[0]) else None
        pairs = [(_SIMILARITY.name, (top, canonical.get(gold))) for gold in sample_golds]
        for text, is_answer in [(a, True) for a in sample if present(a)] + [(g, False) for g in sample_golds]:
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
        form = canonical[top] if present(top) else None
        if form is not None:
            scored.append((form, [canonical[gold] for gold in sample_golds]))
    pairs = list(dict.fromkeys((answer, gold) for answer, sample_golds in scored for gold in sample_golds))
    similarity_later = remembered_later(pairs, _remembered_similarities,
                                        partial(_compare_later, pool, progress, gold_parts_read))

    def finish(left_out: set[str | None]) -> dict[str, float | None]:
        similarity = without_failures(similarity_later(), _SIMILARITY, failures)
        return _best_similarity_means([item for item in scored if item[0] not in left_out], similarity)

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
