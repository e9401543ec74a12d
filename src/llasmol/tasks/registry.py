"""Task definitions: one frozen dataclass per SMolInstruct task."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from llasmol.errors import LlasmolError

DEFAULT_MAX_NEW_TOKENS = 1024
DEFAULT_MAX_PROMPT_TOKENS = 512


class Tag(str, Enum):
    """Core tags that wrap inputs and answers, e.g. ``<SMILES> CCO </SMILES>``."""

    SMILES = "SMILES"
    SELFIES = "SELFIES"
    IUPAC = "IUPAC"
    MOLFORMULA = "MOLFORMULA"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"

    @property
    def left(self) -> str:
        return f"<{self.value}>"

    @property
    def right(self) -> str:
        return f"</{self.value}>"

    def wrap(self, text: str) -> str:
        """``<TAG> text </TAG>``, spaces inside, as the official data writes it."""
        return f"{self.left} {text} {self.right}"


class AnswerType(str, Enum):
    """What an answer denotes, which decides how it is parsed and checked."""

    SMILES = "smiles"
    FORMULA = "formula"
    IUPAC = "iupac"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TEXT = "text"


class MetricFamily(str, Enum):
    """Which group of the paper's metrics scores a task."""

    MOLECULE = "molecule"  # exact match by InChI, validity, fingerprint similarity
    FORMULA = "formula"  # element-count match
    NAME = "name"  # ';'-split string match
    CAPTION = "caption"  # METEOR, BLEU, ROUGE
    REGRESSION = "regression"  # RMSE
    CLASSIFICATION = "classification"  # accuracy, ROC-AUC, F1, MCC


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings of a task: the paper's beam search, or a run's (``llasmol.generate.settings``)."""

    num_beams: int
    num_return_sequences: int
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    no_repeat_ngram_size: int = 0  # 0: off (the paper's); n: no n-gram of tokens generated twice


@dataclass(frozen=True)
class Task:
    """One SMolInstruct task."""

    name: str
    short_name: str
    description: str
    input_tag: Tag | None
    output_tag: Tag | None
    answer_type: AnswerType
    metric_family: MetricFamily
    generation: GenerationSettings
    headline_metric: str
    paper_figures: dict[str, float] = field(default_factory=dict)
    semicolon_as_dot: bool = False  # ';' separates parts of answers, read as '.'
    multi_target: bool = False  # one raw sample holds answers for several targets (SIDER)
    match_parts: bool = False  # also score shared '.'-parts of answer and gold (reactant sets)

    @property
    def output_tags(self) -> tuple[str, str] | None:
        """(left, right) answer tags, or ``None`` for untagged answers (captions)."""
        return None if self.output_tag is None else (self.output_tag.left, self.output_tag.right)

    @property
    def input_tags(self) -> tuple[str, str] | None:
        return None if self.input_tag is None else (self.input_tag.left, self.input_tag.right)


def _molecule_task(name: str, short: str, description: str, input_tag: Tag | None,
                   beams: int, returns: int, figures: dict[str, float],
                   max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, match_parts: bool = False) -> Task:
    return Task(
        name=name, short_name=short, description=description, input_tag=input_tag,
        output_tag=Tag.SMILES, answer_type=AnswerType.SMILES, metric_family=MetricFamily.MOLECULE,
        generation=GenerationSettings(beams, returns, max_new_tokens), headline_metric="EM",
        paper_figures=figures, semicolon_as_dot=True, match_parts=match_parts,
    )


def _property_task(name: str, short: str, description: str, regression: bool,
                   figure: float, multi_target: bool = False) -> Task:
    return Task(
        name=name, short_name=short, description=description, input_tag=Tag.SMILES,
        output_tag=Tag.NUMBER if regression else Tag.BOOLEAN,
        answer_type=AnswerType.NUMBER if regression else AnswerType.BOOLEAN,
        metric_family=MetricFamily.REGRESSION if regression else MetricFamily.CLASSIFICATION,
        generation=GenerationSettings(4, 1, 20), headline_metric="RMSE" if regression else "Acc",
        paper_figures={"RMSE" if regression else "Acc": figure}, multi_target=multi_target,
    )


_ALL_TASKS: tuple[Task, ...] = (
    _molecule_task("forward_synthesis", "FS", "Predict the products of a reaction from its reactants and reagents.",
                   Tag.SMILES, 8, 5, {"EM": 63.3, "FTS": 84.9, "Valid": 99.8}),
    # The paper's code caps retrosynthesis at 960 new tokens.
    _molecule_task("retrosynthesis", "RS", "Predict the reactants that make a product.",
                   Tag.SMILES, 13, 10, {"EM": 32.9, "FTS": 70.4, "Valid": 100.0}, max_new_tokens=960,
                   match_parts=True),
    Task(name="molecule_captioning", short_name="MC", description="Describe a molecule in natural language.",
         input_tag=Tag.SMILES, output_tag=None, answer_type=AnswerType.TEXT, metric_family=MetricFamily.CAPTION,
         generation=GenerationSettings(4, 1), headline_metric="METEOR", paper_figures={"METEOR": 0.452}),
    _molecule_task("molecule_generation", "MG", "Write the molecule a description describes.",
                   None, 8, 5, {"EM": 19.2, "FTS": 61.7, "Valid": 99.7}),
    Task(name="name_conversion-i2f", short_name="NC-I2F", description="IUPAC name to molecular formula.",
         input_tag=Tag.IUPAC, output_tag=Tag.MOLFORMULA, answer_type=AnswerType.FORMULA,
         metric_family=MetricFamily.FORMULA, generation=GenerationSettings(6, 3, 20), headline_metric="EM",
         paper_figures={"EM": 87.9}),
    _molecule_task("name_conversion-i2s", "NC-I2S", "IUPAC name to SMILES.", Tag.IUPAC, 8, 5,
                   {"EM": 70.1, "Valid": 99.6}),
    Task(name="name_conversion-s2f", short_name="NC-S2F", description="SMILES to molecular formula.",
         input_tag=Tag.SMILES, output_tag=Tag.MOLFORMULA, answer_type=AnswerType.FORMULA,
         metric_family=MetricFamily.FORMULA, generation=GenerationSettings(6, 3, 20), headline_metric="EM",
         paper_figures={"EM": 93.2}),
    Task(name="name_conversion-s2i", short_name="NC-S2I", description="SMILES to IUPAC name.",
         input_tag=Tag.SMILES, output_tag=Tag.IUPAC, answer_type=AnswerType.IUPAC,
         metric_family=MetricFamily.NAME, generation=GenerationSettings(8, 5), headline_metric="EM",
         paper_figures={"EM": 29.0}),
    _property_task("property_prediction-esol", "PP-ESOL", "Water solubility (log mol/L).", True, 1.150),
    _property_task("property_prediction-lipo", "PP-Lipo", "Octanol/water distribution coefficient (logD).",
                   True, 1.010),
    _property_task("property_prediction-bbbp", "PP-BBBP", "Blood-brain barrier penetration.", False, 74.6),
    _property_task("property_prediction-clintox", "PP-ClinTox", "Clinical-trial toxicity.", False, 93.1),
    _property_task("property_prediction-hiv", "PP-HIV", "Inhibition of HIV replication.", False, 96.7),
    _property_task("property_prediction-sider", "PP-SIDER", "Side effects in 20 system organ classes.", False,
                   70.7, multi_target=True),
)

TASKS: dict[str, Task] = {task.name: task for task in _ALL_TASKS}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)
_BY_SHORT_NAME = {task.short_name.lower(): task for task in _ALL_TASKS}


class UnknownTaskError(LlasmolError, KeyError):
    """A task name that is not in the registry; the message lists the valid ones."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown task {self.name!r}; valid tasks: {', '.join(TASK_NAMES)}"


def get_task(name: str) -> Task:
    """Look a task up by full name (``forward_synthesis``) or short name (``FS``, ``NC-I2F``)."""
    task = TASKS.get(name) or _BY_SHORT_NAME.get(name.lower())
    if task is None:
        raise UnknownTaskError(name)
    return task


def resolve_tasks(names: Iterable[str] | str | None = None) -> list[Task]:
    """Tasks for a list of names (or a comma-separated string); all tasks for ``None``."""
    if names is None:
        return list(_ALL_TASKS)
    if isinstance(names, str):
        names = [name for name in names.split(",") if name.strip()]
    return [get_task(name.strip()) for name in names]
