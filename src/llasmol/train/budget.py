"""A wall-clock deadline for training: the run, and its learning-rate schedule, end when time is up."""

from __future__ import annotations

import time
from typing import Any

import torch
from transformers import TrainerCallback


class TimeBudget(TrainerCallback):
    """Ends training at ``deadline`` (a ``time.monotonic()`` value), with the schedule fitted to the time.

    The learning-rate schedule (warmup, then cosine or linear decay) follows the run's progress:
    the larger of steps done / ``total_steps`` and time used / the time the training loop had when
    it began. With time to spare it is the ordinary step schedule; on a slower machine warmup and
    decay are compressed so that the rate reaches its end when the time does, and training stops
    there. Processes of a distributed run agree on the time used (the slowest one's).
    """

    def __init__(self, deadline: float, total_steps: int) -> None:
        self.deadline = deadline
        self.total_steps = total_steps
        self.time_fraction = 0.0
        self.stopped_at: int | None = None
        self._loop_started = deadline
        self._driven: set[int] = set()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._loop_started = time.monotonic()
        self.time_fraction = 0.0

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.time_fraction = _slowest(self._fraction_used(), args.device)
        if self.time_fraction >= 1.0 and state.global_step < state.max_steps:
            control.should_training_stop = True
            self.stopped_at = state.global_step

    def _fraction_used(self) -> float:
        available = self.deadline - self._loop_started
        if available <= 0:
            return 1.0
        return (time.monotonic() - self._loop_started) / available

    def schedule_step(self, step: float) -> float:
        """The step the learning-rate schedule is evaluated at: steps done or time used, whichever is further."""
        return max(float(step), min(self.time_fraction, 1.0) * self.total_steps)

    def drive(self, scheduler: Any) -> None:
        """Make a ``LambdaLR`` schedule (transformers' warmup/decay schedules) follow :meth:`schedule_step`.

        Other schedulers keep their own steps; training still stops at the deadline.
        """
        if id(scheduler) in self._driven or not hasattr(scheduler, "lr_lambdas"):
            return
        self._driven.add(id(scheduler))
        scheduler.lr_lambdas = [self._driven_lambda(function) for function in scheduler.lr_lambdas]

    def _driven_lambda(self, function: Any) -> Any:
        # A plain function, which LambdaLR leaves out of its saved state (checkpoints stay loadable).
        def driven(step: int) -> float:
            return function(self.schedule_step(step))

        return driven


def _slowest(fraction: float, device: Any) -> float:
    """The largest ``fraction`` over the processes of a distributed run (this one's otherwise)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return fraction
    value = torch.tensor([fraction], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return float(value.item())
