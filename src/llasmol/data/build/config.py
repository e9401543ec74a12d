"""Build configuration: which sources feed which tasks, splits, seed, caps and QC switches.

A YAML file maps onto :class:`BuildConfig`; paths may use ``${VAR}`` or ``${VAR:-default}`` and
relative paths are resolved against the folder of the YAML file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from llasmol.data.build.records import SPLITS
from llasmol.errors import LlasmolError
from llasmol.tasks import get_task

# ``auto_train``: the seeded split, keeping only its training part (extra training data).
AUTO_TRAIN = "auto_train"
SPLIT_MODES: tuple[str, ...] = ("source", "auto", AUTO_TRAIN, *SPLITS)
BAD_LINE_MODES: tuple[str, ...] = ("skip", "error")
ENGINES: tuple[str, ...] = ("local", "ray")
SIDE_PATH_SUFFIX = "_path"  # options naming a source's side files, resolved against the config like its path
_ENV_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class BuildConfigError(LlasmolError, ValueError):
    """An invalid build configuration; the message names the file and the offending key."""


@dataclass(frozen=True)
class SourceConfig:
    """One raw source and the tasks it feeds.

    ``split``: ``source`` keeps the split the source states (a row's own split, else the seeded
    split), ``auto`` always uses the seeded split, ``auto_train`` the seeded split's training part
    only (a unit it holds out is dropped, so extra training data never holds a molecule that another
    source evaluates on), or a fixed ``train``/``validation``/``test``.
    """

    name: str
    reader: str
    path: Path
    tasks: tuple[str, ...]
    split: str = "source"
    limit: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    path_as_written: str = ""
    description: str = ""  # what the source is, for the dataset card and reports (e.g. "generated names")
    on_bad_line: str = "skip"  # skip: a malformed line is dropped and counted; error: it stops the build

    @property
    def side_paths(self) -> dict[str, Path]:
        """The files a source reads beside ``path``: its options ending in ``_path``, by option name."""
        return {option: Path(value) for option, value in self.options.items()
                if option.endswith(SIDE_PATH_SUFFIX) and value}


@dataclass(frozen=True)
class BuildConfig:
    """Everything that decides a build's output; the same config gives byte-identical data."""

    sources: tuple[SourceConfig, ...]
    name: str = "smolinstruct-style"
    seed: int = 42
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    caps: dict[str, int] = field(default_factory=dict)  # max raw samples per task and split
    test_subset_size: int = 200
    sample_group: str = "instruction_tuning"
    opsin_check: bool = True
    selfies: bool = True
    chunk_size: int = 256  # records per worker task
    opsin_batch_size: int = 2048  # records per worker task when names are checked (one JVM start each)
    engine: str = "local"  # where the per-record work runs (local processes or a Ray cluster); not the output
    ray_address: str | None = None  # the Ray cluster to join (None: start a local one)

    @property
    def tasks(self) -> tuple[str, ...]:
        """Tasks fed by at least one source, in registry order."""
        from llasmol.tasks import TASK_NAMES

        fed = {task for source in self.sources for task in source.tasks}
        return tuple(name for name in TASK_NAMES if name in fed)


def expand_variables(text: str) -> str:
    """``text`` with ``${VAR}`` and ``${VAR:-default}`` replaced by the environment's values."""

    def substitute(match: re.Match[str]) -> str:
        value = os.environ.get(match.group(1))
        if value is None:
            if match.group(2) is None:
                raise BuildConfigError(f"environment variable {match.group(1)} is not set (in {text!r})")
            return match.group(2)
        return value

    return _ENV_VARIABLE.sub(substitute, text)


def expand_path(text: str, base: Path) -> Path:
    """Expand ``${VAR}``/``${VAR:-default}`` and ``~``; resolve relative paths against ``base``."""
    path = Path(expand_variables(text)).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _source_config(item: Any, index: int, base: Path, where: str) -> SourceConfig:
    if not isinstance(item, dict):
        raise BuildConfigError(f"{where}: sources[{index}]: expected a mapping")
    for key in ("reader", "path", "tasks"):
        if key not in item:
            raise BuildConfigError(f"{where}: sources[{index}]: missing {key!r}")
    tasks = item["tasks"]
    tasks = [tasks] if isinstance(tasks, str) else list(tasks)
    try:
        task_names = tuple(get_task(str(name)).name for name in tasks)
    except KeyError as error:
        raise BuildConfigError(f"{where}: sources[{index}]: {error}") from None
    split = str(item.get("split", "source"))
    if split not in SPLIT_MODES:
        raise BuildConfigError(f"{where}: sources[{index}]: split {split!r} is not one of {', '.join(SPLIT_MODES)}")
    limit = item.get("limit")
    on_bad_line = str(item.get("on_bad_line", "skip"))
    if on_bad_line not in BAD_LINE_MODES:
        raise BuildConfigError(f"{where}: sources[{index}]: on_bad_line {on_bad_line!r} is not one of "
                               f"{', '.join(BAD_LINE_MODES)}")
    options = dict(item.get("options") or {})
    for key, value in options.items():  # side files of a source, resolved as its path is
        if key.endswith(SIDE_PATH_SUFFIX) and value:
            options[key] = str(expand_path(str(value), base))
    return SourceConfig(
        name=str(item.get("name", f"source{index}")),
        reader=str(item["reader"]),
        path=expand_path(str(item["path"]), base),
        tasks=task_names,
        split=split,
        limit=None if limit is None else int(limit),
        options=options,
        path_as_written=str(item["path"]),
        description=str(item.get("description") or "").strip(),
        on_bad_line=on_bad_line,
    )


def build_config_from_dict(data: dict[str, Any], base: Path, where: str = "<config>") -> BuildConfig:
    """A :class:`BuildConfig` from parsed YAML; ``base`` resolves relative source paths."""
    if not isinstance(data, dict):
        raise BuildConfigError(f"{where}: expected a mapping at the top level")
    sources = data.get("sources")
    if not sources:
        raise BuildConfigError(f"{where}: 'sources' is missing or empty")
    ratios = tuple(float(value) for value in data.get("split_ratios", (0.8, 0.1, 0.1)))
    if len(ratios) != 3 or min(ratios) < 0 or sum(ratios) <= 0:
        raise BuildConfigError(f"{where}: split_ratios must be three non-negative numbers (train, validation, test)")
    total = sum(ratios)
    caps = {get_task(str(name)).name: int(value) for name, value in (data.get("caps") or {}).items()}
    return BuildConfig(
        sources=tuple(_source_config(item, index, base, where) for index, item in enumerate(sources)),
        name=str(data.get("name", "smolinstruct-style")),
        seed=int(data.get("seed", 42)),
        split_ratios=(ratios[0] / total, ratios[1] / total, ratios[2] / total),
        caps=caps,
        test_subset_size=int(data.get("test_subset_size", 200)),
        sample_group=str(data.get("sample_group", "instruction_tuning")),
        opsin_check=bool(data.get("opsin_check", True)),
        selfies=bool(data.get("selfies", True)),
        chunk_size=int(data.get("chunk_size", 256)),
        opsin_batch_size=int(data.get("opsin_batch_size", 2048)),
        engine=_engine(data.get("engine", "local"), where),
        ray_address=None if data.get("ray_address") is None else str(data["ray_address"]),
    )


def build_config_with_engine(config: BuildConfig, engine: str | None, address: str | None) -> BuildConfig:
    """``config`` run on ``engine`` (``local`` or ``ray``) and the Ray cluster at ``address``, where given."""
    if address is not None and engine is None:
        engine = "ray"
    if engine is not None:
        config = replace(config, engine=_engine(engine, "--engine"))
    if address is not None:
        if config.engine != "ray":
            raise BuildConfigError("--address names a Ray cluster: it needs --engine ray")
        config = replace(config, ray_address=address)
    return config


def _engine(value: Any, where: str) -> str:
    engine = str(value)
    if engine not in ENGINES:
        raise BuildConfigError(f"{where}: engine {engine!r} is not one of {', '.join(ENGINES)}")
    return engine


def load_build_config(path: Path | str) -> BuildConfig:
    """Read a YAML build config; relative source paths are relative to the YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BuildConfigError(f"{path}: cannot read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise BuildConfigError(f"{path}: not valid YAML ({error})") from None
    return build_config_from_dict(data, path.resolve().parent, str(path))
