"""The HTTP API and web page: ``create_app(predictor, settings)``.

Endpoints: ``GET /health``, ``GET /v1/tasks``, ``POST /v1/predict``, ``GET /v1/depict``,
``GET /v1/models``, ``POST /v1/chat/completions`` (OpenAI-compatible), the page at ``/`` and the
OpenAPI schema at ``/openapi.json``.

Errors are JSON ``{"error": {"type", "message", ...}}`` with these statuses:
404 unknown task (lists the valid ones) · 408 no answer within the timeout · 413 input or body too
long · 422 invalid SMILES (says why), missing or unknown target, malformed body · 503 queue full.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from llasmol.data.prompts import build_prompt
from llasmol.generate import PredictRequest, PromptTooLongError
from llasmol.serve.config import ServeSettings
from llasmol.serve.depict import MAX_SIZE, smiles_to_svg
from llasmol.serve.examples import load_examples
from llasmol.serve.schemas import ChatCompletionBody, PredictBody
from llasmol.serve.validation import InvalidSmilesError, check_smiles, first_smiles_span
from llasmol.serve.worker import BatchingWorker, Outcome, Predictor, QueueFullError, RequestTimeoutError
from llasmol.tasks import TASK_NAMES, TASKS, Tag, Task, UnknownTaskError, get_task

STATIC_DIR = Path(__file__).parent / "static"


class ApiError(Exception):
    """An error answered as ``{"error": {"type", "message", **extra}}`` with an HTTP status."""

    def __init__(self, status: int, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, kind, message, extra

    def response(self) -> JSONResponse:
        headers = {"Retry-After": "1"} if self.status == 503 else None
        body = {"error": {"type": self.kind, "message": self.message, **self.extra}}
        return JSONResponse(body, status_code=self.status, headers=headers)


def create_app(predictor: Predictor, settings: ServeSettings | None = None) -> FastAPI:
    """The FastAPI app serving ``predictor`` (a ``LlaSMol`` or anything with ``predict_batch`` and ``generate``)."""
    settings = settings or ServeSettings()
    worker = BatchingWorker(predictor, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await worker.start()
        try:
            yield
        finally:
            await worker.stop()

    # Swagger UI and ReDoc load from CDNs, so they are off; the schema is at /openapi.json.
    app = FastAPI(title="llasmol", description=__doc__, version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None)
    app.state.worker = worker
    app.state.settings = settings
    _add_error_handlers(app)
    _add_body_limit(app, settings)
    _add_routes(app, predictor, worker, settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _add_routes(app: FastAPI, predictor: Predictor, worker: BatchingWorker, settings: ServeSettings) -> None:
    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness, queue depth and batching counters."""
        return {
            "status": "ok",
            "model": settings.model_name,
            "queue_depth": worker.queue_depth,
            "max_batch_size": settings.max_batch_size,
            "timeout_s": settings.timeout_s,
            "stats": worker.stats.as_dict(),
        }

    @app.get("/v1/tasks")
    async def tasks() -> dict[str, Any]:
        """The task registry, with example inputs from the validation set."""
        examples = load_examples()["tasks"]
        return {"tasks": [_describe_task(task, examples.get(task.name, {})) for task in TASKS.values()]}

    @app.post("/v1/predict")
    async def predict(body: PredictBody) -> dict[str, Any]:
        """One task prediction: the typed answer, the alternatives, the raw text and the time taken."""
        started = time.perf_counter()
        task = _find_task(body.task)
        text = _check_task_input(task, body.input, settings)
        target = _check_target(task, body.target)
        outcome = await _run(worker.predict(PredictRequest(task.name, text, target)))
        return _prediction_response(task, outcome, time.perf_counter() - started)

    @app.get("/v1/depict", response_class=Response)
    def depict(  # plain def: FastAPI runs it in its thread pool, off the event loop
        smiles: str = Query(min_length=1),
        width: int = Query(default=360, ge=50, le=MAX_SIZE),
        height: int = Query(default=260, ge=50, le=MAX_SIZE),
    ) -> Response:
        """An SVG drawing of a molecule (RDKit)."""
        if len(smiles) > settings.max_input_chars:
            raise _too_long("smiles", len(smiles), settings.max_input_chars)
        try:
            svg = smiles_to_svg(smiles, width, height)
        except InvalidSmilesError as error:
            raise _invalid_smiles(error) from None
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=3600"})

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        """The one served model, as OpenAI's model list."""
        return {"object": "list", "data": [{"id": settings.model_name, "object": "model", "owned_by": "llasmol"}]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(body: ChatCompletionBody) -> dict[str, Any] | StreamingResponse:
        """OpenAI-compatible chat: the last user message is answered as a free-text query, greedily."""
        query = _check_chat(body, settings)
        requested = body.max_completion_tokens or body.max_tokens or settings.max_chat_new_tokens
        new_tokens = min(requested, settings.max_chat_new_tokens)
        outcome = await _run(worker.generate(query, new_tokens, body.canonicalize_smiles))
        completion = _chat_completion(predictor, settings, query, str(outcome.result))
        return _stream(completion) if body.stream else completion


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return error.response()

    @app.exception_handler(RequestValidationError)
    async def malformed_body(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()]
        return ApiError(422, "invalid_request", "; ".join(problems)).response()


def _add_body_limit(app: FastAPI, settings: ServeSettings) -> None:
    limit = settings.max_body_bytes

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return ApiError(413, "too_large", f"request body of {length} bytes is over the limit of {limit}").response()
        return await call_next(request)


# --- checks ------------------------------------------------------------------------------------


def _find_task(name: str) -> Task:
    try:
        return get_task(name)
    except PromptTooLongError as error:
        raise ApiError(413, "too_large", str(error)) from None
    except UnknownTaskError as error:
        raise ApiError(404, "unknown_task", str(error), valid_tasks=list(TASK_NAMES)) from None


def _check_task_input(task: Task, text: str, settings: ServeSettings) -> str:
    """The input, stripped (and unwrapped from its core tags if the user wrapped it); raises ``ApiError``."""
    text = text.strip()
    tag = task.input_tag
    if tag is not None and text.startswith(tag.left) and text.endswith(tag.right):
        text = text[len(tag.left):-len(tag.right)].strip()
    if len(text) > settings.max_input_chars:
        raise _too_long("input", len(text), settings.max_input_chars)
    if not text:
        raise ApiError(422, "empty_input", f"task {task.name!r} needs a non-empty input")
    if task.input_tag is Tag.SMILES:
        try:
            check_smiles(text)
        except InvalidSmilesError as error:
            raise _invalid_smiles(error) from None
    return text


def _check_target(task: Task, target: str | None) -> str | None:
    targets = _known_targets(task)
    if not task.multi_target:
        if target is not None:
            raise ApiError(422, "unexpected_target", f"task {task.name!r} takes no target")
        return None
    if target is None or (targets and target not in targets):
        what = "needs a target" if target is None else f"has no target {target!r}"
        raise ApiError(422, "invalid_target", f"task {task.name!r} {what}; valid targets: {', '.join(targets)}",
                       valid_targets=targets)
    return target


def _check_chat(body: ChatCompletionBody, settings: ServeSettings) -> str:
    if body.n != 1:
        raise ApiError(422, "invalid_request", "only n=1 is supported")
    if len(body.messages) > settings.max_messages:
        raise ApiError(413, "too_large", f"{len(body.messages)} messages; the limit is {settings.max_messages}")
    user_messages = [message for message in body.messages if message.role == "user"]
    if not user_messages or not user_messages[-1].text().strip():
        raise ApiError(422, "invalid_request", "the request has no user message with text")
    query = user_messages[-1].text().strip()
    if len(query) > settings.max_query_chars:
        raise _too_long("the last user message", len(query), settings.max_query_chars)
    smiles = first_smiles_span(query)
    if smiles is not None:
        try:
            check_smiles(smiles)
        except InvalidSmilesError as error:
            raise _invalid_smiles(error) from None
    return query


def _too_long(what: str, length: int, limit: int) -> ApiError:
    return ApiError(413, "too_large", f"{what} has {length} characters; the limit is {limit}", limit=limit)


def _invalid_smiles(error: InvalidSmilesError) -> ApiError:
    return ApiError(422, "invalid_smiles", str(error), smiles=error.smiles, reason=error.reason)


async def _run(submitted: Any) -> Outcome:
    """Await a queued job, turning queue, timeout and model errors into API errors."""
    try:
        return await submitted
    except QueueFullError as error:
        raise ApiError(503, "overloaded", str(error)) from None
    except RequestTimeoutError as error:
        raise ApiError(408, "timeout", str(error)) from None
    except PromptTooLongError as error:
        raise ApiError(413, "too_large", str(error)) from None
    except UnknownTaskError as error:
        raise ApiError(404, "unknown_task", str(error), valid_tasks=list(TASK_NAMES)) from None
    except ValueError as error:  # the model's own input checks (e.g. invalid SMILES)
        raise ApiError(422, "invalid_input", str(error)) from None
    except Exception as error:
        raise ApiError(500, "model_error", f"the model failed on this request: {error}") from None


# --- responses ---------------------------------------------------------------------------------


def _known_targets(task: Task) -> list[str]:
    return list(load_examples()["tasks"].get(task.name, {}).get("targets", []))


def _describe_task(task: Task, examples: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": task.name,
        "short_name": task.short_name,
        "description": task.description,
        "input_tag": task.input_tag.value if task.input_tag else None,
        "output_tag": task.output_tag.value if task.output_tag else None,
        "answer_type": task.answer_type.value,
        "metric_family": task.metric_family.value,
        "multi_target": task.multi_target,
        "targets": examples.get("targets", []),
        "generation": {
            "num_beams": task.generation.num_beams,
            "num_return_sequences": task.generation.num_return_sequences,
            "max_new_tokens": task.generation.max_new_tokens,
        },
        "examples": examples.get("examples", []),
    }


def _prediction_response(task: Task, outcome: Outcome, elapsed_s: float) -> dict[str, Any]:
    prediction = outcome.result
    fields = prediction.to_dict() if hasattr(prediction, "to_dict") else dict(vars(prediction))
    fields["answer"] = _json_safe(fields.get("answer"))
    fields["task"] = task.name
    fields["answer_type"] = task.answer_type.value
    fields["time_s"] = round(elapsed_s, 4)
    fields["queue_s"] = round(outcome.queued_s, 4)
    fields["model_s"] = round(outcome.model_s, 4)
    fields["batch_size"] = outcome.batch_size
    return fields


def _json_safe(answer: Any) -> Any:
    """Answers as JSON allows them: a non-finite number (NaN, ±inf) becomes ``None``."""
    return None if isinstance(answer, float) and not math.isfinite(answer) else answer


def _chat_completion(predictor: Predictor, settings: ServeSettings, query: str, answer: str) -> dict[str, Any]:
    prompt_tokens, completion_tokens = _count_tokens(predictor, _prompt_of(predictor, query)), _count_tokens(
        predictor, answer)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": settings.model_name,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop", "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _prompt_of(predictor: Predictor, query: str) -> str:
    """The prompt the model sees for ``query``, when the predictor tells its tokenizer and prompt format."""
    tokenizer, prompt_format = getattr(predictor, "tokenizer", None), getattr(predictor, "prompt_format", None)
    return query if tokenizer is None or prompt_format is None else build_prompt(query, tokenizer, prompt_format)


def _count_tokens(predictor: Predictor, text: str) -> int:
    """Tokens of ``text`` by the predictor's tokenizer (whitespace words if it has none)."""
    tokenizer = getattr(predictor, "tokenizer", None)
    if tokenizer is None:
        return len(text.split())
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _stream(completion: dict[str, Any]) -> StreamingResponse:
    """The completion as OpenAI's server-sent events: one content chunk, one final chunk, ``[DONE]``."""
    choice = completion["choices"][0]
    base = {key: completion[key] for key in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    chunks = [
        base | {"choices": [{"index": 0, "delta": dict(choice["message"]), "finish_reason": None}]},
        base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": completion["usage"]},
    ]

    async def events() -> AsyncIterator[str]:
        for chunk in chunks:
            yield f"data: {json.dumps(chunk)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
