"""llasmol: make large language models good at chemistry (after LlaSMol, arXiv 2402.09391)."""

__version__ = "0.1.0"
