"""Load times of a GGUF model: converting the file against reading the converted copy kept on disk.

Each load runs in a fresh Python process (a process also keeps what it converted in memory) with
``LLASMOL_CACHE_DIR`` pointing at a new empty folder: the first process converts the GGUF file and
writes the copy, the next ones read it. With ``--adapter`` each process then also opens a generation
backend with that LoRA adapter (the model itself is in memory by then). Torch runs on one thread.

    .venv/bin/python benchmarks/bench_model_load.py [--model smollm2] [--repeats 2] [--adapter runs/demo/train]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from records import RunRecord, add_record_option

LOAD_SCRIPT = """
import json, sys, time
started = time.perf_counter()
import torch
from llasmol.generate import load_backend
from llasmol.models import load_causal_lm, load_tokenizer, resolve_model
imported = time.perf_counter()
source = resolve_model(sys.argv[1])
load_tokenizer(source)
tokenizer = time.perf_counter()
load_causal_lm(source, dtype=torch.float32)
model = time.perf_counter()
if len(sys.argv) > 2:
    load_backend("hf", source, sys.argv[2], None, None)
adapter = time.perf_counter()
print(json.dumps({"imports": imported - started, "tokenizer": tokenizer - imported, "model": model - tokenizer,
                  "adapter backend": adapter - model}))
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2", help="a model llasmol.models.resolve_model accepts")
    parser.add_argument("--repeats", type=int, default=2, help="loads from the kept copy after the first")
    parser.add_argument("--adapter", default=None, help="a LoRA adapter folder to open a backend with")
    add_record_option(parser)
    return parser.parse_args()


def timed_load(model: str, cache_dir: str, adapter: str | None) -> dict[str, float]:
    environment = {**os.environ, "LLASMOL_CACHE_DIR": cache_dir, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", LOAD_SCRIPT, model, *([adapter] if adapter else [])]
    done = subprocess.run(command, env=environment, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args()
    run_record = RunRecord("bench_model_load", enabled=args.record)
    loads: list[dict[str, object]] = []
    adapter_column = " adapter backend, s |" if args.adapter else ""
    print(f"| load | imports, s | tokenizer, s | model (float32), s |{adapter_column}\n|---|---:|---:|---:|"
          + ("---:|" if args.adapter else ""))
    with tempfile.TemporaryDirectory(prefix="llasmol-cache-") as cache_dir:
        for run in range(1 + args.repeats):
            seconds = timed_load(args.model, cache_dir, args.adapter)
            label = "converts the GGUF file, writes the copy" if run == 0 else f"reads the kept copy ({run})"
            shown = [f"{seconds['imports']:.1f}", f"{seconds['tokenizer']:.2f}", f"{seconds['model']:.2f}"]
            if args.adapter:
                shown.append(f"{seconds['adapter backend']:.2f}")
            print(f"| {label} | {' | '.join(shown)} |")
            loads.append({"load": label, **{key: round(value, 2) for key, value in seconds.items()}})
    run_record.write({"model": args.model, "adapter": args.adapter, "seconds": loads})


if __name__ == "__main__":
    main()
