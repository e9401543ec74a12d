"""How scorers report progress: units of work announced, then done."""

from __future__ import annotations

from typing import Protocol


class ProgressHook(Protocol):
    def add(self, total: int) -> None:
        """Announce ``total`` more units of work."""

    def advance(self, done: int) -> None:
        """``done`` units of work finished."""


class NoProgress:
    """A hook that shows nothing."""

    def add(self, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass
