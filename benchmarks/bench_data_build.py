"""End-to-end throughput of `llasmol data build` on the real sources in ../shared/data.

Builds every task from all rows of the example config (configs/data/shared_sources.yaml) plus the
USPTO-MIT test products as a second SMILES → formula pool, which gives > 200k distinct output
samples without repeating any source (repeated rows would only be dropped as duplicates).

    .venv/bin/python benchmarks/bench_data_build.py [--workers 2] [--limit N] [--out DIR]

Prints samples, seconds and samples/s (time includes reading, QC, OPSIN, SELFIES, leakage
control and writing the layout).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from llasmol.data.build import build_dataset, load_build_config
from llasmol.data.build.config import SourceConfig
from records import RunRecord, add_record_option

REPO_ROOT = Path(__file__).resolve().parent.parent


def _extra_sources(config_sources: tuple[SourceConfig, ...]) -> tuple[SourceConfig, ...]:
    mit = next(source for source in config_sources if source.reader == "smiles_lines")
    test_products = replace(mit, name="uspto-mit-test-products", path=mit.path.with_name("tgt-test.txt"),
                            path_as_written=mit.path_as_written.replace("tgt-valid", "tgt-test"))
    return (*config_sources, test_products)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="Rows per source (default: all).")
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "configs/data/shared_sources.yaml")
    parser.add_argument("--out", type=Path, default=None, help="Keep the dataset here (default: a temp folder).")
    add_record_option(parser)
    args = parser.parse_args()
    run_record = RunRecord("bench_data_build", enabled=args.record)

    config = load_build_config(args.config)
    sources = _extra_sources(config.sources)
    if args.limit is not None:
        sources = tuple(replace(source, limit=args.limit) for source in sources)
    config = replace(config, sources=sources)
    workdir = Path(tempfile.mkdtemp(prefix="llasmol-bench-"))
    out = args.out or workdir / "dataset"
    try:
        cpu_before = os.times()
        started = time.perf_counter()
        report = build_dataset(config, out, workers=args.workers, overwrite=True, progress=True)
        elapsed = time.perf_counter() - started
        cpu_after = os.times()
    finally:
        if args.out is None:
            shutil.rmtree(workdir, ignore_errors=True)
    main_cpu = cpu_after.user - cpu_before.user
    worker_cpu = cpu_after.children_user - cpu_before.children_user
    cpu = main_cpu + worker_cpu
    print(f"workers: {args.workers}   cpus: {os.cpu_count()}   load average before end: {os.getloadavg()[0]:.2f}")
    print(f"samples: {report.total_samples}   wall: {elapsed:.1f} s   samples/s: {report.total_samples / elapsed:.0f}")
    print(f"cpu seconds (user): main {main_cpu:.1f} + workers {worker_cpu:.1f} = {cpu:.1f}   "
          f"samples per cpu-second: {report.total_samples / max(cpu, 1e-9):.0f}")
    print(f"leaking training samples dropped: {report.leak_count}")
    run_record.write({"workers": args.workers, "limit": args.limit, "samples": report.total_samples,
                  "wall_seconds": round(elapsed, 1), "samples_per_second": round(report.total_samples / elapsed),
                  "cpu_seconds_user": {"main": round(main_cpu, 1), "workers": round(worker_cpu, 1),
                                       "total": round(cpu, 1)},
                  "samples_per_cpu_second": round(report.total_samples / max(cpu, 1e-9)),
                  "leaking_training_samples_dropped": report.leak_count})


if __name__ == "__main__":
    main()
