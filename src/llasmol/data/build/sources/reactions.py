"""Reaction tables: atom-mapped ``reactants>reagents>products`` SMILES (USPTO) or unmapped
``reactants,products`` columns.

Options: ``reaction_column`` (default: the header column containing '>', or ``rxn_smiles``/
``reaction``), or ``reactants_column``/``products_column``/``reagents_column`` for split tables.
"""

from __future__ import annotations

from collections.abc import Iterator

from llasmol.data.build.config import SourceConfig
from llasmol.data.build.records import ReactionRecord, Tally
from llasmol.data.build.sources.tables import Table, split_from_filename

_REACTION_COLUMNS = ("reactants>reagents>production", "reactants>reagents>products", "rxn_smiles", "reaction",
                     "reaction_smiles", "rxn")


def parse_reaction_smiles(text: str) -> tuple[str, str, str] | None:
    """``(reactants, reagents, products)`` of ``a.b>c>d`` (or ``a.b>>d``); ``None`` if malformed."""
    parts = text.strip().split(" ")[0].split(">")  # drop CXSMILES extensions after a space
    if len(parts) != 3:
        return None
    reactants, reagents, products = (part.strip() for part in parts)
    return reactants, reagents, products


def _reaction_column(table: Table, options: dict) -> str:
    if "reaction_column" in options:
        return table.find_column([options["reaction_column"]], "reaction")
    arrows = [name for name in table.header if ">" in name]
    if arrows:
        return arrows[0]
    return table.find_column(_REACTION_COLUMNS, "reaction")


def read_reaction_smiles(source: SourceConfig, tally: Tally) -> Iterator[ReactionRecord]:
    """Reactions written as one reaction SMILES per row."""
    table = Table(source.path, source.options.get("delimiter"))
    column = _reaction_column(table, source.options)
    split = split_from_filename(source.path)
    for line, row in table.rows(tally, source.on_bad_line):
        parsed = parse_reaction_smiles(row[column])
        if parsed is None:
            tally.add("bad_row")
            continue
        yield ReactionRecord(*parsed, line=line, split=split)


def read_reaction_table(source: SourceConfig, tally: Tally) -> Iterator[ReactionRecord]:
    """Reactions written as separate reactant / product (/ reagent) columns, usually unmapped."""
    options = source.options
    table = Table(source.path, options.get("delimiter"))
    reactants = table.find_column([options.get("reactants_column", "reactants")], "reactants")
    products = table.find_column([options.get("products_column", "products"), "product"], "products")
    reagents = table.find_column([options.get("reagents_column", "reagents")], "reagents", required=False)
    split = split_from_filename(source.path)
    for line, row in table.rows(tally, source.on_bad_line):
        yield ReactionRecord(
            reactants=row[reactants].strip(), reagents=row[reagents].strip() if reagents else "",
            products=row[products].strip(), line=line, split=split,
        )
