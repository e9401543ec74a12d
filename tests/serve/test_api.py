"""The HTTP API on the real ``LlaSMol`` (tiny random model): each endpoint and its errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from llasmol.serve import ServeSettings, create_app
from llasmol.tasks import TASK_NAMES, TASKS, get_task
from tests.serve.serve_helpers import FAST_INPUT, FAST_TASK

STATIC = Path(__file__).resolve().parents[2] / "src" / "llasmol" / "serve" / "static"


@pytest.fixture(scope="module")
def client(tiny_llasmol: Any) -> Iterator[TestClient]:
    settings = ServeSettings(max_batch_size=4, max_input_chars=200, max_query_chars=300, model_name="tiny")
    with TestClient(create_app(tiny_llasmol, settings)) as test_client:
        yield test_client


def test_health_reports_status_and_batch_counters(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["model"] == "tiny"
    assert body["max_batch_size"] == 4
    assert set(body["stats"]) >= {"batches", "requests", "batch_sizes"}


def test_tasks_lists_the_registry_with_real_examples(client: TestClient) -> None:
    tasks = client.get("/v1/tasks").json()["tasks"]
    assert [task["name"] for task in tasks] == list(TASK_NAMES)
    for task in tasks:
        registry_task = TASKS[task["name"]]
        assert task["short_name"] == registry_task.short_name
        assert task["answer_type"] == registry_task.answer_type.value
        assert task["generation"]["num_beams"] == registry_task.generation.num_beams
        assert task["description"]
        assert len(task["examples"]) >= 3, task["name"]
        assert all(example["input"] and example["reference"] for example in task["examples"])
    sider = next(task for task in tasks if task["multi_target"])
    assert len(sider["targets"]) == 20
    assert all(example["target"] in sider["targets"] for example in sider["examples"])


def test_predict_returns_typed_answer_alternatives_raw_text_and_time(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"task": FAST_TASK, "input": FAST_INPUT})
    assert response.status_code == 200, response.text
    body = response.json()
    task = get_task(FAST_TASK)
    assert body["task"] == FAST_TASK and body["input"] == FAST_INPUT and body["target"] is None
    assert body["answer_type"] == "formula"
    assert len(body["raw_outputs"]) == task.generation.num_return_sequences
    assert all(isinstance(text, str) for text in body["raw_outputs"])
    assert isinstance(body["alternatives"], list)
    assert body["valid"] == (body["answer"] is not None)
    assert body["time_s"] >= body["model_s"] > 0
    assert body["batch_size"] >= 1


def test_predict_accepts_inputs_already_wrapped_in_their_tags(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"task": FAST_TASK, "input": "<SMILES> CCO </SMILES>"})
    assert response.status_code == 200, response.text
    assert response.json()["input"] == "CCO"


def test_predict_accepts_short_names_and_types_numbers(client: TestClient) -> None:
    body = client.post("/v1/predict", json={"task": "PP-ESOL", "input": "CCO"}).json()
    assert body["task"] == "property_prediction-esol"
    assert body["answer_type"] == "number"
    assert body["answer"] is None or isinstance(body["answer"], float)


def test_multi_target_task_needs_a_known_target(client: TestClient) -> None:
    sider = client.get("/v1/tasks").json()["tasks"][-1]
    assert sider["multi_target"]
    missing = client.post("/v1/predict", json={"task": sider["name"], "input": "CCO"})
    assert missing.status_code == 422 and missing.json()["error"]["valid_targets"] == sider["targets"]
    unknown = client.post("/v1/predict", json={"task": sider["name"], "input": "CCO", "target": "Hair loss"})
    assert unknown.status_code == 422 and "Hair loss" in unknown.json()["error"]["message"]
    answered = client.post("/v1/predict", json={"task": sider["name"], "input": "CCO", "target": sider["targets"][0]})
    assert answered.status_code == 200, answered.text
    assert answered.json()["target"] == sider["targets"][0]
    extra = client.post("/v1/predict", json={"task": FAST_TASK, "input": "CCO", "target": "x"})
    assert extra.status_code == 422


def test_unknown_task_is_404_and_lists_valid_tasks(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"task": "toxicity", "input": "CCO"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "unknown_task"
    assert error["valid_tasks"] == list(TASK_NAMES)
    assert "forward_synthesis" in error["message"]


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [("C(C)(C)(C)(C)C", "valence"), ("CC(C", "parentheses"), ("C1CC", "ring"), ("CC>O", "'>'"),
     ("c1cccc1", "kekulize")],
)
def test_invalid_smiles_is_422_and_says_why(client: TestClient, smiles: str, reason: str) -> None:
    response = client.post("/v1/predict", json={"task": FAST_TASK, "input": smiles})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_smiles" and error["smiles"] == smiles
    assert reason.lower() in error["reason"].lower()
    assert smiles in error["message"]


def test_size_limits_give_413(client: TestClient) -> None:
    too_long = client.post("/v1/predict", json={"task": FAST_TASK, "input": "C" * 201})
    assert too_long.status_code == 413
    assert "limit is 200" in too_long.json()["error"]["message"]
    chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x" * 301}]})
    assert chat.status_code == 413
    body = client.post("/v1/predict", content=b" " * 300_000, headers={"content-type": "application/json"})
    assert body.status_code == 413


def test_malformed_and_empty_requests_are_422(client: TestClient) -> None:
    missing = client.post("/v1/predict", json={"task": FAST_TASK})
    assert missing.status_code == 422 and "input" in missing.json()["error"]["message"]
    empty = client.post("/v1/predict", json={"task": FAST_TASK, "input": "  "})
    assert empty.status_code == 422 and empty.json()["error"]["type"] == "empty_input"
    not_json = client.post("/v1/predict", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 422


def test_depict_draws_svg_and_rejects_invalid_smiles(client: TestClient) -> None:
    response = client.get("/v1/depict", params={"smiles": "CC(=O)OC1=CC=CC=C1C(=O)O"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.startswith("<svg") and "</svg>" in response.text
    invalid = client.get("/v1/depict", params={"smiles": "C1CC"})
    assert invalid.status_code == 422 and "ring" in invalid.json()["error"]["reason"]


def test_chat_completions_answers_in_openai_schema(client: TestClient) -> None:
    messages = [
        {"role": "system", "content": "You are a chemist."},
        {"role": "user", "content": "ignored earlier question"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "Formula of <SMILES> OCC </SMILES>?"}]},
    ]
    response = client.post("/v1/chat/completions", json={"model": "anything", "messages": messages, "temperature": 0,
                                                              "max_tokens": 16})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "tiny"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 5
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_completions_streams_server_sent_events(client: TestClient) -> None:
    body = {"messages": [{"role": "user", "content": "Describe <SMILES> CCO </SMILES>"}], "stream": True,
            "max_tokens": 8}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_chat_completions_rejects_invalid_smiles_and_missing_question(client: TestClient) -> None:
    invalid = client.post("/v1/chat/completions",
                          json={"messages": [{"role": "user", "content": "Name <SMILES> C1CC </SMILES>"}]})
    assert invalid.status_code == 422 and invalid.json()["error"]["type"] == "invalid_smiles"
    no_user = client.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "hi"}]})
    assert no_user.status_code == 422


def test_models_lists_the_served_model(client: TestClient) -> None:
    assert client.get("/v1/models").json()["data"][0]["id"] == "tiny"


def test_page_is_served_without_external_resources(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="task"' in page.text
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN
    assert "/v1/predict" in client.get("/openapi.json").json()["paths"]
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, f"{path.name} refers to an outside resource"
