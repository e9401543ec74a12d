"""The task registry and answer extraction."""

from __future__ import annotations

import pytest

from llasmol.tasks import (
    TASK_NAMES,
    TASKS,
    AnswerType,
    MetricFamily,
    Tag,
    UnknownTaskError,
    extract_answer,
    extract_answers,
    get_task,
    resolve_tasks,
)


def test_registry_holds_the_14_tasks_of_the_raw_data(smolinstruct_val):
    on_disk = sorted(path.stem for path in smolinstruct_val.glob("*.jsonl"))
    assert sorted(TASK_NAMES) == on_disk
    assert len(TASKS) == 14


@pytest.mark.parametrize(
    ("name", "beams", "returns", "max_new"),
    [
        ("forward_synthesis", 8, 5, 1024),
        ("retrosynthesis", 13, 10, 960),
        ("molecule_captioning", 4, 1, 1024),
        ("molecule_generation", 8, 5, 1024),
        ("name_conversion-i2f", 6, 3, 20),
        ("name_conversion-s2f", 6, 3, 20),
        ("name_conversion-i2s", 8, 5, 1024),
        ("name_conversion-s2i", 8, 5, 1024),
        ("property_prediction-esol", 4, 1, 20),
        ("property_prediction-sider", 4, 1, 20),
    ],
)
def test_generation_settings_are_the_papers(name, beams, returns, max_new):
    settings = get_task(name).generation
    assert (settings.num_beams, settings.num_return_sequences, settings.max_new_tokens) == (beams, returns, max_new)


def test_short_names_and_errors():
    assert get_task("FS").name == "forward_synthesis"
    assert get_task("nc-i2f").name == "name_conversion-i2f"
    assert [task.name for task in resolve_tasks("RS, MC")] == ["retrosynthesis", "molecule_captioning"]
    with pytest.raises(UnknownTaskError) as error:
        get_task("forward")
    assert "forward_synthesis" in str(error.value) and "'forward'" in str(error.value)


def test_tags_types_and_families_agree():
    for task in TASKS.values():
        if task.answer_type is AnswerType.SMILES:
            assert task.output_tag is Tag.SMILES and task.metric_family is MetricFamily.MOLECULE
        if task.metric_family is MetricFamily.CAPTION:
            assert task.output_tag is None
    assert get_task("MG").input_tag is None
    assert Tag.SMILES.wrap("CCO") == "<SMILES> CCO </SMILES>"


def test_extraction_takes_first_left_and_first_right_tag():
    fs = get_task("forward_synthesis")
    assert extract_answer("The product is <SMILES> CCO </SMILES> .", fs) == "CCO"
    assert extract_answer("<SMILES> C </SMILES> or <SMILES> N </SMILES>", fs) == "C"
    assert extract_answer("<SMILES> CCO", fs) == ""
    assert extract_answer("no tags at all", fs) == ""
    assert extract_answer("</SMILES> x <SMILES> C", fs) == ""  # right tag before left: nothing between
    mc = get_task("molecule_captioning")
    assert extract_answer("<unk>The molecule is a sugar.</s>", mc) == "The molecule is a sugar."
    assert extract_answers(None, fs) is None
    assert extract_answers(["<SMILES> C </SMILES>", "x"], fs) == ["C", ""]


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_task_has_templates_a_builder_and_a_scorer(name: str):
    from llasmol.data.build.samples import TASK_BUILDERS
    from llasmol.data.templates import load_templates
    from llasmol.evaluate.scorers import SCORERS

    task = get_task(name)
    templates = load_templates(name)
    assert templates and all("<INPUT>" in template.input for template in templates)
    assert callable(TASK_BUILDERS[name])
    assert task.metric_family in SCORERS


def test_a_metric_family_has_one_scorer():
    from llasmol.evaluate.scorers import SCORERS, scorer

    assert set(SCORERS) == set(MetricFamily)
    with pytest.raises(ValueError, match="already has a scorer"):
        scorer(MetricFamily.FORMULA)(lambda answers, golds, context: {})
