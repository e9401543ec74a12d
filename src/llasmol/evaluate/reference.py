"""The paper's scoring algorithm in its plain form: no caches, no skip rules, one process.

Sample by sample and depth by depth, as the reference (``compute_metrics.py`` and
``utils/metrics.py`` of OSU-NLP-Group/LLM4Chem) scores: each SMILES answer canonicalized by the
reference's full chain at each depth, InChIs and fingerprints recomputed for every comparison,
formulas parsed anew, NLTK's BLEU, ROUGE and METEOR (with NLTK's WordNet reader) on the tokens of
transformers' ``BertTokenizerFast``, scikit-learn's label scores; with the deviations that
docs/evaluation.md lists where the reference has a bug or crashes. The evaluator
(:func:`llasmol.evaluate.score_task`) must give exactly these metrics: the tests and
``benchmarks/bench_evaluate.py`` compare the two.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rdkit import Chem, DataStructs
from rdkit.Chem import AllChem, MACCSkeys

from llasmol.chem import FormulaError, parse_formula
from llasmol.chem.reference import plain_canonical_smiles
from llasmol.evaluate.gold import InvalidGoldError, normalize_answer
from llasmol.tasks import MetricFamily, Task, get_task, read_number

Answers = Sequence[Sequence[str | None] | None]  # per sample: its answers (None: no answer), or None
Golds = Sequence[Sequence[str]]  # per sample: its gold answers
Metrics = dict[str, Any]
Flags = dict[str, bool]  # one answer's flags, by metric name
Similarities = tuple[float, float, float]

_SPECIAL_TOKENS = ("[PAD]", "[CLS]", "[SEP]")
_CAPTION_METRICS = ("bleu2", "bleu4", "rouge_1", "rouge_2", "rouge_l", "meteor_score")
_LABELS = {"yes": 1, "no": 0}
_elements = parse_formula.__wrapped__  # not cached


def reference_scores(task: Task | str, answers: Answers, golds: Golds, tokenizer: Any = None) -> Metrics:
    """The metrics of one task (without headline figures), from answers and golds as written.

    Both are stripped, ';' read as '.' where the task says so. k is the longest answer list (the
    task's ``num_return_sequences`` when none has an answer). ``tokenizer``: for caption tasks,
    :func:`reference_tokenizer`'s. Raises :class:`~llasmol.evaluate.InvalidGoldError` for a gold the
    metric cannot read.
    """
    task = get_task(task) if isinstance(task, str) else task
    answers = [None if sample is None else [None if answer is None else normalize_answer(answer, task)
                                            for answer in sample] for sample in answers]
    golds = [[normalize_answer(gold, task) for gold in sample] for sample in golds]
    lengths = [len(sample) for sample in answers if sample]
    k = max(lengths) if lengths else task.generation.num_return_sequences
    family = task.metric_family
    if family is MetricFamily.MOLECULE:
        return reference_molecule_metrics(answers, golds, k, task.match_parts)
    if family is MetricFamily.FORMULA:
        return reference_formula_metrics(answers, golds, k)
    if family is MetricFamily.NAME:
        return reference_name_metrics(answers, golds, k)
    if family is MetricFamily.CAPTION:
        if tokenizer is None:
            raise ValueError(f"{task.name} needs the SciBERT tokenizer (see reference_tokenizer)")
        return reference_caption_metrics(answers, golds, tokenizer)
    if family is MetricFamily.REGRESSION:
        return reference_number_metrics(answers, golds)
    return reference_label_metrics(answers, golds)


def _padded(sample: Sequence[str | None] | None, k: int) -> list[str | None]:
    """The first k answers of a sample, missing ones as ``None``."""
    sample = list(sample or [])[:k]
    return sample + [None] * (k - len(sample))


def _first(sample: Sequence[str | None] | None) -> str:
    """A sample's first answer; ``""`` when it has none."""
    return (sample[0] if sample else None) or ""


def _top_j(rows: list[list[Flags]], k: int, every: Sequence[str], some: Sequence[str]) -> dict[str, int]:
    """``num_tj_<name>`` for j = 1..k: the samples whose first j answers all have flag ``name`` (of
    ``every``), or of which one has it (``some``)."""
    counts = {}
    for depth in range(1, k + 1):
        for name in every:
            counts[f"num_t{depth}_{name}"] = sum(all(flags[name] for flags in row[:depth]) for row in rows)
        for name in some:
            counts[f"num_t{depth}_{name}"] = sum(any(flags[name] for flags in row[:depth]) for row in rows)
    return counts


def _part_inchis(smiles: str) -> frozenset[str] | None:
    """The standard InChIs of the '.'-parts; ``None`` if RDKit cannot read a part."""
    inchis = set()
    for part in smiles.split("."):
        mol = Chem.MolFromSmiles(part)
        if mol is None:
            return None
        inchis.add(Chem.MolToInchi(mol))
    return frozenset(inchis)


def _gold_canonical(gold: str) -> str:
    canonical = plain_canonical_smiles(gold)
    if canonical is None:
        raise InvalidGoldError(gold, "not a valid SMILES")
    return canonical


def _molecule_flags(answer: str | None, form: str | None, gold_forms: Sequence[str]) -> Flags:
    """Missing, invalid, and matching a gold by InChIs (all parts, some part, or a subset of them);
    ``form``: the answer's canonical form."""
    parts = None if form is None else _part_inchis(form)
    gold_parts = [] if parts is None else [found for found in map(_part_inchis, gold_forms) if found is not None]
    return {
        "no_answer": not answer, "invalid": bool(answer) and form is None,
        "exact_match": parts is not None and parts in gold_parts,
        "intersection": parts is not None and any(parts & gold for gold in gold_parts),
        "subset": bool(parts) and any(parts <= gold for gold in gold_parts),
    }


def reference_similarities(first: str, second: str) -> Similarities | None:
    """Tanimoto similarities (MACCS, RDKit path, Morgan r=2 counts) of two SMILES, as the reference
    computes them; ``None`` where RDKit cannot read one (the reference crashes there)."""
    a, b = Chem.MolFromSmiles(first), Chem.MolFromSmiles(second)
    if a is None or b is None:
        return None
    return (
        DataStructs.TanimotoSimilarity(MACCSkeys.GenMACCSKeys(a), MACCSkeys.GenMACCSKeys(b)),
        DataStructs.TanimotoSimilarity(Chem.RDKFingerprint(a), Chem.RDKFingerprint(b)),
        DataStructs.TanimotoSimilarity(AllChem.GetMorganFingerprint(a, 2), AllChem.GetMorganFingerprint(b, 2)),
    )


def _fingerprint_means(top_forms: list[str | None], gold_forms: list[list[str]]) -> dict[str, float | None]:
    """Mean, over samples with a valid top-1 answer that RDKit reads again, of the best similarity to a gold."""
    best_by_sample = []
    for form, forms in zip(top_forms, gold_forms, strict=True):
        similarities = [] if form is None else [reference_similarities(form, gold) for gold in forms]
        found = [value for value in similarities if value is not None]
        if found:
            best_by_sample.append([max(values) for values in zip(*found, strict=True)])
    names = ("t1_maccs_fps", "t1_rdk_fps", "t1_morgan_fps")
    return {name: _mean([best[index] for best in best_by_sample]) for index, name in enumerate(names)}


def reference_molecule_metrics(answers: Answers, golds: Golds, k: int, match_parts: bool = False) -> Metrics:
    """``num_tj_no_answer``, ``_invalid``, ``_exact_match`` (with ``match_parts`` also ``_subset`` and
    ``_intersection``) for j = 1..k, and the top-1 fingerprint similarities; answers and golds stripped,
    ';' read as '.'."""
    gold_forms = [[_gold_canonical(gold) for gold in sample] for sample in golds]
    padded = [_padded(sample, k) for sample in answers]
    answer_forms = [[plain_canonical_smiles(answer) if answer else None for answer in sample] for sample in padded]
    rows = [[_molecule_flags(*pair, forms) for pair in zip(sample, sample_forms, strict=True)]
            for sample, sample_forms, forms in zip(padded, answer_forms, gold_forms, strict=True)]
    matches = ("exact_match", "subset", "intersection") if match_parts else ("exact_match",)
    return {"num_all": len(rows), **_top_j(rows, k, ("no_answer", "invalid"), matches),
            **_fingerprint_means([sample_forms[0] for sample_forms in answer_forms], gold_forms)}


def _formula_counts(formula: str) -> dict[str, int] | None:
    try:
        return _elements(formula)
    except FormulaError:
        return None


def _formula_flags(answer: str | None, gold_counts: list[dict[str, int]]) -> Flags:
    counts = _formula_counts(answer) if answer else None
    return {"no_answer": not answer, "formula_invalid": bool(answer) and counts is None,
            "ele_match": counts is not None and counts in gold_counts}


def reference_formula_metrics(answers: Answers, golds: Golds, k: int) -> Metrics:
    """``num_tj_no_answer``, ``_formula_invalid`` and ``_ele_match`` (equal element counts) for j = 1..k."""
    rows = []
    for sample, sample_golds in zip(answers, golds, strict=True):
        gold_counts = []
        for gold in sample_golds:
            counts = _formula_counts(gold)
            if counts is None:
                raise InvalidGoldError(gold, "not a valid molecular formula")
            gold_counts.append(counts)
        rows.append([_formula_flags(answer, gold_counts) for answer in _padded(sample, k)])
    return {"num_all": len(rows), **_top_j(rows, k, ("no_answer", "formula_invalid"), ("ele_match",))}


def _split_key(name: str) -> list[str]:
    return sorted(name.split(";"))


def reference_name_metrics(answers: Answers, golds: Golds, k: int) -> Metrics:
    """``num_tj_no_answer`` and ``num_tj_split_match`` (equal sorted ';'-parts) for j = 1..k."""
    rows = [[{"no_answer": not answer,
              "split_match": bool(answer) and any(_split_key(answer) == _split_key(gold) for gold in sample_golds)}
             for answer in _padded(sample, k)]
            for sample, sample_golds in zip(answers, golds, strict=True)]
    return {"num_all": len(rows), **_top_j(rows, k, ("no_answer",), ("split_match",))}


def reference_tokenizer(vocab_file: Path | str) -> Any:
    """The SciBERT tokenizer as the reference loads it: transformers' lower-casing ``BertTokenizerFast``."""
    from transformers import BertTokenizerFast

    with open(vocab_file, encoding="utf-8") as handle:
        return BertTokenizerFast(vocab={line.rstrip("\n"): i for i, line in enumerate(handle)}, do_lower_case=True)


def _caption_tokens(tokenizer: Any, text: str) -> list[str]:
    found = tokenizer(text, add_special_tokens=False, truncation=True, max_length=512).tokens()
    return [token for token in found if token not in _SPECIAL_TOKENS]


def reference_caption_metrics(answers: Answers, golds: Golds, tokenizer: Any) -> Metrics:
    """``num_no_answer``, BLEU-2/4, ROUGE-1/2/L F-measures and METEOR of first answers against own golds.

    Samples without an answer are left out (all scores ``None`` when none has one). METEOR reads
    WordNet from NLTK's data path (:func:`~llasmol.evaluate.ensure_wordnet` puts it there).
    """
    from nltk.translate.bleu_score import corpus_bleu
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    answered = [(_first(sample), sample_golds[0]) for sample, sample_golds in zip(answers, golds, strict=True)
                if _first(sample)]
    metrics: Metrics = {"num_all": len(answers), "num_no_answer": len(answers) - len(answered)}
    if not answered:
        return {**metrics, **dict.fromkeys(_CAPTION_METRICS)}
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    references, hypotheses, meteors, rouges = [], [], [], []
    for answer, gold in answered:
        gold_tokens, answer_tokens = _caption_tokens(tokenizer, gold), _caption_tokens(tokenizer, answer)
        references.append([gold_tokens])
        hypotheses.append(answer_tokens)
        meteors.append(meteor_score([gold_tokens], answer_tokens))
        rouges.append(scorer.score(answer, gold))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NLTK warns where an n-gram order has no match (the score is 0 in effect)
        metrics["bleu2"] = corpus_bleu(references, hypotheses, weights=(0.5, 0.5))
        metrics["bleu4"] = corpus_bleu(references, hypotheses, weights=(0.25, 0.25, 0.25, 0.25))
    for name, key in (("rouge_1", "rouge1"), ("rouge_2", "rouge2"), ("rouge_l", "rougeL")):
        metrics[name] = _mean([score[key].fmeasure for score in rouges])
    metrics["meteor_score"] = _mean(meteors)
    return metrics



def reference_number_metrics(answers: Answers, golds: Golds) -> Metrics:
    """``num_no_answer``, ``num_invalid`` (not a finite number) and the ``RMSE`` of the first answers."""
    squared_errors, missing, invalid = [], 0, 0
    for sample, sample_golds in zip(answers, golds, strict=True):
        gold = read_number(sample_golds[0])
        if gold is None:
            raise InvalidGoldError(sample_golds[0], "not a number")
        answer = _first(sample)
        value = read_number(answer) if answer else None
        missing += not answer
        invalid += bool(answer) and value is None
        if value is not None:
            squared_errors.append((value - gold) * (value - gold))  # inf where it overflows, as numpy's
    rmse = math.sqrt(_mean(squared_errors)) if squared_errors else None
    return {"num_all": len(answers), "num_no_answer": missing, "num_invalid": invalid, "RMSE": rmse}


def reference_label_metrics(answers: Answers, golds: Golds) -> Metrics:
    """``num_no_answer``, ``num_invalid`` (not yes/no), ``num_correct`` and scikit-learn's binary scores
    (``None`` where undefined) of the first answers."""
    from sklearn.metrics import f1_score, matthews_corrcoef, precision_score, recall_score, roc_auc_score

    expected, predicted, missing, invalid = [], [], 0, 0
    for sample, sample_golds in zip(answers, golds, strict=True):
        if sample_golds[0].lower() not in _LABELS:
            raise InvalidGoldError(sample_golds[0], "not Yes or No")
        answer = _first(sample).lower()
        missing += not answer
        invalid += bool(answer) and answer not in _LABELS
        if answer in _LABELS:
            predicted.append(_LABELS[answer])
            expected.append(_LABELS[sample_golds[0].lower()])
    metrics: Metrics = {"num_all": len(answers), "num_no_answer": missing, "num_invalid": invalid,
                        "num_correct": sum(a == b for a, b in zip(expected, predicted, strict=True))}
    names = ("roc_auc_score", "precision", "recall", "f1_score", "mcc")
    if not expected:
        return {**metrics, **dict.fromkeys(names)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined precision or recall: scikit-learn gives 0
        scores = (roc_auc_score(expected, predicted) if len(set(expected)) == 2 else None,
                  precision_score(expected, predicted), recall_score(expected, predicted),
                  f1_score(expected, predicted), matthews_corrcoef(expected, predicted))
    return {**metrics, **dict(zip(names, scores, strict=True))}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
