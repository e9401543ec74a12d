"""Figures of a `llasmol demo` run: wall time per stage and each task's headline metric, base vs fine-tuned.

Runs the demo into --output (finished stages there are reused; pass a fresh folder to time every
stage) and prints a Markdown table of the run as recorded in its pipeline.json and summary.json.

    .venv/bin/python benchmarks/bench_demo.py --output runs/demo-bench [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from records import RunRecord, add_record_option


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("runs/demo-bench"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    parser.add_argument("--report-only", action="store_true",
                        help="print the figures of an earlier run (no record: they are that run's)")
    add_record_option(parser)
    return parser.parse_args()


def print_figures(output: Path, wall: float | None) -> dict[str, Any]:
    """Print the run's tables; returns the same figures as data."""
    pipeline = json.loads((output / "pipeline.json").read_text(encoding="utf-8"))
    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    print("| stage | seconds | reused |\n|---|---:|:---:|")
    for name, stage in pipeline["stages"].items():
        print(f"| {name} | {stage['seconds']:.1f} | {'yes' if stage['reused'] else ''} |")
    total = sum(stage["seconds"] for stage in pipeline["stages"].values())
    print(f"| **all stages (as first run)** | {total:.1f} | |")
    if wall is not None:
        print(f"| **this invocation, wall** | {wall:.1f} | |")
    trained = pipeline["stages"].get("train", {}).get("result", {})
    if trained.get("planned_steps"):
        minutes = trained.get("max_minutes")
        limit = f"; the time budget gave training {minutes:.1f} min" if minutes else ""
        print(f"\ntraining: {trained['global_step']} of {trained['planned_steps']} planned optimizer steps{limit}")
    print("\n| task | metric | base | fine-tuned | paper (LlaSMol-Mistral) | improved |")
    print("|---|---|---:|---:|---:|:---:|")
    for task, row in summary.items():
        shown = ["–" if row[key] is None else f"{row[key]:.3f}" for key in ("base", "finetuned", "paper")]
        print(f"| {task} | {row['metric']} | {' | '.join(shown)} | {'yes' if row['improved'] else 'no'} |")
    stages = {name: {"seconds": round(stage["seconds"], 1), "reused": stage["reused"]}
              for name, stage in pipeline["stages"].items()}
    training = {key: trained.get(key) for key in ("global_step", "planned_steps", "max_minutes")}
    return {"stages": stages, "all_stages_seconds": round(total, 1),
            "wall_seconds": None if wall is None else round(wall, 1), "training": training, "tasks": summary}


def main() -> None:
    args = parse_args()
    run_record = RunRecord("bench_demo", enabled=args.record and not args.report_only)
    wall = None
    if not args.report_only:
        from llasmol.pipeline import demo_config_path, load_pipeline_config, run_pipeline

        config = load_pipeline_config(demo_config_path())
        config.torch_threads = args.threads
        started = time.perf_counter()
        run_pipeline(config, args.output)
        wall = time.perf_counter() - started
    run_record.write(print_figures(args.output, wall))


if __name__ == "__main__":
    main()
