"""The paper's scoring algorithm, sample by sample, without caches, in one process.

A baseline for ``bench_evaluate.py``: the same work per sample as the reference evaluation (each
answer canonicalized at each depth, InChIs and fingerprints recomputed for every comparison,
NLTK METEOR without memoization), written anew on top of ``llasmol.chem``. Its counts are those
of the reference; its RS ``num_tj_subset`` is the real subset count (see docs/evaluation.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rdkit import Chem, DataStructs
from rdkit.Chem import AllChem, MACCSkeys

from llasmol.chem import FormulaError, parse_formula
from llasmol.chem.reference import reference_canonical
from llasmol.tasks import MetricFamily, Task

_elements = parse_formula.__wrapped__  # no cache


def _inchi(smiles: str) -> str:
    return Chem.MolToInchi(Chem.MolFromSmiles(smiles))


def _identity(smiles: str) -> tuple[str, ...]:
    return tuple(sorted({_inchi(part) for part in smiles.split(".")}))


def _depth(answers: Sequence[Sequence[str] | None], task: Task) -> int:
    lengths = [len(sample) for sample in answers if sample is not None]
    return max(lengths) if lengths else task.generation.num_return_sequences


def _molecules(task: Task, answers: list[list[str] | None], golds: list[list[str]]) -> dict[str, Any]:
    k = _depth(answers, task)
    golds = [[reference_canonical(gold) for gold in sample] for sample in golds]
    columns = []  # per depth: (missing, invalid, canonical) per sample
    for depth in range(k):
        column = []
        for sample in answers:
            answer = None if sample is None or depth >= len(sample) else sample[depth]
            if not answer:
                column.append((True, False, None))
            else:
                canonical = reference_canonical(answer)
                column.append((False, canonical is None, canonical))
        columns.append(column)
    metrics: dict[str, Any] = {"num_all": len(answers)}
    missing_all = [True] * len(answers)
    invalid_all = [True] * len(answers)
    for depth, column in enumerate(columns, 1):
        missing_all = [a and b[0] for a, b in zip(missing_all, column, strict=True)]
        invalid_all = [a and b[1] for a, b in zip(invalid_all, column, strict=True)]
        metrics[f"num_t{depth}_no_answer"] = sum(missing_all)
        metrics[f"num_t{depth}_invalid"] = sum(invalid_all)
    exact_any = [False] * len(answers)
    for depth, column in enumerate(columns, 1):
        for index, (_, _, canonical) in enumerate(column):
            if canonical is not None:  # recomputed at every depth, as the reference does
                identity = _identity(canonical)
                exact_any[index] |= any(identity == _identity(gold) for gold in golds[index])
        metrics[f"num_t{depth}_exact_match"] = sum(exact_any)
    sims = []
    for (_, _, canonical), sample_golds in zip(columns[0], golds, strict=True):
        if canonical is None:
            continue
        answer_mol = Chem.MolFromSmiles(canonical)
        best = [0.0, 0.0, 0.0]
        for gold in sample_golds:
            gold_mol = Chem.MolFromSmiles(gold)
            best[0] = max(best[0], DataStructs.TanimotoSimilarity(MACCSkeys.GenMACCSKeys(gold_mol),
                                                                  MACCSkeys.GenMACCSKeys(answer_mol)))
            best[1] = max(best[1], DataStructs.TanimotoSimilarity(Chem.RDKFingerprint(gold_mol),
                                                                  Chem.RDKFingerprint(answer_mol)))
            best[2] = max(best[2], DataStructs.TanimotoSimilarity(AllChem.GetMorganFingerprint(gold_mol, 2),
                                                                  AllChem.GetMorganFingerprint(answer_mol, 2)))
        sims.append(best)
    for position, name in enumerate(("t1_maccs_fps", "t1_rdk_fps", "t1_morgan_fps")):
        metrics[name] = sum(s[position] for s in sims) / len(sims) if sims else None
    if task.match_parts:
        subset_any = [False] * len(answers)
        shared_any = [False] * len(answers)
        for depth, column in enumerate(columns, 1):
            for index, (_, _, canonical) in enumerate(column):
                if canonical is None:
                    continue
                parts = {_inchi(part) for part in canonical.split(".")}
                for gold in golds[index]:
                    gold_parts = {_inchi(part) for part in gold.split(".")}
                    if parts & gold_parts:
                        shared_any[index] = True
                        if not parts - gold_parts:
                            subset_any[index] = True
                            break
            metrics[f"num_t{depth}_subset"] = sum(subset_any)
            metrics[f"num_t{depth}_intersection"] = sum(shared_any)
    return metrics


def _formulas(task: Task, answers: list[list[str] | None], golds: list[list[str]]) -> dict[str, Any]:
    k = _depth(answers, task)
    metrics: dict[str, Any] = {"num_all": len(answers)}
    columns = [[None if sample is None or depth >= len(sample) else sample[depth] for sample in answers]
               for depth in range(k)]
    missing_all = [True] * len(answers)
    for depth, column in enumerate(columns, 1):
        missing_all = [a and not b for a, b in zip(missing_all, column, strict=True)]
        metrics[f"num_t{depth}_no_answer"] = sum(missing_all)
    match_any, invalid_all = [False] * len(answers), [True] * len(answers)
    for depth, column in enumerate(columns, 1):
        for index, answer in enumerate(column):
            if not answer:
                invalid_all[index] = False
                continue
            try:
                counts = _elements(answer)
            except FormulaError:
                continue
            invalid_all[index] = False
            if any(counts == _elements(gold) for gold in golds[index]):
                match_any[index] = True
        metrics[f"num_t{depth}_ele_match"] = sum(match_any)
        metrics[f"num_t{depth}_formula_invalid"] = sum(invalid_all)
    return metrics


def _names(task: Task, answers: list[list[str] | None], golds: list[list[str]]) -> dict[str, Any]:
    k = _depth(answers, task)
    metrics: dict[str, Any] = {"num_all": len(answers)}
    columns = [[None if sample is None or depth >= len(sample) else sample[depth] for sample in answers]
               for depth in range(k)]
    missing_all = [True] * len(answers)
    for depth, column in enumerate(columns, 1):
        missing_all = [a and not b for a, b in zip(missing_all, column, strict=True)]
        metrics[f"num_t{depth}_no_answer"] = sum(missing_all)
    match_any = [False] * len(answers)
    for depth, column in enumerate(columns, 1):
        for index, answer in enumerate(column):
            key = tuple(sorted((answer or "").split(";")))
            match_any[index] |= any(key == tuple(sorted(gold.split(";"))) for gold in golds[index])
        metrics[f"num_t{depth}_split_match"] = sum(match_any)
    return metrics


def start_up(vocab_file: Path) -> Any:
    """What the reference does once per run: import its libraries, read WordNet; returns the tokenizer."""
    import sklearn.metrics  # noqa: F401
    from nltk.corpus import wordnet
    from nltk.translate import bleu_score, meteor_score  # noqa: F401
    from rouge_score import rouge_scorer  # noqa: F401

    wordnet.synsets("acid")  # NLTK reads WordNet on first use
    return reference_tokenizer(vocab_file)


def reference_tokenizer(vocab_file: Path) -> Any:
    """The SciBERT tokenizer as the reference loads it: transformers' lower-casing ``BertTokenizerFast``."""
    from transformers import BertTokenizerFast

    with open(vocab_file, encoding="utf-8") as handle:
        return BertTokenizerFast(vocab={line.rstrip("\n"): i for i, line in enumerate(handle)}, do_lower_case=True)


def _captions(answers: list[list[str] | None], golds: list[list[str]], tokenizer: Any) -> dict[str, Any]:
    from nltk.translate.bleu_score import corpus_bleu
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    def tokens(text: str) -> list[str]:
        found = tokenizer(text, add_special_tokens=False, truncation=True, max_length=512).tokens()
        return [token for token in found if token not in ("[PAD]", "[CLS]", "[SEP]")]

    texts = [((sample[0] if sample else "") or "").strip() for sample in answers]
    references, hypotheses, meteors, rouges = [], [], [], []
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    for answer, sample_golds in zip(texts, golds, strict=True):
        if not answer:
            continue
        gold_tokens, answer_tokens = tokens(sample_golds[0]), tokens(answer)
        references.append([gold_tokens])
        hypotheses.append(answer_tokens)
        meteors.append(meteor_score([gold_tokens], answer_tokens))
        rouges.append(scorer.score(answer, sample_golds[0]))
    return {
        "num_all": len(texts), "num_no_answer": sum(not text for text in texts),
        "bleu2": corpus_bleu(references, hypotheses, weights=(0.5, 0.5)),
        "bleu4": corpus_bleu(references, hypotheses, weights=(0.25, 0.25, 0.25, 0.25)),
        "rouge_1": sum(r["rouge1"].fmeasure for r in rouges) / len(rouges),
        "rouge_2": sum(r["rouge2"].fmeasure for r in rouges) / len(rouges),
        "rouge_l": sum(r["rougeL"].fmeasure for r in rouges) / len(rouges),
        "meteor_score": sum(meteors) / len(meteors),
    }


def _numbers(answers: list[list[str] | None], golds: list[list[str]]) -> dict[str, Any]:
    errors, missing, invalid = [], 0, 0
    for sample, sample_golds in zip(answers, golds, strict=True):
        if not sample or not sample[0]:
            missing += 1
            continue
        try:
            value = float(sample[0])
        except ValueError:
            invalid += 1
            continue
        errors.append((value - float(sample_golds[0])) ** 2)
    return {"num_all": len(answers), "num_no_answer": missing, "num_invalid": invalid,
            "RMSE": math.sqrt(sum(errors) / len(errors)) if errors else None}


def _labels(answers: list[list[str] | None], golds: list[list[str]]) -> dict[str, Any]:
    from sklearn.metrics import f1_score, matthews_corrcoef, precision_score, recall_score, roc_auc_score

    expected, predicted, missing, invalid = [], [], 0, 0
    for sample, sample_golds in zip(answers, golds, strict=True):
        answer = (sample[0] if sample else "").strip().lower()
        if not answer:
            missing += 1
        elif answer not in ("yes", "no"):
            invalid += 1
        else:
            predicted.append(int(answer == "yes"))
            expected.append(int(sample_golds[0].strip().lower() == "yes"))
    return {
        "num_all": len(answers), "num_no_answer": missing, "num_invalid": invalid,
        "num_correct": sum(a == b for a, b in zip(expected, predicted, strict=True)),
        "roc_auc_score": roc_auc_score(expected, predicted), "precision": precision_score(expected, predicted),
        "recall": recall_score(expected, predicted), "f1_score": f1_score(expected, predicted),
        "mcc": matthews_corrcoef(expected, predicted),
    }


def reference_scores(task: Task, answers: list[list[str] | None], golds: list[list[str]],
                     tokenizer: Any = None) -> dict[str, Any]:
    """The reference's metrics of one task; answers and golds stripped, ';' already read as '.'."""
    family = task.metric_family
    if family is MetricFamily.MOLECULE:
        return _molecules(task, answers, golds)
    if family is MetricFamily.FORMULA:
        return _formulas(task, answers, golds)
    if family is MetricFamily.NAME:
        return _names(task, answers, golds)
    if family is MetricFamily.CAPTION:
        return _captions(answers, golds, tokenizer)
    if family is MetricFamily.REGRESSION:
        return _numbers(answers, golds)
    return _labels(answers, golds)
