"""`swiftlet serve` driven by the official `openai` client (and raw HTTP where a client would refuse to
send what we test), in the shapes LibreChat sends."""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time

import openai
import pytest

from conftest import FIXTURES, SANITIZED, SMOLLM2, model, sanitizer_report

MODEL_ID = "smollm2-test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, swiftlet, *extra, env=None, models=None):
        """`models` replaces the one-model arguments (`--models-dir DIR`, `--config FILE`…)."""
        self.port = free_port()
        serving = models if models is not None else ["--model", model(SMOLLM2), "--alias", MODEL_ID, "--ctx", "512"]
        self.process = subprocess.Popen(
            [swiftlet, "serve", *serving, "--port", str(self.port), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
        # stderr is read as it comes, so that a chatty server never blocks on a full pipe, and kept for
        # the sanitizer check at stop().
        self.stderr = []
        self.reader = threading.Thread(target=lambda: self.stderr.extend(iter(self.process.stderr.readline, b"")),
                                       daemon=True)
        self.reader.start()
        deadline = time.time() + (180 if SANITIZED else 60)
        while time.time() < deadline:
            if self.process.poll() is not None:
                self.reader.join(timeout=10)
                raise RuntimeError("server exited: " + b"".join(self.stderr).decode(errors="replace"))
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not become healthy")

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, data

    def client(self, key="unused"):
        return openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key=key, max_retries=0, timeout=120)

    def stop(self):
        """Ends the server with SIGTERM and returns its exit status; under `make leak-check` fails when its
        stderr holds a LeakSanitizer or AddressSanitizer report (written at exit)."""
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=120 if SANITIZED else 60)
        self.reader.join(timeout=30)
        report = sanitizer_report(b"".join(self.stderr).decode(errors="replace"))
        assert report is None, "the server's stderr holds a sanitizer report:\n" + report
        return status


@pytest.fixture(scope="module")
def server(swiftlet):
    # A small prompt cache: test_memory_is_flat_over_many_requests looks for leaks, and the cache fills up
    # to its limit by design.
    s = Server(swiftlet, "--parallel", "2", "--cache-ram", "8")
    yield s
    assert s.stop() == 0, "SIGTERM must end the server with status 0"


SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
QUESTION = {"role": "user", "content": "What is the capital of France?"}


def llama_server_answer():
    """llama-server's non-streamed answer to SYSTEM + QUESTION on the same file, temperature 0
    (Fixtures/reference/server/03_chat_nonstream.http, a `curl -i` capture: headers, a blank line, the body)."""
    capture = (FIXTURES / "reference/server/03_chat_nonstream.http").read_text()
    body = json.loads(capture.split("\n\n", 1)[1])
    return body["choices"][0]["message"]["content"], body["usage"]["prompt_tokens"]


LLAMA_ANSWER, LLAMA_PROMPT_TOKENS = llama_server_answer()


def test_models_list(server):
    models = server.client().models.list()
    assert [m.id for m in models.data] == [MODEL_ID]
    status, body = server.request("GET", "/v1/models")
    assert json.loads(body)["data"][0]["context_length"] == 512


def test_chat_non_streaming_matches_llama_cpp(server):
    r = server.client().chat.completions.create(model=MODEL_ID, messages=[SYSTEM, QUESTION], temperature=0)
    assert r.choices[0].message.content == LLAMA_ANSWER == "The capital of France is Paris."
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == LLAMA_PROMPT_TOKENS and r.usage.completion_tokens >= 7


def test_chat_streaming_with_usage(server):
    stream = server.client().chat.completions.create(
        model=MODEL_ID, messages=[SYSTEM, QUESTION], temperature=0, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == LLAMA_ANSWER
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 27


def test_raw_stream_ends_with_done_and_usage_on_last_chunk(server):
    status, body = server.request("POST", "/v1/chat/completions", json.dumps(
        {"model": MODEL_ID, "messages": [QUESTION], "stream": True, "max_tokens": 4, "temperature": 0}),
        {"Content-Type": "application/json"})
    assert status == 200
    events = [e for e in body.decode().split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    last = json.loads(events[-2][len("data: "):])
    assert last["choices"][0]["finish_reason"] == "length" and last["usage"]["completion_tokens"] == 4


def test_max_tokens_and_length(server):
    r = server.client().chat.completions.create(model=MODEL_ID, messages=[QUESTION], max_tokens=3, temperature=0)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 3
    r = server.client().chat.completions.create(model=MODEL_ID, messages=[QUESTION], max_completion_tokens=2, temperature=0)
    assert r.usage.completion_tokens == 2


def test_stop_strings(server):
    r = server.client().chat.completions.create(model=MODEL_ID, messages=[SYSTEM, QUESTION], temperature=0, stop=[" Paris"])
    assert r.choices[0].message.content == "The capital of France is"
    assert r.choices[0].finish_reason == "stop"
    stream = server.client().chat.completions.create(model=MODEL_ID, messages=[SYSTEM, QUESTION], temperature=0, stop="France", stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "The capital of "


def test_second_turn_reuses_the_cache(server):
    messages = [SYSTEM, QUESTION]
    first = server.client().chat.completions.create(model=MODEL_ID, messages=messages, temperature=0, max_tokens=24)
    messages += [{"role": "assistant", "content": first.choices[0].message.content}, {"role": "user", "content": "And of Italy?"}]
    second = server.client().chat.completions.create(model=MODEL_ID, messages=messages, temperature=0, max_tokens=24)
    assert second.usage.prompt_tokens_details.cached_tokens >= first.usage.prompt_tokens


def test_bad_json_and_wrong_types_are_400(server):
    for body in [b"{bad", b"[]", json.dumps({"messages": "hi"}).encode(), json.dumps({"messages": [{"role": "user", "content": 5}]}).encode(),
                 json.dumps({"model": MODEL_ID}).encode(), json.dumps({"messages": [QUESTION], "temperature": "hot"}).encode(),
                 b"[" * 10000 + b"]" * 10000]:
        status, data = server.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        assert status == 400, body[:40]
        error = json.loads(data)["error"]
        assert error["message"] and error["type"] == "invalid_request_error" and "code" in error and "param" in error


def test_unsupported_options_are_400(server):
    client = server.client()
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_ID, messages=[QUESTION], n=2)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_ID, messages=[QUESTION], response_format={"type": "xml"})
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_ID, messages=[QUESTION], temperature=-1)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}])
    # Text with an image: the text is used (tools: test_server_tools.py).
    r = client.chat.completions.create(model=MODEL_ID, max_tokens=2, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}],
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}], user="0123456789abcdef01234567")
    assert r.usage.completion_tokens == 2


def test_unknown_model_is_404(server):
    with pytest.raises(openai.NotFoundError) as info:
        server.client().chat.completions.create(model="gpt-4o", messages=[QUESTION])
    assert info.value.body["code"] == "model_not_found"


def test_context_overflow(server):
    with pytest.raises(openai.BadRequestError) as info:
        server.client().chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "word " * 2000}])
    assert info.value.body["code"] == "context_length_exceeded"
    assert info.value.body["message"].startswith("This model's maximum context length is 512 tokens. However, your messages resulted in ")


def test_legacy_completions(server):
    r = server.client().completions.create(model=MODEL_ID, prompt="The capital of France is", max_tokens=4, temperature=0)
    assert r.choices[0].text and r.usage.completion_tokens == 4


def test_title_request_together_with_a_stream(server):
    results = {}
    def chat():
        stream = server.client().chat.completions.create(model=MODEL_ID, messages=[QUESTION], max_tokens=40, stream=True)
        results["chat"] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    def title():
        r = server.client().chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content":
            "Provide a concise, 5-word-or-less title for the conversation, using title case conventions. Only return the title itself.\n\nConversation:\nUser: hello\nAI: "}])
        results["title"] = r.choices[0].message.content
    threads = [threading.Thread(target=chat), threading.Thread(target=title)]
    for t in threads: t.start()
    for t in threads: t.join(120)
    assert results.get("chat") and results.get("title")


def test_client_dropping_mid_stream_frees_the_sequence(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", "/v1/chat/completions", json.dumps({"model": MODEL_ID, "messages": [QUESTION], "stream": True, "max_tokens": 400}),
                 {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.fp.readline()  # the first event arrived: generation is running
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    time.sleep(1.0)
    metrics = server.request("GET", "/metrics")[1].decode()
    assert f'swiftlet_active_sequences{{model="{MODEL_ID}"}} 0' in metrics
    generated = int(next(l.split()[-1] for l in metrics.splitlines() if l.startswith("swiftlet_completion_tokens_total")))
    # Both sequences are free again: two requests at once complete quickly.
    r = server.client().chat.completions.create(model=MODEL_ID, messages=[QUESTION], max_tokens=2)
    assert r.usage.completion_tokens == 2
    metrics = server.request("GET", "/metrics")[1].decode()
    after = int(next(l.split()[-1] for l in metrics.splitlines() if l.startswith("swiftlet_completion_tokens_total")))
    assert after - generated == 2, "the dropped stream kept generating"


def test_api_key(swiftlet):
    s = Server(swiftlet, "--api-key", "sekret")
    try:
        assert s.request("GET", "/health")[0] == 200
        with pytest.raises(openai.AuthenticationError):
            s.client("wrong").models.list()
        status, body = s.request("GET", "/metrics")
        assert status == 401 and json.loads(body)["error"]["code"] == "invalid_api_key"
        assert [m.id for m in s.client("sekret").models.list().data] == [MODEL_ID]
        # The scheme is case-insensitive (RFC 9110), the key is not.
        for header, want in (("bearer sekret", 200), ("BEARER sekret", 200), ("Bearer SEKRET", 401),
                             ("Bearersekret", 401), ("Basic sekret", 401)):
            assert s.request("GET", "/v1/models", None, {"Authorization": header})[0] == want, header
    finally:
        assert s.stop() == 0


def test_body_too_large_is_413(server):
    status, body = server.request("POST", "/v1/chat/completions", b"{" + b" " * (9 << 20) + b"}", {"Content-Type": "application/json"})
    assert status == 413 and json.loads(body)["error"]["message"]


def test_port_in_use(swiftlet, server):
    r = subprocess.run([swiftlet, "serve", "--model", model(SMOLLM2), "--port", str(server.port)], capture_output=True, timeout=60)
    assert r.returncode == 1 and b"already in use" in r.stderr


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l.split()[1] for l in f if l.startswith("VmRSS:")))


def test_fifty_concurrent_streams_all_finish(server):
    results = []
    def one(i):
        stream = server.client().chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": f"Count to {i}."}], max_tokens=6, stream=True)
        chunks = list(stream)
        results.append((chunks[0].choices[0].delta.role, chunks[-1].choices[0].finish_reason))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads: t.start()
    for t in threads: t.join(300)
    assert len(results) == 50
    assert all(role == "assistant" and finish in ("stop", "length") for role, finish in results)
    assert f'swiftlet_queue_depth{{model="{MODEL_ID}"}} 0' in server.request("GET", "/metrics")[1].decode()


def test_memory_is_flat_over_many_requests(server):
    client = server.client()
    def burst(n):
        for i in range(n):
            client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": f"Hi {i}"}], max_tokens=3)
            server.request("POST", "/v1/chat/completions", b"{bad")
    burst(40)
    before = rss_kib(server.process.pid)
    burst(160)
    after = rss_kib(server.process.pid)
    assert after - before < 20 * 1024, f"RSS grew from {before} KiB to {after} KiB over 320 requests"
