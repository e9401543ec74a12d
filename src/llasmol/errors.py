"""The base of the errors llasmol raises on purpose.

Each is a one-line message a user can act on and, where known, the file, line and field it is about.
Subclasses also derive from the builtin that fits (``ValueError``, ``KeyError``, ``RuntimeError``, …),
so ``except ValueError`` keeps working; the command line catches :class:`LlasmolError` once.
"""

from __future__ import annotations

from pathlib import Path


class LlasmolError(Exception):
    """An error with a message for the user; ``file``, ``line`` and ``field`` say where, when known."""

    file: Path | None = None
    line: int | None = None
    field: str | None = None

    def locate(self, file: Path | str | None = None, line: int | None = None, field: str | None = None) -> None:
        """Record where the error is (the message itself already names it)."""
        self.file = Path(file) if file is not None else None
        self.line, self.field = line, field
