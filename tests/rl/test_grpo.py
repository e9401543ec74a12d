"""GRPO on CPU with a tiny model: rewards logged per task, checkpoints, resume, and a start from an SFT adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from llasmol.cli import app
from llasmol.pipeline.crashtest import tiny_model
from llasmol.rl.grpo import CURVE_FILE, LOG_FILE, train_grpo
from llasmol.train import preset, train
from llasmol.train.callbacks import StopAfterStepCallback, read_log
from llasmol.train.checkpoints import is_complete

TASKS = ["name_conversion-s2f", "property_prediction-bbbp"]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("tiny-llama"))


def grpo_config(model: Path, data: Path, output: Path, **changes):
    settings = dict(model=str(model), data=str(data), train_split="validation", tasks=TASKS, max_train_samples=16,
                    output_dir=str(output), method="grpo", max_steps=4, batch_size=8, micro_batch_size=4,
                    group_size=4, max_new_tokens=12, logging_steps=1, save_steps=2, learning_rate=1e-3,
                    progress=False)
    settings.update(changes)
    return preset("cpu", **settings)


def test_grpo_from_the_command_line_logs_rewards_per_task(model: Path, smolinstruct_val: Path,
                                                          tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "train", "--preset", "cpu", "--method", "grpo", "--model", str(model), "--data", str(smolinstruct_val),
        "--train-split", "validation", "--tasks", ",".join(TASKS), "--max-train-samples", "16",
        "--max-steps", "3", "--batch-size", "8", "--micro-batch-size", "4", "--group-size", "4",
        "--max-new-tokens", "12", "--logging-steps", "1", "--save-steps", "2", "--reward-weights",
        "chemistry=1,format=0.5", "--no-progress", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "3 GRPO steps" in result.output
    log = [record for record in read_log(tmp_path / LOG_FILE) if "reward" in record]
    assert [record["step"] for record in log] == [1, 2, 3]
    logged = {key for record in log for key in record}  # a task's mean is logged in the steps that sampled it
    assert {"rewards/chemistry/NC-S2F", "rewards/chemistry/PP-BBBP", "rewards/format/mean"} <= logged
    assert all(0.0 <= record["reward"] <= 1.5 for record in log)  # both rewards in [0, 1], weights 1 and 0.5
    info = json.loads((tmp_path / "run_info.json").read_text())
    assert info["config"]["reward_weights"] == {"chemistry": 1.0, "format": 0.5}
    assert info["result"]["global_step"] == 3 and info["schedule"]["prompts_per_step"] == 2
    assert (tmp_path / CURVE_FILE).stat().st_size > 0
    assert (tmp_path / "adapter_model.safetensors").is_file()
    assert is_complete(tmp_path / "checkpoints" / "checkpoint-2")


def test_an_interrupted_grpo_run_resumes_from_its_checkpoint(model: Path, smolinstruct_val: Path,
                                                             tmp_path: Path) -> None:
    config = grpo_config(model, smolinstruct_val, tmp_path)
    train_grpo(config, callbacks=[StopAfterStepCallback(2)])
    with pytest.raises(FileExistsError, match="--resume"):
        train_grpo(config)
    result = train_grpo(config.replace(resume=True))
    assert result.global_step == 4
    steps = [record["step"] for record in read_log(tmp_path / LOG_FILE) if "reward" in record]
    assert steps == [1, 2, 3, 4]  # the resumed run logged steps 3 and 4 once, after the checkpoint's


def test_grpo_starts_from_an_sft_adapter_with_a_frozen_copy_as_kl_reference(model: Path, smolinstruct_val: Path,
                                                                            tmp_path: Path) -> None:
    sft = preset("cpu", model=str(model), data=str(smolinstruct_val), train_split="validation", tasks=TASKS,
                 max_train_samples=16, eval_split=None, output_dir=str(tmp_path / "sft"), max_steps=2, batch_size=8,
                 micro_batch_size=4, learning_rate=1e-2, progress=False)
    train(sft)
    config = grpo_config(model, smolinstruct_val, tmp_path / "grpo", adapter=str(tmp_path / "sft"), kl_coef=0.1,
                         max_steps=2)
    train_grpo(config)
    log = [record for record in read_log(tmp_path / "grpo" / LOG_FILE) if "reward" in record]
    assert log and all(record["kl"] == 0.0 for record in log)  # the reference is the SFT adapter itself
    # The tiny model's completions all score 0: no advantage, no update. The saved adapter is then the SFT
    # adapter itself (a new LoRA adapter would differ): GRPO started from it.
    assert all(record["reward_std"] == 0.0 for record in log)
    before = load_file(tmp_path / "sft" / "adapter_model.safetensors")
    after = load_file(tmp_path / "grpo" / "adapter_model.safetensors")
    assert before.keys() == after.keys()
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_the_grpo_recipes_start_from_their_adapters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llasmol.pipeline import load_pipeline_config
    from llasmol.pipeline.runner import start_adapter, train_config_of

    repo = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("LLASMOL_SFT_ADAPTER", str(tmp_path))  # an existing folder: used as a path
    cpu = load_pipeline_config(repo / "configs" / "smolinstruct-cpu-grpo.yaml")
    settings = train_config_of(cpu, tmp_path / "data", tmp_path / "train")
    assert (settings.method, settings.adapter, start_adapter(cpu)) == ("grpo", str(tmp_path), str(tmp_path))
    assert settings.batch_size % settings.group_size == 0
    gpu = load_pipeline_config(repo / "configs" / "paper-grpo.yaml")
    assert start_adapter(gpu) == "osunlp/LlaSMol-Mistral-7B"  # no such folder: a hub id
    assert train_config_of(gpu, tmp_path / "data", tmp_path / "train").kl_coef > 0
