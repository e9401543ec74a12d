"""The training time budget: its stop and its learning-rate schedule (no model needed)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
import torch
from transformers import TrainerControl, TrainerState, get_scheduler

from llasmol.train import budget as budget_module
from llasmol.train.budget import TimeBudget

TOTAL_STEPS, WARMUP = 100, 10


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(budget_module.time, "monotonic", fake)
    return fake


def _scheduler(kind: str) -> torch.optim.lr_scheduler.LambdaLR:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    return get_scheduler(kind, optimizer, num_warmup_steps=WARMUP, num_training_steps=TOTAL_STEPS)


def _rates(scheduler: torch.optim.lr_scheduler.LambdaLR, steps: int, on_step: object = None) -> list[float]:
    rates = []
    for step in range(1, steps + 1):
        scheduler.optimizer.step()
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
        if on_step is not None:
            on_step(step)
    return rates


def _state(step: int) -> TrainerState:
    state = TrainerState()
    state.global_step, state.max_steps = step, TOTAL_STEPS
    return state


ARGS = SimpleNamespace(device=torch.device("cpu"))


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_with_time_to_spare_the_schedule_is_the_step_schedule(clock: Clock, kind: str) -> None:
    budget = TimeBudget(deadline=clock.now + 3600, total_steps=TOTAL_STEPS)
    driven = _scheduler(kind)
    budget.drive(driven)
    budget.on_train_begin(ARGS, _state(0), TrainerControl())

    def one_second_a_step(step: int) -> None:
        clock.now += 1.0
        budget.on_step_end(ARGS, _state(step), TrainerControl())

    assert _rates(driven, TOTAL_STEPS, one_second_a_step) == _rates(_scheduler(kind), TOTAL_STEPS)
    assert budget.stopped_at is None


def test_a_slow_run_stops_at_the_deadline_with_its_schedule_ended(clock: Clock) -> None:
    budget = TimeBudget(deadline=clock.now + 400, total_steps=TOTAL_STEPS)  # 10 s a step: 40 of 100 steps fit
    driven = _scheduler("cosine")
    budget.drive(driven)
    budget.drive(driven)  # driving twice changes nothing
    budget.on_train_begin(ARGS, _state(0), TrainerControl())
    controls = []

    def ten_seconds_a_step(step: int) -> None:
        clock.now += 10.0
        controls.append(TrainerControl())
        budget.on_step_end(ARGS, _state(step), controls[-1])

    rates = _rates(driven, 40, ten_seconds_a_step)
    plain = _scheduler("cosine")
    # step 20 took half the time, so the schedule stands where the step schedule is at step 50
    assert rates[20] == pytest.approx(plain.lr_lambdas[0](50))
    assert rates[1] == pytest.approx(plain.lr_lambdas[0](2.5))  # warmup compressed too
    assert rates[-1] == pytest.approx(plain.lr_lambdas[0](97.5))
    assert [control.should_training_stop for control in controls] == [False] * 39 + [True]
    assert budget.stopped_at == 40


def test_a_deadline_passed_before_the_loop_stops_after_one_step(clock: Clock) -> None:
    budget = TimeBudget(deadline=clock.now - 1, total_steps=TOTAL_STEPS)
    budget.on_train_begin(ARGS, _state(0), TrainerControl())
    control = TrainerControl()
    budget.on_step_end(ARGS, _state(1), control)
    assert control.should_training_stop and budget.stopped_at == 1


def test_a_driven_schedule_saves_and_loads_like_a_plain_one(clock: Clock) -> None:
    budget = TimeBudget(deadline=clock.now + 60, total_steps=TOTAL_STEPS)
    driven = _scheduler("cosine")
    budget.drive(driven)
    _rates(driven, 3)
    buffer = io.BytesIO()
    torch.save(driven.state_dict(), buffer)
    buffer.seek(0)
    restored = _scheduler("cosine")
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.last_epoch == 3 and restored.get_last_lr() == driven.get_last_lr()
