"""Formula, name, caption and property metrics on small hand-checked cases from real validation samples."""

from __future__ import annotations

import math

import pytest

from llasmol.data.raw import iter_raw_records
from llasmol.evaluate import InvalidGoldError, PredictionRecord, score_task


def _records(folder, task, count):
    return list(iter_raw_records(folder / f"{task}.jsonl"))[:count]


def _with_answers(raw, answers):
    return [PredictionRecord.of(r.input, r.output, a, r.target) for r, a in zip(raw, answers, strict=True)]


def test_formula_element_match_charges_and_parentheses(smolinstruct_val):
    raw = _records(smolinstruct_val, "name_conversion-s2f", 5)
    assert raw[0].output == "C39H62N2O11"
    answers = [
        ["O11N2H62C39", "C"],  # element order ignored
        ["C2H6O", raw[1].output],  # second answer matches
        ["C(H3)2", ""],  # parentheses: invalid, then missing
        [raw[3].output + "+", raw[3].output + "-"],  # a charge is an element of its own: no match
        None,  # skipped
    ]
    metrics = score_task("NC-S2F", _with_answers(raw, answers))
    assert metrics["num_all"] == 5
    assert metrics["num_t1_no_answer"] == 1 and metrics["num_t2_no_answer"] == 1
    assert metrics["num_t1_ele_match"] == 1 and metrics["num_t2_ele_match"] == 2
    assert metrics["num_t1_formula_invalid"] == 1 and metrics["num_t2_formula_invalid"] == 0
    assert metrics["EM"] == pytest.approx(20.0)
    assert metrics["Valid"] == pytest.approx(60.0)


def test_charged_formula_matches_same_charge():
    record = PredictionRecord.of("[NH4+]", "H4N+", ["NH4+"])
    assert score_task("NC-S2F", [record])["num_t1_ele_match"] == 1
    with pytest.raises(InvalidGoldError):
        score_task("NC-I2F", [PredictionRecord.of("x", "Ca(OH)2", ["CaO2H2"])])


def test_iupac_split_match(smolinstruct_val):
    raw = _records(smolinstruct_val, "name_conversion-s2i", 3)
    answers = [
        [raw[0].output, "x"],
        ["methane", raw[1].output.upper()],  # case matters: no match
        [";".join(reversed(f"{raw[2].output};sodium".split(";"))), raw[2].output],  # parts sorted; extra part
    ]
    metrics = score_task("NC-S2I", _with_answers(raw, answers))
    assert metrics["num_t1_split_match"] == 1 and metrics["num_t2_split_match"] == 2
    assert metrics["num_t1_no_answer"] == 0
    swapped = PredictionRecord.of("x", "sodium;ethanoate", ["ethanoate;sodium"])
    assert score_task("NC-S2I", [swapped])["num_t1_split_match"] == 1


@pytest.mark.slow  # loads WordNet (a few seconds)
def test_identical_captions_score_one(smolinstruct_val, caption_resources):
    raw = _records(smolinstruct_val, "molecule_captioning", 3)
    metrics = score_task("MC", _with_answers(raw, [[r.output] for r in raw]), captions=caption_resources)
    assert metrics["bleu2"] == pytest.approx(1.0) and metrics["bleu4"] == pytest.approx(1.0)
    assert metrics["rouge_1"] == metrics["rouge_2"] == metrics["rouge_l"] == pytest.approx(1.0)
    # METEOR of identical m-token texts: one chunk, penalty 0.5 / m**3
    lengths = [len(caption_resources.tokenizer.encode(r.output, add_special_tokens=False).tokens) for r in raw]
    assert metrics["meteor_score"] == pytest.approx(sum(1 - 0.5 / m ** 3 for m in lengths) / 3)
    assert metrics["METEOR"] == metrics["meteor_score"] and metrics["num_no_answer"] == 0


def test_caption_scores_by_hand(caption_resources):
    gold = "the molecule is a cat"
    answer = "the molecule is a dog"  # 5 tokens, 4 matched in one chunk
    metrics = score_task("MC", [PredictionRecord.of("C", gold, [answer]), PredictionRecord.of("CC", gold, None),
                                PredictionRecord.of("O", gold, [""])], captions=caption_resources)
    assert metrics["num_all"] == 3 and metrics["num_no_answer"] == 2
    precision = recall = 4 / 5
    fmean = precision * recall / (0.9 * precision + 0.1 * recall)
    assert metrics["meteor_score"] == pytest.approx((1 - 0.5 * (1 / 4) ** 3) * fmean)
    assert metrics["rouge_1"] == pytest.approx(0.8)
    assert metrics["rouge_2"] == pytest.approx(0.75)  # 3 of 4 bigrams
    assert metrics["rouge_l"] == pytest.approx(0.8)
    assert metrics["bleu2"] == pytest.approx(math.sqrt(4 / 5 * 3 / 4))


def test_caption_uses_the_samples_own_gold(smolinstruct_val, caption_resources):
    by_input: dict[str, list] = {}
    for record in iter_raw_records(smolinstruct_val / "molecule_captioning.jsonl"):
        by_input.setdefault(record.input, []).append(record)
    first, second = next(group for group in by_input.values() if len(group) > 1)
    records = [PredictionRecord.of(second.input, second.output, [second.output])]
    assert score_task("MC", records, [[second.output, first.output]], captions=caption_resources)["rouge_1"] == 1.0


def test_esol_rmse_by_hand(smolinstruct_val):
    raw = _records(smolinstruct_val, "property_prediction-esol", 5)
    golds = [float(r.output) for r in raw]
    answers = [[str(golds[0] + 1.0)], [str(golds[1] - 2.0)], ["soluble"], [""], None]
    metrics = score_task("PP-ESOL", _with_answers(raw, answers))
    assert metrics["num_all"] == 5 and metrics["num_no_answer"] == 2 and metrics["num_invalid"] == 1
    assert metrics["RMSE"] == pytest.approx(math.sqrt((1.0 + 4.0) / 2))


def test_classification_counts_and_scores_by_hand(smolinstruct_val):
    raw = _records(smolinstruct_val, "property_prediction-bbbp", 40)
    yes = [r for r in raw if r.output == "Yes"][:3]
    no = [r for r in raw if r.output == "No"][:3]
    samples = yes + no + [yes[0], no[0]]
    answers = [["Yes"], ["yes "], ["No"], ["no"], ["NO"], ["Yes"], ["maybe"], None]
    metrics = score_task("PP-BBBP", _with_answers(samples, answers))
    # scored: gold yes,yes,yes,no,no,no vs answers yes,yes,no,no,no,yes -> TP 2, FN 1, TN 2, FP 1
    assert metrics["num_all"] == 8 and metrics["num_no_answer"] == 1 and metrics["num_invalid"] == 1
    assert metrics["num_correct"] == 4 and metrics["Acc"] == pytest.approx(50.0)
    assert metrics["precision"] == pytest.approx(2 / 3) and metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1_score"] == pytest.approx(2 / 3)
    assert metrics["roc_auc_score"] == pytest.approx(2 / 3)  # (TPR + TNR) / 2 for yes/no predictions
    assert metrics["mcc"] == pytest.approx((2 * 2 - 1 * 1) / math.sqrt(3 * 3 * 3 * 3))


def test_sider_scores_one_sample_per_class(smolinstruct_val):
    raw = _records(smolinstruct_val, "property_prediction-sider", 40)
    assert len({r.target for r in raw}) == 20 and raw[0].index == 0 and raw[20].index == 1
    answers = [[r.output] if i % 2 == 0 else ["No"] for i, r in enumerate(raw)]
    expected_correct = sum(1 for i, r in enumerate(raw) if i % 2 == 0 or r.output == "No")
    metrics = score_task("PP-SIDER", _with_answers(raw, answers))
    assert metrics["num_all"] == 40 and metrics["num_correct"] == expected_correct
    assert metrics["Acc"] == pytest.approx(100 * expected_correct / 40)


def test_one_class_gives_undefined_roc_auc():
    records = [PredictionRecord.of("C", "No", ["No"]), PredictionRecord.of("CC", "No", ["Yes"])]
    metrics = score_task("PP-HIV", records)
    assert metrics["roc_auc_score"] is None and metrics["num_correct"] == 1
    with pytest.raises(InvalidGoldError, match="maybe"):
        score_task("PP-HIV", [PredictionRecord.of("C", "maybe", ["No"])])


@pytest.mark.slow  # each worker process opens WordNet
def test_caption_scores_are_the_same_on_worker_processes(smolinstruct_val, caption_resources):
    from llasmol.evaluate.parallel import WorkPool

    raw = _records(smolinstruct_val, "molecule_captioning", 80)
    answers = [[raw[(i * 7) % len(raw)].output[: 40 + i]] for i in range(len(raw))]
    records = _with_answers(raw, answers)
    inline = score_task("MC", records, captions=caption_resources)
    with WorkPool(2, chunk_size=4) as pool:
        assert score_task("MC", records, pool=pool, captions=caption_resources) == inline


def test_bit_parallel_lcs_equals_rouge_scores_table(smolinstruct_val):
    import random

    from rouge_score import rouge_scorer, tokenizers

    from llasmol.evaluate.captions import lcs_length

    tokenizer = tokenizers.DefaultTokenizer(use_stemmer=False)
    captions = [tokenizer.tokenize(r.output) for r in _records(smolinstruct_val, "molecule_captioning", 60)]
    rng = random.Random(5)
    pairs = [(a, b) for a in captions[:30] for b in captions[30:]]
    pairs += [(a, rng.sample(a, len(a) // 2) + a[: len(a) // 3]) for a in captions]  # shuffled, repeated tokens
    pairs += [([rng.choice("ab") for _ in range(n)], [rng.choice("abc") for _ in range(m)])
              for n in range(0, 70, 7) for m in range(0, 70, 9)]
    for first, second in pairs:
        expected = rouge_scorer._lcs_table(first, second)[-1][-1] if first and second else 0
        assert lcs_length(first, second) == expected
    assert max(lcs_length(a, b) for a, b in pairs) > 64  # masks wider than a machine word


def test_bleu_equals_nltks_corpus_bleu(smolinstruct_val):
    import warnings

    from nltk.translate.bleu_score import corpus_bleu

    from llasmol.evaluate.captions import bleu_scores

    golds = [r.output.lower().split() for r in _records(smolinstruct_val, "molecule_captioning", 40)]
    answer_sets = [
        [gold[: len(gold) // 2] for gold in golds],  # short: brevity penalty
        [gold[::2] for gold in golds],
        golds[::-1],
        [gold + gold[:5] for gold in golds],  # longer than the golds, repeated n-grams clipped
        [gold[:3] for gold in golds[:-1]] + [[]],  # shorter than four tokens, one empty
        [[gold[0]] * 4 for gold in golds],  # no bigram in common: later orders 0, the scores tiny
    ]
    for answers in answer_sets:
        references = [[gold] for gold in golds]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = {"bleu2": corpus_bleu(references, answers, weights=(0.5, 0.5)),
                        "bleu4": corpus_bleu(references, answers)}
        assert bleu_scores(golds, answers) == expected
    assert bleu_scores([["a", "b"]], [["c"]]) == {"bleu2": 0.0, "bleu4": 0.0}


def test_caption_tokens_equal_transformers_bert_tokenizer(smolinstruct_val, shared_data, plain_caption_tokenizer,
                                                          tmp_path):
    from llasmol.evaluate.captions import caption_tokens
    from llasmol.evaluate.resources import load_caption_tokenizer

    vocab_file = shared_data / "scibert" / "vocab.txt"
    reference = plain_caption_tokenizer
    texts = [text for r in _records(smolinstruct_val, "molecule_captioning", 150)
             for text in (r.output, r.output.upper(), "Ünïcödé café 中文 " + r.output * 6)]  # accents, CJK, > 512
    encoded = reference(texts, add_special_tokens=False, truncation=True, max_length=512)
    expected = [encoded.tokens(index) for index in range(len(texts))]
    assert max(map(len, expected)) == 512
    assert caption_tokens(load_caption_tokenizer(vocab_file), texts) == expected
    reference.save_pretrained(tmp_path)  # a tokenizer folder goes through transformers
    assert caption_tokens(load_caption_tokenizer(tmp_path), texts) == expected


@pytest.fixture(scope="module")
def wordnet_readers(caption_resources):
    """(our English WordNet reader, NLTK's own reader) of the same WordNet folder."""
    import warnings

    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    from llasmol.evaluate.resources import use_nltk_data
    from llasmol.evaluate.wordnet import english_wordnet_reader

    use_nltk_data(caption_resources.nltk_data)
    import nltk

    root = nltk.data.find("corpora/wordnet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions not available"
        return english_wordnet_reader(root), WordNetCorpusReader(root, None)


@pytest.mark.slow  # reads WordNet
def test_meteor_with_remembered_synonyms_equals_nltks(smolinstruct_val, caption_resources, wordnet_readers):
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import meteor_score

    from llasmol.evaluate.captions import scoring_tools

    tools = scoring_tools(str(caption_resources.nltk_data))
    captions = [r.output.lower().split() for r in _records(smolinstruct_val, "molecule_captioning", 80)]
    pairs = list(zip(captions[:40], captions[40:], strict=True)) + [(c, c[::-1]) for c in captions[:10]]
    remembered = [meteor_score([g], a, stemmer=tools["stemmer"], wordnet=tools["wordnet"]) for g, a in pairs]
    expected = [meteor_score([g], a, stemmer=PorterStemmer(), wordnet=wordnet_readers[1]) for g, a in pairs]
    assert remembered == expected
    assert len({round(score, 6) for score in expected}) > 30


@pytest.mark.slow  # reads WordNet twice
def test_english_wordnet_reader_loads_what_nltks_reader_loads(wordnet_readers):
    ours, nltks = wordnet_readers
    # every lemma's entry, parsed on demand, equals NLTK's, and the lemmas come in NLTK's order
    assert list(ours._lemma_pos_offset_map) == list(nltks._lemma_pos_offset_map)
    assert ours._lemma_pos_offset_map == nltks._lemma_pos_offset_map
    assert ours._exception_map == nltks._exception_map and ours._lexnames == nltks._lexnames
    assert ours.satellite_offsets == nltks.satellite_offsets and len(ours.satellite_offsets) > 10000
    assert "acid" in ours._lemma_pos_offset_map and "no such lemma" not in ours._lemma_pos_offset_map
    for word in ("acid", "run", "quick", "salts", "bonded"):
        assert [synset.name() for synset in ours.synsets(word)] == [synset.name() for synset in nltks.synsets(word)]


@pytest.mark.slow  # reads WordNet twice
def test_synonym_names_are_the_lemma_names_of_nltks_synsets(wordnet_readers):
    ours, nltks = wordnet_readers
    # every 25th lemma, inflected forms (exception lists, suffix rules), upper case, a marker like "outback(a)"
    words = [*list(nltks._lemma_pos_offset_map)[::25], "geese", "ran", "better", "oxides", "bonded", "Acids",
             "quickest", "mice", "outback", "used_to", "no-such-word"]
    for word in words:
        assert ours.synonym_names(word) == [lemma.name() for synset in nltks.synsets(word)
                                            for lemma in synset.lemmas()], word
    assert "outback" in ours.synonym_names("outback") and not any("(" in n for n in ours.synonym_names("outback"))


def test_lemma_names_of_a_synset_line():
    from llasmol.evaluate.wordnet import lemma_names_of_line

    line = "00020103 00 s 02 outback(a) 0 remote 0 001 & 00019731 a 0000 | inland and far from cities"
    assert lemma_names_of_line(line, 20103) == ["outback", "remote"]  # the syntactic marker "(a)" dropped
    assert lemma_names_of_line(line, 20104) is None  # not the synset at that offset: NLTK's reader decides
    assert lemma_names_of_line(line.replace("cities", "cities | towns"), 20103) is None  # NLTK rejects two '|'
