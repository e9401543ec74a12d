"""The one registry of the 14 SMolInstruct tasks.

Every stage looks tasks up here: tags, answer types, metric families, generation settings and
the paper's reported figures (``baselines``: the paper's rows of GPT-4, Claude 3 Opus and LlaSMol-Mistral).
"""

from llasmol.tasks.baselines import LLASMOL_MISTRAL, ZERO_SHOT_ROWS, paper_rows
from llasmol.tasks.extraction import (
    EXTRACTION_MODES,
    extract_answer,
    extract_answer_lenient,
    extract_answers,
    extract_answers_as,
    read_number,
    split_reasoning,
)
from llasmol.tasks.registry import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_MAX_PROMPT_TOKENS,
    TASK_NAMES,
    TASKS,
    AnswerType,
    GenerationSettings,
    MetricFamily,
    Tag,
    Task,
    UnknownTaskError,
    get_task,
    resolve_tasks,
)

__all__ = [
    "DEFAULT_MAX_NEW_TOKENS",
    "DEFAULT_MAX_PROMPT_TOKENS",
    "EXTRACTION_MODES",
    "LLASMOL_MISTRAL",
    "TASKS",
    "TASK_NAMES",
    "ZERO_SHOT_ROWS",
    "AnswerType",
    "GenerationSettings",
    "MetricFamily",
    "Tag",
    "Task",
    "UnknownTaskError",
    "extract_answer",
    "extract_answer_lenient",
    "extract_answers",
    "extract_answers_as",
    "get_task",
    "paper_rows",
    "read_number",
    "resolve_tasks",
    "split_reasoning",
]
