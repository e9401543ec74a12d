"""llasmol: make large language models good at chemistry (after LlaSMol, arXiv 2402.09391)."""

__version__ = "0.1.0"

_LAZY_EXPORTS = {
    "LlaSMol": "llasmol.generate.api",
    "Prediction": "llasmol.generate.api",
    "PredictRequest": "llasmol.generate.api",
}


def __getattr__(name: str) -> object:
    """Heavy exports load on first use, so ``import llasmol`` stays light."""
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'llasmol' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
