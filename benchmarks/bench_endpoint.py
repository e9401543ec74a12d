"""``llasmol generate --backend openai`` against ``llasmol serve``: samples/s with 1, 4 and 16 requests in flight.

Starts ``llasmol serve`` with the default model (SmolLM2-135M-Instruct) on 127.0.0.1, answers the same
SMolInstruct validation samples through the OpenAI-protocol backend at each concurrency (greedy, the
given new-token limit), and, for scale, through the HF backend in process (batched as ``llasmol
generate`` batches). Prints samples/s per setting and whether every setting gave the same answers.

    .venv/bin/python benchmarks/bench_endpoint.py [--samples 16] [--concurrency 1,4,16] [--threads 2] [--no-record]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from records import RunRecord, add_record_option

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "smolinstruct" / "val"
TASKS = ["name_conversion-s2f", "property_prediction-bbbp"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, threads: int, max_batch_size: int) -> subprocess.Popen:
    """``llasmol serve --model smollm2`` on ``port``, once its /health answers."""
    command = [sys.executable, "-m", "llasmol.cli", "serve", "--model", "smollm2", "--port", str(port),
               "--max-batch-size", str(max_batch_size)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
            return server
        except OSError:
            time.sleep(1)
    server.terminate()
    raise RuntimeError("llasmol serve did not start within 5 minutes")


def answers(folder: Path) -> list[Any]:
    return [json.loads(line)["output"] for task in TASKS for line in (folder / f"{task}.jsonl").open()]


def through_endpoint(url: str, data: Path, samples: int, concurrency: int, new_tokens: int, folder: Path
                     ) -> float:
    from llasmol.generate import DecodingOptions
    from llasmol.generate.endpoint import Endpoint, generate_with_endpoint

    started = time.perf_counter()
    generate_with_endpoint(Endpoint(url, "smollm2", concurrency=concurrency), data, "validation", TASKS, folder,
                           max_samples=samples, system_prompts="none",
                           decoding=DecodingOptions(max_new_tokens=new_tokens), show_progress=False)
    return time.perf_counter() - started


def in_process(data: Path, samples: int, new_tokens: int, folder: Path) -> float:
    from llasmol.generate import DecodingOptions, generate_on_dataset, load_backend
    from llasmol.models import resolve_model

    backend = load_backend("hf", resolve_model(None))
    started = time.perf_counter()
    generate_on_dataset(None, data, "validation", TASKS, folder, backend=backend, max_samples=samples,
                        decoding=DecodingOptions(num_beams=1, max_new_tokens=new_tokens), show_progress=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--samples", type=int, default=16, help="samples per task")
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the server and of the HF run")
    add_record_option(parser)
    args = parser.parse_args()
    run_record = RunRecord("bench_endpoint", enabled=args.record)
    levels = [int(level) for level in args.concurrency.split(",")]
    total = args.samples * len(TASKS)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    figures: dict[str, Any] = {"samples": total, "tasks": TASKS, "max_new_tokens": args.max_new_tokens}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        port = _free_port()
        server = start_server(port, args.threads, max(levels))
        try:
            for level in levels:
                seconds = through_endpoint(f"http://127.0.0.1:{port}/v1", args.data, args.samples, level,
                                           args.max_new_tokens, root / f"c{level}")
                figures[f"endpoint_c{level}_samples_per_s"] = round(total / seconds, 3)
                print(f"openai backend -> llasmol serve, {level:>2} in flight: {total / seconds:6.2f} samples/s "
                      f"({seconds:.1f} s for {total})", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
        import torch

        torch.set_num_threads(args.threads)
        seconds = in_process(args.data, args.samples, args.max_new_tokens, root / "hf")
        figures["hf_in_process_samples_per_s"] = round(total / seconds, 3)
        print(f"hf backend in process, batched:         {total / seconds:6.2f} samples/s ({seconds:.1f} s)")
        same = all(answers(root / f"c{level}") == answers(root / f"c{levels[0]}") for level in levels)
        figures["same_answers_at_every_concurrency"] = same
        print(f"same answers at every concurrency: {same}")
    run_record.write(figures)


if __name__ == "__main__":
    main()
