"""The pipeline's one YAML config: data, model, training, generation, evaluation and report.

Each section is a dataclass; :func:`load_pipeline_config` reads a YAML file, checks every field and
raises :class:`PipelineConfigError` naming the file and the field at fault. Sections that are
handed to another stage (the data build config, training overrides, generation options) are
checked against that stage's own API by :func:`validate_against_stages`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from llasmol.errors import LlasmolError
from llasmol.generate.settings import DECODING_OPTION_NAMES, DecodingOptionError, DecodingOptions
from llasmol.tasks import UnknownTaskError, resolve_tasks


class PipelineConfigError(LlasmolError, ValueError):
    """A bad pipeline config; the message names the file and the field."""

    def __init__(self, source: str, field_name: str, message: str) -> None:
        self.locate(source, None, field_name)
        super().__init__(f"{source}: field {field_name!r}: {message}")


def _decoding_options(source: str, where: str, values: dict[str, Any]) -> DecodingOptions:
    """``values`` as :class:`DecodingOptions`; a bad one raises :class:`PipelineConfigError` naming its field."""
    try:
        return DecodingOptions.from_mapping(values)
    except DecodingOptionError as error:
        raise PipelineConfigError(source, f"{where}.{error.field}", str(error)) from None


@dataclass
class DataConfig:
    """Where the SMolInstruct-layout data comes from: built from sources, or an existing folder."""

    build: dict[str, Any] | None = None  # a `llasmol data build` config, inline
    build_config: str | None = None  # ... or the path of one (relative to the pipeline config)
    path: str | None = None  # an existing SMolInstruct folder or data.zip; ${VAR:-default} expands
    holdout: dict[str, Any] | None = None  # ... or SMolInstruct's own samples, a slice held out (HoldoutConfig)
    eval_path: str | None = None  # score on this folder's eval split instead (${VAR:-} expands; empty: unset)
    train_split: str = "train"
    eval_split: str = "test"
    max_eval_samples: int | None = None  # per task, first N of the eval split
    build_workers: int = 1


@dataclass
class HoldoutConfig:
    """``data.holdout``: train on raw SMolInstruct folders, ``per_task`` validation samples held out to score."""

    sources: list[str]  # folders of raw <task>.jsonl files (relative to the config; ${VAR:-default} expands)
    per_task: int = 100
    seed: int = 42
    derive_formulas: int | None = 0  # derived SMILES -> formula training samples at most (None: all)
    derive_descriptions: bool = False  # captioning <-> generation pairs the other task lacks

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> HoldoutConfig:
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown fields {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        config = cls(**values)
        if not config.sources or not all(isinstance(item, str) for item in config.sources):
            raise ValueError("sources must be a non-empty list of folders")
        if not isinstance(config.per_task, int) or config.per_task < 1:
            raise ValueError("per_task must be a positive integer")
        return config


@dataclass
class ModelConfig:
    """The base model: a `resolve_model` argument (hub id, folder, .gguf file or ``smollm2``).

    ``adapter``: a LoRA adapter the run starts from (an SFT run's folder). The "base" answers are then
    that adapter's, and training continues it (GRPO after SFT: both scored on the same samples).
    """

    name: str = "smollm2"
    gguf_file: str | None = None
    prompt_format: str = "paper"
    adapter: str | None = None


@dataclass
class TrainStageConfig:
    """Fine-tuning: a preset of the training stage plus field overrides of its TrainConfig."""

    enabled: bool = True
    preset: str = "cpu"
    overrides: dict[str, Any] = field(default_factory=dict)
    launcher: str | None = None  # how to launch at scale (documentation for multi-GPU configs)


@dataclass
class GenerateStageConfig:
    """Generation on the eval split, for the base model and the fine-tuned one."""

    backend: str = "hf"
    base_model: bool = True  # also generate with (and score) the untuned base model
    batch_size: int | None = None
    # keyword arguments of generate_on_dataset, and the decoding options (DecodingOptions) of every task
    options: dict[str, Any] = field(default_factory=dict)
    # per task (name or short name): decoding options over those of `options`
    per_task: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvaluateStageConfig:
    options: dict[str, Any] = field(default_factory=dict)  # extra keyword arguments of evaluate_predictions


@dataclass
class ReportConfig:
    enabled: bool = True
    examples_per_task: int = 3
    title: str | None = None


@dataclass
class PipelineConfig:
    """Everything one `llasmol run` does, from data to report."""

    name: str = "llasmol"
    description: str = ""
    tasks: list[str] | None = None  # None: every task the data holds
    seed: int = 42
    torch_threads: int | None = None
    budget_minutes: float | None = None  # end-to-end wall-clock target: training gets what the other stages leave
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainStageConfig = field(default_factory=TrainStageConfig)
    generate: GenerateStageConfig = field(default_factory=GenerateStageConfig)
    evaluate: EvaluateStageConfig = field(default_factory=EvaluateStageConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    source: str = field(default="<dict>", compare=False)  # where it was read from
    base_dir: str = field(default=".", compare=False)  # relative paths inside resolve from here

    @property
    def task_names(self) -> list[str] | None:
        return None if self.tasks is None else [task.name for task in resolve_tasks(self.tasks)]

    def decoding_options(self, task: str) -> DecodingOptions:
        """A task's decoding options: its ``generate.per_task`` entry over those of ``generate.options``."""
        shared = DecodingOptions.from_mapping({key: value for key, value in self.generate.options.items()
                                               if key in DECODING_OPTION_NAMES})
        for name, values in self.generate.per_task.items():
            if resolve_tasks([name])[0].name == task:
                return DecodingOptions.from_mapping(values).over(shared)
        return shared

    def resolve_path(self, path: str) -> Path:
        """A path of the config, relative ones taken from the config file's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (Path(self.base_dir) / candidate).resolve()

    def to_dict(self) -> dict[str, Any]:
        raw = dataclasses.asdict(self)
        raw.pop("source")
        raw.pop("base_dir")
        return raw


_SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "train": TrainStageConfig,
    "generate": GenerateStageConfig,
    "evaluate": EvaluateStageConfig,
    "report": ReportConfig,
}


_YAML_TYPES: dict[str, tuple[type, ...]] = {
    "dict": (dict,), "list": (list,), "bool": (bool,), "int": (int,), "float": (int, float), "str": (str,),
}


def _check_type(value: Any, annotation: str, source: str, name: str) -> None:
    """Check a YAML value against a field annotation such as ``int | None`` or ``dict[str, Any]``."""
    kinds = {part.strip().split("[")[0] for part in annotation.split("|")}
    if value is None:
        if "None" not in kinds:
            raise PipelineConfigError(source, name, "must not be empty")
        return
    for kind in kinds - {"None"}:
        if isinstance(value, bool) and kind != "bool":
            continue
        if isinstance(value, _YAML_TYPES.get(kind, (object,))):
            return
    expected = " or ".join(sorted(kinds))
    raise PipelineConfigError(source, name, f"expected {expected}, got {type(value).__name__} {value!r}")


def _section_from_dict(kind: type, raw: Any, source: str, prefix: str) -> Any:
    if raw is None:
        return kind()
    if not isinstance(raw, dict):
        raise PipelineConfigError(source, prefix, f"expected a mapping, got {type(raw).__name__}")
    known = {item.name: item for item in dataclasses.fields(kind) if item.name not in ("source", "base_dir")}
    for key, value in raw.items():
        if key not in known:
            raise PipelineConfigError(source, f"{prefix}{key}", f"unknown field; known: {', '.join(known)}")
        if key in _SECTIONS and kind is PipelineConfig:
            continue
        _check_type(value, str(known[key].type), source, f"{prefix}{key}")
    values = dict(raw)
    if kind is PipelineConfig:
        for section, section_kind in _SECTIONS.items():
            values[section] = _section_from_dict(section_kind, raw.get(section), source, f"{section}.")
    return kind(**values)


def _validate(config: PipelineConfig) -> None:
    source, data = config.source, config.data
    choices = [name for name in ("build", "build_config", "path", "holdout") if getattr(data, name) is not None]
    if len(choices) != 1:
        raise PipelineConfigError(source, "data", "give exactly one of build, build_config, path or holdout")
    if data.holdout is not None:
        try:
            HoldoutConfig.from_dict(data.holdout)
        except (TypeError, ValueError) as error:
            raise PipelineConfigError(source, "data.holdout", str(error)) from None
    if config.tasks is not None:
        if not config.tasks:
            raise PipelineConfigError(source, "tasks", "empty list; leave it out to use every task")
        try:
            resolve_tasks(config.tasks)
        except UnknownTaskError as error:
            raise PipelineConfigError(source, "tasks", str(error)) from None
    for name in ("max_eval_samples", "build_workers"):
        value = getattr(data, name)
        if value is not None and value < 1:
            raise PipelineConfigError(source, f"data.{name}", "must be at least 1")
    if config.budget_minutes is not None and config.budget_minutes <= 0:
        raise PipelineConfigError(source, "budget_minutes", "must be positive")
    if config.generate.batch_size is not None and config.generate.batch_size < 1:
        raise PipelineConfigError(source, "generate.batch_size", "must be at least 1")
    shared = _decoding_options(source, "generate.options", {
        key: value for key, value in config.generate.options.items() if key in DECODING_OPTION_NAMES})
    for name, values in config.generate.per_task.items():
        where = f"generate.per_task.{name}"
        try:
            resolve_tasks([name])
        except UnknownTaskError as error:
            raise PipelineConfigError(source, where, str(error)) from None
        if not isinstance(values, dict) or not values:
            raise PipelineConfigError(source, where, f"expected a mapping of {', '.join(DECODING_OPTION_NAMES)}")
        _decoding_options(source, where, values).over(shared)
    if config.model.prompt_format not in ("paper", "chat"):
        raise PipelineConfigError(source, "model.prompt_format", "must be 'paper' or 'chat'")
    if config.report.examples_per_task < 0:
        raise PipelineConfigError(source, "report.examples_per_task", "must not be negative")
    if not config.train.enabled and not config.generate.base_model:
        raise PipelineConfigError(source, "train.enabled", "nothing to generate: enable training or base_model")


def pipeline_config_from_dict(raw: Any, source: str = "<dict>", base_dir: Path | str = ".") -> PipelineConfig:
    """Build and check a :class:`PipelineConfig` from a parsed YAML mapping."""
    if not isinstance(raw, dict):
        raise PipelineConfigError(source, "<top>", "expected a mapping of sections")
    config = _section_from_dict(PipelineConfig, raw, source, "")
    config.source, config.base_dir = source, str(base_dir)
    _validate(config)
    return config


def load_pipeline_config(path: Path | str) -> PipelineConfig:
    """Read and check a pipeline YAML config; relative paths inside it resolve from its folder."""
    path = Path(path)
    if not path.is_file():
        raise PipelineConfigError(str(path), "<file>", "no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise PipelineConfigError(where, "<yaml>", f"not valid YAML ({getattr(error, 'problem', error)})") from None
    return pipeline_config_from_dict(raw, str(path), path.resolve().parent)


def config_hash(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (what decides whether a finished stage is reused)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def packaged_config_path(name: str) -> Path:
    """A config shipped inside the package (``demo``)."""
    path = Path(__file__).parent / "configs" / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no packaged pipeline config named {name!r} ({path})")
    return path
