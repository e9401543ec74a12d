"""Data building at PubChem scale: throughput and peak memory of the local and Ray engines as input grows.

Writes PubChem-style bulk files (``CID-SMILES.gz`` and ``CID-Mass.gz``, ascending CIDs) of N lines
made from the real USPTO-MIT product pool in ../shared/data (70k molecules, each line a random
rewriting of one, so that no cache holds them; formulas by RDKit), then builds SMILES → formula data
from them (`pubchem_bulk` reader, the formula checked against RDKit's) with each engine in a fresh
process, sampling the resident memory of that process and all its children (workers, Ray's
processes) every 0.2 s:

    .venv/bin/python benchmarks/bench_data_build_scale.py --lines 1000000,4000000 \
        --runs local:2,ray:1,ray:2 [--inputs DIR] [--chunk-size 1024]

Prints input lines/s, output samples and peak RSS per run, the Ray 2-worker / 1-worker ratio and
the peak-RSS ratio between the largest and smallest input per engine. Input files are kept in
``--inputs`` (default: a folder under the system's temp folder) and reused.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

from records import RunRecord, add_record_option

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LLASMOL_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
REWRITINGS = 8  # random writings per molecule: 560k distinct strings cycle through the input


def _pool() -> list[str]:
    molecules: dict[str, None] = {}
    for name in ("tgt-valid.txt", "tgt-test.txt"):
        for text in (SHARED / "uspto_mit" / name).read_text(encoding="utf-8").splitlines():
            if text.strip():
                molecules[text.replace(" ", "")] = None
    return list(molecules)


def _writings(pool: list[str], seed: int = 0) -> tuple[list[list[str]], list[str]]:
    """Random rewritings of each parsable molecule, and its formula."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    RDLogger.DisableLog("rdApp.*")
    random.seed(seed)
    writings, formulas = [], []
    for smiles in pool:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            continue
        writings.append([Chem.MolToSmiles(mol, doRandom=True, canonical=False) for _ in range(REWRITINGS)])
        formulas.append(CalcMolFormula(mol))
    return writings, formulas


def write_inputs(folder: Path, lines: int) -> Path:
    """``CID-SMILES.gz`` and ``CID-Mass.gz`` of ``lines`` compounds in ``folder/<lines>``; reused if present."""
    target = folder / str(lines)
    done = target / "complete"
    if done.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    writings, formulas = _writings(_pool())
    started = time.perf_counter()
    with gzip.open(target / "CID-SMILES.gz", "wt", compresslevel=1) as smiles_file, \
            gzip.open(target / "CID-Mass.gz", "wt", compresslevel=1) as mass_file:
        for index in range(lines):
            molecule = index % len(writings)
            rewriting = (index // len(writings)) % REWRITINGS
            cid = index + 1
            smiles_file.write(f"{cid}\t{writings[molecule][rewriting]}\n")
            mass_file.write(f"{cid}\t{formulas[molecule]}\t0.0\t0.0\n")
    done.write_text(str(lines))
    print(f"wrote {lines:,} lines to {target} in {time.perf_counter() - started:.0f} s", flush=True)
    return target


def _config(inputs: Path, chunk_size: int) -> str:
    return textwrap.dedent(f"""\
        name: pubchem-scale benchmark
        seed: 42
        opsin_check: false
        selfies: false
        chunk_size: {chunk_size}
        sources:
          - name: pubchem-bulk
            reader: pubchem_bulk
            path: {inputs / 'CID-SMILES.gz'}
            tasks: [name_conversion-s2f]
            split: auto
            options: {{formula_path: {inputs / 'CID-Mass.gz'}}}
        """)


_CHILD = """
import json, sys, time
from dataclasses import replace
from llasmol.data.build import build_dataset, load_build_config
config = replace(load_build_config(sys.argv[1]), engine=sys.argv[2])
started = time.perf_counter()
report = build_dataset(config, sys.argv[4], workers=int(sys.argv[3]), overwrite=True)
elapsed = time.perf_counter() - started
read = sum(qc.get("records_read", 0) for qc in report.source_qc.values())
print(json.dumps({"seconds": elapsed, "records_read": read, "samples": report.total_samples}))
"""


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_build(config_path: Path, engine: str, workers: int, out: Path) -> dict[str, float]:
    """One build in a fresh process; its figures and the peak RSS of its process tree."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(config_path), engine, str(workers), str(out)],
                             stdout=subprocess.PIPE, text=True)
    process, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        peak = max(peak, _tree_rss(process))
        time.sleep(0.2)
    output = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"{engine}:{workers} failed (exit {child.returncode})")
    figures = json.loads(output.strip().splitlines()[-1])
    figures["peak_rss_mb"] = peak / 2**20
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="1000000,4000000", help="Input sizes, comma-separated.")
    parser.add_argument("--runs", default="local:2,ray:1,ray:2", help="engine:workers, comma-separated.")
    parser.add_argument("--inputs", type=Path, default=Path(tempfile.gettempdir()) / "llasmol-bench-pubchem")
    parser.add_argument("--chunk-size", type=int, default=1024)
    add_record_option(parser)
    args = parser.parse_args()
    run_record = RunRecord("bench_data_build_scale", enabled=args.record)
    sizes = [int(value) for value in args.lines.split(",")]
    runs = [(run.split(":")[0], int(run.split(":")[1])) for run in args.runs.split(",")]
    results: dict[str, dict[str, dict[str, float]]] = {}
    for lines in sizes:
        inputs = write_inputs(args.inputs, lines)
        config_path = inputs / "build.yaml"
        config_path.write_text(_config(inputs, args.chunk_size), encoding="utf-8")
        for engine, workers in runs:
            with tempfile.TemporaryDirectory(prefix="llasmol-bench-out-") as out:
                figures = run_build(config_path, engine, workers, Path(out) / "dataset")
            rate = figures["records_read"] / figures["seconds"]
            results.setdefault(f"{engine}:{workers}", {})[str(lines)] = {**figures, "lines_per_second": rate}
            print(f"{engine}:{workers}  {lines:>9,} lines  {figures['seconds']:7.1f} s  {rate:8,.0f} lines/s  "
                  f"{figures['samples']:>7,} samples  peak RSS {figures['peak_rss_mb']:7.0f} MB  "
                  f"(load average {os.getloadavg()[0]:.2f})", flush=True)
    summary: dict[str, float] = {}
    for lines in map(str, sizes):
        one, two = results.get("ray:1", {}).get(lines), results.get("ray:2", {}).get(lines)
        if one and two:
            summary[f"ray_2_over_1_workers_{lines}"] = two["lines_per_second"] / one["lines_per_second"]
            print(f"ray, {int(lines):,} lines: 2 workers / 1 worker = {summary[f'ray_2_over_1_workers_{lines}']:.2f}×")
    if len(sizes) > 1:
        small, large = str(min(sizes)), str(max(sizes))
        for run, by_size in results.items():
            if small in by_size and large in by_size:
                ratio = by_size[large]["peak_rss_mb"] / by_size[small]["peak_rss_mb"]
                summary[f"peak_rss_ratio_{run}"] = ratio
                print(f"{run}: peak RSS at {int(large):,} lines / at {int(small):,} lines = {ratio:.2f}×")
    run_record.write({"chunk_size": args.chunk_size, "results": results, "summary": summary})


if __name__ == "__main__":
    main()
