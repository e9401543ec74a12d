"""Reading speed of SMolInstruct data: raw folders, the official layout (folder and zip), Arrow materialization.

Writes, in a temporary folder, an official-layout dataset made of the real validation split of all 14
tasks with its raw lines repeated ``--repeat`` times (10 gives about 205k samples), then times:

- ``iter_smolinstruct`` over the raw split folder (our templates, seeded choice), and with SMILES written
  as SELFIES on the fly (on the real validation split once: the conversion is cached by string),
- ``iter_smolinstruct`` over the official layout, as a folder and as a zip,
- ``load_smolinstruct`` into Arrow (a fresh cache), and ``dataset_info``.

Usage: .venv/bin/python benchmarks/bench_data_loading.py [--repeat 10] [--val ../shared/data/smolinstruct/val]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from llasmol.data import dataset_info, iter_smolinstruct, layout, load_smolinstruct
from llasmol.data.templates import choose_template_id, core_tags, layout_templates
from records import RunRecord, add_record_option

REPO_ROOT = Path(__file__).resolve().parent.parent


def write_official(val: Path, root: Path, repeat: int) -> int:
    """An official-layout ``dev`` split of every task in ``val``, raw lines repeated; returns the sample count."""
    total = 0
    for source in sorted(val.glob("*.jsonl")):
        task = source.stem
        lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()] * repeat
        raw = root / layout.raw_file("dev", task)
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text("\n".join(lines) + "\n", encoding="utf-8")
        first_output = json.loads(lines[0])["output"]
        targets = list(first_output) if isinstance(first_output, dict) else None
        templates = root / layout.template_file(layout.DEFAULT_TEMPLATE_NAME, task)
        templates.parent.mkdir(parents=True, exist_ok=True)
        templates.write_text(json.dumps([t.to_json() for t in layout_templates(task, targets)]), encoding="utf-8")
        samples = [{"idx": idx, "template_id": choose_template_id(task, idx, 0, target, targets),
                    **({"target": target} if target else {})}
                   for idx in range(len(lines)) for target in (targets or [None])]
        sample = root / layout.sample_file(layout.DEFAULT_SAMPLE_GROUP, "dev", task)
        sample.parent.mkdir(parents=True, exist_ok=True)
        sample.write_text(json.dumps({"task": task, "split": "dev", "template_name": layout.DEFAULT_TEMPLATE_NAME,
                                      "samples": samples}), encoding="utf-8")
        core = root / layout.core_tag_file(task)
        core.parent.mkdir(parents=True, exist_ok=True)
        core.write_text(json.dumps(core_tags(task)), encoding="utf-8")
        total += len(samples)
    return total


def timed(label: str, run: Callable[[], int], figures: dict[str, dict[str, float]]) -> None:
    """Time ``run``, print its rows, seconds and rows/s, and keep them in ``figures`` under ``label``."""
    start = time.perf_counter()
    rows = run()
    seconds = time.perf_counter() - start
    print(f"{label:<44} {rows:>9,} rows  {seconds:7.2f} s  {rows / seconds:>9,.0f} rows/s")
    figures[label] = {"rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--val", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "smolinstruct" / "val")
    add_record_option(parser)
    args = parser.parse_args()
    run_record = RunRecord("bench_data_loading", enabled=args.record)
    timings: dict[str, dict[str, float]] = {}

    work = Path(tempfile.mkdtemp(prefix="llasmol-bench-"))
    try:
        root = work / "official"
        samples = write_official(args.val, root, args.repeat)
        archive = shutil.make_archive(str(work / "data"), "zip", root)
        assert zipfile.is_zipfile(archive)
        size_mb = Path(archive).stat().st_size / 1e6
        print(f"{samples:,} samples (validation split x {args.repeat}); zip {size_mb:.1f} MB")
        raw_folder = root / "raw" / "dev"
        timed("iter_smolinstruct, raw folder", lambda: sum(1 for _ in iter_smolinstruct(raw_folder, "dev")), timings)
        # SMILES -> SELFIES is cached by string: time it on the real split once, not on repeated lines.
        timed("iter_smolinstruct, real val folder, SELFIES", lambda: sum(
            1 for _ in iter_smolinstruct(args.val, "dev", use_selfies=True)), timings)
        timed("iter_smolinstruct, official folder", lambda: sum(1 for _ in iter_smolinstruct(root, "dev")), timings)
        timed("iter_smolinstruct, official data.zip", lambda: sum(1 for _ in iter_smolinstruct(archive, "dev")),
              timings)
        timed("load_smolinstruct (Arrow), data.zip", lambda: load_smolinstruct(
            archive, cache_dir=work / "cache")["validation"].num_rows, timings)
        timed("dataset_info, data.zip", lambda: dataset_info(archive)["total"], timings)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    run_record.write({"repeat": args.repeat, "samples": samples, "zip_mb": round(size_mb, 1), "timings": timings})


if __name__ == "__main__":
    main()
