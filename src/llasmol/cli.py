"""The `llasmol` command line: a thin typer shell over functions also callable from Python.

Heavy imports happen inside each command so that `llasmol --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="llasmol: SMolInstruct data, fine-tuning, generation, evaluation and serving for chemistry LLMs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Load, inspect and build SMolInstruct-style data.", no_args_is_help=True)
app.add_typer(data_app, name="data")
console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> None:
    """Print one red line and exit with status 1."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


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


# ---------------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# demo, run, serve
# ---------------------------------------------------------------------------------------------


if __name__ == "__main__":
    app()
