"""Load times of a GGUF model: converting the file against reading the converted copy kept on disk.

Each load runs in a fresh Python process (a process also keeps what it converted in memory) with
``LLASMOL_CACHE_DIR`` pointing at a new empty folder: the first process converts the GGUF file and
writes the copy, the next ones read it.

    .venv/bin/python benchmarks/bench_model_load.py [--model smollm2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

LOAD_SCRIPT = """
import json, sys, time
started = time.perf_counter()
import torch
from llasmol.models import load_causal_lm, load_tokenizer, resolve_model
imported = time.perf_counter()
source = resolve_model(sys.argv[1])
load_tokenizer(source)
tokenizer = time.perf_counter()
load_causal_lm(source, dtype=torch.float32)
model = time.perf_counter()
print(json.dumps({"imports": imported - started, "tokenizer": tokenizer - imported, "model": model - tokenizer}))
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2", help="a model llasmol.models.resolve_model accepts")
    parser.add_argument("--repeats", type=int, default=2, help="loads from the kept copy after the first")
    return parser.parse_args()


def timed_load(model: str, cache_dir: str) -> dict[str, float]:
    environment = {**os.environ, "LLASMOL_CACHE_DIR": cache_dir, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, model], env=environment, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args()
    print("| load | imports, s | tokenizer, s | model (float32), s |\n|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="llasmol-cache-") as cache_dir:
        for run in range(1 + args.repeats):
            seconds = timed_load(args.model, cache_dir)
            label = "converts the GGUF file, writes the copy" if run == 0 else f"reads the kept copy ({run})"
            print(f"| {label} | {seconds['imports']:.1f} | {seconds['tokenizer']:.2f} | {seconds['model']:.2f} |")


if __name__ == "__main__":
    main()
