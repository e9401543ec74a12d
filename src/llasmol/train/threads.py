"""How many torch threads CPU work uses when the config does not say.

On a machine whose cores are all busy with other work, more threads than free cores run far slower
than one: on the 2-core development machine, beside a generation job using both cores, LoRA training
ran at 50 tokens/s with 1 thread and 15 with 2 (``benchmarks/RESULTS.md``). So when the load average
already reaches the core count, one thread is used; ``OMP_NUM_THREADS`` or an explicit setting wins.
"""

from __future__ import annotations

import os


class BusyMachineWarning(UserWarning):
    """Training chose 1 torch thread because other work keeps every core busy."""


def busy_machine_threads() -> tuple[int, str] | None:
    """``(1, why)`` when other work already keeps every core busy, else ``None`` (torch's default)."""
    if os.environ.get("OMP_NUM_THREADS"):
        return None
    try:
        load = os.getloadavg()[0]
    except OSError:
        return None
    cores = os.cpu_count() or 1
    if cores > 1 and load >= cores:
        return 1, (f"the machine is busy (load {load:.1f} on {cores} cores): using 1 torch thread; "
                   "set the thread count (--threads) to choose")
    return None
