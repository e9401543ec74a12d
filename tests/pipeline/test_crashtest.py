"""Kill-anywhere harness, CI subset: a small `llasmol run` killed in three stages, rerun, equal to an uninterrupted run.

The full sweep (every signal at every event and at random instants) is ``benchmarks/bench_kill_anywhere.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llasmol.pipeline.crashtest import (
    Trigger,
    compare_runs,
    interrupted_rerun,
    run_to_end,
    small_run_config,
    tiny_model,
)


@pytest.fixture(scope="module")
def small_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The small run's config and its uninterrupted output."""
    work = tmp_path_factory.mktemp("crashtest")
    config = small_run_config(work, tiny_model(work / "model"), shared_data / "smolinstruct")
    exit_code, _seconds, tail = run_to_end(config, work / "reference", timeout=600)
    assert exit_code == 0, tail
    return config, work / "reference"


@pytest.mark.slow
@pytest.mark.parametrize("trigger, stage", [
    (Trigger("SIGKILL", event="checkpoint-save"), "train"),
    (Trigger("SIGTERM", event="finetuned-predictions"), "generate-finetuned"),
    (Trigger("SIGINT", event="report"), "report"),
])
def test_a_killed_run_reruns_to_the_uninterrupted_result(small_run: tuple[Path, Path], trigger: Trigger, stage: str,
                                                         tmp_path: Path) -> None:
    config, reference = small_run
    outcome = interrupted_rerun(config, reference, tmp_path / "run", trigger, timeout=600)
    assert outcome.fired and outcome.stage_at_kill == stage
    assert outcome.rerun_exit_code == 0, outcome.rerun_tail
    assert outcome.equal, outcome.differences


def test_compare_runs_names_each_differing_file(tmp_path: Path) -> None:
    reference, other = tmp_path / "reference", tmp_path / "other"
    for root in (reference, other):
        (root / "predictions" / "finetuned").mkdir(parents=True)
        (root / "metrics.json").write_text("{}")
        (root / "summary.json").write_text("{}")
        (root / "predictions" / "finetuned" / "t.jsonl").write_text('{"pred": ["C"]}\n')
    assert compare_runs(reference, other) == []
    (other / "predictions" / "finetuned" / "t.jsonl").write_text('{"pred": ["C"]}\n{"pred": ')
    (other / "summary.json").unlink()
    assert compare_runs(reference, other) == ["summary.json", "predictions/finetuned/t.jsonl"]


def test_a_trigger_needs_one_instant_and_known_names() -> None:
    with pytest.raises(ValueError, match="either seconds or an event"):
        Trigger("SIGKILL")
    with pytest.raises(ValueError, match="unknown event"):
        Trigger("SIGKILL", event="lunch")
    with pytest.raises(ValueError, match="unknown signal"):
        Trigger("SIGHUP", seconds=1.0)
