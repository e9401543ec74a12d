"""Throughput and latency of `llasmol serve` under concurrent load, with and without request batching.

Starts the server (uvicorn, 127.0.0.1, a free port, in this process) once per --max-batch-sizes value on
the same loaded model, sends --requests task predictions from --clients concurrent clients (real
validation inputs of --task), and prints requests/s and latency percentiles. Model loading is not timed.

    .venv/bin/python benchmarks/bench_serve.py --task PP-ESOL --clients 32 --requests 64 --max-batch-sizes 1,16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import threading
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
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="raw split folder with <task>.jsonl")
    parser.add_argument("--task", default="PP-ESOL")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=64, help="requests in all (spread over the clients)")
    parser.add_argument("--max-batch-sizes", default="1,16", help="comma-separated server settings to compare")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the figures here")
    add_record_option(parser)
    return parser.parse_args()


def load_inputs(data: Path, task_name: str, count: int) -> list[str]:
    """The first ``count`` distinct inputs of the task's file that the server accepts."""
    from llasmol.data.raw import iter_raw_records
    from llasmol.serve.validation import InvalidSmilesError, check_smiles
    from llasmol.tasks import Tag, get_task

    task = get_task(task_name)
    inputs: list[str] = []
    for record in iter_raw_records(data / f"{task.name}.jsonl"):
        if record.input in inputs:
            continue
        try:
            if task.input_tag is Tag.SMILES:
                check_smiles(record.input.replace(";", "."))
        except InvalidSmilesError:
            continue
        inputs.append(record.input.replace(";", "."))
        if len(inputs) == count:
            break
    return inputs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def run_clients(base_url: str, task: str, inputs: list[str], clients: int) -> tuple[list[float], float]:
    """Send every input from ``clients`` concurrent clients; returns per-request latencies and wall time."""
    import httpx

    queue: asyncio.Queue[str] = asyncio.Queue()
    for text in inputs:
        queue.put_nowait(text)
    latencies: list[float] = []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=600, trust_env=False) as session:
            while not queue.empty():
                text = queue.get_nowait()
                started = time.perf_counter()
                response = await session.post("/v1/predict", json={"task": task, "input": text})
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(clients))), timeout=3600)
    return latencies, time.perf_counter() - started


def measure(predictor: Any, max_batch_size: int, task: str, inputs: list[str], clients: int) -> dict[str, Any]:
    import httpx
    import uvicorn

    from llasmol.serve import ServeSettings, create_app

    app = create_app(predictor, ServeSettings(max_batch_size=max_batch_size, timeout_s=3600))
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base_url = f"http://127.0.0.1:{config.port}"
    try:
        latencies, seconds = asyncio.run(run_clients(base_url, task, inputs, clients))
        stats = httpx.get(f"{base_url}/health", trust_env=False).json()["stats"]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    ordered = sorted(latencies)
    return {
        "max_batch_size": max_batch_size,
        "requests": len(latencies),
        "seconds": round(seconds, 2),
        "requests_per_s": round(len(latencies) / seconds, 3),
        "latency_p50_s": round(statistics.median(ordered), 2),
        "latency_p95_s": round(ordered[max(0, int(0.95 * len(ordered)) - 1)], 2),
        "batches": stats["batches"],
        "batch_sizes": stats["batch_sizes"],
    }


def main() -> None:
    args = parse_args()
    run_record = RunRecord("bench_serve", enabled=args.record)
    import torch

    from llasmol.generate import LlaSMol
    from llasmol.tasks import get_task

    torch.set_num_threads(args.threads)
    task = get_task(args.task).name
    inputs = load_inputs(Path(args.data), task, args.requests)
    predictor = LlaSMol.from_pretrained(model=args.model, adapter=args.adapter, device="cpu")
    predictor.predict(task, inputs[0])  # warm up
    rows = [measure(predictor, int(size), task, inputs, args.clients) for size in args.max_batch_sizes.split(",")]
    model = args.model or "smollm2"
    print(f"task {task}, {len(inputs)} requests from {args.clients} concurrent clients, model {model}")
    print("| max batch size | requests/s | p50 latency (s) | p95 latency (s) | wall (s) | batches run |")
    print("|---:|---:|---:|---:|---:|---|")
    for row in rows:
        print(f"| {row['max_batch_size']} | {row['requests_per_s']} | {row['latency_p50_s']} | {row['latency_p95_s']} "
              f"| {row['seconds']} | {row['batches']} ({row['batch_sizes']}) |")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    run_record.write({"task": task, "requests": len(inputs), "clients": args.clients, "model": model,
                  "adapter": args.adapter, "threads": args.threads, "rows": rows})


if __name__ == "__main__":
    main()
