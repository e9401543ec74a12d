"""``llasmol generate --backend openai``: a local OpenAI-protocol server that answers, fails and dies on purpose."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from llasmol.generate.endpoint import Endpoint, EndpointError, generate_with_endpoint, reply_of
from llasmol.generate.runner import GenerationMismatchError, load_samples
from llasmol.generate.zero_shot import zero_shot_prompt
from llasmol.tasks import get_task

TASKS = ["NC-S2F", "PP-BBBP"]
SAMPLES = 6


@pytest.fixture(scope="module")
def gold_by_query(smolinstruct_val: Path) -> dict[str, tuple[str, str]]:
    """Each query of the samples used here: (task name, raw gold answer)."""
    answers = {}
    for name in TASKS:
        task = get_task(name)
        for sample in load_samples(smolinstruct_val, "validation", task, SAMPLES):
            answers[sample.query] = (task.name, sample.gold)
    return answers


class ScriptedServer:
    """A chat-completions server on 127.0.0.1; ``script(number, body)`` decides each reply.

    The script returns ``(status, content)``: 200 with content answers it, another status fails the
    request with that status; ``("drop", None)`` closes the connection without a reply and shuts the
    server down (a server that dies); a float first sleeps that long before answering.
    """

    def __init__(self, script: Callable[[int, dict[str, Any]], tuple[Any, Any]]) -> None:
        self.script, self.bodies, self.headers, self.lock = script, [], [], threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    number = len(server.bodies)
                    server.bodies.append(body)
                    server.headers.append({key.lower(): value for key, value in self.headers.items()})
                status, content = server.script(number, body)
                if isinstance(status, float):
                    time.sleep(status)
                    status = 200
                if status == "drop":
                    self.close_connection = True
                    threading.Thread(target=server.stop).start()
                    return
                reply = completion(content) if status == 200 else {"error": {"message": f"scripted {status}"}}
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                with suppress(BrokenPipeError):  # the client gave up waiting (a timeout on purpose)
                    self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(content: Any) -> dict[str, Any]:
    """An OpenAI chat completion carrying ``content`` (a string, or a message dict with extra fields)."""
    message = {"role": "assistant", "content": content} if isinstance(content, str) else content
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "scripted",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


@contextmanager
def serving(script: Callable[[int, dict[str, Any]], tuple[Any, Any]]) -> Iterator[ScriptedServer]:
    server = ScriptedServer(script)
    try:
        yield server
    finally:
        with suppress(OSError):
            server.stop()


def answering(gold_by_query: dict[str, tuple[str, str]]) -> Callable[[int, dict[str, Any]], tuple[Any, Any]]:
    """A model that reasons, then gives the gold answer in its task's tags."""
    def script(_: int, body: dict[str, Any]) -> tuple[Any, Any]:
        name, gold = gold_by_query[body["messages"][-1]["content"]]
        return 200, f"<think>Counting atoms.</think> {get_task(name).output_tag.wrap(gold)}"
    return script


def run(url: str, smolinstruct_val: Path, output: Path, **endpoint_options: Any) -> dict[str, Any]:
    endpoint = Endpoint(url, "scripted", **{"max_retries": 2, "timeout_s": 5.0, **endpoint_options})
    return generate_with_endpoint(endpoint, smolinstruct_val, "validation", TASKS, output, max_samples=SAMPLES,
                                  show_progress=False)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_answers_come_back_in_dataset_order_with_the_task_prompt(smolinstruct_val: Path, tmp_path: Path,
                                                                 gold_by_query: dict[str, tuple[str, str]]) -> None:
    answer = answering(gold_by_query)

    def out_of_order(number: int, body: dict[str, Any]) -> tuple[Any, Any]:
        time.sleep(0.05 * (number % 3 == 0))  # every third request finishes late
        return answer(number, body)

    with serving(out_of_order) as server:
        run(server.url, smolinstruct_val, tmp_path, concurrency=4)
    for name in TASKS:
        task = get_task(name)
        samples = load_samples(smolinstruct_val, "validation", task, SAMPLES)
        records = lines(tmp_path / f"{task.name}.jsonl")
        assert [record["input"] for record in records] == [sample.raw_input for sample in samples]
        assert [record["pred"] for record in records] == [[sample.gold] for sample in samples]
        assert all(record["reasoning"] == "Counting atoms." for record in records)
    sent = {body["messages"][-1]["content"]: body for body in server.bodies}
    for query, (name, _) in gold_by_query.items():
        system, user = sent[query]["messages"]
        assert system == {"role": "system", "content": zero_shot_prompt(get_task(name))}
        assert user == {"role": "user", "content": query}  # the query exactly as the data writes it
        assert sent[query]["temperature"] == 0
        assert sent[query]["max_completion_tokens"] == get_task(name).generation.max_new_tokens
    recorded = json.loads((tmp_path / "generation.json").read_text())
    settings = recorded["tasks"]["name_conversion-s2f"]
    assert settings["system_prompt"] == zero_shot_prompt(get_task("NC-S2F"))
    assert settings["num_beams"] is None and "beam search" in settings["beam_search"]
    assert recorded["backend"] == "openai" and recorded["base_url"] == server.url


def test_rate_limits_server_errors_and_timeouts_are_retried(smolinstruct_val: Path, tmp_path: Path,
                                                            gold_by_query: dict[str, tuple[str, str]]) -> None:
    answer = answering(gold_by_query)
    failures = {0: (429, None), 1: (503, None), 2: (1.5, None), 3: (500, None)}  # 1.5 s: over the timeout

    def flaky(number: int, body: dict[str, Any]) -> tuple[Any, Any]:
        status, _ = failures.get(number, (200, None))
        if status == 200:
            return answer(number, body)
        return (status, None) if not isinstance(status, float) else (status, "late")

    with serving(flaky) as server:
        summary = run(server.url, smolinstruct_val, tmp_path, concurrency=1, timeout_s=0.5, max_retries=4)
    assert all(report["generated"] == SAMPLES for report in summary["tasks"].values())
    assert len(server.bodies) == 2 * SAMPLES + len(failures)
    for name in TASKS:
        assert all(record["pred"][0] for record in lines(tmp_path / f"{get_task(name).name}.jsonl"))


def test_a_server_that_dies_leaves_whole_lines_and_a_rerun_finishes_the_same(
        smolinstruct_val: Path, tmp_path: Path, gold_by_query: dict[str, tuple[str, str]]) -> None:
    answer = answering(gold_by_query)
    with serving(answer) as server:
        run(server.url, smolinstruct_val, tmp_path / "whole")

    def dies(number: int, body: dict[str, Any]) -> tuple[Any, Any]:
        return answer(number, body) if number < 4 else ("drop", None)

    with serving(dies) as server, pytest.raises(EndpointError, match="rerun the same command"):
        run(server.url, smolinstruct_val, tmp_path / "cut", concurrency=2, max_retries=1)
    cut = tmp_path / "cut" / "name_conversion-s2f.jsonl"
    kept = lines(cut)  # every line parses: nothing half written
    assert 0 < len(kept) < SAMPLES
    with serving(answer) as server:
        summary = run(server.url, smolinstruct_val, tmp_path / "cut")
    assert summary["tasks"]["name_conversion-s2f"]["resumed_from"] == len(kept)
    for name in TASKS:
        file = f"{get_task(name).name}.jsonl"
        assert (tmp_path / "cut" / file).read_bytes() == (tmp_path / "whole" / file).read_bytes()


def test_a_refused_sample_is_recorded_without_answer_and_the_run_goes_on(
        smolinstruct_val: Path, tmp_path: Path, gold_by_query: dict[str, tuple[str, str]]) -> None:
    answer = answering(gold_by_query)
    refused = next(iter(gold_by_query))

    def refuses_one(number: int, body: dict[str, Any]) -> tuple[Any, Any]:
        return (413, None) if body["messages"][-1]["content"] == refused else answer(number, body)

    with serving(refuses_one) as server:
        summary = run(server.url, smolinstruct_val, tmp_path)
    first = lines(tmp_path / "name_conversion-s2f.jsonl")[0]
    assert first["output"] is None and first["pred"] is None and "413" in first["error"]
    assert summary["tasks"]["name_conversion-s2f"]["skipped_long"] == 1
    assert summary["tasks"]["property_prediction-bbbp"]["generated"] == SAMPLES


def test_the_key_comes_from_the_named_variable_and_a_rejected_key_names_it(
        smolinstruct_val: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLASMOL_TEST_KEY", "sk-test-secret")
    with serving(lambda number, body: (401, None)) as server, pytest.raises(EndpointError, match=r"\$LLASMOL_TEST_KEY"):
        run(server.url, smolinstruct_val, tmp_path, api_key_env="LLASMOL_TEST_KEY", concurrency=1)
    assert server.headers[0]["authorization"] == "Bearer sk-test-secret"
    assert len(server.bodies) == 1  # 401 is not retried
    assert all("sk-test-secret" not in path.read_text() for path in tmp_path.iterdir())


def test_another_system_prompt_does_not_continue_a_run(smolinstruct_val: Path, tmp_path: Path,
                                                       gold_by_query: dict[str, tuple[str, str]]) -> None:
    with serving(answering(gold_by_query)) as server:
        run(server.url, smolinstruct_val, tmp_path)
        endpoint = Endpoint(server.url, "scripted")
        with pytest.raises(GenerationMismatchError, match="system_prompt"):
            generate_with_endpoint(endpoint, smolinstruct_val, "validation", TASKS, tmp_path, max_samples=SAMPLES,
                                   system_prompts="none", show_progress=False)


def test_the_command_line_checks_its_options_and_generates(smolinstruct_val: Path, tmp_path: Path,
                                                            gold_by_query: dict[str, tuple[str, str]]) -> None:
    from typer.testing import CliRunner

    from llasmol.cli import app

    common = ["generate", "--backend", "openai", "--data", str(smolinstruct_val), "--split", "validation",
              "--tasks", ",".join(TASKS), "--max-samples", "2", "--output", str(tmp_path)]
    missing = CliRunner().invoke(app, common)
    assert missing.exit_code == 1 and "--base-url" in missing.output
    with serving(answering(gold_by_query)) as server:
        beams = CliRunner().invoke(app, [*common, "--base-url", server.url, "--model", "m", "--num-beams", "4"])
        assert beams.exit_code == 1 and "not available through the OpenAI protocol" in beams.output
        result = CliRunner().invoke(app, [*common, "--base-url", server.url, "--model", "m", "--max-new-tokens", "64",
                                          "--token-limit-field", "max_tokens", "--system-prompt", "none"])
    assert result.exit_code == 0, result.output
    assert all(body["max_tokens"] == 64 and len(body["messages"]) == 1 for body in server.bodies)
    assert [len(lines(tmp_path / f"{get_task(name).name}.jsonl")) for name in TASKS] == [2, 2]


# Replies in the formats reasoning models and their servers use.
REASONING_REPLIES = {
    "DeepSeek-R1 / Qwen3, reasoning inline": (
        {"role": "assistant", "content": "<think>\nC2H6O has 2 carbons.\n</think>\n\n<MOLFORMULA> C2H6O </MOLFORMULA>"},
        "C2H6O has 2 carbons.", "<MOLFORMULA> C2H6O </MOLFORMULA>"),
    "DeepSeek API / vLLM reasoning parser: reasoning_content": (
        {"role": "assistant", "content": "<MOLFORMULA> C2H6O </MOLFORMULA>", "reasoning_content": "Two carbons."},
        "Two carbons.", "<MOLFORMULA> C2H6O </MOLFORMULA>"),
    "vLLM / OpenRouter: reasoning": (
        {"role": "assistant", "content": "<MOLFORMULA> C2H6O </MOLFORMULA>", "reasoning": "Two carbons."},
        "Two carbons.", "<MOLFORMULA> C2H6O </MOLFORMULA>"),
    "gpt-oss harmony, unparsed": (
        {"role": "assistant", "content": "<|channel|>analysis<|message|>Two carbons.<|end|><|start|>assistant"
                                         "<|channel|>final<|message|><MOLFORMULA> C2H6O </MOLFORMULA><|return|>"},
        "<|channel|>analysis<|message|>Two carbons.<|end|><|start|>assistant", "<MOLFORMULA> C2H6O </MOLFORMULA>"),
    "reasoning cut by the token limit": (
        {"role": "assistant", "content": "<think>Two carbons, and the <MOLFORMULA> C2H5O"}, None, ""),
}


@pytest.mark.parametrize("case", list(REASONING_REPLIES))
def test_the_answer_is_read_after_the_reasoning(case: str) -> None:
    message, reasoning, answer = REASONING_REPLIES[case]
    reply = reply_of(message, "stop")
    assert reply.answer == answer
    if reasoning is None:
        assert reply.reasoning and "C2H5O" in reply.reasoning  # the cut reasoning is kept, not scored
    else:
        assert reply.reasoning == reasoning


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def llasmol_serve(port: int) -> Iterator[str]:
    """``llasmol serve`` with the default model (SmolLM2-135M-Instruct), as a user starts it."""
    import os
    import subprocess
    import sys
    import urllib.request

    command = [sys.executable, "-m", "llasmol.cli", "serve", "--model", "smollm2", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"llasmol serve did not start: {server.stderr.read()}") from None
                time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(timeout=60)


PARITY_TASKS = ["FS", "MC", "NC-S2F", "NC-I2S", "PP-BBBP", "PP-SIDER"]


def test_llasmol_serve_through_the_openai_backend_answers_as_the_hf_backend(smolinstruct_val: Path,
                                                                            tmp_path: Path) -> None:
    from llasmol.generate import DecodingOptions, generate_on_dataset

    greedy = DecodingOptions(num_beams=1, max_new_tokens=24)
    # One prompt at a time on both sides (one request in flight, HF batches of one): no padding beside
    # other prompts, whose float32 sums could flip a near tie between two tokens.
    generate_on_dataset("smollm2", smolinstruct_val, "validation", PARITY_TASKS, tmp_path / "hf", batch_size=1,
                        max_samples=3, decoding=greedy, show_progress=False)
    with llasmol_serve(_free_port()) as url:
        generate_with_endpoint(Endpoint(url, "smollm2", concurrency=1), smolinstruct_val, "validation", PARITY_TASKS,
                               tmp_path / "api", max_samples=3, system_prompts="none", decoding=greedy,
                               show_progress=False)
    for name in PARITY_TASKS:
        file = f"{get_task(name).name}.jsonl"
        through_hf, through_api = lines(tmp_path / "hf" / file), lines(tmp_path / "api" / file)
        assert len(through_hf) == len(through_api) == 3
        for hf_record, api_record in zip(through_hf, through_api, strict=True):
            assert api_record["input"] == hf_record["input"]
            assert api_record["output"] == [text.strip() for text in hf_record["output"]], name
            assert api_record["pred"] == hf_record["pred"], name
