"""``llasmol.evaluate.opencompass`` against OpenCompass's own SMolInstruct evaluator, on the same replies.

Every sample of the real SMolInstruct validation split (all 14 tasks, SIDER one sample per class)
gets a reply, in turn: the gold tagged as the paper's model writes it, the gold written another way
(random-order SMILES, Kekulé and aromatic forms, reordered or charged formulas, other casing),
another sample's gold, a broken string, garbage text, an empty reply, the gold untagged or inside
a reasoning text, several tagged spans, leading whitespace, and each task's odd cases
(``\\boxed{}``, ``</think>``, reactant headings, a count too long for an int, golds whose parts
SMolInstruct separates with ``;``). Three jobs per task:

- ``templated``: :func:`score_replies` with references rendered in llasmol's own instruction
  templates (text around the tagged gold, as the official ones have);
- ``folder``: :func:`evaluate_opencompass` on a generations folder written from the replies
  (``output`` [reply, a second beam], a few skipped lines with ``output`` null);
- ``mini``: the same folder with ``mini_set=True``.

OpenCompass's side runs in a separate interpreter (a scratch venv with its evaluator's
dependencies) on its own code: ``opencompass/datasets/smolinstruct.py``, ``datasets/base.py`` and
``openicl/icl_evaluator/{icl_base_evaluator,icl_hf_evaluator,hf_metrics/accuracy}.py`` copied byte for
byte from a checkout; only the registries, ``get_logger``, ``DatasetReader`` and mmengine's
``ConfigDict`` are stubbed. Each job loads its rows through ``SmolInstructDataset`` (with
``load_dataset`` patched to return them as both splits, so the mini-set job draws OpenCompass's own
mini set), applies the 0-shot configs' ``pred_postprocessor`` and calls the configs' evaluator
through ``BaseEvaluator.evaluate``, as ``OpenICLEvalTask`` does. The two metric dicts must be equal,
float for float.

Setup and run (the same interpreter version on both sides: the mini set is ``random.sample``)::

    python3 -m venv /tmp/ocenv
    /tmp/ocenv/bin/pip install rdkit==2026.9.1 nltk==3.10.4 numpy==2.4.6 datasets==5.2.0 \\
        scipy==1.17.1 scikit-learn==1.9.1 evaluate==0.4.6
    .venv/bin/python benchmarks/opencompass_parity.py --oc-python /tmp/ocenv/bin/python \\
        --oc-git /work/.mirror/open-compass+opencompass/repo

Outcome (OpenCompass a5acc4bb, CPython 3.11.7, RDKit 2026.09.1, NLTK 3.10.4; about 50 s): all 42
jobs (14 tasks x 3) agree, every metric equal to the last bit, on 20,498 replies per job kind
(5,870 in the mini sets: 500 a task, all of ESOL, Lipo, BBBP and ClinTox); the mini-set jobs also
agree where the draw's order changes the last bit of a sum (ESOL's mini set is all 111 samples:
1114.892, against 1114.8919999999998 in file order). The harness is not blind: stripping untagged
answers, or reading tags without ``re.DOTALL``, makes the NC or FS/RS/MG jobs differ. Not covered:
a formula of more than about 990 tokens is invalid in OpenCompass (its recursive parser exceeds
Python's recursion limit, which depends on the stack depth) and parsed here; ``summary_score`` is
checked by hand in the tests, not against OpenCompass's summarizer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from records import RunRecord, add_record_option

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("LLASMOL_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
DEFAULT_DATA = SHARED_DATA / "smolinstruct" / "val"

# Files run as they are, from the OpenCompass checkout.
VERBATIM = (
    "opencompass/datasets/smolinstruct.py",
    "opencompass/datasets/base.py",
    "opencompass/openicl/icl_evaluator/icl_base_evaluator.py",
    "opencompass/openicl/icl_evaluator/icl_hf_evaluator.py",
    "opencompass/openicl/icl_evaluator/hf_metrics/accuracy.py",
)
# Stubs of what those files import from the rest of OpenCompass and from mmengine.
STUBS = {
    "opencompass/__init__.py": "",
    "opencompass/datasets/__init__.py": "",
    "opencompass/openicl/icl_evaluator/__init__.py": "",
    "opencompass/registry.py": '''
class Registry:
    def __init__(self):
        self.modules = {}

    def register_module(self, name=None, force=False, module=None):
        def register(obj):
            self.modules[name or obj.__name__] = obj
            return obj
        return register

    def get(self, name):
        return self.modules[name]


ICL_EVALUATORS, LOAD_DATASET, TEXT_POSTPROCESSORS = Registry(), Registry(), Registry()
''',
    "opencompass/utils/__init__.py": "from .logging import get_logger  # noqa\n",
    "opencompass/utils/logging.py": '''
import logging


def get_logger(*args, **kwargs):
    return logging.getLogger("opencompass")
''',
    "opencompass/openicl/__init__.py": '''
class DatasetReader:  # the splits only: train_split -> 'train', test_split -> 'test'
    def __init__(self, dataset, input_columns, output_column, train_split="train", test_split="test", **kwargs):
        self.dataset = {"train": dataset[train_split], "test": dataset[test_split]}
''',
    "mmengine/__init__.py": "",
    "mmengine/config.py": "ConfigDict = dict\n",
}
# The 0-shot configs (configs/datasets/SmolInstruct/smolinstruct_*_0shot_instruct.py): evaluator, pred_postprocessor.
OC_EVAL_CFG = {
    "name_conversion-i2f": ("NCElementMatchEvaluator", None),
    "name_conversion-s2f": ("NCElementMatchEvaluator", None),
    "name_conversion-i2s": ("NCExactMatchEvaluator", None),
    "name_conversion-s2i": ("NCExactMatchEvaluator", None),
    "property_prediction-esol": ("RMSEEvaluator", None),
    "property_prediction-lipo": ("RMSEEvaluator", None),
    "property_prediction-bbbp": ("AccEvaluator", "smolinstruct_acc_0shot_postprocess"),
    "property_prediction-clintox": ("AccEvaluator", "smolinstruct_acc_0shot_postprocess"),
    "property_prediction-hiv": ("AccEvaluator", "smolinstruct_acc_0shot_postprocess"),
    "property_prediction-sider": ("AccEvaluator", "smolinstruct_acc_0shot_postprocess"),
    "molecule_captioning": ("MeteorEvaluator", None),
    "molecule_generation": ("FTSEvaluator", None),
    "forward_synthesis": ("FTSEvaluator", None),
    "retrosynthesis": ("FTSEvaluator", None),
}


# --- OpenCompass's side (runs in the scratch venv; standard library and the copied tree only) -----

def opencompass_side(stub_dir: str) -> None:
    """Read jobs (JSON) on stdin, write ``{job id: metrics}`` (JSON) on stdout."""
    sys.path.insert(0, stub_dir)
    from opencompass.datasets import smolinstruct
    from opencompass.openicl.icl_evaluator.icl_hf_evaluator import AccEvaluator

    evaluators = {"AccEvaluator": AccEvaluator, **{name: getattr(smolinstruct, name) for name in (
        "NCElementMatchEvaluator", "NCExactMatchEvaluator", "RMSEEvaluator", "FTSEvaluator", "MeteorEvaluator")}}
    jobs = json.load(sys.stdin)
    results = {}
    with contextlib.redirect_stdout(sys.stderr):  # NCElementMatchEvaluator prints
        for job in jobs:
            results[job["id"]] = _opencompass_job(job, smolinstruct, evaluators)
            print(f"  opencompass: {job['id']}", file=sys.stderr)
    json.dump(results, sys.stdout)


def _opencompass_job(job: dict[str, Any], smolinstruct: Any, evaluators: dict[str, Any]) -> dict[str, float]:
    """Load the job's rows through ``SmolInstructDataset`` and score them as ``OpenICLEvalTask`` does."""
    import copy
    import inspect

    rows = job["rows"]
    smolinstruct.load_dataset = lambda path, trust_remote_code, rows=rows: {"validation": rows, "test": rows}
    dataset = smolinstruct.SmolInstructDataset(
        reader_cfg={"input_columns": ["input"], "output_column": "output", "train_split": "validation"},
        path="osunlp/SMolInstruct", name=job["task"], mini_set=job["mini_set"], abbr=job["id"])
    test_set = dataset.test
    predictions = [job["replies"][row_id] for row_id in test_set["id"]]
    evaluator_name, postprocessor = OC_EVAL_CFG[job["task"]]
    if postprocessor is not None:  # OpenICLEvalTask._process_predictions, eval_cfg's pred_postprocessor
        predictions = [getattr(smolinstruct, postprocessor)(text) for text in predictions]
    evaluator = evaluators[evaluator_name]()
    inputs = {"predictions": predictions, "references": test_set["output"], "test_set": test_set}
    inputs = {key: inputs[key] for key in inspect.signature(evaluator.score).parameters}
    result = evaluator.evaluate(1, 1, copy.deepcopy(test_set), **inputs)
    result.pop("details", None)
    return {key: float(value) for key, value in result.items()}


def build_tree(oc_git: Path, into: Path) -> None:
    """The verbatim OpenCompass files (``git show HEAD:path``) and the stubs, under ``into``."""
    for rel in VERBATIM:
        text = subprocess.run(["git", "--git-dir", str(oc_git), "show", f"HEAD:{rel}"], check=True,
                              capture_output=True).stdout
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        (into / rel).write_bytes(text)
    for rel, text in STUBS.items():
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        (into / rel).write_text(text.lstrip("\n"))


# --- replies ----------------------------------------------------------------------------------

def _random_smiles(smiles: str, rng: random.Random, kekule: bool) -> str:
    from rdkit import Chem

    parts = []
    for part in smiles.split("."):
        mol = Chem.MolFromSmiles(part)
        if mol is None:
            return smiles
        if kekule:
            Chem.Kekulize(mol, clearAromaticFlags=True)
        parts.append(Chem.MolToSmiles(mol, doRandom=True, canonical=False, kekuleSmiles=kekule))
    rng.shuffle(parts)
    return ".".join(parts)


def _smiles_replies(gold: str, other: str, rng: random.Random) -> list[str]:
    from rdkit import Chem

    mol = Chem.MolFromSmiles(gold)
    aromatic = Chem.MolToSmiles(mol) if mol is not None else gold
    broken = gold[: len(gold) // 2] + "(" + gold[len(gold) // 2:]
    return [
        f"<SMILES> {gold} </SMILES>",
        f"<SMILES> {_random_smiles(gold, rng, kekule=True)} </SMILES>",
        f"<SMILES> {aromatic} </SMILES>",
        f"<SMILES> {_random_smiles(gold, rng, kekule=False)} </SMILES></s>",
        f"<SMILES> {other} </SMILES>",
        f"<SMILES> {broken} </SMILES>",
        "I am not sure what the answer is.",
        "",
        gold,
        f"First guess <SMILES>{other}</SMILES>, on reflection <SMILES>\n{gold}\n</SMILES>.",
        f"**Reactants and Reagents:**\n```\n{gold}\n```",
        f"<SMILES> {gold.split('.')[0]} </SMILES>",
        f"<SMILES> {gold} extra words </SMILES>",
        f"<IUPAC> {gold} </IUPAC>",
        "<SMILES> C1=CC=[N+2]C=C1 </SMILES>",
        f"<SMILES> {gold}",
        f" {gold}",
    ]


def _formula_replies(gold: str, other: str, rng: random.Random) -> list[str]:
    import re

    tokens = re.findall(r"[A-Z][a-z]?\d*", gold)
    rng.shuffle(tokens)
    return [
        f"<MOLFORMULA> {gold} </MOLFORMULA>",
        f"<MOLFORMULA> {''.join(tokens)} </MOLFORMULA>",
        f"<MOLFORMULA> {gold}+ </MOLFORMULA>",
        f"<MOLFORMULA> {gold.lower()} </MOLFORMULA>",
        f"<MOLFORMULA> {' '.join(tokens)} </MOLFORMULA>",
        "<MOLFORMULA> Ca(OH)2 </MOLFORMULA>",
        "",
        f"The formula is {gold}.",
        gold,
        f"<MOLFORMULA> {other} </MOLFORMULA>",
        f"{gold}\n",
        f"<MOLFORMULA> {gold}C0 </MOLFORMULA>",
        "<SMILES> CCO </SMILES>",
        "<MOLFORMULA> C" + "9" * 5000 + " </MOLFORMULA>",
        f"<MOLFORMULA> {gold}xyz </MOLFORMULA>",
        f"<MOLFORMULA> {gold}-2+ </MOLFORMULA>",
        f" {gold}",
    ]


def _name_replies(gold: str, other: str, rng: random.Random) -> list[str]:
    del rng
    return [
        f"<IUPAC> {gold} </IUPAC>",
        f"<IUPAC> {gold.upper()} </IUPAC>",
        f"<IUPAC>   {gold}\n</IUPAC>",
        f"<IUPAC> {other} </IUPAC>",
        "",
        f"\n {gold} \n",
        "No idea.",
        f"<IUPAC> {gold};{gold} </IUPAC>",
        "   ",
        f"<IUPAC> {other} </IUPAC> or rather <IUPAC> {gold} </IUPAC>",
    ]


def _number_replies(gold: str, other: str, rng: random.Random) -> list[str]:
    value = float(gold)
    return [
        f"<NUMBER> {gold} </NUMBER>",
        f"\\boxed{{{gold}}}",
        f"<NUMBER> {value + rng.uniform(-2, 2):.3f} </NUMBER>",
        gold,
        "",
        "It is quite soluble.",
        "<NUMBER> 1e3 </NUMBER>",
        "<NUMBER> 12345.678 </NUMBER>",
        f"<NUMBER> {other} </NUMBER> then <NUMBER> {gold} </NUMBER>",
        "<NUMBER> -.5 </NUMBER>",
        f"The answer is \\boxed{{ {value * 2} }}.",
    ]


def _label_replies(gold: str, other: str, rng: random.Random) -> list[str]:
    del other, rng
    flip = "No" if gold == "Yes" else "Yes"
    return [
        f"<BOOLEAN> {gold} </BOOLEAN>",
        f"<BOOLEAN> {flip} </BOOLEAN>",
        gold,
        f"{flip.lower()}.",
        f"The answer is {gold.lower()}",
        f"\\boxed{{{flip}}}",
        f"<think>It could be {flip.lower()} ... </think> {gold}",
        "maybe",
        "",
        f"Answer: {gold.upper()}",
        "I think it is not toxic, so no",
        "yeſ",
        f"**Answer:** {flip.lower()}",
        "Nothing is known about it.",
        f"<|begin_of_box|>{gold}<|end_of_box|>",
    ]


def _caption_replies(gold: str, other: str, rng: random.Random) -> list[str]:
    words = gold.split()
    shuffled = words[:]
    rng.shuffle(shuffled)
    return [
        gold,
        " ".join(words[: len(words) // 2]),
        " ".join(shuffled),
        other,
        "",
        "I cannot describe this molecule.",
        gold + "</s>",
        gold.lower(),
        "   ",
    ]


def replies_for(task: Any, golds: list[str], seed: int) -> list[str]:
    """One reply per sample, cycling through the task family's kinds of reply."""
    from llasmol.tasks import AnswerType

    make = {AnswerType.SMILES: _smiles_replies, AnswerType.FORMULA: _formula_replies,
            AnswerType.IUPAC: _name_replies, AnswerType.NUMBER: _number_replies,
            AnswerType.BOOLEAN: _label_replies, AnswerType.TEXT: _caption_replies}[task.answer_type]
    rng = random.Random(seed)
    replies = []
    for index, gold in enumerate(golds):
        kinds = make(gold, golds[(index * 7 + 3) % len(golds)], rng)
        replies.append(kinds[index % len(kinds)])
    return replies


# --- llasmol's side ---------------------------------------------------------------------------

def _templated(task: Any, reference: str, target: str | None, rng: random.Random) -> str:
    from llasmol.data.templates import load_templates

    template = rng.choice(load_templates(task.name))
    if target is not None:
        template = template.with_target(target)
    return template.output.replace("<OUTPUT>", reference)


def _write_folder(folder: Path, task: Any, records: list[Any], replies: list[str]) -> None:
    from llasmol.tasks import extract_answers

    with (folder / f"{task.name}.jsonl").open("w", encoding="utf-8") as handle:
        for index, (record, reply) in enumerate(zip(records, replies, strict=True)):
            skipped = reply == "" and index % 3 == 0  # a prompt too long: output and pred null
            outputs = None if skipped else [reply, "a second beam"]
            line = {"input": record.input, "gold": record.output, "task": task.name, "target": record.target,
                    "output": outputs, "pred": None if outputs is None else extract_answers(outputs, task)}
            handle.write(json.dumps(line) + "\n")


def prepare(data: Path, folder: Path, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(OpenCompass jobs, llasmol's metrics by job id)."""
    from llasmol.data.raw import iter_raw_records
    from llasmol.evaluate.opencompass import evaluate_opencompass, reference_text, score_replies
    from llasmol.tasks import TASK_NAMES, get_task

    jobs, ours = [], {}
    for name in TASK_NAMES:
        task = get_task(name)
        records = list(iter_raw_records(data / f"{name}.jsonl"))
        replies = replies_for(task, [record.output for record in records], seed)
        rng = random.Random(seed)
        templated = [_templated(task, reference_text(task, r.output), r.target, rng) for r in records]
        bare = [reference_text(task, record.output) for record in records]
        ours[f"{name}/templated"] = score_replies(task, replies, templated)
        _write_folder(folder, task, records, replies)
        for kind, references, mini in (("templated", templated, False), ("folder", bare, False), ("mini", bare, True)):
            rows = [{"id": str(i), "task": name, "input": r.input, "output": ref, "target": r.target}
                    for i, (r, ref) in enumerate(zip(records, references, strict=True))]
            jobs.append({"id": f"{name}/{kind}", "task": name, "mini_set": mini, "rows": rows,
                         "replies": {str(i): reply for i, reply in enumerate(replies)}})
        print(f"  llasmol: {name} ({len(records)} samples)", file=sys.stderr)
    for kind, mini in (("folder", False), ("mini", True)):
        for name, metrics in evaluate_opencompass(folder, mini_set=mini).items():
            ours[f"{name}/{kind}"] = metrics
    return jobs, ours


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--oc-python", default="/tmp/ocenv/bin/python", help="the scratch venv's interpreter")
    parser.add_argument("--oc-git", type=Path, default=Path("/work/.mirror/open-compass+opencompass/repo"),
                        help="git directory of an OpenCompass checkout (HEAD is read)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SMolInstruct raw validation folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--opencompass-side", metavar="TREE", help=argparse.SUPPRESS)
    add_record_option(parser)
    args = parser.parse_args()
    if args.opencompass_side:
        opencompass_side(args.opencompass_side)
        return 0
    run_record = RunRecord("opencompass_parity", enabled=args.record)

    from llasmol.evaluate.resources import ensure_wordnet

    with tempfile.TemporaryDirectory() as scratch:
        tree, folder = Path(scratch) / "tree", Path(scratch) / "generations"
        folder.mkdir()
        build_tree(args.oc_git, tree)
        started = time.perf_counter()
        jobs, ours = prepare(args.data, folder, args.seed)
        ours_seconds = time.perf_counter() - started
        env = {**os.environ, "NLTK_DATA": str(ensure_wordnet()), "HF_HUB_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1",
               "HF_DATASETS_OFFLINE": "1"}
        started = time.perf_counter()
        done = subprocess.run([args.oc_python, __file__, "--opencompass-side", str(tree)], input=json.dumps(jobs),
                              capture_output=True, text=True, env=env, cwd=scratch)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 2
        theirs = json.loads(done.stdout)
        theirs_seconds = time.perf_counter() - started
    commit = subprocess.run(["git", "--git-dir", str(args.oc_git), "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    replies = sum(len(job["rows"]) for job in jobs if job["id"].endswith("/folder"))
    mini = sum(min(len(job["rows"]), 500) for job in jobs if job["id"].endswith("/mini"))
    print(f"OpenCompass {commit}; {replies} replies (mini set: {mini}); "
          f"llasmol {ours_seconds:.1f} s, OpenCompass {theirs_seconds:.1f} s, three jobs a task each")
    disagree = 0
    for job in jobs:
        key = job["id"]
        same = ours[key] == theirs[key]
        disagree += not same
        print(f"{'agree' if same else 'DIFFER':6} {key:38} llasmol {json.dumps(ours[key])}")
        if not same:
            print(f"{'':6} {'':38} opencompass {json.dumps(theirs[key])}")
    print(f"{len(jobs) - disagree} of {len(jobs)} jobs agree")
    run_record.write({"opencompass_commit": commit, "replies": replies, "mini_set_replies": mini,
                      "llasmol_seconds": round(ours_seconds, 1), "opencompass_seconds": round(theirs_seconds, 1),
                      "jobs": len(jobs), "jobs_agree": len(jobs) - disagree,
                      "jobs_differ": [job["id"] for job in jobs if ours[job["id"]] != theirs[job["id"]]]})
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
