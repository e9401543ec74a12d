"""Speed of `llasmol generate` (batched) against generating one sample at a time, and what --verify does.

Two one-at-a-time loops: the backend given a batch of one (it still runs each prompt once for all its
beams), and ``model.generate`` called per prompt as the paper's script does. All sides use the same
loaded model, the same prompts (real validation samples of several tasks) and the paper's per-task beam
settings (new tokens capped by --max-new-tokens to keep the run short); model loading is not timed.
Prints samples/s of each side, the speed-ups, how many samples got identical outputs, and Valid / EM
(top-1) as the evaluator scores them with and without chemically checked decoding (the same generated
texts; --verify only changes which extracted answer comes first).

    .venv/bin/python benchmarks/bench_generate.py --samples 12 --tasks NC-S2F,PP-BBBP,FS,MC
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from records import RunRecord, add_record_option

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "smolinstruct" / "val"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model (default: SmolLM2-135M-Instruct GGUF)")
    parser.add_argument("--adapter", default=None)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--split", default="validation")
    parser.add_argument("--tasks", default="NC-S2F,PP-BBBP,FS,MC")
    parser.add_argument("--samples", type=int, default=12, help="samples per task (both sides)")
    parser.add_argument("--loop-samples", type=int, default=None, help="samples per task for the one-at-a-time "
                        "side (default: --samples); its first N are the same samples")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default=None, help="default: auto (float32 on CPU, bfloat16 on GPU)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-eval", action="store_true", help="skip scoring (Valid/EM with and without --verify)")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the figures here")
    add_record_option(parser)
    return parser.parse_args()


def plain_generate(backend: Any, ids: list[int], settings: Any) -> list[str]:
    """One prompt through ``model.generate`` as the paper's script calls it (every beam runs the prompt)."""
    import torch

    input_ids = torch.tensor([ids], device=backend.device)
    with torch.inference_mode():
        sequences = backend.model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                           generation_config=backend.generation_config(settings))
    return [text.strip() for text in backend.tokenizer.batch_decode(sequences[:, len(ids):], skip_special_tokens=True)]


def capped_new_tokens(tasks: list[Any], cap: int) -> dict[str, Any]:
    """Per task, decoding options that cap its new tokens at ``cap`` (shorter limits kept)."""
    from llasmol.generate import DecodingOptions

    return {task.name: DecodingOptions(max_new_tokens=min(task.generation.max_new_tokens, cap)) for task in tasks}


def run_one_at_a_time(backend: Any, tasks: list[Any], data: str, split: str, samples: int, max_new_tokens: int,
                      plain: bool = False) -> tuple[int, float, dict[str, list[list[str] | None]]]:
    """Generate each sample alone, same prompts and settings; returns (n, seconds, outputs).

    ``plain``: with ``model.generate`` itself; else with the backend, given a batch of one.
    """
    from llasmol.generate.runner import load_samples, tokenize_prompts
    from llasmol.generate.settings import resolve_settings
    from llasmol.tasks import DEFAULT_MAX_PROMPT_TOKENS

    count, seconds, outputs = 0, 0.0, {}
    for task in tasks:
        rows = load_samples(data, split, task, samples)
        prompts = tokenize_prompts(rows, backend.tokenizer, "paper")
        settings = resolve_settings(task, capped_new_tokens([task], max_new_tokens)[task.name])
        started = time.perf_counter()
        task_outputs: list[list[str] | None] = []
        for ids in prompts:
            if len(ids) > DEFAULT_MAX_PROMPT_TOKENS:
                task_outputs.append(None)
            else:
                task_outputs.append(plain_generate(backend, ids, settings) if plain
                                    else backend.generate([ids], settings)[0])
        seconds += time.perf_counter() - started
        count += len(prompts)
        outputs[task.name] = task_outputs
    return count, seconds, outputs


def verified_copy(source: Path, target: Path) -> None:
    """The same generations with chemically checked decoding applied to ``pred``."""
    from llasmol.generate.answers import verified_order
    from llasmol.tasks import get_task

    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.jsonl"):
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for line in lines:
            line["pred"] = verified_order(line["pred"], get_task(line["task"]))
        path_out = target / path.name
        path_out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")


def headline(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keep = ("EM", "Valid", "Acc", "RMSE", "METEOR", "num_valid", "num_correct", "num_all")
    return {task: {key: value for key, value in values.items() if key in keep} for task, values in metrics.items()}


def main() -> None:
    args = parse_args()
    run_record = RunRecord("bench_generate", enabled=args.record)
    import torch

    torch.set_num_threads(args.threads)
    from llasmol.generate import generate_on_dataset, load_backend
    from llasmol.models import resolve_model
    from llasmol.tasks import resolve_tasks

    tasks = resolve_tasks(args.tasks)
    source = resolve_model(args.model)
    started = time.perf_counter()
    backend = load_backend("hf", source, args.adapter, args.device, args.dtype)
    load_seconds = time.perf_counter() - started
    work = Path(tempfile.mkdtemp(prefix="bench_generate_"))
    try:
        started = time.perf_counter()
        summary = generate_on_dataset(source, args.data, args.split, [task.name for task in tasks], work / "plain",
                                      backend=backend, batch_size=args.batch_size, max_samples=args.samples,
                                      decoding=capped_new_tokens(tasks, args.max_new_tokens), show_progress=False)
        batched_seconds = time.perf_counter() - started
        batched_count = sum(report["samples"] for report in summary["tasks"].values())
        loop_samples = args.loop_samples or args.samples
        loop_count, loop_seconds, loop_outputs = run_one_at_a_time(backend, tasks, args.data, args.split,
                                                                   loop_samples, args.max_new_tokens)
        plain_count, plain_seconds, plain_outputs = run_one_at_a_time(backend, tasks, args.data, args.split,
                                                                      loop_samples, args.max_new_tokens, plain=True)
        same = same_plain = total = 0
        for task in tasks:
            lines = [json.loads(line) for line in (work / "plain" / f"{task.name}.jsonl").read_text().splitlines()]
            for line, alone, alone_plain in zip(lines, loop_outputs[task.name], plain_outputs[task.name],
                                                strict=False):
                total += 1
                same += line["output"] == alone
                same_plain += line["output"] == alone_plain
        plain = verified = {}
        if not args.no_eval:
            from llasmol.evaluate import evaluate_predictions

            verified_copy(work / "plain", work / "verified")
            plain = evaluate_predictions(work / "plain", workers=1, show_progress=False)
            verified = evaluate_predictions(work / "verified", workers=1, show_progress=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    batched_rate, loop_rate = batched_count / batched_seconds, loop_count / loop_seconds
    plain_rate = plain_count / plain_seconds
    figures = {
        "model": source.label, "device": str(getattr(backend, "device", "")),
        "dtype": str(getattr(backend, "dtype", args.dtype)),
        "threads": args.threads, "tasks": [task.name for task in tasks], "max_new_tokens": args.max_new_tokens,
        "model_load_seconds": round(load_seconds, 1),
        "batch_sizes": {name: report["batch_size"] for name, report in summary["tasks"].items()},
        "batched": {"samples": batched_count, "seconds": round(batched_seconds, 2),
                    "samples_per_second": round(batched_rate, 3)},
        "one_at_a_time": {"samples": loop_count, "seconds": round(loop_seconds, 2),
                          "samples_per_second": round(loop_rate, 3)},
        "one_at_a_time_plain_generate": {"samples": plain_count, "seconds": round(plain_seconds, 2),
                                         "samples_per_second": round(plain_rate, 3)},
        "speedup": round(batched_rate / loop_rate, 2),
        "speedup_over_plain_generate": round(batched_rate / plain_rate, 2),
        "identical_outputs": f"{same}/{total}",
        "identical_outputs_plain_generate": f"{same_plain}/{total}",
        "metrics_plain": headline(plain), "metrics_verify": headline(verified),
    }
    print(json.dumps(figures, indent=2))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    run_record.write(figures)


if __name__ == "__main__":
    main()
