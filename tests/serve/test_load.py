"""Load on loopback: 50 concurrent clients against uvicorn on 127.0.0.1, each answered, memory flat.

Memory is judged by the median growth per round: a leak grows with every round of requests, while
the allocator and caches step up once in a while (a batch of a new shape), by tens of MB.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import itertools
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from llasmol.serve import ServeSettings, create_app
from tests.serve.serve_helpers import live_server

CLIENTS = 50
TASK = "property_prediction-esol"  # 4 beams, 20 new tokens: the quickest task for a random model
ROUNDS = 5
INPUTS = ["CCO", "CC(=O)O", "C1=CC=CC=C1", "CCN(CC)CC", "OC1=CC=CC=C1", "CC(C)O", "C1CCCCC1", "CCOC(C)=O",
          "NC1=CC=CC=C1", "CC#N"]
GROWTH_LIMIT_MB_PER_ROUND = 5.0  # 100 kB per request


def resident_mb() -> float:
    """Resident memory of this process (the server runs in it), from /proc, counting memory in use.

    Garbage is collected and glibc hands freed heap pages back first (``malloc_trim``), where it can.
    """
    gc.collect()
    malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if malloc_trim is not None:
        malloc_trim(0)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


async def one_client(base_url: str, number: int) -> list[int]:
    """One client: a task prediction, then a drawing of its input; returns the status codes."""
    text = INPUTS[number % len(INPUTS)]
    async with httpx.AsyncClient(base_url=base_url, timeout=60, trust_env=False) as client:
        prediction = await client.post("/v1/predict", json={"task": TASK, "input": text})
        assert prediction.status_code != 200 or prediction.json()["input"] == text
        drawing = await client.get("/v1/depict", params={"smiles": text})
    return [prediction.status_code, drawing.status_code]


async def one_round(base_url: str) -> tuple[list[list[int]], float]:
    started = time.perf_counter()
    statuses = await asyncio.wait_for(asyncio.gather(*(one_client(base_url, n) for n in range(CLIENTS))), 180)
    return statuses, time.perf_counter() - started


@pytest.mark.slow
def test_fifty_concurrent_clients_are_all_answered_with_flat_memory(tiny_llasmol: Any) -> None:
    app = create_app(tiny_llasmol, ServeSettings(max_batch_size=16))
    with live_server(app) as base_url:
        warmup_statuses, _ = asyncio.run(one_round(base_url))  # first round warms caches and allocators
        resident_after_rounds = [resident_mb()]
        durations = []
        for _ in range(ROUNDS):
            statuses, seconds = asyncio.run(one_round(base_url))
            assert statuses == [[200, 200]] * CLIENTS
            durations.append(seconds)
            resident_after_rounds.append(resident_mb())
        stats = httpx.get(f"{base_url}/health", trust_env=False).json()["stats"]
    assert warmup_statuses == [[200, 200]] * CLIENTS
    assert stats["requests"] == CLIENTS * (ROUNDS + 1)
    assert stats["max_batch_size_seen"] > 1
    growths = [after - before for before, after in itertools.pairwise(resident_after_rounds)]
    resident_text = " -> ".join(f"{mb:.0f}" for mb in resident_after_rounds)
    assert statistics.median(growths) < GROWTH_LIMIT_MB_PER_ROUND, f"RSS after each round: {resident_text} MB"
    print(f"rounds of {CLIENTS} clients: {', '.join(f'{s:.1f}' for s in durations)} s; "
          f"RSS {resident_text} MB; batches {stats['batch_sizes']}")
