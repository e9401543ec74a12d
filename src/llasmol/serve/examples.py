"""Example inputs for the web page: a handful of real validation samples per task.

The shipped ``examples.json`` was made from the SMolInstruct validation split with::

    python scripts/build_serve_examples.py ../shared/data/smolinstruct/val src/llasmol/serve/examples.json
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from llasmol.chem import canonicalize_smiles
from llasmol.data.raw import iter_raw_records
from llasmol.files import write_json_atomic
from llasmol.tasks import TASKS, Tag, Task

EXAMPLES_PER_TASK = 5
MAX_EXAMPLE_CHARS = 90  # short inputs read and draw well on the page


def select_examples(val_dir: Path | str, per_task: int = EXAMPLES_PER_TASK) -> dict[str, Any]:
    """The first ``per_task`` short, valid samples of each task's validation file, in file order.

    Returns ``{"source": ..., "tasks": {name: {"examples": [{input, target, reference}], "targets": [...]}}}``;
    ``targets`` lists the classes of multi-target tasks (SIDER), empty otherwise.
    """
    val_dir = Path(val_dir)
    tasks: dict[str, Any] = {}
    for task in TASKS.values():
        path = val_dir / f"{task.name}.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: validation file of task {task.name!r} is missing")
        tasks[task.name] = _examples_of_task(path, task, per_task)
    return {"source": f"SMolInstruct validation split ({val_dir.name})", "tasks": tasks}


def _examples_of_task(path: Path, task: Task, per_task: int) -> dict[str, Any]:
    examples: list[dict[str, Any]] = []
    targets: list[str] = []
    seen_lines: set[int] = set()
    for record in iter_raw_records(path):
        if task.multi_target and record.target is not None and record.target not in targets:
            targets.append(record.target)
        if len(examples) >= per_task or record.line in seen_lines or not _is_good_example(record.input, task):
            continue
        seen_lines.add(record.line)  # one example per raw line (SIDER lines hold all classes)
        examples.append({"input": record.input, "target": record.target, "reference": record.output})
    return {"examples": examples, "targets": sorted(targets)}


def _is_good_example(text: str, task: Task) -> bool:
    """Short inputs; SMILES that RDKit reads as written (single '.'-separated strings, no ';')."""
    if task.input_tag is None:
        return len(text) <= 4 * MAX_EXAMPLE_CHARS
    if len(text) > MAX_EXAMPLE_CHARS:
        return False
    return task.input_tag is not Tag.SMILES or canonicalize_smiles(text) is not None


@lru_cache(maxsize=1)
def load_examples() -> dict[str, Any]:
    """The examples shipped with the package."""
    text = resources.files("llasmol.serve").joinpath("examples.json").read_text(encoding="utf-8")
    return json.loads(text)


def write_examples(examples: dict[str, Any], path: Path | str) -> None:
    """Write ``examples`` as JSON atomically."""
    write_json_atomic(path, examples, indent=1)

