"""Queueing and batching: concurrent requests share model calls, bad requests stay isolated,
timeouts and a full queue answer with clear errors."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from llasmol.serve import ServeSettings, create_app
from tests.serve.serve_helpers import FAST_INPUT, FAST_TASK

INPUTS = ["CCO", "CC(=O)O", "C1=CC=CC=C1", "CCN(CC)CC", "OC1=CC=CC=C1", "CC(C)O", "C1CCCCC1", "CCOC(C)=O",
          "NC1=CC=CC=C1", "CC#N", "CS(C)=O", "O=C(O)C1=CC=CC=C1"]


async def _post_all(app: Any, bodies: list[dict[str, Any]], path: str = "/v1/predict") -> list[httpx.Response]:
    """Send all bodies at once through the app (its lifespan running), bounded to 120 s."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=60) as client:
            requests = [client.post(path, json=body) for body in bodies]
            responses = await asyncio.wait_for(asyncio.gather(*requests), timeout=120)
            responses.append(await client.get("/health"))
    return responses


class SlowPredictor:
    """The real tiny model behind a fixed delay: the timeout and queue tests need slow, controlled timing."""

    def __init__(self, predictor: Any, delay_s: float) -> None:
        self.predictor, self.delay_s, self.calls = predictor, delay_s, 0

    def predict_batch(self, requests: list[Any]) -> list[Any]:
        self.calls += 1
        time.sleep(self.delay_s)
        return self.predictor.predict_batch(requests)

    def generate_batch(self, queries: list[str], *, max_new_tokens: int, canonicalize_smiles: bool) -> list[str]:
        time.sleep(self.delay_s)
        return self.predictor.generate_batch(queries, max_new_tokens=max_new_tokens,
                                             canonicalize_smiles=canonicalize_smiles)


class FailingPredictor:
    """The real tiny model, made to fail on one chosen input: no valid request fails inside the real
    model (the server checks inputs first), so the retry path needs an injected failure."""

    def __init__(self, predictor: Any, poisoned_input: str) -> None:
        self.predictor, self.poisoned_input, self.batch_sizes = predictor, poisoned_input, []

    def predict_batch(self, requests: list[Any]) -> list[Any]:
        self.batch_sizes.append(len(requests))
        if any(request.input == self.poisoned_input for request in requests):
            raise RuntimeError("the model crashed on this input")
        return self.predictor.predict_batch(requests)

    def generate_batch(self, queries: list[str], *, max_new_tokens: int, canonicalize_smiles: bool) -> list[str]:
        return self.predictor.generate_batch(queries, max_new_tokens=max_new_tokens,
                                             canonicalize_smiles=canonicalize_smiles)


def test_concurrent_requests_are_answered_in_batches(tiny_llasmol: Any) -> None:
    app = create_app(tiny_llasmol, ServeSettings(max_batch_size=6, max_wait_ms=1000))
    *responses, health = asyncio.run(_post_all(app, [{"task": FAST_TASK, "input": text} for text in INPUTS]))
    assert [response.status_code for response in responses] == [200] * len(INPUTS)
    assert [response.json()["input"] for response in responses] == INPUTS  # each client gets its own answer
    stats = health.json()["stats"]
    assert stats["requests"] == len(INPUTS)
    assert stats["batches"] < len(INPUTS)  # batched, not one by one
    assert 1 < stats["max_batch_size_seen"] <= 6
    assert max(response.json()["batch_size"] for response in responses) == stats["max_batch_size_seen"]


def test_batched_answers_equal_answers_alone(tiny_llasmol: Any) -> None:
    app = create_app(tiny_llasmol, ServeSettings(max_batch_size=4, max_wait_ms=1000))
    batched = asyncio.run(_post_all(app, [{"task": FAST_TASK, "input": text} for text in INPUTS[:4]]))[:-1]
    alone = [tiny_llasmol.predict(FAST_TASK, text) for text in INPUTS[:4]]
    assert [response.json()["raw_outputs"] for response in batched] == [prediction.raw_outputs for prediction in alone]


def test_chat_requests_are_answered_in_batches_as_alone(tiny_llasmol: Any) -> None:
    app = create_app(tiny_llasmol, ServeSettings(max_batch_size=4, max_wait_ms=1000))
    queries = [f"Formula of <SMILES> {text} </SMILES>?" for text in INPUTS[:4]]
    *batched, health = asyncio.run(_post_all(
        app, [{"messages": [{"role": "user", "content": query}], "max_tokens": 8} for query in queries],
        "/v1/chat/completions"))
    assert health.json()["stats"]["batches"] < len(queries)
    alone = [tiny_llasmol.generate(query, max_new_tokens=8, canonicalize_smiles=False) for query in queries]
    assert [response.json()["choices"][0]["message"]["content"] for response in batched] == alone


def test_invalid_requests_do_not_affect_others_sent_with_them(tiny_llasmol: Any) -> None:
    app = create_app(tiny_llasmol, ServeSettings(max_batch_size=5, max_wait_ms=1000))
    bodies = [{"task": FAST_TASK, "input": "CCO"}, {"task": FAST_TASK, "input": "C1CC"},
              {"task": "no_such_task", "input": "CCO"}, {"task": FAST_TASK, "input": FAST_INPUT},
              {"task": FAST_TASK, "input": "C" * 5000}]
    *responses, _ = asyncio.run(_post_all(app, bodies))
    assert [response.status_code for response in responses] == [200, 422, 404, 200, 413]


def test_a_failing_batch_is_retried_one_by_one(tiny_llasmol: Any) -> None:
    predictor = FailingPredictor(tiny_llasmol, poisoned_input="CCN(CC)CC")
    app = create_app(predictor, ServeSettings(max_batch_size=4, max_wait_ms=1000))
    inputs = ["CCO", "CC(=O)O", "CCN(CC)CC", "C1=CC=CC=C1"]
    *responses, health = asyncio.run(_post_all(app, [{"task": FAST_TASK, "input": text} for text in inputs]))
    assert [response.status_code for response in responses] == [200, 200, 500, 200]
    assert "crashed" in responses[2].json()["error"]["message"]
    assert max(predictor.batch_sizes) > 1 and predictor.batch_sizes.count(1) >= 2  # a batch, then retries alone
    assert health.json()["stats"]["failed_batches"] == 1
    for text, response in zip(inputs, responses, strict=True):
        if response.status_code == 200:
            assert response.json()["raw_outputs"] == tiny_llasmol.predict(FAST_TASK, text).raw_outputs


def test_timeout_gives_408_and_drops_the_queued_request(tiny_llasmol: Any) -> None:
    predictor = SlowPredictor(tiny_llasmol, delay_s=1.5)
    app = create_app(predictor, ServeSettings(max_batch_size=1, timeout_s=0.5))

    async def scenario() -> tuple[list[httpx.Response], int]:
        responses = await _post_all(app, [{"task": FAST_TASK, "input": "CCO"}, {"task": FAST_TASK, "input": "CCC"}])
        return responses, predictor.calls

    *responses, _health = asyncio.run(scenario())[0]
    assert [response.status_code for response in responses] == [408, 408]
    assert "0.5 s" in responses[0].json()["error"]["message"]
    assert predictor.calls == 1  # the second request timed out in the queue and never reached the model


def test_full_queue_gives_503_with_retry_after(tiny_llasmol: Any) -> None:
    predictor = SlowPredictor(tiny_llasmol, delay_s=1.0)
    app = create_app(predictor, ServeSettings(max_batch_size=1, max_queue_size=1, max_wait_ms=0))
    bodies = [{"task": FAST_TASK, "input": text} for text in INPUTS[:4]]
    *responses, _ = asyncio.run(_post_all(app, bodies))
    statuses = [response.status_code for response in responses]
    assert set(statuses) == {200, 503}  # the queue holds one; the model thread takes one more at most
    refused = next(response for response in responses if response.status_code == 503)
    assert refused.headers["retry-after"] == "1" and refused.json()["error"]["type"] == "overloaded"


class RecordingPredictor:
    """The real tiny model, recording the free-text queries it is asked and whether to canonicalize them."""

    def __init__(self, predictor: Any) -> None:
        self.predictor, self.queries = predictor, []

    def predict_batch(self, requests: list[Any]) -> list[Any]:
        return self.predictor.predict_batch(requests)

    def generate_batch(self, queries: list[str], *, max_new_tokens: int, canonicalize_smiles: bool) -> list[str]:
        self.queries += [(query, canonicalize_smiles) for query in queries]
        return self.predictor.generate_batch(queries, max_new_tokens=max_new_tokens,
                                             canonicalize_smiles=canonicalize_smiles)


def test_chat_answers_the_message_as_sent_unless_asked_to_canonicalize(tiny_llasmol: Any) -> None:
    predictor = RecordingPredictor(tiny_llasmol)
    app = create_app(predictor, ServeSettings(max_batch_size=1))
    query = "Formula of <SMILES> OCC;Cl </SMILES>?"
    bodies = [{"messages": [{"role": "user", "content": query}], "max_tokens": 4},
              {"messages": [{"role": "user", "content": query}], "max_tokens": 4, "canonicalize_smiles": True}]
    responses = asyncio.run(_post_all(app, bodies, "/v1/chat/completions"))[:-1]
    assert [response.status_code for response in responses] == [200, 200]
    assert sorted(predictor.queries) == [(query, False), (query, True)]
