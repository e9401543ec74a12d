"""Caption answers (MC): METEOR and BLEU on SciBERT WordPiece tokens, ROUGE F-measures on the text.

The first answer of each sample is compared with the sample's own gold; samples without an
answer are left out and counted. METEOR is NLTK's, run with a memoized stemmer and WordNet
look-up (same scores, far fewer WordNet reads), on the given pool (one process, or its workers).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from llasmol.evaluate.isolation import ScoringErrors, ScoringFailure, each_guarded
from llasmol.evaluate.memo import Failures, Memory, Step, on_workers, remembered_later, without_failures
from llasmol.evaluate.parallel import WorkPool
from llasmol.evaluate.progress import NoProgress, ProgressHook
from llasmol.evaluate.resources import use_nltk_data
from llasmol.evaluate.wordnet import english_wordnet_reader

Answers = Sequence[str | None]
Tokens = list[str]

_SPECIAL_TOKENS = frozenset({"[PAD]", "[CLS]", "[SEP]"})
_MAX_REMEMBERED_TEXTS = 1 << 16
_METRIC_NAMES = ("bleu2", "bleu4", "rouge_1", "rouge_2", "rouge_l", "meteor_score")
_BLEU_ORDERS = 4


class _MemoizedStemmer:
    """A Porter stemmer that remembers its answers."""

    def __init__(self) -> None:
        from nltk.stem.porter import PorterStemmer

        self._stemmer = PorterStemmer()
        self._stems: dict[str, str] = {}

    def stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stems[word] = self._stemmer.stem(word)
        return stem


class _MemoizedRougeTokenizer:
    """ROUGE's tokenizer remembering its answers: a text scored for ROUGE-1/2 and ROUGE-L is tokenized once."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._tokens: dict[str, list[str]] = {}

    def tokenize(self, text: str) -> list[str]:
        tokens = self._tokens.get(text)
        if tokens is None:
            if len(self._tokens) >= _MAX_REMEMBERED_TEXTS:
                self._tokens.clear()
            tokens = self._tokens[text] = self._tokenizer.tokenize(text)
        return tokens


class _Lemma:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name


class _SynonymSet:
    """All lemmas of a word's synsets, once each: what NLTK's METEOR reads of ``synsets(word)``."""

    __slots__ = ("_lemmas",)

    def __init__(self, names: Sequence[str]) -> None:
        self._lemmas = [_Lemma(name) for name in names]

    def lemmas(self) -> list[_Lemma]:
        return self._lemmas


class _MemoizedWordNet:
    """A WordNet reader with ``synsets(word)`` remembered as one set of lemma names.

    METEOR's synonym match only takes the union of the lemma names of a word's synsets, so one
    stand-in synset holding them gives the same matches; everything else passes through.
    """

    def __init__(self, wordnet: Any) -> None:
        self._wordnet = wordnet
        self._synsets: dict[str, list[_SynonymSet]] = {}

    @property
    def reader(self) -> Any:
        return self._wordnet

    def synsets(self, word: str) -> list[_SynonymSet]:
        synsets = self._synsets.get(word)
        if synsets is None:
            synsets = self._synsets[word] = [_SynonymSet(list(dict.fromkeys(self._wordnet.synonym_names(word))))]
        return synsets

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wordnet, name)


_tools: dict[str, Any] = {}
_OPEN_FILE_ATTRIBUTES = {"_data_file_map": dict, "_key_count_file": lambda: None, "_key_synset_file": lambda: None}


def _reopen_files_in_this_process(wordnet: Any) -> bool:
    """Make a WordNet reader inherited from a parent process open its own files; False if it cannot.

    NLTK's reader keeps its data files open and seeks in them; a forked process sharing the
    parent's open files would read from offsets the other process moves.
    """
    if not all(hasattr(wordnet, name) for name in _OPEN_FILE_ATTRIBUTES):
        return False
    for name, empty in _OPEN_FILE_ATTRIBUTES.items():
        setattr(wordnet, name, empty())
    return True


def lcs_length(first: Sequence[str], second: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel, Hyyrö 2004).

    Gives what ``rouge_score``'s dynamic-programming table gives, in ``len(second)`` steps of
    integer arithmetic on ``len(first)``-bit masks instead of a Python loop over every cell.
    """
    if not first or not second:
        return 0
    positions: dict[str, int] = {}
    for index, token in enumerate(first):
        positions[token] = positions.get(token, 0) | (1 << index)
    width = (1 << len(first)) - 1
    row = width
    for token in second:
        matches = row & positions.get(token, 0)
        row = ((row + matches) | (row - matches)) & width
    return len(first) - row.bit_count()


def _rouge_l_fmeasure(target_tokens: Tokens, prediction_tokens: Tokens) -> float:
    """ROUGE-L F-measure as ``rouge_score`` computes it."""
    from rouge_score.scoring import fmeasure

    common = lcs_length(target_tokens, prediction_tokens)
    if not common:
        return 0.0
    return fmeasure(common / len(prediction_tokens), common / len(target_tokens))


def scoring_tools(nltk_data: str | None) -> dict[str, Any]:
    """This process's stemmer, WordNet reader and ROUGE scorer (made once, reused by forked workers)."""
    if _tools and _tools["pid"] != os.getpid():
        if _reopen_files_in_this_process(_tools["wordnet"].reader):
            _tools["pid"] = os.getpid()
        else:
            _tools.clear()
    if not _tools:
        if nltk_data:
            use_nltk_data(nltk_data)
        import nltk
        from rouge_score import rouge_scorer, tokenizers

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "multilingual functions not available": METEOR needs English only
            wordnet = english_wordnet_reader(nltk.data.find("corpora/wordnet"))
        rouge_tokenizer = _MemoizedRougeTokenizer(tokenizers.DefaultTokenizer(use_stemmer=False))
        _tools.update(pid=os.getpid(), stemmer=_MemoizedStemmer(), wordnet=_MemoizedWordNet(wordnet),
                      rouge_tokenizer=rouge_tokenizer,
                      rouge=rouge_scorer.RougeScorer(["rouge1", "rouge2"], tokenizer=rouge_tokenizer))
    return _tools


def warm_caption_scorers(nltk_data: Path | str | None = None) -> None:
    """Open WordNet and make the scorers in this process now, for worker processes forked later."""
    scoring_tools(None if nltk_data is None else str(nltk_data))


def meteor(reference: Tokens, hypothesis: Tokens, nltk_data: Path | str | None = None) -> float:
    """NLTK's METEOR of ``hypothesis`` against one ``reference``, with this process's memoized stemmer and WordNet."""
    from nltk.translate.meteor_score import meteor_score

    tools = scoring_tools(None if nltk_data is None else str(nltk_data))
    return meteor_score([reference], hypothesis, stemmer=tools["stemmer"], wordnet=tools["wordnet"])


PairScores = tuple[float, float, float, float]
_PAIR_SCORES = Step("METEOR and ROUGE", (0.0, 0.0, 0.0, 0.0))  # a pair whose scoring raised scores 0


def _pair_scores(pair: tuple[Tokens, Tokens, str, str], tools: dict[str, Any]) -> PairScores:
    """(METEOR, ROUGE-1, ROUGE-2, ROUGE-L F) of (gold tokens, answer tokens, answer, gold)."""
    from nltk.translate.meteor_score import meteor_score

    gold_tokens, answer_tokens, answer, gold = pair
    meteor = meteor_score([gold_tokens], answer_tokens, stemmer=tools["stemmer"], wordnet=tools["wordnet"])
    rouge = tools["rouge"].score(answer, gold)
    rouge_l = _rouge_l_fmeasure(tools["rouge_tokenizer"].tokenize(answer), tools["rouge_tokenizer"].tokenize(gold))
    return meteor, rouge["rouge1"].fmeasure, rouge["rouge2"].fmeasure, rouge_l


def _pair_scores_chunk(pairs: list[tuple[Tokens, Tokens, str, str]],
                       nltk_data: str | None) -> list[PairScores | ScoringFailure]:
    """:func:`_pair_scores` of each pair, guarded."""
    return each_guarded(partial(_pair_scores, tools=scoring_tools(nltk_data)), pairs)


def caption_tokens(tokenizer: Any, texts: Sequence[str]) -> list[Tokens]:
    """Lower-cased WordPiece tokens of each text, truncated at 512, without special tokens."""
    if not texts:
        return []
    encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
    return [[token for token in encoding.tokens if token not in _SPECIAL_TOKENS] for encoding in encodings]


def _first_answer(sample: Answers | None) -> str:
    if not sample or sample[0] is None:
        return ""
    return sample[0].strip()


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _ngram_counts(tokens: Tokens, order: int) -> Counter[tuple[str, ...]]:
    return Counter(zip(*(tokens[start:] for start in range(order)), strict=False))  # n-grams: shorter rows end it


def bleu_scores(gold_tokens: list[Tokens], answer_tokens: list[Tokens]) -> dict[str, float]:
    """Corpus BLEU-2 and BLEU-4, one reference per answer, as NLTK's ``corpus_bleu`` computes them.

    The clipped n-gram matches and n-gram totals are summed here (each text's n-grams counted
    once per order), then combined exactly as ``corpus_bleu`` does, with NLTK's brevity penalty
    and its unsmoothed precisions (``SmoothingFunction.method0``: an order without a match gives
    the smallest float, so that the score is 0 in effect, here without NLTK's warning); the tests
    check both scores equal ``corpus_bleu``'s.
    """
    from nltk.translate.bleu_score import brevity_penalty

    matches, totals = [0] * _BLEU_ORDERS, [0] * _BLEU_ORDERS
    for gold, answer in zip(gold_tokens, answer_tokens, strict=True):
        for order in range(1, _BLEU_ORDERS + 1):
            gold_counts = _ngram_counts(gold, order)
            answer_counts = _ngram_counts(answer, order)
            matches[order - 1] += sum(min(count, gold_counts.get(ngram, 0)) for ngram, count in answer_counts.items())
            totals[order - 1] += max(1, len(answer) - order + 1)
    if matches[0] == 0:
        return {"bleu2": 0.0, "bleu4": 0.0}
    penalty = brevity_penalty(sum(map(len, gold_tokens)), sum(map(len, answer_tokens)))
    # NLTK's Fraction matched/total gives the same float as this division (both correctly rounded).
    precisions = [matched / total if matched else sys.float_info.min
                  for matched, total in zip(matches, totals, strict=True)]
    scores = {}
    for name, weights in (("bleu2", (0.5, 0.5)), ("bleu4", (0.25, 0.25, 0.25, 0.25))):
        orders = zip(weights, precisions[:len(weights)], strict=True)
        logs = (weight * math.log(precision) for weight, precision in orders)
        scores[name] = float(penalty * math.exp(math.fsum(logs)))
    return scores


def score_captions(answers: Sequence[Answers | None], golds: Sequence[Sequence[str]], tokenizer: Any,
                   nltk_data: Path | str | None = None, *, pool: WorkPool | None = None,
                   progress: ProgressHook | None = None, errors: ScoringErrors | None = None
                   ) -> dict[str, float | int | None]:
    """``num_no_answer``, ``bleu2``, ``bleu4``, ``rouge_1``, ``rouge_2``, ``rouge_l``, ``meteor_score``.

    An answer whose METEOR or ROUGE raised scores 0 on them, its sample recorded in ``errors``.
    """
    pool, progress = pool or WorkPool(), progress or NoProgress()
    texts = [(_first_answer(sample), sample_golds[0].strip())
             for sample, sample_golds in zip(answers, golds, strict=True)]
    answered = [(answer, gold) for answer, gold in texts if answer]
    metrics: dict[str, float | int | None] = {"num_all": len(texts), "num_no_answer": len(texts) - len(answered)}
    if not answered:
        return {**metrics, **dict.fromkeys(_METRIC_NAMES)}
    texts_to_tokenize = list(dict.fromkeys(text for pair in answered for text in pair))
    tokens = dict(zip(texts_to_tokenize, caption_tokens(tokenizer, texts_to_tokenize), strict=True))
    gold_tokens = [tokens[gold] for _, gold in answered]
    answer_tokens = [tokens[answer] for answer, _ in answered]
    # A repeated (answer, gold) pair is scored once; BLEU is computed here while the workers score pairs.
    start_chunks = on_workers(pool, progress, partial(_pair_scores_chunk,
                                                      nltk_data=None if nltk_data is None else str(nltk_data)))
    pair_scores = remembered_later(answered, Memory(), lambda pairs: start_chunks(
        [(tokens[gold], tokens[answer], answer, gold) for answer, gold in pairs]))
    metrics.update(bleu_scores(gold_tokens, answer_tokens))
    failures: Failures = {}
    scored = without_failures(pair_scores(), _PAIR_SCORES, failures)
    _record_failed_pairs(failures, texts, errors)
    scores = [scored[pair] for pair in answered]
    metrics["rouge_1"] = _mean([score[1] for score in scores])
    metrics["rouge_2"] = _mean([score[2] for score in scores])
    metrics["rouge_l"] = _mean([score[3] for score in scores])
    metrics["meteor_score"] = _mean([score[0] for score in scores])
    return metrics


def _record_failed_pairs(failures: Failures, texts: list[tuple[str, str]], errors: ScoringErrors | None) -> None:
    """Record in ``errors`` each sample whose (answer, gold) pair's scoring raised."""
    if errors is None or not failures:
        return
    for index, pair in enumerate(texts):
        reason = failures.get((_PAIR_SCORES.name, pair))
        if reason is not None:
            errors.add(index, f"{pair[0][:60]!r}: {reason}")
