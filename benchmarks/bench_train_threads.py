"""Training tokens/s by torch thread count, on an idle machine and beside another busy process.

Each measurement is a fresh ``llasmol train`` process (the ``cpu`` preset, three property tasks of the
shared SMolInstruct data, a few optimizer steps). "Busy" runs a second process that keeps every core
busy with float32 matrix products (one torch thread per core), as a generation or another training
job would. Prints one line per run and, with ``--json``, writes the records.

    .venv/bin/python benchmarks/bench_train_threads.py --threads 1,2 --steps 6
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from records import RunRecord, add_record_option

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "smolinstruct"
BURNER = (
    "import torch\n"
    "torch.set_num_threads({threads})\n"
    "a = torch.randn(1024, 1024)\n"
    "while True:\n"
    "    a = torch.tanh(a @ a)\n"
)


def train_tokens_per_second(data: Path, threads: int, steps: int, workdir: Path) -> dict:
    """One ``llasmol train`` run with ``threads`` torch threads: its tokens/s and wall time."""
    output = workdir / f"train-{threads}-{time.monotonic_ns()}"
    command = [sys.executable, "-m", "llasmol.cli", "train", "--preset", "cpu", "--data", str(data),
               "--tasks", "PP-BBBP,PP-ESOL,PP-Lipo", "--max-steps", str(steps), "--threads", str(threads),
               "--eval-split", "none", "--logging-steps", "1", "--output", str(output)]
    environment = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment)
    result = json.loads((output / "run_info.json").read_text())["result"]
    return {"threads": threads, "tokens": result["tokens"], "tokens_per_second": round(result["tokens_per_second"], 1),
            "wall_s": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", default="1,2", help="thread counts to time, comma-separated")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--conditions", default="idle,busy")
    parser.add_argument("--json", type=Path, default=None, help="write the records here")
    add_record_option(parser)
    args = parser.parse_args()
    run_record = RunRecord("bench_train_threads", enabled=args.record)
    cores = os.cpu_count() or 1
    records = []
    with tempfile.TemporaryDirectory() as scratch:
        for condition in args.conditions.split(","):
            burner = None
            if condition == "busy":
                burner = subprocess.Popen([sys.executable, "-c", BURNER.format(threads=cores)])
                time.sleep(5)
            try:
                for threads in (int(value) for value in args.threads.split(",")):
                    record = {"condition": condition, "cores": cores,
                              **train_tokens_per_second(args.data, threads, args.steps, Path(scratch))}
                    records.append(record)
                    print(json.dumps(record), flush=True)
            finally:
                if burner is not None:
                    burner.kill()
                    burner.wait()
    if args.json is not None:
        args.json.write_text(json.dumps(records, indent=2) + "\n")
    run_record.write({"steps": args.steps, "runs": records})


if __name__ == "__main__":
    main()
