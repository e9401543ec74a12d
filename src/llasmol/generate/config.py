"""Generation settings: the :class:`GenerateConfig` dataclass, whose fields are ``llasmol generate``'s options.

Each field is declared once, with its help text: ``--num-beams 1`` on the command line and
``num_beams: 1`` in a config are the same setting. :func:`run_generation` runs a config with the
backend it names (``hf``, ``vllm``, or ``openai`` for any OpenAI-protocol endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llasmol.errors import LlasmolError
from llasmol.generate.settings import DecodingOptions
from llasmol.options import option

BACKENDS = ("hf", "vllm", "openai")


class GenerateConfigError(LlasmolError, ValueError):
    """Generation settings that do not go together; the message names the options."""


@dataclass
class GenerateConfig:
    """Everything one ``llasmol generate`` run takes."""

    # what
    data: str | None = field(default=None, metadata=option(
        "SMolInstruct data: release folder/zip or raw split folder (required)."))
    output: str | None = field(default=None, metadata=option("Folder for <task>.jsonl (required; a rerun resumes)."))
    model: str | None = field(default=None, metadata=option(
        "Hub id, folder, .gguf file or 'smollm2'; with --backend openai, the model name the endpoint serves."))
    adapter: str | None = field(default=None, metadata=option("PEFT adapter folder."))
    gguf_file: str | None = field(default=None, metadata=option("GGUF file inside --model."))
    split: str = field(default="test", metadata=option("train, validation or test."))
    tasks: list[str] | None = field(default=None, metadata=option("Task names (repeat or comma-separate)."))
    max_samples: int | None = field(default=None, metadata=option("First N per task."))

    # how
    backend: str = field(default="hf", metadata=option("hf, vllm or openai (any OpenAI-protocol endpoint)."))
    batch_size: int | None = field(default=None, metadata=option("Prompts per batch."))
    verify: bool = field(default=False, metadata=option("Top answer = first beam valid for its type."))
    prompt_format: str = field(default="paper", metadata=option("paper or chat."))
    device: str | None = field(default=None, metadata=option("cpu, cuda, cuda:1 (default: GPU if any)."))
    dtype: str | None = field(default=None, metadata=option("float32, bfloat16, float16 (default: auto)."))

    # decoding (default: the paper's per task)
    num_beams: int | None = field(default=None, metadata=option(
        "Beams of every task (default: the paper's per task; 1 is greedy)."))
    num_return_sequences: int | None = field(default=None, metadata=option(
        "Answers kept per sample (default: the paper's, at most the beams)."))
    max_new_tokens: int | None = field(default=None, metadata=option(
        "New-token limit of every task (default: the paper's per task)."))
    no_repeat_ngram_size: int | None = field(default=None, metadata=option(
        "Never generate an n-gram of this many tokens twice (hf only)."))

    # an OpenAI-protocol endpoint (--backend openai)
    base_url: str | None = field(default=None, metadata=option(
        "openai: the endpoint, e.g. http://127.0.0.1:8000/v1."))
    api_key_env: str = field(default="OPENAI_API_KEY", metadata=option(
        "openai: the environment variable holding the API key."))
    system_prompt: str = field(default="zero-shot", metadata=option(
        "openai: zero-shot (the task's prompt asking for tagged answers) or none."))
    concurrency: int = field(default=4, metadata=option("openai: requests in flight."))
    timeout: float = field(default=300.0, metadata=option("openai: seconds per request."))
    retries: int = field(default=6, metadata=option(
        "openai: retries of a failed request (429, 5xx, lost connection), with backoff."))
    token_limit_field: str = field(default="max_completion_tokens", metadata=option(
        "openai: max_completion_tokens, or max_tokens for older servers."))

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise GenerateConfigError(f"--backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        for name in ("batch_size", "max_samples"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise GenerateConfigError(f"--{name.replace('_', '-')} must be at least 1")
        if self.retries < 0 or self.timeout <= 0:
            raise GenerateConfigError("--retries must be 0 or more and --timeout positive")
        self.decoding()  # checks the decoding options
        if self.backend == "openai":
            self._check_endpoint_options()

    def decoding(self) -> DecodingOptions:
        """The decoding options given (``None`` keeps a task's own)."""
        return DecodingOptions(self.num_beams, self.num_return_sequences, self.max_new_tokens,
                               self.no_repeat_ngram_size)

    def _check_endpoint_options(self) -> None:
        """The openai backend needs an endpoint and a model name, and has no beams, adapters or --verify."""
        if not self.base_url or not self.model:
            raise GenerateConfigError("--backend openai needs --base-url and --model (the name the endpoint serves)")
        unusable = [flag for flag, given in (("--adapter", self.adapter is not None), ("--verify", self.verify),
                                             ("--num-beams", self.num_beams not in (None, 1)),
                                             ("--num-return-sequences", self.num_return_sequences not in (None, 1)),
                                             ("--no-repeat-ngram-size", self.no_repeat_ngram_size is not None))
                    if given]
        if unusable:
            raise GenerateConfigError(f"{', '.join(unusable)}: not available through the OpenAI protocol (one "
                                      "answer per sample at temperature 0)")


def run_generation(config: GenerateConfig, show_progress: bool = True) -> dict[str, Any]:
    """Generate ``config.output/<task>.jsonl`` with the backend the config names; the run's summary."""
    if not config.data or not config.output:
        raise GenerateConfigError("generation needs --data and --output")
    if config.backend == "openai":
        from llasmol.generate.endpoint import Endpoint, generate_with_endpoint

        endpoint = Endpoint(str(config.base_url), str(config.model), config.api_key_env, config.concurrency,
                            config.timeout, config.retries, token_limit_field=config.token_limit_field)
        return generate_with_endpoint(endpoint, config.data, config.split, config.tasks, config.output,
                                      max_samples=config.max_samples, system_prompts=config.system_prompt,
                                      decoding=config.decoding(), show_progress=show_progress)
    from llasmol.generate.runner import generate_on_dataset

    return generate_on_dataset(
        config.model, config.data, config.split, config.tasks, config.output, adapter=config.adapter,
        backend=config.backend, batch_size=config.batch_size, max_samples=config.max_samples, verify=config.verify,
        prompt_format=config.prompt_format, gguf_file=config.gguf_file, device=config.device, dtype=config.dtype,
        decoding=config.decoding(), show_progress=show_progress,
    )
