"""Shared fixtures: paths to the real data, caption resources, one torch thread, offline hub."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Fuzz tests: a fixed, derandomized set of examples in a plain run (CI stays reproducible);
# `pytest --hypothesis-profile=long tests/evaluate/test_differential.py` explores far more, at random.
settings.register_profile("ci", max_examples=1000, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("long", max_examples=50_000, deadline=None, print_blob=True)
settings.load_profile("ci")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("LLASMOL_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets (../shared/data); tests that need them fail loudly if it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real data not found at {SHARED_DATA} (set LLASMOL_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smolinstruct_val(shared_data: Path) -> Path:
    return shared_data / "smolinstruct" / "val"


@pytest.fixture(scope="session")
def caption_resources(shared_data: Path) -> Any:
    """The evaluator's SciBERT tokenizer and WordNet, loaded."""
    from llasmol.evaluate import CaptionResources

    return CaptionResources(shared_data / "scibert" / "vocab.txt").load()


@pytest.fixture(scope="session")
def plain_caption_tokenizer(shared_data: Path) -> Any:
    """The SciBERT tokenizer as the reference (and ``llasmol.evaluate.reference``) loads it."""
    from llasmol.evaluate.reference import reference_tokenizer

    return reference_tokenizer(shared_data / "scibert" / "vocab.txt")


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
