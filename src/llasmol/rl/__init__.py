"""Reinforcement learning on SMolInstruct: reward functions built on the evaluator's checks (TRL's signature).

The RL stage comes after ``evaluate``: it imports ``llasmol.chem``, ``llasmol.tasks`` and
``llasmol.evaluate``, never the reverse. See :mod:`llasmol.rl.rewards` for the reward table.
"""

from llasmol.rl.rewards import (
    NAME_SPAN,
    NEAR_MISS_SPAN,
    NUMBER_SPAN,
    REWARDS_BY_FAMILY,
    VALID_REWARD,
    WRONG_LABEL_REWARD,
    RewardWarning,
    answer_of,
    answer_reward,
    caption_reward,
    chemistry_reward,
    classification_reward,
    completion_text,
    count_similarity,
    format_reward,
    formula_reward,
    molecule_reward,
    morgan_similarity,
    name_reward,
    regression_reward,
    string_similarity,
    well_formed,
)

__all__ = [
    "NAME_SPAN",
    "NEAR_MISS_SPAN",
    "NUMBER_SPAN",
    "REWARDS_BY_FAMILY",
    "VALID_REWARD",
    "WRONG_LABEL_REWARD",
    "RewardWarning",
    "answer_of",
    "answer_reward",
    "caption_reward",
    "chemistry_reward",
    "classification_reward",
    "completion_text",
    "count_similarity",
    "format_reward",
    "formula_reward",
    "molecule_reward",
    "morgan_similarity",
    "name_reward",
    "regression_reward",
    "string_similarity",
    "well_formed",
]

_GRPO_NAMES = ("GRPOResult", "train_grpo")


def __getattr__(name: str) -> object:
    """GRPO training's names (``llasmol.rl.train_grpo``), imported on first use: the rewards load without torch."""
    if name in _GRPO_NAMES:
        from llasmol.rl import grpo

        return getattr(grpo, name)
    raise AttributeError(f"module 'llasmol.rl' has no attribute {name!r}")
