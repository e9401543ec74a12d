"""Zero-shot system prompts: one per task, built from the registry, asking for the answer in the task's tags.

Models never tuned on SMolInstruct do not know that an answer goes inside ``<SMILES> … </SMILES>``; the
system prompt says so and gives an example of the tagged answer. The sample's query (the user message)
is left exactly as the data writes it. The prompts used are recorded in the run's ``generation.json``.
"""

from __future__ import annotations

from llasmol.tasks import AnswerType, Task

SYSTEM_PROMPT_MODES = ("zero-shot", "none")

_ANSWER_KINDS = {
    AnswerType.SMILES: "the SMILES of the answer (several molecules joined by '.')",
    AnswerType.FORMULA: "the molecular formula",
    AnswerType.IUPAC: "the IUPAC name",
    AnswerType.NUMBER: "the number alone",
    AnswerType.BOOLEAN: "Yes or No",
}
_ANSWER_EXAMPLES = {
    AnswerType.SMILES: "CC(=O)Oc1ccccc1C(=O)O",
    AnswerType.FORMULA: "C9H8O4",
    AnswerType.IUPAC: "2-acetyloxybenzoic acid",
    AnswerType.NUMBER: "-1.72",
    AnswerType.BOOLEAN: "Yes",
}


def zero_shot_prompt(task: Task) -> str:
    """The system prompt of ``task``: what the task is and how to write the answer."""
    opening = f"You are an expert chemist. Task: {task.description}"
    if task.output_tag is None:
        return (f"{opening} Answer with a description of the molecule in plain English, in one paragraph, "
                "without tags or markdown.")
    tag = task.output_tag
    example = tag.wrap(_ANSWER_EXAMPLES[task.answer_type])
    return (f"{opening} You may reason first, but end your reply with {_ANSWER_KINDS[task.answer_type]} "
            f"inside {tag.left} and {tag.right}, written once, for example: {example}")


def system_prompt(task: Task, mode: str) -> str | None:
    """The system prompt of ``task`` under ``mode`` (``zero-shot``, or ``none`` for no system message)."""
    if mode not in SYSTEM_PROMPT_MODES:
        raise ValueError(f"unknown system prompt mode {mode!r}; use one of {', '.join(SYSTEM_PROMPT_MODES)}")
    return zero_shot_prompt(task) if mode == "zero-shot" else None
