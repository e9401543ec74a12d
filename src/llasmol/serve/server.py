"""``serve``: load a model and run the HTTP server (uvicorn)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from llasmol.serve.config import ServeSettings


def serve(
    model: str | None = None,
    adapter: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ServeSettings | None = None,
    device: str | None = None,
    dtype: Any = None,
    prompt_format: str = "paper",
    log_level: str = "info",
) -> None:
    """Load ``model`` (plus a LoRA ``adapter``) and serve it on ``host:port`` until interrupted."""
    import uvicorn

    from llasmol.generate import LlaSMol
    from llasmol.serve.app import create_app

    predictor = LlaSMol.from_pretrained(
        model=model, adapter=adapter, device=device, dtype=dtype, prompt_format=prompt_format
    )
    settings = settings or ServeSettings()
    if settings.model_name == ServeSettings.model_name:
        settings = replace(settings, model_name=model_label(model, adapter))
    uvicorn.run(create_app(predictor, settings), host=host, port=port, log_level=log_level)


def model_label(model: str | None, adapter: str | None) -> str:
    """A short id for the served model: the base model's name, plus the adapter's."""
    base = Path(model).name if model else "smollm2"
    return f"{base}+{Path(adapter).name}" if adapter else base
