"""Kill-anywhere sweep: a small `llasmol run`, interrupted at many instants, rerun, compared with an uninterrupted run.

The run (S2F and ESOL from SMolInstruct's own samples, a tiny random Llama, 24 LoRA steps with a
checkpoint every 4) is first run once to the end. Then, for each signal (SIGKILL, SIGINT, SIGTERM), it
is interrupted at each event of the harness (a checkpoint being saved, the first prediction lines of
either model, the evaluate and report stages) and at ``--instants`` random seconds over the reference
run's wall time, rerun to the end, and its ``metrics.json``, ``summary.json`` and prediction files are
compared byte for byte with the reference's.

    .venv/bin/python benchmarks/bench_kill_anywhere.py --instants 8 --json runs/bench/kill_anywhere.json
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from llasmol.pipeline.crashtest import (
    EVENTS,
    SIGNALS,
    Trigger,
    interrupted_rerun,
    outcome_records,
    run_to_end,
    small_run_config,
    tiny_model,
)
from records import RunRecord, add_record_option

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "smolinstruct"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SMolInstruct folder with val/, train_partial/")
    parser.add_argument("--instants", type=int, default=8, help="random instants per signal")
    parser.add_argument("--signals", default=",".join(SIGNALS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures and every outcome here")
    add_record_option(parser)
    args = parser.parse_args()
    run_record = RunRecord("bench_kill_anywhere", enabled=args.record)

    work = Path(tempfile.mkdtemp(prefix="kill_anywhere_"))
    try:
        config = small_run_config(work, tiny_model(work / "model"), args.data)
        exit_code, reference_seconds, tail = run_to_end(config, work / "reference")
        if exit_code != 0:
            raise SystemExit(f"the uninterrupted run failed:\n{tail}")
        print(f"uninterrupted run: {reference_seconds:.1f} s")
        chooser = random.Random(args.seed)
        triggers = []
        for signal_name in args.signals.split(","):
            triggers += [Trigger(signal_name, event=event) for event in EVENTS]
            triggers += [Trigger(signal_name, seconds=round(chooser.uniform(0.5, reference_seconds), 2))
                         for _ in range(args.instants)]
        outcomes = []
        for number, trigger in enumerate(triggers, 1):
            output = work / f"run-{number}"
            outcome = interrupted_rerun(config, work / "reference", output, trigger)
            outcomes.append(outcome)
            shutil.rmtree(output, ignore_errors=True)
            verdict = "equal" if outcome.equal else f"DIFFERENT {outcome.differences} {outcome.rerun_tail}"
            print(f"{number:3d} {outcome.trigger:32s} fired={outcome.fired!s:5s} stage={outcome.stage_at_kill!s:18s} "
                  f"torn checkpoints={outcome.torn_checkpoints} rerun rc={outcome.rerun_exit_code} {verdict}",
                  flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    fired = [outcome for outcome in outcomes if outcome.fired]
    figures = {
        "reference_seconds": round(reference_seconds, 1),
        "instants_tried": len(outcomes),
        "signals_sent": len(fired),
        "reruns_finished": sum(outcome.rerun_exit_code == 0 for outcome in outcomes),
        "results_equal": sum(outcome.equal for outcome in outcomes),
        "kills_leaving_a_torn_checkpoint": sum(outcome.torn_checkpoints > 0 for outcome in fired),
        "signals_by_stage": dict(Counter(outcome.stage_at_kill or "(between stages)" for outcome in fired)),
    }
    print(json.dumps(figures, indent=2))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"figures": figures, "outcomes": outcome_records(outcomes)}, indent=2) + "\n",
                             encoding="utf-8")
    run_record.write(figures)


if __name__ == "__main__":
    main()
