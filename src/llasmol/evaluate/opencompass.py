"""OpenCompass's SMolInstruct scoring, reimplemented on RDKit and ``llasmol.chem``.

Mirrors ``opencompass/datasets/smolinstruct.py`` of open-compass/opencompass (commit
:data:`OPENCOMPASS_COMMIT`) as its 0-shot configs use it
(``configs/datasets/SmolInstruct/smolinstruct_*_0shot_instruct.py``): one evaluator per task, fed
each sample's single raw reply and its reference (the Hugging Face ``output`` column), the mini
set of ``SmolInstructDataset.load`` and the ``smolinstruct`` summary group
(``configs/summarizers/groups/smolinstruct.py``). :func:`score_replies` scores one task,
:func:`evaluate_opencompass` a generations folder, :func:`write_opencompass_metrics` writes the
result. What differs from the paper's protocol: docs/evaluation.md, "OpenCompass's protocol".
"""

from __future__ import annotations

import math
import random
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from llasmol.chem import FormulaError, parse_formula
from llasmol.data.raw import DataFormatError
from llasmol.errors import LlasmolError
from llasmol.evaluate.captions import meteor
from llasmol.evaluate.evaluator import task_files
from llasmol.evaluate.gold import InvalidGoldError
from llasmol.evaluate.records import EvaluationWarning, PredictionRecord, read_prediction_lines
from llasmol.evaluate.resources import ensure_wordnet
from llasmol.files import write_json_atomic
from llasmol.tasks import Task, get_task

OPENCOMPASS_COMMIT = "a5acc4bba3b658f151617a3b393602110fb7a740"
METRICS_FILE = "metrics_opencompass.json"
MINI_SET_SEED = 1024
MINI_SET_SIZE = 500

Metrics = dict[str, float]
Scorer = Callable[[Sequence[str], Sequence[str]], Metrics]
Sample = TypeVar("Sample")


class OpenCompassInputError(LlasmolError, ValueError):
    """Replies and references OpenCompass cannot score together: unequal numbers, or none."""


# --- answer extraction (smolinstruct.py) ---------------------------------------------------

_CHEMICAL_SPAN = re.compile(r"<(MOLFORMULA|SMILES|IUPAC)>(.*?)</\1>", re.DOTALL)
_REACTANT_HEADINGS = (
    "reactants and reagents are:\n```\n", "reactants and reagents:\n```\n",
    "Reactants and Reagents:**\n```\n",
    "Reactants and Reagents SMILES:**\n```\n",
    "Reactants and Reagents:**  \n`",
)
_NUMBER = re.compile(r"(?:<NUMBER>\s*|\\boxed\{)\s*(-?\d*\.?\d+)\s*(?:</NUMBER>|\})")
_LABELS = {"yes": "<BOOLEAN> Yes </BOOLEAN>", "no": "<BOOLEAN> No </BOOLEAN>"}
_YES_NO_PATTERNS = tuple(re.compile(pattern, re.IGNORECASE) for pattern in (
    r'\\boxed\{\s*(yes|no)\s*\}',
    r'[Th]he\s+answer\s+is\s*[\.:\'"“‘’\-]*\s*(yes|no)[\s\.,!?:;\'"”’\-]*',
    r'[Aa]nswer:\s*(yes|no)\b',
    r'\*\*[Aa]nswer:\*\*\s*(yes|no)\b',
    r'\*\*[Aa]nswer\*\*:\s*(yes|no)\b',
    r'<BOOLEAN>\s*(yes|no)\s*</BOOLEAN>',
    r'^\s*(yes|no)[\.\?!]?\s*$',
    r'<\|begin_of_box\|>\s*(yes|no)\s*<\|end_of_box\|>',
))


def chemical_answer(text: str) -> str:
    """The answer ``extract_chemical_data`` yields last, which every evaluator reads.

    The last ``<MOLFORMULA>``, ``<SMILES>`` or ``<IUPAC>`` span (whichever tag), stripped; without
    one, the line after a known "reactants and reagents" heading; else the whole text as it is.
    """
    spans = _CHEMICAL_SPAN.findall(text)
    if spans:
        return spans[-1][1].strip()
    for heading in _REACTANT_HEADINGS:
        if heading in text:
            return text.split(heading)[-1].split("\n")[0]
    return text


def first_number(text: str) -> float | None:
    """``extract_number``'s first number: in ``<NUMBER> … </NUMBER>`` or ``\\boxed{…}``; ``None`` if there is none."""
    found = _NUMBER.findall(text)
    return float(found[0]) if found else None


def yes_no_label(text: str) -> str:
    """``smolinstruct_acc_0shot_postprocess``: ``<BOOLEAN> Yes </BOOLEAN>``, ``<BOOLEAN> No </BOOLEAN>`` or ``""``.

    After any ``</think>``: a bare yes/no, else the first of its answer patterns that matches, else
    a text that starts or ends with yes (then no).
    """
    if "</think>" in text:
        text = text.split("</think>")[-1].strip()
    text = text.strip()
    if text.lower() in _LABELS:
        return _LABELS[text.lower()]
    for pattern in _YES_NO_PATTERNS:
        match = pattern.search(text)
        if match and match.group(1).lower() in _LABELS:  # IGNORECASE also lets 'ſ' match 's'
            return _LABELS[match.group(1).lower()]
    text = text.lower()
    if text.startswith("yes") or text.endswith("yes"):
        return _LABELS["yes"]
    if text.startswith("no") or text.endswith("no"):
        return _LABELS["no"]
    return ""


# --- the evaluators -------------------------------------------------------------------------

def _gold_formula(reference: str) -> dict[str, int]:
    gold = chemical_answer(reference)
    try:
        return parse_formula(gold)
    except FormulaError as error:
        raise InvalidGoldError(reference, str(error)) from None


def _element_match(replies: Sequence[str], references: Sequence[str]) -> Metrics:
    """``NCElementMatchEvaluator`` (``calculate_single_element_match``), for I2F and S2F.

    ``score``: % of replies whose formula has the gold's element counts (``parse_molecule``, here
    :func:`llasmol.chem.parse_formula`); ``valid_score``: 100 less the % whose non-empty formula
    does not parse (an empty one is not invalid).
    """
    matches = invalid = 0
    for reply, reference in zip(replies, references, strict=True):
        answer = chemical_answer(reply)
        if not answer:
            continue
        try:
            counts = parse_formula(answer)
        except FormulaError:
            invalid += 1
            continue
        matches += counts == _gold_formula(reference)
    return {"score": matches / len(replies) * 100, "valid_score": 100 - invalid / len(replies) * 100}


def _exact_match(replies: Sequence[str], references: Sequence[str]) -> Metrics:
    """``NCExactMatchEvaluator``, for I2S and S2I: % of non-empty answers equal to the gold, both stripped.

    A string comparison (case, spelling and SMILES writing count). ``valid_score`` is always 100:
    ``extract_chemical_data`` always yields an answer.
    """
    correct = 0
    for reply, reference in zip(replies, references, strict=True):
        answer = chemical_answer(reply)
        correct += bool(answer) and answer.strip() == chemical_answer(reference).strip()
    return {"score": correct / len(replies) * 100, "valid_score": 100.0}


def _mean_error(replies: Sequence[str], references: Sequence[str]) -> Metrics:
    """``RMSEEvaluator``, for ESOL and Lipo: the mean of each sample's sqrt((answer - gold)²).

    That is the mean absolute error, not an RMSE; a reply without a number answers 0.
    """
    total = 0.0
    for reply, reference in zip(replies, references, strict=True):
        gold = first_number(reference)
        if gold is None:
            raise InvalidGoldError(reference, "no number in <NUMBER> or \\boxed{}")
        answer = first_number(reply)
        difference = (0.0 if answer is None else answer) - gold
        total += math.sqrt(difference * difference)  # numpy's square: inf, not OverflowError, past 1e154
    return {"score": total / len(replies)}


_MORGAN_BITS = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


@lru_cache(maxsize=4096)
def _morgan_bits(smiles: str) -> DataStructs.ExplicitBitVect | None:
    """Morgan radius-2, 2048-bit fingerprint of RDKit's reading of ``smiles`` (``""`` reads as no atoms)."""
    mol = Chem.MolFromSmiles(smiles)
    return None if mol is None else _MORGAN_BITS.GetFingerprint(mol)


def _fingerprint_similarity(replies: Sequence[str], references: Sequence[str]) -> Metrics:
    """``FTSEvaluator``, for MG, FS and RS: mean Tanimoto similarity × 100 of answer and gold.

    Morgan radius 2, 2048 bits, of the whole SMILES (all parts together); 0 where RDKit cannot read
    either. ``valid_score``: % of samples where both read (an empty answer reads, as no atoms).
    """
    total = 0.0
    valid = 0
    for reply, reference in zip(replies, references, strict=True):
        answer = _morgan_bits(chemical_answer(reply))
        gold = _morgan_bits(chemical_answer(reference))
        if answer is None or gold is None:
            continue
        valid += 1
        total += DataStructs.TanimotoSimilarity(answer, gold) * 100
    return {"score": total / len(replies), "valid_score": valid / len(replies) * 100}


def _meteor(replies: Sequence[str], references: Sequence[str]) -> Metrics:
    """``MeteorEvaluator``, for MC: mean NLTK METEOR (0–1) of the whole reply against the whole reference.

    Both split on whitespace, no answer extraction; 0 where either is empty.
    """
    nltk_data = ensure_wordnet()
    total = 0.0
    for reply, reference in zip(replies, references, strict=True):
        total += meteor(reference.split(), reply.split(), nltk_data) if reference and reply else 0.0
    return {"score": total / len(replies)}


def _accuracy(replies: Sequence[str], references: Sequence[str]) -> Metrics:
    """``AccEvaluator`` after ``smolinstruct_acc_0shot_postprocess``, for BBBP, ClinTox, HIV and SIDER.

    % of replies whose label (:func:`yes_no_label`) is the reference text itself.
    """
    correct = sum(yes_no_label(reply) == reference for reply, reference in zip(replies, references, strict=True))
    return {"accuracy": correct / len(replies) * 100}


_SCORERS: dict[str, Scorer] = {
    "forward_synthesis": _fingerprint_similarity,
    "retrosynthesis": _fingerprint_similarity,
    "molecule_captioning": _meteor,
    "molecule_generation": _fingerprint_similarity,
    "name_conversion-i2f": _element_match,
    "name_conversion-i2s": _exact_match,
    "name_conversion-s2f": _element_match,
    "name_conversion-s2i": _exact_match,
    "property_prediction-esol": _mean_error,
    "property_prediction-lipo": _mean_error,
    "property_prediction-bbbp": _accuracy,
    "property_prediction-clintox": _accuracy,
    "property_prediction-hiv": _accuracy,
    "property_prediction-sider": _accuracy,
}


def reference_text(task: Task | str, gold: str) -> str:
    """The reference OpenCompass reads for a raw gold answer under a bare ``<OUTPUT>`` template.

    The official loader's ``output`` with ``insert_core_tags``: ``<TAG> gold </TAG>`` in the task's
    output tags; a caption as it is.
    """
    task = get_task(task) if isinstance(task, str) else task
    return gold if task.output_tag is None else task.output_tag.wrap(gold)


def score_replies(task: Task | str, replies: Sequence[str], references: Sequence[str]) -> Metrics:
    """OpenCompass's metrics of one task, as ``OpenICLEvalTask`` gets them from the task's evaluator.

    ``replies``: each sample's one raw model reply. ``references``: each sample's gold as OpenCompass
    reads it, the Hugging Face ``output`` text (:func:`reference_text` makes it from a raw gold).
    Keys: ``score`` (and ``valid_score`` for the NC, MG, FS and RS tasks), or ``accuracy``. Raises
    :class:`~llasmol.evaluate.gold.InvalidGoldError` for a reference the evaluator cannot read
    (OpenCompass crashes there).
    """
    task = get_task(task) if isinstance(task, str) else task
    if len(replies) != len(references):
        raise OpenCompassInputError(f"{task.name}: {len(replies)} replies but {len(references)} references")
    if not replies:
        raise OpenCompassInputError(f"{task.name}: no samples to score")
    return _SCORERS[task.name](replies, references)


def select_mini_set(samples: Sequence[Sample]) -> list[Sample]:
    """OpenCompass's mini set of one task (``SmolInstructDataset.load(..., mini_set=True)``), in its order.

    ``random.seed(1024); random.sample(samples, min(500, len(samples)))``: the draw depends only on
    the number of samples, so ``samples`` must be the task's whole test split in the order
    OpenCompass reads it (the official loader's order; see docs/evaluation.md).
    """
    return random.Random(MINI_SET_SEED).sample(list(samples), min(MINI_SET_SIZE, len(samples)))


# --- the summary group (configs/summarizers/groups/smolinstruct.py) ---------------------------

SUMMARY_TASKS: tuple[str, ...] = (
    "name_conversion-i2f", "name_conversion-i2s", "name_conversion-s2f", "name_conversion-s2i",
    "property_prediction-esol", "property_prediction-lipo", "property_prediction-bbbp",
    "property_prediction-clintox", "property_prediction-hiv", "property_prediction-sider",
    "molecule_captioning", "molecule_generation", "forward_synthesis", "retrosynthesis",
)
_SUMMARY_TRANSFORMS: dict[str, Callable[[float], float]] = {
    "molecule_captioning": lambda x: x * 100,
    "property_prediction-esol": lambda x: max((2 - x) / 2, 0) * 100,
    "property_prediction-lipo": lambda x: max((1.2 - x) / 1.2, 0) * 100,
}


def summary_score(results: Mapping[str, Mapping[str, float]]) -> float | None:
    """The ``smolinstruct`` group's ``naive_average``; ``None`` unless all 14 tasks were scored.

    The mean of each task's ``score`` (``accuracy`` for the classification tasks), in the group's
    order, after its transforms: METEOR × 100, ESOL max((2 − x)/2, 0) × 100, Lipo
    max((1.2 − x)/1.2, 0) × 100 (``summarizers/default.py``, ``_calculate_group_metrics``).
    """
    if not all(name in results for name in SUMMARY_TASKS):
        return None
    values = []
    for name in SUMMARY_TASKS:
        value = results[name]["accuracy" if "accuracy" in results[name] else "score"]
        values.append(_SUMMARY_TRANSFORMS[name](value) if name in _SUMMARY_TRANSFORMS else value)
    return sum(values) / len(values)


# --- a llasmol generations folder -----------------------------------------------------------

def _reply(item: dict[str, Any], record: PredictionRecord, path: Path) -> str:
    """The line's first generated text (the reply of OpenCompass's one generation); ``""`` for a skipped prompt."""
    if "output" not in item:
        if record.answers is None:
            return ""
        raise DataFormatError(path, record.line, "missing (OpenCompass scores the raw reply, not 'pred')", "output")
    texts = item["output"]
    if isinstance(texts, str):
        return texts
    if texts is not None and not (isinstance(texts, list) and all(isinstance(t, str | None) for t in texts)):
        raise DataFormatError(path, record.line, "expected a list of strings or null", "output")
    return (texts[0] or "") if texts else ""


def _gold(record: PredictionRecord, path: Path) -> str:
    if record.gold is None:
        raise DataFormatError(path, record.line, "missing (OpenCompass scores each sample against its own)", "gold")
    return record.gold


def read_replies(path: Path | str, task: Task) -> list[tuple[PredictionRecord, str]]:
    """Each line's record (read as the paper's protocol reads it) and raw reply, in file order."""
    path = Path(path)
    return [(record, _reply(item, record, path)) for record, item in read_prediction_lines(path, task)]


def _score_file(task: Task, path: Path, mini_set: bool) -> Metrics | None:
    samples = read_replies(path, task)
    if not samples:
        warnings.warn(f"{path}: no samples, skipped", EvaluationWarning, stacklevel=3)
        return None
    if mini_set:
        samples = select_mini_set(samples)
    references = [reference_text(task, _gold(record, path)) for record, _ in samples]
    try:
        return score_replies(task, [reply for _, reply in samples], references)
    except InvalidGoldError as error:
        line = next(record.line for (record, _), text in zip(samples, references, strict=True) if text == error.gold)
        raise DataFormatError(path, line, str(error), "gold") from None


def evaluate_opencompass(predictions_dir: Path | str, tasks: Sequence[str] | str | None = None, *,
                         mini_set: bool = False) -> dict[str, Metrics]:
    """OpenCompass's metrics of every ``<task>.jsonl`` in a generations folder: ``{task: {metric: value}}``.

    Each line's reply is its first ``output`` text (``""`` for a skipped prompt), its reference
    :func:`reference_text` of its own ``gold``. ``mini_set``: score OpenCompass's mini set of each
    file, which must then hold the task's whole test split in the official loader's order. Writes
    nothing (see :func:`write_opencompass_metrics`).
    """
    results: dict[str, Metrics] = {}
    for name, path in task_files(predictions_dir, tasks=tasks).items():
        metrics = _score_file(get_task(name), path, mini_set)
        if metrics is not None:
            results[name] = metrics
    return results


def write_opencompass_metrics(results: Mapping[str, Mapping[str, float]], folder: Path | str) -> Path:
    """Write ``{task: {metric: value}}`` to ``folder/metrics_opencompass.json`` atomically; return its path.

    Values that are not finite are written as ``null``. Only task names at the top, as in ``metrics.json``
    (``llasmol compare`` reads both); :func:`summary_score` gives OpenCompass's summary row.
    """
    payload = {name: {key: value if math.isfinite(value) else None for key, value in metrics.items()}
               for name, metrics in results.items()}
    return write_json_atomic(Path(folder) / METRICS_FILE, payload)
