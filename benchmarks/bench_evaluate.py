"""Evaluator speed on perturbed predictions built from the real SMolInstruct validation split.

Each validation sample gets k answers (k = the task's num_return_sequences): the gold, the gold
written another way, the gold with a mutated atom, a broken string, an empty answer, another
sample's gold, in shuffled order; a few samples are skipped (null). The samples are repeated up
to the test split's size (about twice the validation split for the SMILES and caption tasks).
By default (``--copies distinct``) each repeated copy has other molecules and captions, as
distinct test samples do; ``--copies rewritten`` writes the same molecules anew (random atom
order), so that only work keyed by strings is repeated; ``--copies repeated`` repeats the samples
as they are, which flatters every cache.

Then ``evaluate_predictions`` is timed as a program is: in a fresh process, from its start
(interpreter, imports, WordNet) to the metrics. The reference's per-sample algorithm in its plain
form (``llasmol.evaluate.reference``: no caches, no skip rules, one process) is timed on a subset
of each task and extrapolated; what it does once per run (importing its libraries, loading the
tokenizer and WordNet) is timed once, in a fresh process. The metrics of both on that subset are
compared. Ours is timed again after the reference, and the ratio uses the mean of the two runs.

Usage: python benchmarks/bench_evaluate.py [--workers 2] [--reference-samples 150] [--copies distinct]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rdkit import Chem, RDLogger

from llasmol.data.raw import RawRecord, iter_raw_records
from llasmol.evaluate import CaptionResources, read_predictions, score_task
from llasmol.evaluate.gold import golds_from_records
from llasmol.evaluate.reference import reference_scores, reference_tokenizer
from llasmol.tasks import TASKS, AnswerType, Task
from records import RunRecord, add_record_option

RDLogger.DisableLog("rdApp.*")
ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
# Samples per task in SMolInstruct's test split (SIDER: 20 classes per molecule).
TEST_SPLIT_SIZES = {
    "forward_synthesis": 4062, "retrosynthesis": 4156, "molecule_captioning": 2538, "molecule_generation": 2493,
    "name_conversion-i2f": 2993, "name_conversion-i2s": 2993, "name_conversion-s2f": 2993,
    "name_conversion-s2i": 2993, "property_prediction-esol": 117, "property_prediction-lipo": 420,
    "property_prediction-bbbp": 197, "property_prediction-clintox": 145, "property_prediction-hiv": 4126,
    "property_prediction-sider": 2860,
}
SKIPPED_FRACTION = 0.003


def _rewrite(smiles: str, rng: random.Random) -> str:
    """The same molecule(s) in a random atom order."""
    mol = Chem.MolFromSmiles(smiles.replace(";", "."))
    if mol is None:
        return smiles
    return Chem.MolToRandomSmilesVect(mol, 1, randomSeed=rng.randrange(1 << 30))[0]


_SUBSTITUENTS = ("C", "C", "N", "O", "F", "Cl")


def _variant(smiles: str, rng: random.Random) -> str:
    """Another molecule like ``smiles`` (Kekulé SMILES): a hydrogen replaced by a small substituent."""
    mol = Chem.MolFromSmiles(smiles.replace(";", "."))
    if mol is None:
        return smiles
    spots = [atom.GetIdx() for atom in mol.GetAtoms() if atom.GetTotalNumHs() > 0]
    rng.shuffle(spots)
    for spot in spots[:5]:
        edited = Chem.RWMol(mol)
        atom = edited.GetAtomWithIdx(spot)
        if atom.GetNumExplicitHs():
            atom.SetNumExplicitHs(atom.GetNumExplicitHs() - 1)
        edited.AddBond(spot, edited.AddAtom(Chem.Atom(rng.choice(_SUBSTITUENTS))), Chem.BondType.SINGLE)
        try:
            Chem.SanitizeMol(edited)
        except Chem.MolSanitizeException:
            continue
        return Chem.MolToSmiles(edited, kekuleSmiles=True)
    return smiles


def _rotated_sentences(text: str, turn: int) -> str:
    """The caption's sentences, the first ``turn`` moved to the end: other text, same words."""
    sentences = [sentence for sentence in text.split(". ") if sentence]
    turn %= len(sentences) or 1
    return ". ".join(sentences[turn:] + sentences[:turn])


def _mutate(smiles: str, rng: random.Random) -> str:
    spots = [i for i, char in enumerate(smiles) if char == "C" and smiles[i + 1:i + 2] != "l"]
    if not spots:
        return smiles + "C"
    spot = rng.choice(spots)
    return smiles[:spot] + rng.choice("NOS") + smiles[spot + 1:]


def _smiles_answers(gold: str, other: str, k: int, rng: random.Random) -> list[str]:
    pool = [gold, _rewrite(gold, rng), _mutate(gold, rng), _mutate(gold, rng), gold[: len(gold) // 2] + "(",
            "", other]
    first = gold if rng.random() < 0.5 else rng.choice(pool)
    rest = [rng.choice(pool) for _ in range(k - 1)]
    rng.shuffle(rest)
    return [first, *rest]


def _formula_answers(gold: str, other: str, k: int, rng: random.Random) -> list[str]:
    bumped = "".join(str(int(c) + 1) if c.isdigit() and i == 1 else c for i, c in enumerate(gold))
    pool = [gold, bumped, f"{gold}(OH)2", "", other]
    return [gold if rng.random() < 0.8 else rng.choice(pool), *(rng.choice(pool) for _ in range(k - 1))]


def _name_answers(gold: str, other: str, k: int, rng: random.Random) -> list[str]:
    pool = [gold, f"{gold};sodium", other, "", gold.replace("methyl", "ethyl")]
    return [gold if rng.random() < 0.3 else rng.choice(pool), *(rng.choice(pool) for _ in range(k - 1))]


def _caption_answers(gold: str, other: str, rng: random.Random) -> list[str]:
    return [rng.choice([gold, other, gold[: len(gold) // 2], other[: len(other) // 3] + gold[len(gold) // 2:], ""])]


def _property_answers(task: Task, gold: str, rng: random.Random) -> list[str]:
    if task.answer_type is AnswerType.NUMBER:
        return [rng.choice([f"{float(gold) + rng.gauss(0, 1):.3f}"] * 8 + ["n/a", ""])]
    flipped = "No" if gold == "Yes" else "Yes"
    return [rng.choice([gold] * 7 + [flipped] * 2 + ["maybe", ""])]


def _answers(task: Task, gold: str, other: str, rng: random.Random) -> list[str]:
    k = task.generation.num_return_sequences
    kind = task.answer_type
    if kind is AnswerType.SMILES:
        return _smiles_answers(gold, other, k, rng)
    if kind is AnswerType.FORMULA:
        return _formula_answers(gold, other, k, rng)
    if kind is AnswerType.IUPAC:
        return _name_answers(gold, other, k, rng)
    if kind is AnswerType.TEXT:
        return _caption_answers(gold, other, rng)
    return _property_answers(task, gold, rng)


def _copy_of(task: Task, records: list[RawRecord], copy: int, copies: str, rng: random.Random) -> list[tuple[str, str]]:
    """(input, gold) of each record in repeated copy number ``copy`` (0: the records as they are)."""
    if copy and copies == "rewritten" and task.answer_type is AnswerType.SMILES:
        return [(record.input, _rewrite(record.output, rng)) for record in records]
    if copy and copies == "distinct" and task.answer_type is AnswerType.SMILES:
        return [(f"{record.input} (variant {copy})", _variant(record.output, rng)) for record in records]
    if copy and copies == "distinct" and task.answer_type is AnswerType.TEXT:
        return [(f"{record.input} (variant {copy})", _rotated_sentences(record.output, copy)) for record in records]
    return [(record.input, record.output) for record in records]


def build_predictions(val: Path, folder: Path, copies: str = "repeated", seed: int = 0) -> dict[str, int]:
    """Write perturbed ``<task>.jsonl`` predictions at the test split's size; samples per task.

    ``copies`` says how the validation samples are repeated up to that size: ``repeated`` as they
    are; ``rewritten`` with each SMILES gold written anew (the same molecules, other strings);
    ``distinct`` with other molecules (a hydrogen of each gold replaced by a small substituent)
    and captions with their sentences in another order, each copy with its own inputs, so that no
    copy shares work with another beyond what distinct test samples share.
    """
    rng = random.Random(seed)
    sizes = {}
    for name, task in TASKS.items():
        raw = list(iter_raw_records(val / f"{name}.jsonl"))
        wanted = TEST_SPLIT_SIZES[name]
        lines = []
        for copy in range(math.ceil(wanted / len(raw))):
            samples = _copy_of(task, raw, copy, copies, rng)
            for index, (record, (text, gold)) in enumerate(zip(raw, samples, strict=True)):
                if len(lines) == wanted:
                    break
                other = samples[(index * 7 + 3) % len(raw)][1]
                answers = None if rng.random() < SKIPPED_FRACTION else _answers(task, gold, other, rng)
                lines.append(json.dumps({"input": text, "gold": gold, "pred": answers, "task": name,
                                         "target": record.target}))
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        sizes[name] = len(lines)
    return sizes


# Run in a fresh process: the first evaluation counts from the moment the parent starts it.
_EVALUATE_TWICE = """
import json, resource, sys, time
from pathlib import Path


def cpu():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


started, folder, vocab, workers = float(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
from llasmol.evaluate import evaluate_predictions

evaluate_predictions(folder, scibert_vocab=vocab, workers=workers, show_progress=False)
first = {"wall": time.time() - started, "cpu": cpu()}
start, cpu_start = time.perf_counter(), cpu()
evaluate_predictions(folder, scibert_vocab=vocab, workers=workers, show_progress=False)
print(json.dumps({"first": first, "again": {"wall": time.perf_counter() - start, "cpu": cpu() - cpu_start}}))
"""


def evaluate_in_fresh_process(folder: Path, vocab: Path, workers: int) -> dict[str, dict[str, float]]:
    """Wall and CPU seconds of a program's first evaluation (start-up included), and of a second one in it."""
    started = time.time()
    done = subprocess.run([sys.executable, "-c", _EVALUATE_TWICE, str(started), str(folder), str(vocab), str(workers)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def start_up_reference(vocab_file: Path | str) -> Any:
    """What the reference does once per run: import its libraries, read WordNet; returns the tokenizer."""
    import sklearn.metrics  # noqa: F401
    from nltk.corpus import wordnet
    from nltk.translate import bleu_score, meteor_score  # noqa: F401
    from rouge_score import rouge_scorer  # noqa: F401

    wordnet.synsets("acid")  # NLTK reads WordNet on first use
    return reference_tokenizer(vocab_file)


_REFERENCE_START_UP = """
import sys, time

start = time.process_time()
sys.path.insert(0, sys.argv[1])
from bench_evaluate import start_up_reference

start_up_reference(sys.argv[2])
print(time.process_time() - start)
"""


def _reference_start_up(vocab_file: Path) -> float:
    """CPU seconds of what the reference does once per run, in a fresh process.

    It imports its libraries (RDKit, NLTK, rouge-score, scikit-learn, transformers), loads the
    SciBERT tokenizer and reads NLTK's WordNet; timed apart, so that none of it is extrapolated
    with the subset.
    """
    done = subprocess.run([sys.executable, "-c", _REFERENCE_START_UP, str(Path(__file__).resolve().parent),
                           str(vocab_file)], check=True, capture_output=True, text=True)
    return float(done.stdout.splitlines()[-1])


def _close(first: object, second: object) -> bool:
    if isinstance(first, float) or isinstance(second, float):
        if first is None or second is None:
            return first is second or (isinstance(first or second, float) and math.isnan(first or second))
        return math.isclose(float(first), float(second), rel_tol=1e-9, abs_tol=1e-12)
    return first == second


def compare_with_reference(folder: Path, samples: int, captions: CaptionResources, vocab_file: Path
                           ) -> tuple[float, float, int, list[str]]:
    """(reference CPU seconds extrapolated to the full set, of them start-up, subset size, metric mismatches)."""
    start_up = _reference_start_up(vocab_file)
    seconds, count, mismatches = start_up, 0, []
    tokenizer = start_up_reference(vocab_file)  # here too, before any timing
    for name, task in TASKS.items():
        records = read_predictions(folder / f"{name}.jsonl", task)[:samples]
        golds = golds_from_records(records).answers
        start = time.process_time()
        expected = reference_scores(task, [record.answers for record in records], golds, tokenizer)
        seconds += (time.process_time() - start) * TEST_SPLIT_SIZES[name] / len(records)
        count += len(records)
        ours = score_task(task, records, golds, captions=captions)
        mismatches += [f"{name}.{key}: ours {ours.get(key)} reference {value}"
                       for key, value in expected.items() if not _close(ours.get(key), value)]
    return seconds, start_up, count, mismatches


def _rounded(seconds: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 1) for key, value in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--val", type=Path, default=DATA / "smolinstruct" / "val")
    parser.add_argument("--scibert-vocab", type=Path, default=DATA / "scibert" / "vocab.txt")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--copies", choices=["distinct", "rewritten", "repeated"], default="distinct",
                        help="how validation samples are repeated up to the test split's size (see build_predictions)")
    parser.add_argument("--fresh-copies", action="store_const", const="rewritten", dest="copies",
                        help="the same as --copies rewritten")
    parser.add_argument("--reference-samples", type=int, default=150,
                        help="samples per task for the reference timing and comparison (0: skip)")
    add_record_option(parser)
    args = parser.parse_args()
    run_record = RunRecord("bench_evaluate", enabled=args.record)

    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        start = time.perf_counter()
        sizes = build_predictions(args.val, folder, args.copies)
        total = sum(sizes.values())
        answers = sum(len(json.loads(line)["pred"] or []) for path in folder.glob("*.jsonl")
                      for line in path.read_text().splitlines())
        print(f"built {total} samples ({answers} answers) in {time.perf_counter() - start:.1f} s")

        timings = evaluate_in_fresh_process(folder, args.scibert_vocab, args.workers)
        ours, ours_cpu = timings["first"]["wall"], timings["first"]["cpu"]
        print(f"evaluate_predictions, {args.workers} workers, a fresh process from its start: wall {ours:.1f} s = "
              f"{total / ours:.0f} samples/s; CPU {ours_cpu:.1f} s (all processes)")
        again, again_cpu = timings["again"]["wall"], timings["again"]["cpu"]
        print(f"same files again in the same process (molecules remembered): wall {again:.1f} s = "
              f"{total / again:.0f} samples/s; CPU {again_cpu:.1f} s")
        figures: dict[str, Any] = {"copies": args.copies, "workers": args.workers, "samples": total,
                                   "answers": answers, "ours_fresh_process": _rounded(timings["first"]),
                                   "ours_again_same_process": _rounded(timings["again"])}

        if args.reference_samples:
            captions = CaptionResources(args.scibert_vocab).load()
            reference, start_up, count, mismatches = compare_with_reference(
                folder, args.reference_samples, captions, args.scibert_vocab)
            print(f"reference algorithm (no caches, 1 process), CPU time on {count} samples, extrapolated to "
                  f"{total}: {reference:.0f} s = {total / reference:.0f} samples/s (start-up, once: "
                  f"{start_up:.1f} s)")
            # Timed again after the reference, so that a machine whose speed drifts meanwhile slows
            # or speeds both sides alike: the ratio takes the mean of the two.
            after = evaluate_in_fresh_process(folder, args.scibert_vocab, args.workers)["first"]
            print(f"evaluate_predictions again after the reference, a fresh process: wall {after['wall']:.1f} s; "
                  f"CPU {after['cpu']:.1f} s")
            ours, ours_cpu = (ours + after["wall"]) / 2, (ours_cpu + after["cpu"]) / 2
            print(f"CPU-time ratio reference / ours: {reference / ours_cpu:.1f}x; reference CPU / our wall: "
                  f"{reference / ours:.1f}x (ours: mean of before and after, wall {ours:.1f} s)")
            print(f"metrics on the subset equal to the reference's: {not mismatches}")
            for line in mismatches:
                print("  mismatch:", line)
            figures.update({
                "reference_cpu_seconds_extrapolated": round(reference),
                "reference_start_up_cpu_seconds": round(start_up, 1),
                "reference_subset_samples": count,
                "ours_after_reference": _rounded(after),
                "ours_mean": _rounded({"wall": ours, "cpu": ours_cpu}),
                "ratio_cpu": round(reference / ours_cpu, 1),
                "ratio_reference_cpu_to_our_wall": round(reference / ours, 1),
                "metrics_equal": not mismatches, "mismatches": mismatches,
            })
    run_record.write(figures)


if __name__ == "__main__":
    main()
