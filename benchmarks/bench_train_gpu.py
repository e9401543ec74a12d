"""GPU training proof: bf16 LoRA steps with llasmol's trainer; prints step time, tokens/s and peak memory.

    python benchmarks/bench_train_gpu.py --data ../shared/data/smolinstruct --steps 40 --batch 64 --micro-batch 16

Runs under ``torchrun``/``accelerate launch`` too (each process reports its own memory).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from itertools import pairwise
from pathlib import Path

from records import RunRecord, add_record_option

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default=None, help="default: SmolLM2-135M-Instruct GGUF")
    parser.add_argument("--split", default="validation")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--micro-batch", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--output", default="runs/gpu-proof")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    add_record_option(parser)
    args = parser.parse_args()
    rank = int(os.environ.get("RANK", "0"))
    run_record = RunRecord("bench_train_gpu", enabled=args.record and rank == 0)  # one record, not one per process

    import torch

    from llasmol.train import preset, train
    from llasmol.train.callbacks import read_log

    config = preset(
        "paper", model=args.model, data=args.data, train_split=args.split, eval_split=args.split, eval_samples=256,
        max_steps=args.steps, batch_size=args.batch, micro_batch_size=args.micro_batch, max_length=args.max_length,
        learning_rate=2e-4, logging_steps=1, eval_steps=max(1, args.steps // 4), save_steps=args.steps,
        gradient_checkpointing=args.gradient_checkpointing, output_dir=args.output, progress=False,
    )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    result = train(config)
    summary = {
        "rank": rank, "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "steps": result.global_step, "tokens": result.tokens, "tokens_per_second": round(result.tokens_per_second, 1),
        "train_seconds": round(result.tokens / result.tokens_per_second, 2) if result.tokens_per_second else None,
        "eval_loss": result.eval_loss, "best_eval_loss": result.best_eval_loss,
    }
    if torch.cuda.is_available():
        summary["peak_memory_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
        summary["peak_memory_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 2**30, 3)
    if rank == 0:
        log = read_log(Path(args.output) / "train_log.jsonl")
        times = [record["time"] for record in log if "loss" in record]
        gaps = [later - earlier for earlier, later in pairwise(times)]
        steady = gaps[2:] or gaps
        summary["seconds_per_step_median"] = round(statistics.median(steady), 4) if steady else None
        losses = [record["loss"] for record in log if "loss" in record]
        evals = [record["eval_loss"] for record in log if "eval_loss" in record]
        summary["train_loss_first_last"] = [losses[0], losses[-1]] if losses else None
        summary["eval_losses"] = evals
        info = json.loads((Path(args.output) / "run_info.json").read_text())
        summary["schedule"] = info["schedule"]
        summary["mixed_precision"] = info["model"]["mixed_precision"]
        summary["versions"] = info["versions"]
    print("RESULT " + json.dumps(summary))
    run_record.write(summary)


if __name__ == "__main__":
    main()
