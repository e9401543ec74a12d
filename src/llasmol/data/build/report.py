"""The build report (returned, ``qc_report.json``) and the dataset card (``README.md``).

Both files hold no timings or paths of the machine, so a rebuild with the same config and seed is
byte-identical; timings live on the returned :class:`BuildReport` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llasmol.data.build.config import BuildConfig
from llasmol.data.build.records import SPLITS
from llasmol.data.build.writer import SplitStats


@dataclass
class BuildReport:
    """What a build wrote and dropped, step by step."""

    out_dir: Path
    name: str
    seed: int
    stats: dict[str, dict[str, SplitStats]]
    test_subset: dict[str, int]
    source_qc: dict[str, dict[str, int]]
    task_qc: dict[str, dict[str, int]]
    leaks: dict[str, dict[str, int]]  # evaluation task -> training task -> training samples dropped
    elapsed_s: float = 0.0
    sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_samples(self) -> int:
        return sum(stats.samples for splits in self.stats.values() for stats in splits.values())

    @property
    def samples_per_second(self) -> float:
        return self.total_samples / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def leak_count(self) -> int:
        return sum(count for row in self.leaks.values() for count in row.values())

    def samples(self, task: str, split: str) -> int:
        return self.stats[task][split].samples

    def to_dict(self, include_timing: bool = False) -> dict[str, Any]:
        """Plain JSON-ready data; without timing it is fully determined by the config."""
        data: dict[str, Any] = {
            "name": self.name,
            "seed": self.seed,
            "sources": self.sources,
            "samples": {task: {split: s.samples for split, s in splits.items()} for task, splits in self.stats.items()},
            "raw_lines": {task: {split: s.lines for split, s in splits.items()} for task, splits in self.stats.items()},
            "test_subset": self.test_subset,
            "total_samples": self.total_samples,
            "source_qc": self.source_qc,
            "task_qc": self.task_qc,
            "leaks_dropped": self.leaks,
            "leaks_total": self.leak_count,
        }
        if include_timing:
            data["elapsed_s"] = round(self.elapsed_s, 3)
            data["samples_per_s"] = round(self.samples_per_second, 1)
        return data


def source_summary(config: BuildConfig) -> list[dict[str, Any]]:
    return [{"name": s.name, "reader": s.reader, "path": s.path_as_written, "tasks": list(s.tasks), "split": s.split,
             "limit": s.limit, "description": s.description} for s in config.sources]


def _source_descriptions(report: BuildReport) -> list[str]:
    """A line for each described source, then a blank line; nothing where no source is described."""
    lines = [f"- **{s['name']}**: {s['description']}" for s in report.sources if s.get("description")]
    return [*lines, ""] if lines else []


def _mean(total: int, count: int) -> str:
    return f"{total / count:.1f}" if count else "–"


def _statistics_table(report: BuildReport) -> list[str]:
    rows = ["| task | train | validation | test | test subset | mean query length | mean response length |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    totals = dict.fromkeys(SPLITS, 0)
    for task, splits in report.stats.items():
        samples = sum(s.samples for s in splits.values())
        query = sum(s.query_chars for s in splits.values())
        response = sum(s.response_chars for s in splits.values())
        for split in SPLITS:
            totals[split] += splits[split].samples
        rows.append(f"| {task} | {splits['train'].samples} | {splits['validation'].samples} | "
                    f"{splits['test'].samples} | {report.test_subset.get(task, 0)} | {_mean(query, samples)} | "
                    f"{_mean(response, samples)} |")
    rows.append(f"| **total** | {totals['train']} | {totals['validation']} | {totals['test']} | "
                f"{sum(report.test_subset.values())} | | |")
    return rows


def _counts_table(title: str, counts: dict[str, dict[str, int]]) -> list[str]:
    rows = [f"| {title} | step | count |", "|---|---|---:|"]
    for name, reasons in counts.items():
        rows.extend(f"| {name} | {reason} | {count} |" for reason, count in sorted(reasons.items()))
    return rows


def _leak_table(report: BuildReport) -> list[str]:
    rows = ["| answer in validation/test of | found in training of | training samples dropped |", "|---|---|---:|"]
    for evaluation, row in report.leaks.items():
        rows.extend(f"| {evaluation} | {training} | {count} |" for training, count in sorted(row.items()))
    if len(rows) == 2:
        rows.append("| – | – | 0 |")
    return rows


def dataset_card(report: BuildReport) -> str:
    """The ``README.md`` of a build: sources, statistics table, QC and leakage reports."""
    lines = [
        f"# {report.name}",
        "",
        "SMolInstruct-style instruction data built by `llasmol data build` "
        f"(seed {report.seed}), in the layout of the official SMolInstruct release: `raw/`, `raw_selfies/`, "
        "`template/`, `sample/`, `core_tag/`.",
        "",
        "```python",
        "from llasmol.data import load_smolinstruct",
        'dataset = load_smolinstruct("path/to/this/folder")',
        "```",
        "",
        "## Sources",
        "",
        "| source | reader | path | tasks | split |",
        "|---|---|---|---|---|",
        *(f"| {s['name']} | {s['reader']} | `{s['path']}` | {', '.join(s['tasks'])} | {s['split']} |"
          for s in report.sources),
        "",
        *_source_descriptions(report),
        "## Statistics",
        "",
        "Samples per task and split; lengths are mean characters of the rendered query and response "
        "(with core tags).",
        "",
        *_statistics_table(report),
        "",
        "## Quality control",
        "",
        "Molecules are written as canonical Kekulé SMILES (the evaluator's canonicalizer); unparsable molecules, "
        "empty answers, reactions whose product is among the reactants, formulas disagreeing with RDKit, names "
        "OPSIN does not parse into the same structure (stereo aside), molecules SELFIES cannot encode and "
        "duplicates are dropped. Reactants and reagents are relabelled by atom maps.",
        "",
        "### Per source",
        "",
        *_counts_table("source", report.source_qc),
        "",
        "### Per task",
        "",
        *_counts_table("task", report.task_qc),
        "",
        "## Leakage control",
        "",
        "No answer (molecule or reaction) of a validation or test sample appears as an answer in any task's "
        f"training data; {report.leak_count} offending training samples were dropped.",
        "",
        *_leak_table(report),
        "",
    ]
    return "\n".join(lines)
