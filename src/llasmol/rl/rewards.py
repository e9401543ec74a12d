"""Reward functions for reinforcement learning (TRL's ``GRPOTrainer``), built on the evaluator's checks.

Every reward function takes TRL's arguments: ``prompts`` and ``completions`` (each a string, or for
conversational data a list of message dicts whose last assistant message is the reply), and the
dataset's columns as keyword lists: ``task`` (a registry task name per sample) and ``gold`` (the
raw gold answer as in the data: a SMILES, formula, IUPAC name, caption, number or Yes/No; a list
of strings for several acceptable golds). Other keyword arguments (``completion_ids``,
``trainer_state``, ...) are ignored. The answer is read as the evaluator reads it
(:func:`llasmol.tasks.extract_answer`, after any ``<think>`` block, see
:func:`llasmol.tasks.split_reasoning`).

Rewards per task type (metric family); 1.0 exactly when the evaluator counts an exact match:

================  ============================  ======================================  ===========================
Type (tasks)      1.0                           wrong but readable                      0.0
================  ============================  ======================================  ===========================
molecule (FS,     the evaluator's exact match:  0.1 + 0.5 × Morgan Tanimoto to the      no answer, invalid SMILES
RS, MG, NC-I2S)   same InChI identity ('.'      gold (radius-2 counts, as the
                  parts, ';' read as '.')       evaluator's FTS): 0.1-0.6
formula (NC-I2F,  equal element counts          0.1 + 0.5 × Σmin/Σmax of the element    no answer, not a formula
NC-S2F)                                         counts: 0.1-0.6
name (NC-S2I)     equal sorted ';'-parts        0.5 × 2·LCS/(len + len) of the sorted   no answer; characters
                                                parts, by characters: below 0.5         no name has (not ASCII,
                                                                                        not in the gold)
caption (MC)      the gold's SciBERT tokens     the evaluator's METEOR                  no answer; past the
                                                                                        evaluator's 512 tokens
                                                                                        where the gold is not
regression        the gold's value              0.1 + 0.9 × exp(-|answer - gold|)       no answer, not a finite
(ESOL, Lipo)                                                                            number
classification    the gold label                0.1 for the other label                 no answer, not Yes/No
(BBBP, ClinTox,
HIV, SIDER)
================  ============================  ======================================  ===========================

:func:`chemistry_reward` dispatches each sample on its task. The per-type functions
(:func:`molecule_reward`, ...) score their own type and return ``None`` for samples of other
types, which TRL ignores (several of them can be given their own weights); without a ``task``
column they read every sample as their type. :func:`format_reward` is 1.0 for a completion with
exactly one well-formed answer span in the task's tags (for captions: non-empty text without
tags), else 0.0.

A reward function never raises on what a model writes: an exception while scoring one
completion gives it 0.0 (and a warning), and a gold answer the metric cannot read gives its
completions 0.0 (and a warning). It raises only where no sample can be scored: columns of
different lengths, or caption resources (SciBERT vocabulary, WordNet) that cannot be loaded.
Caption resources come from ``caption_resources=`` (a loaded
:class:`~llasmol.evaluate.CaptionResources`, or the path of SciBERT's ``vocab.txt``), else from
``$LLASMOL_SCIBERT_VOCAB`` or the hub; pass them with ``functools.partial``, which TRL accepts.
"""

from __future__ import annotations

import math
import re
import string
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from llasmol.chem import FormulaError, canonicalize_smiles, molecule_identity, parse_formula
from llasmol.evaluate import CaptionResources
from llasmol.evaluate.captions import caption_tokens, lcs_length, meteor
from llasmol.evaluate.gold import normalize_answer
from llasmol.evaluate.isolation import describe
from llasmol.evaluate.resources import MAX_CAPTION_TOKENS
from llasmol.evaluate.shortcuts import heavy_atom_key
from llasmol.tasks import MetricFamily, Tag, Task, extract_answer, get_task, read_number, split_reasoning

VALID_REWARD = 0.1  # a readable answer of the right kind that is not the gold
NEAR_MISS_SPAN = 0.5  # molecules and formulas: VALID_REWARD + NEAR_MISS_SPAN × similarity
NAME_SPAN = 0.5  # names: NAME_SPAN × string similarity
WRONG_LABEL_REWARD = VALID_REWARD
NUMBER_SPAN = 1.0 - VALID_REWARD  # numbers: VALID_REWARD + NUMBER_SPAN × exp(-|error|)

Completion = str | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None
Reward = float | None
CaptionSource = CaptionResources | str | Path | None

_GOLD_CACHE = 1 << 16
_LABELS = {"yes": 1, "no": 0}
_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + string.punctuation + " ")
_ANY_TAG = re.compile("|".join(re.escape(mark) for tag in Tag for mark in (tag.left, tag.right)))
# Morgan counts of radius 2, unhashed: the fingerprint of llasmol.chem.molecule_fingerprints (FTS).
_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2)


class RewardWarning(UserWarning):
    """A sample scored 0.0 for a reason other than its completion: an unreadable gold, an unknown task, a bug."""


# --- completions and answers -----------------------------------------------------------------------


def completion_text(completion: Completion) -> str | None:
    """The generated text of one completion: the string itself, or the content of the last
    assistant message (of the last message without roles); ``None`` where there is none."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content"))
    if isinstance(completion, Sequence):
        messages = [message for message in completion if isinstance(message, Mapping)]
        replies = [message for message in messages if message.get("role", "assistant") == "assistant"]
        chosen = replies or messages
        return _content_text(chosen[-1].get("content")) if chosen else None
    return None


def _content_text(content: Any) -> str | None:
    """A message's content: a string, or the text of its ``{"type": "text", "text": ...}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        texts = [part if isinstance(part, str) else part.get("text") for part in content
                 if isinstance(part, str) or (isinstance(part, Mapping) and isinstance(part.get("text"), str))]
        return "".join(texts) if texts else None
    return None


def answer_of(text: str, task: Task) -> str:
    """The answer the evaluator reads in ``text`` (after any reasoning block); ``""``: none."""
    return extract_answer(split_reasoning(text)[1], task)


# --- one answer against one gold, by metric family -------------------------------------------------


@dataclass(frozen=True)
class _GoldMolecule:
    canonical: str
    identity: tuple[str, ...] | None  # None: RDKit cannot read a part again, nothing matches it
    heavy_atoms: frozenset[tuple[str, ...]] | None  # None: heavy atoms cannot rule a match out


@lru_cache(maxsize=_GOLD_CACHE)
def _gold_molecule(gold: str) -> _GoldMolecule | None:
    canonical = canonicalize_smiles(gold)
    if canonical is None:
        return None
    identity = molecule_identity(canonical)
    # Equal non-empty InChIs have equal heavy atoms (see llasmol.evaluate.shortcuts.heavy_atom_key).
    heavy_atoms = heavy_atom_key(canonical) if identity is not None and all(identity) else None
    return _GoldMolecule(canonical, identity, heavy_atoms)


def _same_molecule(canonical: str, gold: _GoldMolecule) -> bool:
    """The evaluator's exact match: equal canonical forms, or equal sorted sets of the parts' InChIs."""
    if canonical == gold.canonical:
        return gold.identity is not None
    if gold.identity is None:
        return False
    if gold.heavy_atoms is not None:
        key = heavy_atom_key(canonical)
        if key is not None and key != gold.heavy_atoms:
            return False  # different heavy atoms: different InChIs, without computing them
    return molecule_identity(canonical) == gold.identity


@lru_cache(maxsize=_GOLD_CACHE)
def _morgan(canonical: str) -> Any:
    mol = Chem.MolFromSmiles(canonical)
    return None if mol is None else _MORGAN.GetSparseCountFingerprint(mol)


def morgan_similarity(first: str, second: str) -> float:
    """Tanimoto similarity of the Morgan counts of two canonical forms (0.0 where one does not parse)."""
    first_fingerprint, second_fingerprint = _morgan(first), _morgan(second)
    if first_fingerprint is None or second_fingerprint is None:
        return 0.0
    return float(DataStructs.TanimotoSimilarity(first_fingerprint, second_fingerprint))


def _molecule_score(answer: str, gold: _GoldMolecule) -> float:
    canonical = canonicalize_smiles(answer)
    if canonical is None:
        return 0.0
    if _same_molecule(canonical, gold):
        return 1.0
    return VALID_REWARD + NEAR_MISS_SPAN * morgan_similarity(canonical, gold.canonical)


def _gold_formula(gold: str) -> dict[str, int] | None:
    try:
        return parse_formula(gold)
    except FormulaError:
        return None


def count_similarity(first: Mapping[str, int], second: Mapping[str, int]) -> float:
    """Σ min / Σ max of the element counts (weighted Jaccard): 1.0 for equal counts."""
    elements = first.keys() | second.keys()
    largest = sum(max(first.get(element, 0), second.get(element, 0)) for element in elements)
    if largest <= 0:
        return 0.0
    return sum(min(first.get(element, 0), second.get(element, 0)) for element in elements) / largest


def _formula_score(answer: str, gold: dict[str, int]) -> float:
    counts = _gold_formula(answer)
    if counts is None:
        return 0.0
    if counts == gold:
        return 1.0
    return VALID_REWARD + NEAR_MISS_SPAN * count_similarity(counts, gold)


def _name_key(name: str) -> str:
    """The ';'-separated parts, sorted, joined again: equal exactly when the evaluator's split match holds."""
    return ";".join(sorted(name.split(";")))


def string_similarity(first: str, second: str) -> float:
    """2·LCS / (len + len) of two strings, by characters: 1.0 for equal strings."""
    if not first and not second:
        return 1.0
    # lcs_length keeps a bit mask as wide as its first argument and steps through the second.
    shorter, longer = sorted((first, second), key=len)
    return 2 * lcs_length(shorter, longer) / (len(first) + len(second))


def _name_score(answer: str, gold: str) -> float:
    key = _name_key(answer)
    if key == gold:
        return 1.0
    if any(character not in _NAME_CHARACTERS and character not in gold for character in key):
        return 0.0  # not written like a name: no credit for the odd character it shares
    return NAME_SPAN * string_similarity(key, gold)



def _number_score(answer: str, gold: float) -> float:
    value = read_number(answer)
    if value is None:
        return 0.0
    error = abs(value - gold)
    return 1.0 if error == 0 else VALID_REWARD + NUMBER_SPAN * math.exp(-error)


def _gold_label(gold: str) -> int | None:
    return _LABELS.get(gold.strip().lower())


def _label_score(answer: str, gold: int) -> float:
    label = _gold_label(answer)
    if label is None:
        return 0.0
    return 1.0 if label == gold else WRONG_LABEL_REWARD


@dataclass(frozen=True)
class _Scorer:
    read_gold: Callable[[str], Any]  # the gold's prepared form, None where the metric cannot read it
    score: Callable[[str, Any], float]  # (normalized answer, prepared gold) -> reward


_SCORERS: dict[MetricFamily, _Scorer] = {
    MetricFamily.MOLECULE: _Scorer(_gold_molecule, _molecule_score),
    MetricFamily.FORMULA: _Scorer(_gold_formula, _formula_score),
    MetricFamily.NAME: _Scorer(_name_key, _name_score),
    MetricFamily.REGRESSION: _Scorer(read_number, _number_score),
    MetricFamily.CLASSIFICATION: _Scorer(_gold_label, _label_score),
}


# --- captions ----------------------------------------------------------------------------------------

_caption_resources_by_vocab: dict[str, CaptionResources] = {}


def _loaded_caption_resources(source: CaptionSource) -> CaptionResources:
    """Loaded caption resources: those given, or one shared set per SciBERT vocabulary path."""
    if isinstance(source, CaptionResources):
        return source.load()
    key = "" if source is None else str(source)
    resources = _caption_resources_by_vocab.get(key)
    if resources is None:
        resources = _caption_resources_by_vocab[key] = CaptionResources(source or None)
    return resources.load()


def _runs_past_window(tokenizer: Any, text: str, tokens: list[str]) -> bool:
    """Whether the evaluator's tokenizer cuts ``text`` at its 512 tokens."""
    if len(tokens) < MAX_CAPTION_TOKENS:
        return False
    return bool(tokenizer.encode(text, add_special_tokens=False).overflowing)


def _caption_scores(pairs: Sequence[tuple[str, Sequence[str]]], source: CaptionSource) -> list[float]:
    """Reward of each (answer, golds): METEOR against the best gold, each answer guarded."""
    resources = _loaded_caption_resources(source)  # raises: without resources no caption can be scored
    tokenizer, nltk_data = resources.tokenizer, resources.nltk_data
    texts = list(dict.fromkeys([answer for answer, _ in pairs] + [gold for _, golds in pairs for gold in golds]))
    try:
        tokens = dict(zip(texts, caption_tokens(tokenizer, texts), strict=True))
    except Exception:  # one text the batch cannot take: tokenize one at a time, each guarded below
        tokens = {}
    rewards = []
    for answer, golds in pairs:
        try:
            rewards.append(max(_caption_score(answer, gold, tokens, tokenizer, nltk_data) for gold in golds))
        except Exception as error:
            _warn_once(f"caption: scoring raised {describe(error)}; counted 0.0")
            rewards.append(0.0)
    return rewards


def _caption_score(answer: str, gold: str, tokens: dict[str, list[str]], tokenizer: Any, nltk_data: Any) -> float:
    for text in (answer, gold):
        if text not in tokens:
            tokens[text] = caption_tokens(tokenizer, [text])[0]
    answer_tokens, gold_tokens = tokens[answer], tokens[gold]
    if answer_tokens == gold_tokens:
        return 1.0  # METEOR's fragmentation penalty keeps the gold itself just below 1
    if _runs_past_window(tokenizer, answer, answer_tokens) and not _runs_past_window(tokenizer, gold, gold_tokens):
        return 0.0  # a runaway caption: the evaluator would cut it where the gold ends well before
    return float(meteor(gold_tokens, answer_tokens, nltk_data))


# --- batches -----------------------------------------------------------------------------------------

_warned: set[str] = set()
_MAX_WARNED = 1024


def _warn_once(message: str) -> None:
    if message in _warned:
        return
    if len(_warned) >= _MAX_WARNED:
        _warned.clear()
    _warned.add(message)
    warnings.warn(message, RewardWarning, stacklevel=4)


def _column(values: Any, length: int, name: str) -> list[Any]:
    """A dataset column as a list of ``length`` items; one plain value stands for every sample."""
    if values is None or isinstance(values, str | Task) or not isinstance(values, Sequence):
        return [values] * length
    if len(values) != length:
        raise ValueError(f"{name!r} has {len(values)} items for {length} completions")
    return list(values)


def _task_of(value: Any, default: Task | None) -> Task | None:
    if value is None:
        if default is None:
            _warn_once("a sample without a task scores 0.0")
        return default
    if isinstance(value, Task):
        return value
    try:
        return get_task(str(value))
    except KeyError:
        _warn_once(f"unknown task {value!r}: its completions score 0.0")
        return None


def _gold_texts(gold: Any, task: Task) -> list[str]:
    """The sample's gold answers, normalized as the evaluator normalizes them (tags taken off if present)."""
    if isinstance(gold, bool):  # a label column stored as booleans
        gold = "Yes" if gold else "No"
    elif isinstance(gold, int | float):  # a number column stored as numbers
        gold = repr(gold)
    golds = [gold] if isinstance(gold, str) else [] if isinstance(gold, Mapping) else list(gold or ())
    texts = []
    for text in golds:
        if not isinstance(text, str):
            continue
        if task.output_tags is not None and task.output_tags[0] in text:
            text = extract_answer(text, task)
        texts.append(normalize_answer(text, task))
    return [text for text in texts if text]


def _answer_score(answer: str, golds: list[str], task: Task) -> float:
    """Reward of a normalized answer against the sample's golds (the best of them), for non-caption tasks."""
    scorer = _SCORERS[task.metric_family]
    best = 0.0
    for gold in golds:
        prepared = scorer.read_gold(gold)
        if prepared is None:
            _warn_once(f"{task.name}: gold answer {gold[:80]!r} cannot be read by its metric; it scores 0.0")
            continue
        best = max(best, scorer.score(answer, prepared))
    return best


def _rewards(completions: Sequence[Completion], task: Any, gold: Any, families: frozenset[MetricFamily] | None,
             default_task: Task | None, caption_resources: CaptionSource) -> list[Reward]:
    """Each completion's reward; ``None`` for samples whose task is not of ``families`` (all when ``None``)."""
    if gold is None:
        raise TypeError("a reward needs the 'gold' column (the gold answer of each sample)")
    length = len(completions)
    tasks, golds = _column(task, length, "task"), _column(gold, length, "gold")
    rewards: list[Reward] = [0.0] * length
    captions: list[tuple[int, str, list[str]]] = []
    for index, completion in enumerate(completions):
        try:
            sample_task = _task_of(tasks[index], default_task)
            if sample_task is None:
                continue
            if families is not None and sample_task.metric_family not in families:
                rewards[index] = None
                continue
            text = completion_text(completion)
            answer = normalize_answer(answer_of(text, sample_task), sample_task) if text else ""
            gold_texts = _gold_texts(golds[index], sample_task)
            if not gold_texts:
                _warn_once(f"{sample_task.name}: a sample without a gold answer scores 0.0")
            if not answer or not gold_texts:
                continue
            if sample_task.metric_family is MetricFamily.CAPTION:
                captions.append((index, answer, gold_texts))
            else:
                rewards[index] = _answer_score(answer, gold_texts, sample_task)
        except Exception as error:
            _warn_once(f"scoring a completion raised {describe(error)}; counted 0.0")
            rewards[index] = 0.0
    if captions:
        scores = _caption_scores([(answer, gold_texts) for _, answer, gold_texts in captions], caption_resources)
        for (index, _, _), score in zip(captions, scores, strict=True):
            rewards[index] = score
    return rewards


# --- the reward functions ----------------------------------------------------------------------------


def chemistry_reward(prompts: Sequence[Any] | None, completions: Sequence[Completion], task: Any, gold: Any,
                     *, caption_resources: CaptionSource = None, **kwargs: Any) -> list[float]:
    """Reward of each completion by its sample's task type (see the module's table); all in [0, 1].

    ``task``: registry task names (or short names) per sample; ``gold``: the raw gold answers.
    ``caption_resources``: for captions, a :class:`~llasmol.evaluate.CaptionResources` or the
    path of SciBERT's ``vocab.txt`` (default ``$LLASMOL_SCIBERT_VOCAB`` or the hub).
    """
    if task is None:
        raise TypeError("chemistry_reward needs the 'task' column (a registry task name per sample)")
    rewards = _rewards(completions, task, gold, None, None, caption_resources)
    return [0.0 if reward is None else reward for reward in rewards]


def _typed_rewards(family: MetricFamily, default_task: str, completions: Sequence[Completion], task: Any, gold: Any,
                   caption_resources: CaptionSource) -> list[Reward]:
    return _rewards(completions, task, gold, frozenset({family}), get_task(default_task), caption_resources)


def molecule_reward(prompts: Sequence[Any] | None, completions: Sequence[Completion], task: Any = None,
                    gold: Any = None, *, caption_resources: CaptionSource = None, **kwargs: Any) -> list[Reward]:
    """Molecule tasks (FS, RS, MG, NC-I2S): 1.0 for the evaluator's exact match (InChI identity), else
    0.1 + 0.5 × Morgan Tanimoto to the gold for a valid SMILES, else 0.0. ``None`` for samples of
    other task types (TRL ignores them); without ``task``, every sample is read as forward synthesis."""
    return _typed_rewards(MetricFamily.MOLECULE, "forward_synthesis", completions, task, gold, caption_resources)


def formula_reward(prompts: Sequence[Any] | None, completions: Sequence[Completion], task: Any = None,
                   gold: Any = None, *, caption_resources: CaptionSource = None, **kwargs: Any) -> list[Reward]:
    """Formula tasks (NC-I2F, NC-S2F): 1.0 for equal element counts, else 0.1 + 0.5 × Σmin/Σmax of the
    counts for a valid formula, else 0.0. ``None`` for samples of other task types."""
    return _typed_rewards(MetricFamily.FORMULA, "name_conversion-s2f", completions, task, gold, caption_resources)


def name_reward(prompts: Sequence[Any] | None, completions: Sequence[Completion], task: Any = None,
                gold: Any = None, *, caption_resources: CaptionSource = None, **kwargs: Any) -> list[Reward]:
    """IUPAC names (NC-S2I): 1.0 for the evaluator's split match, else 0.5 × the character similarity
    (2·LCS / total length) of the sorted ';'-parts; 0.0 without an answer or with characters no name has
    (neither printable ASCII nor in the gold). ``None`` for other task types."""
    return _typed_rewards(MetricFamily.NAME, "name_conversion-s2i", completions, task, gold, caption_resources)


def caption_reward(prompts: Sequence[Any] | None, completions: Sequence[Completion], task: Any = None,
                   gold: Any = None, *, caption_resources: CaptionSource = None, **kwargs: Any) -> list[Reward]:
    """Captions (MC): the evaluator's METEOR (1.0 for the gold's tokens); 0.0 without an answer or for a
    caption past the evaluator's 512 tokens when the gold is not. ``None`` for other task types."""
    return _typed_rewards(MetricFamily.CAPTION, "molecule_captioning", completions, task, gold, caption_resources)


def regression_reward(prompts: Sequence[Any] | None, completions: Sequence[Completion], task: Any = None,
                      gold: Any = None, *, caption_resources: CaptionSource = None, **kwargs: Any) -> list[Reward]:
    """Numbers (ESOL, Lipo): 1.0 for the gold value, else 0.1 + 0.9 × exp(-|error|) for a finite number,
    else 0.0. ``None`` for other task types."""
    return _typed_rewards(MetricFamily.REGRESSION, "property_prediction-esol", completions, task, gold,
                          caption_resources)


def classification_reward(prompts: Sequence[Any] | None, completions: Sequence[Completion], task: Any = None,
                          gold: Any = None, *, caption_resources: CaptionSource = None,
                          **kwargs: Any) -> list[Reward]:
    """Yes/No labels (BBBP, ClinTox, HIV, SIDER): 1.0 for the gold label, 0.1 for the other, else 0.0.
    ``None`` for other task types."""
    return _typed_rewards(MetricFamily.CLASSIFICATION, "property_prediction-bbbp", completions, task, gold,
                          caption_resources)


REWARDS_BY_FAMILY: dict[MetricFamily, Callable[..., list[Reward]]] = {
    MetricFamily.MOLECULE: molecule_reward,
    MetricFamily.FORMULA: formula_reward,
    MetricFamily.NAME: name_reward,
    MetricFamily.CAPTION: caption_reward,
    MetricFamily.REGRESSION: regression_reward,
    MetricFamily.CLASSIFICATION: classification_reward,
}


def well_formed(text: str, task: Task) -> bool:
    """Whether ``text`` (after any reasoning) holds exactly one answer span in the task's tags, with a
    non-empty answer and no other tag inside; for captions: non-empty text without tags."""
    reply = split_reasoning(text)[1]
    tags = task.output_tags
    if tags is None:
        return bool(extract_answer(reply, task)) and _ANY_TAG.search(reply) is None
    left, right = tags
    if reply.count(left) != 1 or reply.count(right) != 1 or reply.find(left) > reply.find(right):
        return False
    answer = extract_answer(reply, task)
    return bool(answer) and _ANY_TAG.search(answer) is None


def format_reward(prompts: Sequence[Any] | None, completions: Sequence[Completion], task: Any,
                  **kwargs: Any) -> list[float]:
    """1.0 for each completion with exactly one well-formed answer span in its task's tags, else 0.0.

    See :func:`well_formed`; for use beside :func:`chemistry_reward` with its own weight.
    """
    if task is None:
        raise TypeError("format_reward needs the 'task' column (a registry task name per sample)")
    tasks = _column(task, len(completions), "task")
    rewards = []
    for completion, name in zip(completions, tasks, strict=True):
        try:
            sample_task = _task_of(name, None)
            text = completion_text(completion)
            rewards.append(1.0 if sample_task is not None and text and well_formed(text, sample_task) else 0.0)
        except Exception as error:
            _warn_once(f"checking a completion's format raised {describe(error)}; counted 0.0")
            rewards.append(0.0)
    return rewards


def answer_reward(answer: str, gold: str | Sequence[str], task: Task | str, *,
                  caption_resources: CaptionSource = None) -> float:
    """The reward of one answer already read from its completion (no tags), as the table defines it."""
    sample_task = get_task(task) if isinstance(task, str) else task
    text = sample_task.output_tag.wrap(answer) if sample_task.output_tag is not None else answer
    return chemistry_reward(None, [text], [sample_task], [gold], caption_resources=caption_resources)[0]
