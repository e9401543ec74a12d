"""Request bodies of the HTTP API (pydantic models)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PredictBody(BaseModel):
    """``POST /v1/predict``: one task input (and the class, for multi-target tasks such as SIDER)."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(description="Task name or short name, e.g. 'name_conversion-s2f' or 'NC-S2F'.")
    input: str = Field(description="SMILES, IUPAC name or description, as the task expects.")
    target: str | None = Field(default=None, description="Class to predict, for multi-target tasks only.")


class ChatMessage(BaseModel):
    """One OpenAI chat message; ``content`` is text or a list of content parts."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")


class ChatCompletionBody(BaseModel):
    """``POST /v1/chat/completions`` in OpenAI's schema; sampling fields are accepted and ignored
    (decoding uses the model's own settings)."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage]
    stream: bool = False
    n: int = 1
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    canonicalize_smiles: bool = Field(
        default=False, description="llasmol's own field: canonicalize the SMILES of the query's first <SMILES> span "
        "before answering (the web page sets it). Without it the message is answered exactly as sent.")
