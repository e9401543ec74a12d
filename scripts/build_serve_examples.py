"""Rebuild the web page's example inputs (src/llasmol/serve/examples.json) from a validation split.

Usage: python scripts/build_serve_examples.py ../shared/data/smolinstruct/val src/llasmol/serve/examples.json
"""

from __future__ import annotations

import sys

from llasmol.serve.examples import select_examples, write_examples

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/build_serve_examples.py VAL_DIR OUTPUT_JSON")
    write_examples(select_examples(sys.argv[1]), sys.argv[2])
