"""The whole LlaSMol story in one call: data → fine-tuning → answers → scores → report.

``run_pipeline(load_pipeline_config("configs/demo.yaml"), "runs/demo")`` is ``llasmol run``;
``llasmol demo`` runs the packaged demo config (:func:`demo_config_path`).
"""

from llasmol.pipeline.config import (
    PipelineConfig,
    PipelineConfigError,
    load_pipeline_config,
    packaged_config_path,
    pipeline_config_from_dict,
)
from llasmol.pipeline.report import ReportInputs, write_report
from llasmol.pipeline.runner import STAGES, PipelineResult, run_pipeline, validate_against_stages


def demo_config_path():
    """The packaged demo config (``llasmol demo``)."""
    return packaged_config_path("demo")


__all__ = [
    "STAGES",
    "PipelineConfig",
    "PipelineConfigError",
    "PipelineResult",
    "ReportInputs",
    "demo_config_path",
    "load_pipeline_config",
    "packaged_config_path",
    "pipeline_config_from_dict",
    "run_pipeline",
    "validate_against_stages",
    "write_report",
]
