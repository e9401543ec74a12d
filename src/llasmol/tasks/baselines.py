"""Headline figures the LlaSMol paper reports on the official SMolInstruct test split, per model and task.

GPT-4 and Claude 3 Opus are zero-shot; LlaSMol-Mistral is the paper's own model (its figures live in the
registry as each task's ``paper_figures``). Source: the paper's result tables (arXiv 2402.09391, Tables 1
and 2 of the revised version; EM, Acc and Valid in %, RMSE lower is better, METEOR in 0-1).
"""

from __future__ import annotations

from llasmol.tasks.registry import TASKS

LLASMOL_MISTRAL = "LlaSMol-Mistral"
ZERO_SHOT_ROWS: dict[str, dict[str, float]] = {
    "GPT-4": {
        "name_conversion-i2f": 8.7, "name_conversion-i2s": 3.3, "name_conversion-s2f": 4.8,
        "name_conversion-s2i": 0.0, "property_prediction-esol": 2.570, "property_prediction-lipo": 1.545,
        "property_prediction-bbbp": 62.9, "property_prediction-clintox": 50.0, "property_prediction-hiv": 59.6,
        "property_prediction-sider": 57.6, "molecule_captioning": 0.188, "molecule_generation": 6.4,
        "forward_synthesis": 1.6, "retrosynthesis": 0.0,
    },
    "Claude 3 Opus": {
        "name_conversion-i2f": 34.6, "name_conversion-i2s": 17.7, "name_conversion-s2f": 9.2,
        "name_conversion-s2i": 0.0, "property_prediction-esol": 1.036, "property_prediction-lipo": 1.194,
        "property_prediction-bbbp": 75.1, "property_prediction-clintox": 41.7, "property_prediction-hiv": 76.4,
        "property_prediction-sider": 67.0, "molecule_captioning": 0.219, "molecule_generation": 12.3,
        "forward_synthesis": 3.7, "retrosynthesis": 1.1,
    },
}


def paper_rows() -> dict[str, dict[str, float]]:
    """``{model: {task: headline figure}}``: GPT-4, Claude 3 Opus and LlaSMol-Mistral."""
    llasmol = {name: task.paper_figures[task.headline_metric] for name, task in TASKS.items()
               if task.headline_metric in task.paper_figures}
    return {**ZERO_SHOT_ROWS, LLASMOL_MISTRAL: llasmol}
