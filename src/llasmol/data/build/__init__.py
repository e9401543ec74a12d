"""Building SMolInstruct-style data from raw sources, with quality control and leakage control.

``build_dataset(load_build_config("configs/data/shared_sources.yaml"), "out/")`` writes the official
layout (``raw/``, ``raw_selfies/``, ``template/``, ``sample/``, ``core_tag/``) plus a dataset card and
``qc_report.json``.
"""

from llasmol.data.build.config import BuildConfig, BuildConfigError, SourceConfig, load_build_config
from llasmol.data.build.opsin import OpsinUnavailableError, check_names
from llasmol.data.build.pipeline import build_dataset
from llasmol.data.build.qc import relabel_by_atom_maps
from llasmol.data.build.records import MoleculeRecord, ReactionRecord, Tally
from llasmol.data.build.report import BuildReport
from llasmol.data.build.sources import SOURCE_READERS, get_reader

__all__ = [
    "SOURCE_READERS",
    "BuildConfig",
    "BuildConfigError",
    "BuildReport",
    "MoleculeRecord",
    "OpsinUnavailableError",
    "ReactionRecord",
    "SourceConfig",
    "Tally",
    "build_dataset",
    "check_names",
    "get_reader",
    "load_build_config",
    "relabel_by_atom_maps",
]
