"""SMolInstruct data: raw split files, the official release layout, and building new data."""

from llasmol.data.download import DownloadError, download_smolinstruct
from llasmol.data.holdout import HoldoutReport, hold_out_smolinstruct
from llasmol.data.loader import (
    FIELDS,
    available_splits,
    dataset_info,
    iter_smolinstruct,
    load_smolinstruct,
)
from llasmol.data.raw import DataFormatError, RawRecord, iter_raw_records, raw_task_files
from llasmol.data.templates import Template, choose_template_id, core_tags, layout_templates, load_templates, render

__all__ = [
    "FIELDS",
    "DataFormatError",
    "DownloadError",
    "HoldoutReport",
    "RawRecord",
    "Template",
    "available_splits",
    "choose_template_id",
    "core_tags",
    "dataset_info",
    "download_smolinstruct",
    "hold_out_smolinstruct",
    "iter_raw_records",
    "iter_smolinstruct",
    "layout_templates",
    "load_smolinstruct",
    "load_templates",
    "raw_task_files",
    "render",
]
