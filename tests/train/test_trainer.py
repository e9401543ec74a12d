"""Fine-tuning on CPU with a tiny randomly initialised Llama (SmolLM2's tokenizer) on real validation samples."""

from __future__ import annotations

import json
import shutil
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

from llasmol.data import iter_smolinstruct
from llasmol.train import TrainConfig, TrainOutOfMemoryError, load_trained_model, preset, train
from llasmol.train.callbacks import StopAfterStepCallback, read_log
from llasmol.train.checkpoints import COMPLETE_MARKER, CheckpointWarning, checkpoint_folders, is_complete
from llasmol.train.config import Batching
from llasmol.train.data import IGNORE_INDEX, collate_micro_batch, epoch_order, plan_micro_batches, tokenize_rows
from llasmol.train.trainer import answer_loss_sum

TASKS = ["property_prediction-bbbp", "property_prediction-esol"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 64-wide Llama with SmolLM2's vocabulary, saved with a tokenizer that has NO pad token."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from llasmol.models import load_tokenizer, resolve_model

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = load_tokenizer(resolve_model())
    tokenizer.pad_token = None
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=None, tie_word_embeddings=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tokenizer(tiny_model: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


@pytest.fixture(scope="module")
def val_rows(smolinstruct_val: Path) -> list[dict]:
    return list(iter_smolinstruct(smolinstruct_val, "validation", tasks=TASKS))


def tiny_config(model: Path, data: Path, output: Path, **changes) -> TrainConfig:
    settings = dict(model=str(model), data=str(data), train_split="validation", tasks=TASKS, max_train_samples=96,
                    eval_samples=32, output_dir=str(output), max_steps=8, batch_size=8, micro_batch_size=4,
                    logging_steps=1, eval_steps=4, save_steps=3, learning_rate=1e-2, log_sample_ids=True,
                    progress=False, lora_dropout=0.05)  # dropout on: a resumed run must restore the RNG too
    settings.update(changes)
    return preset("cpu", **settings)


def losses(log: list[dict]) -> list[float]:
    return [record["loss"] for record in log if "loss" in record]


# ------------------------------------------------------------------------------------------ data


def test_long_samples_are_truncated_or_dropped_and_counted(val_rows, tokenizer) -> None:
    lengths = [len(tokenizer(row["input"] + row["output"], add_special_tokens=False)["input_ids"]) for row in val_rows]
    limit = int(np.median(lengths))
    truncated = tokenize_rows(val_rows, tokenizer, max_length=limit, long_samples="truncate")
    dropped = tokenize_rows(val_rows, tokenizer, max_length=limit, long_samples="drop")
    assert truncated.stats.samples == dropped.stats.samples == len(val_rows)
    assert truncated.stats.truncated > 0 and truncated.stats.dropped_too_long == 0
    assert dropped.stats.dropped_too_long > 0 and dropped.stats.truncated == 0
    assert truncated.lengths.max() <= limit and dropped.lengths.max() <= limit
    # a truncated sample whose answer is cut away entirely has nothing to learn: dropped and counted
    assert truncated.stats.kept + truncated.stats.dropped_no_answer == len(val_rows)
    assert dropped.stats.kept + dropped.stats.dropped_too_long + dropped.stats.dropped_no_answer == len(val_rows)
    assert truncated.content_hash == dropped.content_hash


def test_packed_rows_keep_every_sample_once_and_learn_only_answers(val_rows, tokenizer) -> None:
    split = tokenize_rows(val_rows[:12], tokenizer, max_length=512)
    capacity = 3 * int(split.lengths.max())
    batch = collate_micro_batch(split, range(12), batching=Batching.PACKED, pad_token_id=0, loss_on="answer",
                                row_tokens=capacity)
    assert batch["real_tokens"] == int(split.lengths.sum())
    assert 1 < batch["input_ids"].shape[0] < 12  # several samples share a row, and rows stay under capacity
    seen = []
    for row_ids, row_positions, row_labels in zip(batch["input_ids"], batch["position_ids"], batch["labels"],
                                                  strict=True):
        starts = [*(row_positions == 0).nonzero().flatten().tolist(), len(row_positions)]
        for start, end in pairwise(starts):
            segment = row_ids[start:end].tolist()
            match = [index for index in range(len(split)) if split.ids(index).tolist() == segment]
            if not match:  # the padding at the end of a row
                assert (row_labels[start:end] == IGNORE_INDEX).all()
                continue
            index = match[0]
            seen.append(index)
            learnt = row_labels[start:end] != IGNORE_INDEX
            assert not learnt[: split.prompt_lengths[index]].any() and learnt[split.prompt_lengths[index]:].all()
            answer = tokenizer.decode(row_ids[start:end][learnt].tolist())
            assert answer.strip().startswith(val_rows[index]["output"].strip()) and answer.endswith(tokenizer.eos_token)
    assert sorted(seen) == list(range(12))


def test_task_weights_and_plan_are_deterministic(val_rows, tokenizer) -> None:
    split = tokenize_rows(val_rows, tokenizer, max_length=512)
    counts = {task: int((split.task_ids == index).sum()) for index, task in enumerate(split.task_names)}
    order = epoch_order(split, {TASKS[0]: 2.0, TASKS[1]: 0.5}, seed=13, epoch=0)
    drawn = np.bincount(split.task_ids[order], minlength=2)
    assert drawn[split.task_names.index(TASKS[0])] == 2 * counts[TASKS[0]]
    assert drawn[split.task_names.index(TASKS[1])] == round(0.5 * counts[TASKS[1]])
    plan = plan_micro_batches(split, micro_batch_size=4, batching="grouped", task_weights={}, seed=13, epochs=1.5)
    again = plan_micro_batches(split, micro_batch_size=4, batching="grouped", task_weights={}, seed=13, epochs=1.5)
    assert all(np.array_equal(a, b) for a, b in zip(plan, again, strict=True))
    assert sum(len(batch) for batch in plan) == len(split) + round(0.5 * len(split))


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_and_padded_batches_give_the_same_loss(tiny_model, val_rows, tokenizer, attention) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model)).eval()
    model.set_attn_implementation(attention)
    assert model.config._attn_implementation == attention
    split = tokenize_rows(val_rows[:6], tokenizer, max_length=512)
    results = {}
    for batching in (Batching.PACKED, Batching.PADDED):
        batch = collate_micro_batch(split, range(6), batching=batching, pad_token_id=0, loss_on="answer",
                                    row_tokens=int(split.lengths.max()) + 20)
        labels = batch.pop("labels")
        batch.pop("sample_ids")
        batch.pop("real_tokens")
        with torch.no_grad():
            results[batching] = answer_loss_sum(model, batch, labels)
    (packed_sum, packed_count, masked), (padded_sum, padded_count, _) = results.values()
    assert masked, "logits_to_keep with a boolean mask should be used"
    assert packed_count == padded_count > 0
    assert packed_sum.item() == pytest.approx(padded_sum.item(), rel=1e-4)


# ----------------------------------------------------------------------------------------- training


@pytest.mark.slow
def test_lora_run_lowers_loss_and_adapter_reloads(tiny_model, smolinstruct_val, tmp_path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    output = tmp_path / "run"
    result = train(tiny_config(tiny_model, smolinstruct_val, output, merge=True, save_steps=4))
    log = read_log(output / "train_log.jsonl")
    train_losses = losses(log)
    assert len(train_losses) == 8 and np.mean(train_losses[-2:]) < train_losses[0] - 0.1
    eval_losses = [record["eval_loss"] for record in log if "eval_loss" in record]
    assert len(eval_losses) == 3 and eval_losses[-1] < eval_losses[0]
    assert result.best_eval_loss == pytest.approx(min(eval_losses))
    info = json.loads((output / "run_info.json").read_text())
    assert info["config"]["max_steps"] == 8 and info["data"]["train"]["kept"] == 96
    assert set(info["data"]["tasks"]) == set(TASKS) and len(info["data"]["train"]["sha256"]) == 64
    assert {"torch", "transformers", "peft"} <= set(info["versions"])
    assert (output / "loss_curve.png").stat().st_size > 1000
    assert (output / "best" / "adapter_model.safetensors").is_file()
    # a tokenizer without a pad token was given one, saved with the run
    assert AutoTokenizer.from_pretrained(str(output)).pad_token is not None

    ids = torch.tensor([[1, 200, 300, 400, 500, 600]])
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model)).eval()
    with torch.no_grad():
        base_logits = base(ids).logits
        adapted = PeftModel.from_pretrained(base, str(output)).eval()
        adapter_logits = adapted(ids).logits
        merged_logits = AutoModelForCausalLM.from_pretrained(str(output / "merged")).eval()(ids).logits
        loaded, _ = load_trained_model(output)
        helper_logits = loaded(ids).logits
    assert not torch.allclose(base_logits, adapter_logits, atol=1e-4)
    torch.testing.assert_close(adapter_logits, merged_logits, atol=2e-3, rtol=1e-3)
    torch.testing.assert_close(adapter_logits, helper_logits)


@pytest.mark.slow
def test_resume_continues_exactly(tiny_model, smolinstruct_val, tmp_path) -> None:
    whole, interrupted = tmp_path / "whole", tmp_path / "interrupted"
    train(tiny_config(tiny_model, smolinstruct_val, whole))
    train(tiny_config(tiny_model, smolinstruct_val, interrupted), callbacks=[StopAfterStepCallback(5)])
    stopped_log = read_log(interrupted / "train_log.jsonl")
    assert max(record["step"] for record in stopped_log) == 5
    with pytest.raises(FileExistsError, match="resume"):
        train(tiny_config(tiny_model, smolinstruct_val, interrupted))
    train(tiny_config(tiny_model, smolinstruct_val, interrupted, resume=True))

    expected, resumed = read_log(whole / "train_log.jsonl"), read_log(interrupted / "train_log.jsonl")
    steps = [[record["sample_ids"] for record in log if "sample_ids" in record] for log in (expected, resumed)]
    assert len(steps[0]) == 8 and steps[0] == steps[1]  # same samples, none repeated or skipped
    flat = [sample for step in steps[1] for sample in step]
    assert len(flat) == 64 and len(set(flat)) == 64  # 96 samples: one epoch covers 8 steps of 8 without repeats
    np.testing.assert_allclose(losses(resumed), losses(expected), rtol=1e-5)
    evals = [[record["eval_loss"] for record in log if "eval_loss" in record] for log in (expected, resumed)]
    np.testing.assert_allclose(evals[1], evals[0], rtol=1e-5)


@pytest.mark.slow
def test_a_torn_checkpoint_is_set_aside_and_the_last_complete_one_resumed(tiny_model, smolinstruct_val,
                                                                           tmp_path) -> None:
    whole, interrupted = tmp_path / "whole", tmp_path / "interrupted"
    train(tiny_config(tiny_model, smolinstruct_val, whole, save_steps=2))
    train(tiny_config(tiny_model, smolinstruct_val, interrupted, save_steps=2), callbacks=[StopAfterStepCallback(5)])
    folder = interrupted / "checkpoints"
    assert [path.name for path in checkpoint_folders(folder)] == ["checkpoint-2", "checkpoint-4"]
    assert all(is_complete(path) for path in checkpoint_folders(folder))
    # A kill during the save of step 6: every file written but one, and no marker.
    torn = folder / "checkpoint-6"
    shutil.copytree(folder / "checkpoint-4", torn)
    (torn / COMPLETE_MARKER).unlink()
    optimizer = torn / "optimizer.pt"
    optimizer.write_bytes(optimizer.read_bytes()[:100])
    assert not is_complete(torn)
    with pytest.warns(CheckpointWarning, match=r"checkpoint-6 is incomplete .*moved to .*incomplete"):
        train(tiny_config(tiny_model, smolinstruct_val, interrupted, save_steps=2, resume=True))
    assert len(list((folder / "incomplete").glob("checkpoint-6-*"))) == 1
    np.testing.assert_allclose(losses(read_log(interrupted / "train_log.jsonl")),
                               losses(read_log(whole / "train_log.jsonl")), rtol=1e-5)


def test_with_no_complete_checkpoint_a_resumed_run_starts_over(tiny_model, smolinstruct_val, tmp_path) -> None:
    torn = tmp_path / "run" / "checkpoints" / "checkpoint-3"
    torn.mkdir(parents=True)
    (torn / "adapter_model.safetensors").write_bytes(b"torn")
    with (pytest.warns(CheckpointWarning, match="checkpoint-3 is incomplete"),
          pytest.warns(CheckpointWarning, match="no complete checkpoint .* training starts over")):
        result = train(tiny_config(tiny_model, smolinstruct_val, tmp_path / "run", max_steps=2, eval_split=None,
                                   resume=True))
    assert result is not None and not torn.exists()
    assert max(record["step"] for record in read_log(tmp_path / "run" / "train_log.jsonl")) == 2


@pytest.mark.slow
def test_out_of_memory_suggests_a_micro_batch_that_fits(tiny_model, smolinstruct_val, tmp_path) -> None:
    from transformers import TrainerCallback

    class OutOfMemoryOnce(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs) -> None:
            raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate; out of memory")

    with pytest.raises(TrainOutOfMemoryError, match="micro-batch 2 fits: pass --micro-batch-size 2"):
        train(tiny_config(tiny_model, smolinstruct_val, tmp_path / "oom", eval_split=None),
              callbacks=[OutOfMemoryOnce()])


def test_unknown_lora_target_names_the_linear_layers() -> None:
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, OPTConfig, OPTForCausalLM

    from llasmol.train import PAPER_LORA_TARGETS, UnknownLoraTargetError, resolve_lora_targets

    llama = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1))
    with pytest.raises(UnknownLoraTargetError, match=r"qkv_mystery.*q_proj, k_proj, v_proj, o_proj, gate_proj"):
        resolve_lora_targets(llama, ["qkv_mystery"])
    assert resolve_lora_targets(llama, list(PAPER_LORA_TARGETS)) == list(PAPER_LORA_TARGETS)

    opt = OPTForCausalLM(OPTConfig(vocab_size=64, hidden_size=16, ffn_dim=32, num_hidden_layers=1,
                                   num_attention_heads=2, word_embed_proj_dim=16))
    assert resolve_lora_targets(opt, list(PAPER_LORA_TARGETS)) == ["q_proj", "k_proj", "v_proj", "out_proj", "fc1",
                                                                    "fc2"]
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=16, n_layer=1, n_head=2))
    assert set(resolve_lora_targets(gpt2, list(PAPER_LORA_TARGETS))) == {"c_attn", "c_proj", "c_fc"}
    assert "lm_head" not in resolve_lora_targets(gpt2, ["all-linear"])


@pytest.mark.slow
def test_cli_train_runs_and_refuses_unknown_targets(tiny_model, smolinstruct_val, tmp_path) -> None:
    from typer.testing import CliRunner

    from llasmol.cli import app

    common = ["train", "--model", str(tiny_model), "--data", str(smolinstruct_val), "--train-split", "validation",
              "--preset", "cpu", "--tasks", "PP-BBBP,PP-ESOL", "--max-steps", "2", "--batch-size", "4",
              "--micro-batch-size", "4", "--max-train-samples", "16", "--eval-samples", "8"]
    runner = CliRunner()
    result = runner.invoke(app, [*common, "--output", str(tmp_path / "cli"), "--task-weights", "PP-BBBP=2"])
    assert result.exit_code == 0, result.output
    assert "2 steps" in result.output and (tmp_path / "cli" / "adapter_model.safetensors").is_file()
    info = json.loads((tmp_path / "cli" / "run_info.json").read_text())
    assert info["config"]["task_weights"] == {"property_prediction-bbbp": 2.0}
    refused = runner.invoke(app, [*common, "--output", str(tmp_path / "bad"), "--lora-targets", "nope"])
    assert refused.exit_code == 1 and "q_proj" in refused.output
    # a deadline already passed when the loop starts: one step, then the adapter is saved
    timed = runner.invoke(app, [*common, "--output", str(tmp_path / "timed"), "--max-minutes", "0.0001"])
    assert timed.exit_code == 0, timed.output
    said = " ".join(timed.output.split())  # rich wraps long lines
    assert "1 steps" in said and "(stopped by --max-minutes 0.0001)" in said
    info = json.loads((tmp_path / "timed" / "run_info.json").read_text())
    assert info["result"]["stopped_by_time"] and info["result"]["planned_steps"] == 2
    assert (tmp_path / "timed" / "adapter_model.safetensors").is_file()


def test_lora_layers_adapts_only_the_top_layers() -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from llasmol.train.lora import top_layer_indices

    llama = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=4,
                                         num_attention_heads=2, num_key_value_heads=1))
    assert top_layer_indices(llama, None) is None
    assert top_layer_indices(llama, 2) == [2, 3]
    for wrong in (0, 5):
        with pytest.raises(ValueError, match="between 1 and the model's 4 layers"):
            top_layer_indices(llama, wrong)
    adapted = get_peft_model(llama, LoraConfig(r=2, target_modules=["q_proj", "down_proj"],
                                               layers_to_transform=top_layer_indices(llama, 2)))
    trained_layers = {int(name.split("layers.")[1].split(".")[0])
                      for name, parameter in adapted.named_parameters() if parameter.requires_grad}
    assert trained_layers == {2, 3}
