"""The run report: per-task table (base, fine-tuned, the constant answer, the paper's rows), plots, examples.

:func:`write_report` writes ``report.md`` (plots as PNG files beside it), ``report.html`` (one
self-contained file: plots inlined as base64 PNG, molecules as inline RDKit SVG, no external
resources) and ``summary.json`` (each task's headline metric for ``base`` and ``finetuned``, the
paper's GPT-4, Claude 3 Opus and LlaSMol-Mistral figures, and whether the fine-tuned model is ahead).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llasmol.files import write_json_atomic, write_text_atomic
from llasmol.tasks import AnswerType, Tag, Task, get_task, paper_rows

BASE, FINETUNED, CONSTANT = "base", "finetuned", "constant"
LOWER_IS_BETTER = frozenset({"RMSE", "MAE"})
VALID = "Valid"
ASSETS_FOLDER = "report_assets"


@dataclass
class ReportInputs:
    """What a report is made from; every field but ``metrics`` may be empty."""

    metrics: dict[str, dict[str, dict[str, Any]]]  # model label -> task -> metric -> value
    title: str = "llasmol run report"
    predictions: dict[str, Path] = field(default_factory=dict)  # model label -> folder of <task>.jsonl
    train_log: Path | None = None  # JSONL training log (records with step, loss, eval_loss)
    settings: dict[str, str] = field(default_factory=dict)  # what was run, shown as a list
    notes: list[str] = field(default_factory=list)  # caveats shown under the table
    stage_seconds: dict[str, float] = field(default_factory=dict)
    examples_per_task: int = 3


@dataclass(frozen=True)
class TaskRow:
    """One task's headline metric for each model and the paper."""

    task: Task
    metric: str
    base: float | None
    finetuned: float | None
    paper: float | None
    base_valid: float | None = None  # % of answers valid for the task's type (where the family has it)
    finetuned_valid: float | None = None
    constant: float | None = None  # the training data's constant answer (property tasks)
    references: dict[str, float] = field(default_factory=dict)  # the paper's rows: model -> figure

    @property
    def higher_is_better(self) -> bool:
        return self.metric not in LOWER_IS_BETTER

    def better(self, value: float | None, than: float | None) -> bool | None:
        """Whether ``value`` is strictly better than ``than`` (a missing value is the worst)."""
        if than is None:
            return None
        if value is None:
            return False
        return value > than if self.higher_is_better else value < than

    def ahead_of(self, model: str) -> bool | None:
        """Whether the fine-tuned figure is strictly better than the paper's row of ``model``."""
        return self.better(self.finetuned, self.references.get(model))

    @property
    def improved(self) -> bool | None:
        """Whether fine-tuning improved the metric (a missing value counts as the worst)."""
        if self.finetuned is None:
            return None if self.base is None else False
        if self.base is None:
            return True
        return self.finetuned > self.base if self.higher_is_better else self.finetuned < self.base


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    html: Path
    summary: Path


# ---------------------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def task_rows(metrics: dict[str, dict[str, dict[str, Any]]]) -> list[TaskRow]:
    """Headline rows for every task scored for any model, in registry order."""
    names = {name for label, per_task in metrics.items() if label != CONSTANT for name in per_task}
    tasks = sorted((get_task(name) for name in names), key=lambda task: _registry_position(task))
    references = paper_rows()
    rows = []
    for task in tasks:
        metric = task.headline_metric
        rows.append(TaskRow(
            task=task, metric=metric,
            base=_number(metrics.get(BASE, {}).get(task.name, {}).get(metric)),
            finetuned=_number(metrics.get(FINETUNED, {}).get(task.name, {}).get(metric)),
            paper=_number(task.paper_figures.get(metric)),
            base_valid=_number(metrics.get(BASE, {}).get(task.name, {}).get(VALID)),
            finetuned_valid=_number(metrics.get(FINETUNED, {}).get(task.name, {}).get(VALID)),
            constant=_number(metrics.get(CONSTANT, {}).get(task.name, {}).get(metric)),
            references={model: figures[task.name] for model, figures in references.items() if task.name in figures},
        ))
    return rows


def ahead_counts(rows: Sequence[TaskRow]) -> dict[str, list[str]]:
    """``{model of the paper: short names of the tasks where the fine-tuned model is strictly ahead}``."""
    models = list(paper_rows())
    return {model: [row.task.short_name for row in rows if row.ahead_of(model)] for model in models}


def ahead_sentence(rows: Sequence[TaskRow]) -> str | None:
    """One line: on how many of the scored tasks the fine-tuned model is ahead of each paper row."""
    if not any(row.finetuned is not None for row in rows):
        return None
    counts = ahead_counts(rows)
    parts = [f"{model} on {len(tasks)} of {len(rows)}" + (f" ({', '.join(tasks)})" if tasks else "")
             for model, tasks in counts.items()]
    return "The fine-tuned model is ahead (strictly better) of " + "; ".join(parts) + "."


def _registry_position(task: Task) -> int:
    from llasmol.tasks import TASK_NAMES

    return TASK_NAMES.index(task.name)


def summary_of(rows: Sequence[TaskRow]) -> dict[str, dict[str, Any]]:
    """``{task: {metric, base, finetuned, paper, higher_is_better, improved}}`` for summary.json."""
    return {
        row.task.name: {
            "metric": row.metric, BASE: row.base, FINETUNED: row.finetuned, "paper": row.paper,
            "higher_is_better": row.higher_is_better, "improved": row.improved,
            "valid": {BASE: row.base_valid, FINETUNED: row.finetuned_valid},
            CONSTANT: row.constant, "references": row.references,
            "ahead_of": {model: row.ahead_of(model) for model in row.references},
        }
        for row in rows
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


# ---------------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------------


def _figure_png(figure: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def metrics_plot_png(rows: Sequence[TaskRow]) -> bytes | None:
    """One small bar panel per task: base, fine-tuned and (where reported) the paper's figure."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(len(rows), 4)
    lines = math.ceil(len(rows) / columns)
    figure, axes = plt.subplots(lines, columns, figsize=(3.1 * columns, 2.7 * lines), squeeze=False)
    colours = {"base": "#9aa5b1", "tuned": "#2f7ed8", "const": "#c3c9d0", "GPT-4": "#74aa9c",
               "Claude": "#d97757", "LlaSMol": "#f0a030"}
    short = {"GPT-4": "GPT-4", "Claude 3 Opus": "Claude", "LlaSMol-Mistral": "LlaSMol"}
    for axis, row in zip(axes.flat, rows, strict=False):
        bars_of = {"base": row.base, "tuned": row.finetuned, "const": row.constant,
                   **{short.get(model, model): value for model, value in row.references.items()}}
        shown = {label: value for label, value in bars_of.items()
                 if value is not None or label in ("base", "tuned")}
        heights = [value if value is not None else 0.0 for value in shown.values()]
        bars = axis.bar(list(shown), heights, color=[colours.get(label, "#f0a030") for label in shown])
        for bar, value in zip(bars, shown.values(), strict=True):
            axis.annotate(_fmt(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                          ha="center", va="bottom", fontsize=7)
        arrow = "↑" if row.higher_is_better else "↓"
        axis.set_title(f"{row.task.short_name}: {row.metric} {arrow}", fontsize=10)
        axis.tick_params(labelsize=7)
        axis.margins(y=0.2)
    for axis in list(axes.flat)[len(rows):]:
        axis.set_visible(False)
    figure.tight_layout()
    return _figure_png(figure)


def read_train_log(path: Path | None) -> list[dict[str, Any]]:
    if path is None or not Path(path).is_file():
        return []
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def loss_plot_png(log: Sequence[dict[str, Any]]) -> bytes | None:
    """Training (and validation, if logged) loss against optimizer step."""
    train = [(r["step"], r["loss"]) for r in log if _number(r.get("loss")) is not None and "step" in r]
    evals = [(r["step"], r["eval_loss"]) for r in log if _number(r.get("eval_loss")) is not None and "step" in r]
    if not train and not evals:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.2, 3.2))
    if train:
        axis.plot([step for step, _ in train], [loss for _, loss in train], label="train loss", color="#2f7ed8")
    if evals:
        axis.plot([step for step, _ in evals], [loss for _, loss in evals], "o-", label="validation loss",
                  color="#f0a030")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("loss")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    return _figure_png(figure)


def reward_plot_png(log: Sequence[dict[str, Any]]) -> bytes | None:
    """A GRPO run's mean reward against optimizer step: overall, and the chemistry reward per task."""
    from llasmol.rl.grpo import reward_figure, task_reward_series

    series = task_reward_series(log)
    return _figure_png(reward_figure(series)) if series.get("all") else None


# ---------------------------------------------------------------------------------------------
# examples and molecule drawings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One held-out sample with what each model answered."""

    task: Task
    query: str
    gold: str | None
    answers: dict[str, str | None]  # model label -> best answer
    raw: dict[str, str] = field(default_factory=dict)  # model label -> the text it generated (best first)


def _read_jsonl(path: Path, limit: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    if not path.is_file():
        return records
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if len(records) >= limit:
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def _best_answer(record: dict[str, Any], task: Task) -> str | None:
    answers = record.get("pred")
    if answers is None and record.get("output") is not None:
        from llasmol.tasks import extract_answers

        texts = record["output"] if isinstance(record["output"], list) else [record["output"]]
        answers = extract_answers([text or "" for text in texts], task)
    if isinstance(answers, str):
        return answers
    if isinstance(answers, list) and answers:
        return answers[0] if isinstance(answers[0], str) else None
    return None


def _raw_text(record: dict[str, Any]) -> str:
    output = record.get("output")
    if isinstance(output, list):
        output = output[0] if output else ""
    return output if isinstance(output, str) else ""


def collect_examples(predictions: dict[str, Path], tasks: Sequence[Task], per_task: int) -> list[Example]:
    """The first ``per_task`` samples of each task, with each model's best answer."""
    examples = []
    for task in tasks:
        per_model = {label: _read_jsonl(Path(folder) / f"{task.name}.jsonl", per_task)
                     for label, folder in predictions.items()}
        reference = per_model.get(FINETUNED) or next(iter(per_model.values()), [])
        for index, record in enumerate(reference):
            answers = {
                label: _best_answer(records[index], task) if index < len(records) else None
                for label, records in per_model.items()
            }
            raw = {label: _raw_text(records[index]) for label, records in per_model.items() if index < len(records)}
            query = str(record.get("input") or "")
            gold = record.get("gold")
            examples.append(Example(task, query, gold if isinstance(gold, str) else None, answers, raw))
    return examples


def tagged_text(text: str, tag: Tag | None) -> str | None:
    """The text inside ``<TAG> … </TAG>`` (the molecule of a query), if any."""
    if tag is None:
        return None
    match = re.search(re.escape(tag.left) + r"\s*(.*?)\s*" + re.escape(tag.right), text, flags=re.S)
    return match.group(1) if match else None


def molecule_svg(smiles: str | None, size: tuple[int, int] = (220, 160)) -> str | None:
    """An inline SVG drawing of a SMILES (``;`` read as ``.``), or ``None`` if RDKit cannot parse it."""
    if not smiles:
        return None
    from rdkit import Chem, RDLogger
    from rdkit.Chem.Draw import rdMolDraw2D

    RDLogger.DisableLog("rdApp.*")
    molecule = Chem.MolFromSmiles(smiles.replace(";", "."))
    if molecule is None or molecule.GetNumAtoms() == 0:
        return None
    drawer = rdMolDraw2D.MolDraw2DSVG(*size)
    drawer.drawOptions().clearBackground = False
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, molecule)
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    return svg[svg.find("<svg"):]


def example_molecules(example: Example) -> list[tuple[str, str]]:
    """``(caption, svg)`` drawings for an example: the query's molecule, the gold and each answer."""
    drawings = []
    query_smiles = None
    if example.task.input_tag is Tag.SMILES:  # a raw input is the SMILES itself; a rendered query tags it
        query_smiles = tagged_text(example.query, Tag.SMILES) or example.query.strip()
    if query_smiles and (svg := molecule_svg(query_smiles)):
        drawings.append(("query", svg))
    if example.task.answer_type is AnswerType.SMILES:
        for caption, smiles in [("gold", example.gold), *example.answers.items()]:
            if svg := molecule_svg(smiles):
                drawings.append((caption, svg))
            elif caption != "gold" and smiles:
                drawings.append((caption, "<div class='invalid'>not a valid SMILES</div>"))
    return drawings


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def _reference_models(rows: Sequence[TaskRow]) -> list[str]:
    return [model for model in paper_rows() if any(model in row.references for row in rows)]


def _ahead_marks(row: TaskRow, models: Sequence[str]) -> str:
    marks = [model.split()[0] for model in models if row.ahead_of(model)]
    return ", ".join(marks) if marks else "–"


def _table_markdown(rows: Sequence[TaskRow]) -> list[str]:
    models = _reference_models(rows)
    lines = [
        "| task | metric | base | fine-tuned | constant answer (training data) | "
        + " | ".join(f"{model} (paper)" for model in models)
        + " | fine-tuned ahead of | improved over base | valid % (base → fine-tuned) |",
        "|---|---|---:|---:|---:|" + "---:|" * len(models) + ":---:|:---:|---:|",
    ]
    for row in rows:
        arrow = "↑" if row.higher_is_better else "↓"
        mark = {True: "yes", False: "no", None: "–"}[row.improved]
        references = " | ".join(_fmt(row.references.get(model)) for model in models)
        lines.append(f"| {row.task.name} | {row.metric} {arrow} | {_fmt(row.base)} | {_fmt(row.finetuned)} | "
                     f"{_fmt(row.constant)} | {references} | {_ahead_marks(row, models)} | {mark} | {_valid(row)} |")
    return lines


def _valid(row: TaskRow) -> str:
    if row.base_valid is None and row.finetuned_valid is None:
        return "–"
    return f"{_fmt(row.base_valid)} → {_fmt(row.finetuned_valid)}"


def _all_metrics_markdown(metrics: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = []
    for label, per_task in metrics.items():
        lines += ["", f"**{label}**", ""]
        for task, values in per_task.items():
            shown = ", ".join(f"{key} {value}" if isinstance(value, int) else f"{key} {_fmt(_number(value))}"
                              for key, value in values.items() if _number(value) is not None)
            lines.append(f"- {task}: {shown}")
    return lines


def _md_cell(text: str | None) -> str:
    return "(no answer)" if not text else text.replace("|", "\\|").replace("\n", " ")


def render_markdown(inputs: ReportInputs, rows: Sequence[TaskRow], examples: Sequence[Example],
                    plot_files: dict[str, str]) -> str:
    lines = [f"# {inputs.title}", ""]
    if inputs.settings:
        lines += [f"- **{key}**: {value}" for key, value in inputs.settings.items()] + [""]
    lines += ["## Results on the held-out test samples", "", *_table_markdown(rows), ""]
    if sentence := ahead_sentence(rows):
        lines += [f"**{sentence}**", ""]
    lines += [f"> {note}" for note in inputs.notes]
    if "metrics" in plot_files:
        lines += ["", f"![headline metric per task]({plot_files['metrics']})"]
    if "loss" in plot_files:
        lines += ["", "## Training loss", "", f"![loss curve]({plot_files['loss']})"]
    if "reward" in plot_files:
        lines += ["", "## Reward per step (GRPO)", "", f"![reward curve]({plot_files['reward']})"]
    if inputs.stage_seconds:
        lines += ["", "## Wall time per stage", "", "| stage | seconds |", "|---|---:|"]
        lines += [f"| {name} | {seconds:.1f} |" for name, seconds in inputs.stage_seconds.items()]
        lines += [f"| **total** | {sum(inputs.stage_seconds.values()):.1f} |"]
    if examples:
        labels = list(examples[0].answers)
        lines += ["", "## Example answers", "", "| task | query | gold | " + " | ".join(labels) + " |",
                  "|---|---|---|" + "---|" * len(labels)]
        for example in examples:
            answers = " | ".join(_md_cell(example.answers.get(label)) for label in labels)
            lines.append(f"| {example.task.short_name} | {_md_cell(example.query)} | {_md_cell(example.gold)} | "
                         f"{answers} |")
    lines += ["", "## All metrics", *_all_metrics_markdown(inputs.metrics), ""]
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1f2933;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #e4e7eb;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em} th,td{border:1px solid #d9dee3;padding:.35em .6em}
th{background:#f5f7fa;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
td.yes{color:#1c7c3c;font-weight:600} td.no{color:#b42318;font-weight:600}
.settings{color:#52606d;font-size:.92em} .note{background:#fff8e6;border-left:4px solid #f0a030;padding:.4em .8em;
margin:.4em 0;font-size:.9em}
.example{border:1px solid #e4e7eb;border-radius:6px;padding:.6em .9em;margin:.8em 0}
.example .query{font-family:ui-monospace,monospace;font-size:.85em;color:#323f4b;word-break:break-all}
.answers{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all} .raw{color:#7b8794}
.mols{display:flex;flex-wrap:wrap;gap:.6em;margin-top:.4em} .mol{text-align:center;font-size:.8em;color:#52606d}
.mol svg{border:1px solid #eef0f3;border-radius:4px;background:#fff}
.invalid{width:220px;height:160px;display:flex;align-items:center;justify-content:center;border:1px dashed #d9dee3;
color:#b42318}
img{max-width:100%}
"""


def _html_table(rows: Sequence[TaskRow]) -> str:
    models = _reference_models(rows)
    head = ("<tr><th>task</th><th>metric</th><th>base</th><th>fine-tuned</th><th>constant answer (training data)</th>"
            + "".join(f"<th>{html.escape(model)} (paper)</th>" for model in models)
            + "<th>fine-tuned ahead of</th><th>improved over base</th><th>valid % (base → fine-tuned)</th></tr>")
    body = []
    for row in rows:
        arrow = "↑" if row.higher_is_better else "↓"
        mark = {True: "yes", False: "no", None: "–"}[row.improved]
        references = "".join(f"<td class='num'>{_fmt(row.references.get(model))}</td>" for model in models)
        body.append(
            f"<tr><td>{html.escape(row.task.name)}</td><td>{row.metric} {arrow}</td>"
            f"<td class='num'>{_fmt(row.base)}</td><td class='num'>{_fmt(row.finetuned)}</td>"
            f"<td class='num'>{_fmt(row.constant)}</td>{references}"
            f"<td>{html.escape(_ahead_marks(row, models))}</td><td class='{mark}'>{mark}</td>"
            f"<td class='num'>{html.escape(_valid(row))}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _html_example(example: Example) -> str:
    answers = "".join(
        f"<div><b>{html.escape(label)}:</b> {html.escape(answer or '(no answer)')}"
        f"<span class='raw'> — wrote: “{html.escape(example.raw.get(label, ''))}”</span></div>"
        for label, answer in example.answers.items()
    )
    molecules = "".join(f"<div class='mol'>{svg}<div>{html.escape(caption)}</div></div>"
                        for caption, svg in example_molecules(example))
    return (
        f"<div class='example'><div><b>{html.escape(example.task.name)}</b></div>"
        f"<div class='query'>{html.escape(example.query)}</div>"
        f"<div class='answers'><div><b>gold:</b> {html.escape(example.gold or '–')}</div>{answers}</div>"
        f"<div class='mols'>{molecules}</div></div>"
    )


def _img(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    return f"<img alt='{alt}' src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>"


def render_html(inputs: ReportInputs, rows: Sequence[TaskRow], examples: Sequence[Example],
                plots: dict[str, bytes]) -> str:
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(inputs.title)}"
             f"</title><style>{_CSS}</style></head><body><h1>{html.escape(inputs.title)}</h1>"]
    if inputs.settings:
        items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in inputs.settings.items())
        parts.append(f"<ul class='settings'>{items}</ul>")
    parts.append("<h2>Results on the held-out test samples</h2>" + _html_table(rows))
    if sentence := ahead_sentence(rows):
        parts.append(f"<p><b>{html.escape(sentence)}</b></p>")
    parts += [f"<div class='note'>{html.escape(note)}</div>" for note in inputs.notes]
    parts.append(_img(plots.get("metrics"), "headline metric per task"))
    if plots.get("loss"):
        parts.append("<h2>Training loss</h2>" + _img(plots["loss"], "loss curve"))
    if plots.get("reward"):
        parts.append("<h2>Reward per step (GRPO)</h2>" + _img(plots["reward"], "reward curve"))
    if inputs.stage_seconds:
        cells = "".join(f"<tr><td>{html.escape(n)}</td><td class='num'>{s:.1f}</td></tr>"
                        for n, s in inputs.stage_seconds.items())
        total = sum(inputs.stage_seconds.values())
        parts.append(f"<h2>Wall time per stage</h2><table><tr><th>stage</th><th>seconds</th></tr>{cells}"
                     f"<tr><th>total</th><th class='num'>{total:.1f}</th></tr></table>")
    if examples:
        parts.append("<h2>Example answers</h2>" + "".join(_html_example(example) for example in examples))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(inputs: ReportInputs, output_dir: Path | str) -> ReportFiles:
    """Write ``report.md``, ``report.html`` and ``summary.json`` into ``output_dir``."""
    output_dir = Path(output_dir)
    rows = task_rows(inputs.metrics)
    examples = collect_examples(inputs.predictions, [row.task for row in rows], inputs.examples_per_task)
    log = read_train_log(inputs.train_log)
    reward = reward_plot_png(log)  # a GRPO run: its loss says little, its reward is the curve to read
    plots = {"metrics": metrics_plot_png(rows), "loss": None if reward else loss_plot_png(log), "reward": reward}
    plot_files = {}
    for name, png in plots.items():
        if png is not None:
            path = output_dir / ASSETS_FOLDER / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png)
            plot_files[name] = f"{ASSETS_FOLDER}/{name}.png"
    files = ReportFiles(output_dir / "report.md", output_dir / "report.html", output_dir / "summary.json")
    write_text_atomic(files.markdown, render_markdown(inputs, rows, examples, plot_files))
    write_text_atomic(files.html, render_html(inputs, rows, examples, {k: v for k, v in plots.items() if v}))
    write_json_atomic(files.summary, summary_of(rows))
    return files
