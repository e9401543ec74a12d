"""From a clean unit (molecule or reaction) to the raw sample of one task.

:data:`TASK_BUILDERS` holds one small function per task; a builder returns a :class:`RawItem` or the
reason the unit cannot feed that task (counted in the QC report). SELFIES versions and the answer
keys used for leakage control follow from the task's tags in the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llasmol.data.build.qc import CleanMolecule, CleanReaction, CleanUnit
from llasmol.tasks import AnswerType, Tag, Task


@dataclass(frozen=True, slots=True)
class RawItem:
    """One raw line of a task: what goes into ``raw/`` and ``raw_selfies/``, plus leakage keys."""

    input: str
    output: str | dict[str, str]
    input_selfies: str
    output_selfies: str | dict[str, str]
    answer_keys: tuple[str, ...] = ()

    @property
    def targets(self) -> list[str | None]:
        return list(self.output) if isinstance(self.output, dict) else [None]


Pair = tuple[str, str | dict[str, str]]
Builder = Callable[[CleanUnit, Task], Pair | str]


def _reaction(unit: CleanUnit) -> CleanReaction | str:
    return unit if isinstance(unit, CleanReaction) else "not_a_reaction"


def _molecule(unit: CleanUnit) -> CleanMolecule | str:
    return unit if isinstance(unit, CleanMolecule) else "not_a_molecule"


def _forward(unit: CleanUnit, task: Task) -> Pair | str:
    reaction = _reaction(unit)
    if isinstance(reaction, str):
        return reaction
    return ".".join(sorted(reaction.reactants + reaction.reagents)), reaction.product


def _retro(unit: CleanUnit, task: Task) -> Pair | str:
    reaction = _reaction(unit)
    if isinstance(reaction, str):
        return reaction
    return reaction.product, ".".join(reaction.reactants)


def _molecule_pair(input_field: str, output_field: str) -> Builder:
    """A builder mapping one field of a molecule to another (``smiles``, ``iupac``, ``formula``, ...)."""

    def build(unit: CleanUnit, task: Task) -> Pair | str:
        molecule = _molecule(unit)
        if isinstance(molecule, str):
            return molecule
        source, answer = getattr(molecule, input_field), getattr(molecule, output_field)
        if not source:
            return f"missing_{input_field}"
        if not answer:
            return f"missing_{output_field}"
        return source, answer

    return build


def _property(unit: CleanUnit, task: Task) -> Pair | str:
    molecule = _molecule(unit)
    if isinstance(molecule, str):
        return molecule
    if task.multi_target:
        answers = {target: answer for target, answer in molecule.labels if target is not None}
        return (molecule.smiles, answers) if answers else "missing_label"
    single = [answer for target, answer in molecule.labels if target is None]
    return (molecule.smiles, single[0]) if single else "missing_label"


TASK_BUILDERS: dict[str, Builder] = {
    "forward_synthesis": _forward,
    "retrosynthesis": _retro,
    "molecule_captioning": _molecule_pair("smiles", "description"),
    "molecule_generation": _molecule_pair("description", "smiles"),
    "name_conversion-i2f": _molecule_pair("iupac", "formula"),
    "name_conversion-i2s": _molecule_pair("iupac", "smiles"),
    "name_conversion-s2f": _molecule_pair("smiles", "formula"),
    "name_conversion-s2i": _molecule_pair("smiles", "iupac"),
    "property_prediction-esol": _property,
    "property_prediction-lipo": _property,
    "property_prediction-bbbp": _property,
    "property_prediction-clintox": _property,
    "property_prediction-hiv": _property,
    "property_prediction-sider": _property,
}


def _to_selfies(smiles: str, table: dict[str, str]) -> str:
    return ".".join(table[part] for part in smiles.split("."))


def make_item(unit: CleanUnit, task: Task, with_selfies: bool) -> RawItem | str:
    """The raw sample of ``task`` built from ``unit``, or the reason it cannot be built."""
    pair = TASK_BUILDERS[task.name](unit, task)
    if isinstance(pair, str):
        return pair
    source, answer = pair
    source_selfies, answer_selfies = source, answer
    if with_selfies:
        if task.input_tag is Tag.SMILES:
            source_selfies = _to_selfies(source, unit.selfies)
        if task.output_tag is Tag.SMILES and isinstance(answer, str):
            answer_selfies = _to_selfies(answer, unit.selfies)
    keys: list[str] = []
    if task.answer_type is AnswerType.SMILES and isinstance(answer, str):
        keys.append(f"molecule:{answer}")
    if isinstance(unit, CleanReaction):
        keys.append(f"reaction:{unit.split_key}")
    return RawItem(source, answer, source_selfies, answer_selfies, tuple(keys))
