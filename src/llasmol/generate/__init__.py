"""Generation: answers of a model on whole data sets (resumable, batched) and the ``LlaSMol`` API."""

from llasmol.generate.adapters import AdapterMismatchError, check_adapter
from llasmol.generate.answers import first_valid_index, is_valid_answer, parse_answer, verified_order
from llasmol.generate.api import LlaSMol, Prediction, PredictRequest, PromptTooLongError, build_prediction
from llasmol.generate.backends import BACKEND_NAMES, Backend, BackendUnavailableError, load_backend
from llasmol.generate.config import GenerateConfig, GenerateConfigError, run_generation
from llasmol.generate.queries import InvalidInputError, InvalidInputWarning, canonicalize_query, prepare_task_input
from llasmol.generate.runner import GenerationMismatchError, Sample, TaskReport, generate_on_dataset, run_task
from llasmol.generate.settings import DecodingOptionError, DecodingOptions, describe_settings, resolve_settings

__all__ = [
    "BACKEND_NAMES",
    "AdapterMismatchError",
    "Backend",
    "BackendUnavailableError",
    "DecodingOptionError",
    "DecodingOptions",
    "GenerateConfig",
    "GenerateConfigError",
    "GenerationMismatchError",
    "InvalidInputError",
    "InvalidInputWarning",
    "LlaSMol",
    "PredictRequest",
    "Prediction",
    "PromptTooLongError",
    "Sample",
    "TaskReport",
    "build_prediction",
    "canonicalize_query",
    "check_adapter",
    "describe_settings",
    "first_valid_index",
    "generate_on_dataset",
    "is_valid_answer",
    "load_backend",
    "parse_answer",
    "prepare_task_input",
    "resolve_settings",
    "run_generation",
    "run_task",
    "verified_order",
]
