"""Source readers: each turns one raw file into plain records, counting (never raising on) bad rows.

A malformed file (unreadable, a required column missing) raises ``DataFormatError`` naming file
and line. Adding a source is one module with a ``read_*(source, tally)`` function plus one entry
in :data:`SOURCE_READERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import Record, Tally
from llasmol.data.build.sources.chebi20 import read_chebi20
from llasmol.data.build.sources.moleculenet import PRESETS, SIDER_CLASSES, read_moleculenet
from llasmol.data.build.sources.pubchem import read_pubchem_names
from llasmol.data.build.sources.pubchem_bulk import read_pubchem_bulk
from llasmol.data.build.sources.reactions import read_reaction_smiles, read_reaction_table
from llasmol.data.build.sources.sdf_properties import read_sdf_properties
from llasmol.data.build.sources.smiles_lines import read_smiles_lines
from llasmol.data.build.sources.smiles_list import read_smiles_list
from llasmol.data.build.sources.smolinstruct import read_smolinstruct_raw
from llasmol.errors import LlasmolError

SourceReader = Callable[[SourceConfig, Tally], Iterator[Record]]

SOURCE_READERS: dict[str, SourceReader] = {
    "moleculenet": read_moleculenet,
    "reaction_smiles": read_reaction_smiles,
    "reaction_table": read_reaction_table,
    "chebi20": read_chebi20,
    "pubchem_names": read_pubchem_names,
    "pubchem_bulk": read_pubchem_bulk,
    "smolinstruct_raw": read_smolinstruct_raw,
    "smiles_list": read_smiles_list,
    "smiles_lines": read_smiles_lines,
    "sdf_properties": read_sdf_properties,
}


class UnknownSourceReaderError(LlasmolError, KeyError):
    """A config names a reader that is not registered."""

    def __str__(self) -> str:
        return f"unknown source reader {self.args[0]!r}; known readers: {', '.join(SOURCE_READERS)}"


def get_reader(name: str) -> SourceReader:
    """The reader registered under ``name``."""
    try:
        return SOURCE_READERS[name]
    except KeyError:
        raise UnknownSourceReaderError(name) from None


__all__ = ["PRESETS", "SIDER_CLASSES", "SOURCE_READERS", "SourceReader", "UnknownSourceReaderError", "get_reader"]
