"""MoleculeNet property CSVs (ESOL, Lipophilicity, BBBP, ClinTox, HIV, SIDER, or any like them).

Options: ``preset`` (one of :data:`PRESETS`), or ``smiles_column`` + ``label_columns`` + ``kind``
(``regression``/``classification``) + ``multi_target``. Regression answers keep the source's
number text; classification answers are ``Yes``/``No``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import MoleculeRecord, Tally
from llasmol.data.build.sources.tables import Table, split_from_filename

SIDER_CLASSES: tuple[str, ...] = (
    "Hepatobiliary disorders", "Metabolism and nutrition disorders", "Eye disorders",
    "Musculoskeletal and connective tissue disorders", "Gastrointestinal disorders", "Immune system disorders",
    "Reproductive system and breast disorders",
    "Neoplasms benign, malignant and unspecified (incl cysts and polyps)", "Endocrine disorders",
    "Vascular disorders", "Blood and lymphatic system disorders", "Skin and subcutaneous tissue disorders",
    "Congenital, familial and genetic disorders", "Respiratory, thoracic and mediastinal disorders",
    "Psychiatric disorders", "Renal and urinary disorders", "Pregnancy, puerperium and perinatal conditions",
    "Ear and labyrinth disorders", "Cardiac disorders", "Nervous system disorders",
)
"""The 20 SIDER system-organ classes SMolInstruct keeps (of MoleculeNet's 27), in its order."""

_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}


@dataclass(frozen=True)
class PropertyColumns:
    """Where a property table keeps its molecules and labels."""

    label_columns: tuple[str, ...]
    regression: bool
    multi_target: bool = False
    smiles_column: str = "smiles"


PRESETS: dict[str, PropertyColumns] = {
    "esol": PropertyColumns(("measured log solubility in mols per litre",), regression=True),
    "lipophilicity": PropertyColumns(("exp",), regression=True),
    "bbbp": PropertyColumns(("p_np",), regression=False),
    "clintox": PropertyColumns(("CT_TOX",), regression=False),  # clinical-trial toxicity, not FDA approval
    "hiv": PropertyColumns(("HIV_active",), regression=False),
    "sider": PropertyColumns(SIDER_CLASSES, regression=False, multi_target=True),
}


def property_columns(options: dict[str, Any]) -> PropertyColumns:
    """The column layout from a preset name and/or explicit options (explicit options win)."""
    preset = options.get("preset")
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown MoleculeNet preset {preset!r}; known: {', '.join(PRESETS)}")
    base = PRESETS.get(preset) if preset else None
    if base is None and "label_columns" not in options:
        raise ValueError("a MoleculeNet source needs options.preset or options.label_columns")
    labels = options.get("label_columns", base.label_columns if base else ())
    labels = (labels,) if isinstance(labels, str) else tuple(labels)
    kind = options.get("kind")
    regression = (kind == "regression") if kind else bool(base and base.regression)
    return PropertyColumns(
        label_columns=labels,
        regression=regression,
        multi_target=bool(options.get("multi_target", base.multi_target if base else len(labels) > 1)),
        smiles_column=str(options.get("smiles_column", base.smiles_column if base else "smiles")),
    )


def _regression_answer(text: str) -> str | None:
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return None
    return text if math.isfinite(value) else None


def _classification_answer(text: str) -> str | None:
    text = text.strip().lower()
    if text in _TRUE:
        return "Yes"
    if text in _FALSE:
        return "No"
    return None


def read_moleculenet(source: SourceConfig, tally: Tally) -> Iterator[MoleculeRecord]:
    """One record per row; a row whose label is missing or not a value is dropped as ``bad_label``."""
    columns = property_columns(source.options)
    table = Table(source.path, source.options.get("delimiter"))
    smiles_column = table.find_column([columns.smiles_column], "smiles")
    label_columns = [table.find_column([name], name) for name in columns.label_columns]
    answer_of = _regression_answer if columns.regression else _classification_answer
    split = split_from_filename(source.path)
    for line, row in table.rows(tally, source.on_bad_line):
        labels = []
        for name in label_columns:
            answer = answer_of(row[name])
            if answer is None:
                tally.add("bad_label")
                continue
            labels.append((name if columns.multi_target else None, answer))
        if not labels:
            continue
        yield MoleculeRecord(smiles=row[smiles_column].strip(), line=line, labels=tuple(labels), split=split)
