"""The shipped accelerate configs parse with accelerate's own loader and ask for what their names say."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "accelerate"
EXPECTED = {
    "ddp.yaml": ("MULTI_GPU", None),
    "deepspeed_zero2.yaml": ("DEEPSPEED", 2),
    "deepspeed_zero3.yaml": ("DEEPSPEED", 3),
    "fsdp.yaml": ("FSDP", None),
}


@pytest.mark.parametrize("name", sorted(path.name for path in CONFIGS.glob("*.yaml")))
def test_every_shipped_config_parses(name: str) -> None:
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    config = load_config_from_file(str(CONFIGS / name))
    assert isinstance(config, ClusterConfig) and config.num_processes >= 2


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accelerate_config_asks_for_its_engine(name: str) -> None:
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    config = load_config_from_file(str(CONFIGS / name))
    distributed_type, zero_stage = EXPECTED[name]
    assert isinstance(config, ClusterConfig)
    assert config.distributed_type.value == distributed_type
    assert config.mixed_precision == "bf16" and config.num_processes >= 2 and not config.use_cpu
    if zero_stage is not None:
        assert config.deepspeed_config["zero_stage"] == zero_stage
    if distributed_type == "FSDP":
        assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"


def test_unknown_config_keys_are_rejected(tmp_path: Path) -> None:
    """The loader is strict, so a typo in a shipped file would fail the test above."""
    from accelerate.commands.config.config_args import load_config_from_file

    broken = tmp_path / "broken.yaml"
    broken.write_text((CONFIGS / "ddp.yaml").read_text() + "num_processez: 2\n")
    with pytest.raises(ValueError, match="num_processez"):
        load_config_from_file(str(broken))
