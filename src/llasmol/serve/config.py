"""Settings of the server: batching, limits and timeouts (a dataclass, separate from behaviour)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServeSettings:
    """How the server batches requests and which limits it enforces.

    Errors the limits give (documented in the API):
    - an input longer than ``max_input_chars`` (or a chat message longer than ``max_query_chars``, or a
      prompt over the model's token limit): **413**;
    - a request not answered within ``timeout_s`` seconds: **408** (the request is dropped from the queue);
    - a full queue (``max_queue_size`` requests waiting): **503** with ``Retry-After``.
    """

    max_batch_size: int = 8  # requests handed to the model at once
    max_wait_ms: float = 10.0  # how long the worker waits for more requests to fill a batch
    max_queue_size: int = 256  # waiting requests beyond which new ones are refused
    timeout_s: float = 120.0  # seconds a request may wait and run in all
    max_input_chars: int = 1000  # characters of a task input (SMILES, name, description)
    max_query_chars: int = 4000  # characters of a free-text chat query
    max_chat_new_tokens: int = 512  # new tokens of a chat answer (a request's max_tokens may lower it)
    max_messages: int = 64  # messages in one chat request
    max_body_bytes: int = 262_144  # bytes of a request body (by its Content-Length)
    model_name: str = "llasmol"  # the id reported by the OpenAI-compatible endpoints

    def __post_init__(self) -> None:
        positive = ("max_batch_size", "max_queue_size", "max_input_chars", "max_query_chars", "max_messages",
                    "max_chat_new_tokens", "max_body_bytes")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"ServeSettings.{name} must be at least 1, got {getattr(self, name)}")
        if self.timeout_s <= 0:
            raise ValueError(f"ServeSettings.timeout_s must be positive, got {self.timeout_s}")
        if self.max_wait_ms < 0:
            raise ValueError(f"ServeSettings.max_wait_ms must not be negative, got {self.max_wait_ms}")
