"""Config fields that are also command-line options: the help text and flags, declared once on the field.

``field(default=..., metadata=option("Help.", "-x"))`` on a config dataclass gives the command that
builds its parser from the dataclass (``llasmol.cli.config_parameters``) a ``--field-name`` option
with that help and the extra flags; a YAML config names the same field the same way.
"""

from __future__ import annotations

from typing import Any


def option(help_text: str, *flags: str, task_keys: bool = False) -> dict[str, Any]:
    """A field's command-line help and extra flags (besides ``--field-name``); ``task_keys``: a mapping's
    keys are task names (short names accepted)."""
    return {"help": help_text, "flags": flags, "task_keys": task_keys}
