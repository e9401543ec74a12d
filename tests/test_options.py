"""`llasmol train`'s options come from TrainConfig's fields: one declaration, the same names as a YAML config."""

from __future__ import annotations

import dataclasses

import click
import typer
from typer.testing import CliRunner

from llasmol.cli import app, config_values
from llasmol.train.config import TrainConfig, preset


def _train_options() -> dict[str, click.Option]:
    command = typer.main.get_command(app).commands["train"]
    return {parameter.name: parameter for parameter in command.params}


def test_every_config_field_is_a_train_option_with_its_help():
    options = _train_options()
    for field in dataclasses.fields(TrainConfig):
        option = options[field.name]
        assert f"--{field.name.replace('_', '-')}" in option.opts
        assert option.help == field.metadata["help"]
    assert "--lr" in options["learning_rate"].opts and "--threads" in options["num_threads"].opts


def test_flags_and_a_yaml_config_give_the_same_config():
    yaml_overrides = {"lora_r": 32, "lora_layers": 10, "learning_rate": 0.001, "eval_split": None, "progress": False,
                      "tasks": ["PP-BBBP", "NC-S2F"], "task_weights": {"property_prediction-bbbp": 2.0},
                      "finetuning": "full", "max_minutes": 7.5}
    given = {"lora_r": 32, "lora_layers": 10, "learning_rate": 0.001, "eval_split": "none", "progress": False,
             "tasks": ["PP-BBBP,NC-S2F"], "task_weights": ["PP-BBBP=2"], "finetuning": "full", "max_minutes": 7.5,
             "seed": None}
    assert preset("cpu", **config_values(TrainConfig, given)) == preset("cpu", **yaml_overrides)


def test_a_bad_option_value_is_one_line():
    result = CliRunner().invoke(app, ["train", "--data", "x", "--task-weights", "PP-BBBP"])
    assert result.exit_code == 1 and "--task-weights: expected KEY=VALUE" in result.output
    result = CliRunner().invoke(app, ["train", "--data", "x", "--batching", "sideways"])
    assert result.exit_code == 1 and "'sideways' is not a valid Batching" in result.output


def test_every_generate_config_field_is_a_generate_option_with_its_help():
    from llasmol.generate import GenerateConfig

    command = typer.main.get_command(app).commands["generate"]
    options = {parameter.name: parameter for parameter in command.params}
    assert set(options) == {field.name for field in dataclasses.fields(GenerateConfig)}
    for field in dataclasses.fields(GenerateConfig):
        assert f"--{field.name.replace('_', '-')}" in options[field.name].opts
        assert options[field.name].help == field.metadata["help"]
    given = {"data": "d", "output": "o", "tasks": ["FS,NC-S2F"], "num_beams": 1, "max_new_tokens": 40, "verify": None}
    assert GenerateConfig(**config_values(GenerateConfig, given)) == GenerateConfig(
        data="d", output="o", tasks=["FS", "NC-S2F"], num_beams=1, max_new_tokens=40)
