"""SMILES answers (FS, RS, MG, NC-I2S): validity, exact match by InChI, fingerprint similarity.

Each distinct string is canonicalized once and each distinct (answer, gold) pair compared once,
on the pool's worker processes; sample-level counts are then plain look-ups.
"""

from __future__ import annotations

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


def _facts_chunk(smiles_list: list[str], with_parts: bool) -> list[SmilesFacts]:
    return [smiles_facts(smiles, with_parts) for smiles in smiles_list]


@lru_cache(maxsize=1 << 16)
def _fingerprints(canonical: str) -> FingerprintSet | None:
    mol = Chem.MolFromSmiles(canonical)
    return None if mol is None else molecule_fingerprints(mol)


def _similarity_chunk(pairs: list[tuple[str, str]]) -> list[tuple[float, float, float] | None]:
    results: list[tuple[float, float, float] | None] = []
    for answer, gold in pairs:
        answer_fps, gold_fps = _fingerprints(answer), _fingerprints(gold)
        results.append(None if answer_fps is None or gold_fps is None
                       else fingerprint_similarities(answer_fps, gold_fps))
    return results


# What worker processes computed, kept by this process so that later evaluations in it (several
# runs scored against the same golds) send only strings and pairs not seen before.
_MAX_REMEMBERED = 1 << 20
_remembered_facts: dict[tuple[str, bool], SmilesFacts] = {}
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


def forget_remembered() -> None:
    """Drop the canonical forms and similarities this process remembers from earlier evaluations."""
    _remembered_facts.clear()
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

    def analyse(keys: list[tuple[str, bool]]) -> list[SmilesFacts]:
        progress.add(len(keys))
        return pool.map(partial(_facts_chunk, with_parts=match_parts), [text for text, _ in keys], progress.advance)

    keyed = _remembered([(text, match_parts) for text in distinct], _remembered_facts, analyse)
    facts = {text: keyed[(text, match_parts)] for text in distinct}
    for sample_golds in golds:
        for gold in sample_golds:
            if facts[gold].canonical is None:
                raise InvalidGoldError(gold, "not a valid SMILES")

    no_answer, invalid, exact, intersection, subset = [], [], [], [], []
    for sample, sample_golds in zip(padded, golds, strict=True):
        gold_ids = {facts[gold].identity for gold in sample_golds}
        gold_parts = [facts[gold].parts for gold in sample_golds]
        sample_facts = [facts[a] if _present(a) else None for a in sample]
        no_answer.append([f is None for f in sample_facts])
        invalid.append([f is not None and f.canonical is None for f in sample_facts])
        valid = [f if f is not None and f.canonical is not None else None for f in sample_facts]
        exact.append([f is not None and f.identity is not None and f.identity in gold_ids for f in valid])
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

    def compare(missing: list[tuple[str, str]]) -> list[tuple[float, float, float] | None]:
        progress.add(len(missing))
        return pool.map(_similarity_chunk, missing, progress.advance)

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

