"""Instruction templates of the 14 tasks, and rendering a raw sample into a query and an answer.

Each ``<task>.json`` in this package is a list of ``{"input": "…<INPUT>…", "output": "…<OUTPUT>…"}``.
Templates of multi-target tasks (SIDER) also hold ``<TARGET>``, the class a sample asks about. The
official layout's loader substitutes ``<INPUT>`` and ``<OUTPUT>`` only, so templates written into a
dataset are expanded per target first (:func:`layout_templates`): one concrete template per
(target, template), target-major.

The template of a sample is a seeded choice that depends only on (seed, task, raw line index, target),
never on the order samples are read in (:func:`choose_template_id`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from llasmol.data.layout import DEFAULT_TEMPLATE_NAME
from llasmol.tasks import Tag, Task, get_task

INPUT_PLACEHOLDER = "<INPUT>"
OUTPUT_PLACEHOLDER = "<OUTPUT>"
TARGET_PLACEHOLDER = "<TARGET>"
TEMPLATE_NAME = DEFAULT_TEMPLATE_NAME


@dataclass(frozen=True)
class Template:
    """One instruction template: a query holding ``<INPUT>`` and an answer holding ``<OUTPUT>``."""

    input: str
    output: str

    @property
    def has_target(self) -> bool:
        return TARGET_PLACEHOLDER in self.input or TARGET_PLACEHOLDER in self.output

    def with_target(self, target: str) -> Template:
        """The template with ``<TARGET>`` replaced by a class name."""
        return Template(self.input.replace(TARGET_PLACEHOLDER, target), self.output.replace(TARGET_PLACEHOLDER, target))

    def as_selfies(self) -> Template:
        """The template speaking of SELFIES instead of SMILES, as the official loader does."""
        return Template(self.input.replace("SMILES", "SELFIES"), self.output.replace("SMILES", "SELFIES"))

    def to_json(self) -> dict[str, str]:
        return {"input": self.input, "output": self.output}


def _task(task: Task | str) -> Task:
    return task if isinstance(task, Task) else get_task(task)


@cache
def load_templates(task_name: str) -> tuple[Template, ...]:
    """Our templates of a task (full or short name), in file order."""
    task = get_task(task_name)
    text = resources.files(__name__).joinpath(f"{task.name}.json").read_text(encoding="utf-8")
    items = json.loads(text)
    templates = tuple(Template(item["input"], item["output"]) for item in items)
    for template in templates:
        if INPUT_PLACEHOLDER not in template.input or OUTPUT_PLACEHOLDER not in template.output:
            raise ValueError(f"template of {task.name} lacks a placeholder: {template}")
        if template.has_target != task.multi_target:
            raise ValueError(f"template of {task.name} must {'' if task.multi_target else 'not '}name <TARGET>")
    return templates


def layout_templates(task: Task | str, targets: Sequence[str] | None = None) -> list[Template]:
    """The template list written to ``template/<name>/<task>.json``: expanded per target for SIDER.

    Template ``k`` of target ``targets[i]`` is at position ``i * len(load_templates(task)) + k``.
    """
    task = _task(task)
    templates = load_templates(task.name)
    if not task.multi_target:
        return list(templates)
    if not targets:
        raise ValueError(f"{task.name} has one template per target: pass the targets")
    return [template.with_target(target) for target in targets for template in templates]


def _template_choice(task_name: str, index: int, seed: int, target: str | None, count: int) -> int:
    key = f"{seed}\x1f{task_name}\x1f{index}\x1f{target or ''}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % count


def choose_template_id(task: Task | str, index: int, seed: int = 0, target: str | None = None,
                       targets: Sequence[str] | None = None) -> int:
    """Seeded template choice for the raw sample at line ``index``: an index into ``layout_templates``.

    Without ``targets`` (or for single-target tasks) it indexes ``load_templates(task)`` directly.
    """
    task = _task(task)
    count = len(load_templates(task.name))
    choice = _template_choice(task.name, index, seed, target, count)
    if task.multi_target and targets is not None:
        if target not in targets:
            raise ValueError(f"target {target!r} of {task.name} is not one of {list(targets)}")
        return list(targets).index(target) * count + choice
    return choice


def _swap_selfies(tag: Tag | None, use_selfies: bool) -> Tag | None:
    return Tag.SELFIES if use_selfies and tag is Tag.SMILES else tag


def core_tags(task: Task | str, use_selfies: bool = False) -> dict[str, list[str] | None]:
    """``{"input": [left, right] | None, "output": [left, right] | None}``, as in ``core_tag/<task>.json``."""
    task = _task(task)
    tags = {"input": task.input_tag, "output": task.output_tag}
    return {side: None if tag is None else [_swap_selfies(tag, use_selfies).left, _swap_selfies(tag, use_selfies).right]
            for side, tag in tags.items()}


def wrap(text: str, tag: Sequence[str | None] | None) -> str:
    """``<TAG> text </TAG>`` with spaces inside; the text itself when there is no tag."""
    if tag is None or tag[0] is None:
        return text
    return f"{tag[0]} {text} {tag[1]}"


def render(template: Template, raw_input: str, raw_output: str, task: Task | str, target: str | None = None,
           insert_core_tags: bool = True, use_selfies: bool = False) -> tuple[str, str]:
    """``(query, answer)`` of a raw sample in a template.

    With ``use_selfies`` the raw strings must already be SELFIES; the template and tags say SELFIES.
    """
    task = _task(task)
    if target is not None and template.has_target:
        template = template.with_target(target)
    if use_selfies:
        template = template.as_selfies()
    tags = core_tags(task, use_selfies) if insert_core_tags else {"input": None, "output": None}
    query = template.input.replace(INPUT_PLACEHOLDER, wrap(raw_input, tags["input"]))
    answer = template.output.replace(OUTPUT_PLACEHOLDER, wrap(raw_output, tags["output"]))
    return query, answer


__all__ = [
    "INPUT_PLACEHOLDER",
    "OUTPUT_PLACEHOLDER",
    "TARGET_PLACEHOLDER",
    "TEMPLATE_NAME",
    "Template",
    "choose_template_id",
    "core_tags",
    "layout_templates",
    "load_templates",
    "render",
    "wrap",
]
