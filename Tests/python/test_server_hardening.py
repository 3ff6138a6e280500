"""`swiftlet serve` against hostile and vanishing clients: huge prompts, clients that leave (streamed,
non-streamed, queued), half-sent requests, idle and surplus connections, HTTP/1.0, methods, CORS, error
wording, the access log and shutdown."""
import http.client
import json
import signal
import socket
import threading
import time

import pytest

from test_server_openai import MODEL_ID, Server

# SmolLM2's end-of-text and end-of-turn tokens, banned so that a reply runs to max_tokens.
NO_END = {"0": -100, "2": -100}


def metric(server, name):
    """The value of `name`, summed over its series (the engine's carry a `model` label)."""
    text = server.request("GET", "/metrics")[1].decode()
    values = [float(l.split()[-1]) for l in text.splitlines()
              if l.split(" ")[0] == name or l.startswith(name + "{")]
    assert values, f"{name} is not in /metrics"
    return sum(values)


def chat_body(content="Tell me a long story.", **extra):
    return json.dumps({"model": MODEL_ID, "messages": [{"role": "user", "content": content}], **extra}).encode()


def raw_request(port, method, path, body=b"", version="HTTP/1.1", headers=None):
    head = f"{method} {path} {version}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\n"
    for key, value in (headers or {}).items():
        head += f"{key}: {value}\r\n"
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(head.encode() + b"\r\n" + body)
    return sock


def read_all(sock, timeout=10):
    """Everything until the server closes; None if it does not close within `timeout`."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        return None
    except ConnectionResetError:
        return data


def wait_for(condition, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture(scope="module")
def long_server(swiftlet):
    """Room for long replies (2,000 tokens take several seconds), two sequences."""
    s = Server(swiftlet, "--parallel", "2", "--ctx", "2048")
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def strict_server(swiftlet):
    s = Server(swiftlet, "--header-timeout", "1", "--body-timeout", "1", "--idle-timeout", "1.5",
               "--max-connections", "6", "--cors-origin", "https://chat.example.com")
    yield s
    assert s.stop() == 0


def test_huge_prompts_are_refused_early_and_health_keeps_answering(long_server):
    body = chat_body("word " * 1_600_000)  # 8 MB, under the 8 MiB body limit
    assert 7_900_000 < len(body) < 8 << 20
    results, latencies = [], []

    def send():
        results.append(long_server.request("POST", "/v1/chat/completions", body=body))

    senders = [threading.Thread(target=send) for _ in range(2)]
    for t in senders:
        t.start()
    while any(t.is_alive() for t in senders):
        started = time.time()
        assert long_server.request("GET", "/health")[0] == 200
        latencies.append(time.time() - started)
        time.sleep(0.02)
    for t in senders:
        t.join()
    assert [status for status, _ in results] == [400, 400]
    for _, data in results:
        error = json.loads(data)["error"]
        assert error["code"] == "context_length_exceeded" and "2048" in error["message"]
    assert latencies and max(latencies) < 0.1, f"/health took {max(latencies):.3f} s"


def test_a_non_streamed_client_that_leaves_stops_its_generation(long_server):
    before = metric(long_server, "swiftlet_completion_tokens_total")
    sockets = [raw_request(long_server.port, "POST", "/v1/chat/completions",
                           chat_body(max_tokens=2000, logit_bias=NO_END, temperature=0)) for _ in range(2)]
    assert wait_for(lambda: metric(long_server, "swiftlet_active_sequences") == 2, 5)
    time.sleep(0.5)
    for s in sockets:
        s.close()
    assert wait_for(lambda: metric(long_server, "swiftlet_active_sequences") == 0, 1), "still generating"
    started = time.time()
    reply = long_server.client().chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": "Hi"}], max_tokens=8)
    assert reply.choices[0].message.content and time.time() - started < 3
    # Two seconds of a 2,000-token reply at most, not all of it.
    assert metric(long_server, "swiftlet_completion_tokens_total") - before < 1200


def test_queued_streaming_clients_that_leave_leave_the_queue(long_server):
    prompt_before = metric(long_server, "swiftlet_prompt_tokens_total")
    running = [raw_request(long_server.port, "POST", "/v1/chat/completions",
                           chat_body(max_tokens=2000, logit_bias=NO_END, stream=True)) for _ in range(2)]
    assert wait_for(lambda: metric(long_server, "swiftlet_active_sequences") == 2, 5)
    long_prompt = "Describe this list: " + ", ".join(str(i) for i in range(300))
    queued = [raw_request(long_server.port, "POST", "/v1/chat/completions",
                          chat_body(long_prompt, max_tokens=50, stream=True)) for _ in range(6)]
    assert wait_for(lambda: metric(long_server, "swiftlet_queue_depth") == 6, 5)
    for s in queued:
        s.close()
    assert wait_for(lambda: metric(long_server, "swiftlet_queue_depth") == 0, 0.5), "gone clients still queued"
    for s in running:
        s.close()
    assert wait_for(lambda: metric(long_server, "swiftlet_active_sequences") == 0, 1)
    started = time.time()
    long_server.client().chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": "Hi"}], max_tokens=8)
    assert time.time() - started < 2
    # The six long prompts (over 600 tokens each) were never evaluated.
    assert metric(long_server, "swiftlet_prompt_tokens_total") - prompt_before < 300


def test_a_half_sent_header_gets_408_and_is_closed(strict_server):
    sock = socket.create_connection(("127.0.0.1", strict_server.port))
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    started = time.time()
    data = read_all(sock, 5)
    assert data is not None and data.startswith(b"HTTP/1.1 408"), data
    assert time.time() - started < 2.5


def test_a_body_that_never_arrives_is_cut_off(strict_server):
    sock = socket.create_connection(("127.0.0.1", strict_server.port))
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    started = time.time()
    assert read_all(sock, 5) is not None, "still open"
    assert time.time() - started < 2.5


def test_idle_connections_are_closed(strict_server):
    fresh = socket.create_connection(("127.0.0.1", strict_server.port))
    kept = http.client.HTTPConnection("127.0.0.1", strict_server.port, timeout=5)
    kept.request("GET", "/health")
    assert kept.getresponse().read() == b'{"status":"ok"}'
    started = time.time()
    assert read_all(fresh, 5) == b""
    assert kept.sock.recv(1) == b""
    assert time.time() - started < 3


def test_connections_beyond_the_limit_get_503(strict_server):
    held = [socket.create_connection(("127.0.0.1", strict_server.port)) for _ in range(6)]
    time.sleep(0.2)
    try:
        refused = raw_request(strict_server.port, "GET", "/health")
        data = read_all(refused, 5)
        assert data.startswith(b"HTTP/1.1 503") and b"connections open" in data
    finally:
        for s in held:
            s.close()
    assert wait_for(lambda: strict_server.request("GET", "/health")[0] == 200, 3)


def test_http10_clients_are_answered_as_http10(strict_server):
    data = read_all(raw_request(strict_server.port, "GET", "/health", version="HTTP/1.0"), 5)
    assert data.startswith(b"HTTP/1.0 200") and data.endswith(b'{"status":"ok"}')
    sock = raw_request(strict_server.port, "POST", "/v1/chat/completions", chat_body(max_tokens=4, stream=True),
                       version="HTTP/1.0")
    data = read_all(sock, 30)
    assert data is not None, "the connection stayed open"
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.0 200") and b"chunked" not in head.lower()
    assert body.startswith(b"data: {") and body.endswith(b"data: [DONE]\n\n")


def test_methods_head_and_cors(strict_server):
    conn = http.client.HTTPConnection("127.0.0.1", strict_server.port, timeout=10)
    conn.request("GET", "/v1/chat/completions")
    r = conn.getresponse()
    assert r.status == 405 and r.getheader("Allow") == "POST"
    assert json.loads(r.read())["error"]["code"] == "method_not_allowed"
    conn.request("PUT", "/health")
    r = conn.getresponse()
    r.read()
    assert r.status == 405 and r.getheader("Allow") == "GET, HEAD"
    conn.request("HEAD", "/v1/models")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"" and int(r.getheader("Content-Length")) > 0
    conn.request("OPTIONS", "/v1/chat/completions", headers={
        "Origin": "https://chat.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    r = conn.getresponse()
    r.read()
    assert r.status in (200, 204)
    assert r.getheader("Access-Control-Allow-Origin") == "https://chat.example.com"
    assert "POST" in r.getheader("Access-Control-Allow-Methods")
    conn.request("GET", "/v1/models", headers={"Origin": "https://chat.example.com"})
    r = conn.getresponse()
    r.read()
    assert r.getheader("Access-Control-Allow-Origin") == "https://chat.example.com"


def test_no_cors_headers_unless_asked(long_server):
    conn = http.client.HTTPConnection("127.0.0.1", long_server.port, timeout=10)
    conn.request("GET", "/v1/models", headers={"Origin": "https://chat.example.com"})
    r = conn.getresponse()
    r.read()
    assert r.getheader("Access-Control-Allow-Origin") is None


@pytest.mark.parametrize("body, expected", [
    (b'{"messages":[{"role":"user","content":"caf\xe9"}]}', "not valid UTF-8: the byte at offset 42 (0xe9)"),
    (b'{"messages":[{"role":"user","content":"x \\ud800 y"}]}', "lone surrogate"),
    (b'{"messages":[{"role":"user","content":[{"type":"text"}]}]}', "'messages[0].content[0].text'"),
    (b'{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}}]}]}',
     "has no text part (only image_url)"),
])
def test_errors_say_what_is_wrong(long_server, body, expected):
    status, data = long_server.request("POST", "/v1/chat/completions", body=body)
    assert status == 400
    assert expected in json.loads(data)["error"]["message"]


def test_access_log_has_one_line_per_request_and_never_the_text(swiftlet):
    s = Server(swiftlet)
    secret = "my secret prompt words"
    s.client().chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": secret}], max_tokens=4)
    s.request("GET", "/nowhere")
    assert s.stop() == 0
    log = b"".join(s.stderr).decode()
    assert secret not in log
    lines = [l for l in log.splitlines() if "POST /v1/chat/completions 200" in l]
    assert len(lines) == 1 and "prompt_tokens=" in lines[0] and "completion_tokens=4" in lines[0]
    assert "ms" in lines[0]
    assert any("GET /nowhere 404" in l for l in log.splitlines())


def start_long_stream(server):
    sock = raw_request(server.port, "POST", "/v1/chat/completions",
                       chat_body(max_tokens=2000, logit_bias=NO_END, stream=True))
    sock.settimeout(10)
    received = b""
    while b"data: {" not in received:
        chunk = sock.recv(4096)
        assert chunk, "the stream ended before its first event"
        received += chunk
    return sock


def test_shutdown_drains_until_its_deadline_then_cuts_streams_short(swiftlet):
    s = Server(swiftlet, "--ctx", "2048", "--drain-timeout", "1.5")
    sock = start_long_stream(s)
    started = time.time()
    s.process.send_signal(signal.SIGTERM)
    rest = read_all(sock, 10)
    assert rest is not None
    assert b"shutting down" in rest and b"[DONE]" not in rest
    assert s.process.wait(timeout=5) == 0
    assert 1.4 < time.time() - started < 4.5


def test_a_second_signal_exits_at_once(swiftlet):
    s = Server(swiftlet, "--ctx", "2048", "--drain-timeout", "30")
    sock = start_long_stream(s)
    s.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert s.process.poll() is None, "the first signal waits for the running stream"
    started = time.time()
    s.process.send_signal(signal.SIGINT)
    assert s.process.wait(timeout=2) == 0
    assert time.time() - started < 1.5
    sock.close()


def test_draining_refuses_new_generations(swiftlet):
    s = Server(swiftlet, "--ctx", "2048", "--drain-timeout", "5")
    sock = start_long_stream(s)
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    conn.request("GET", "/health")  # an open keep-alive connection, as a client pool keeps one
    conn.getresponse().read()
    s.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    try:
        conn.request("POST", "/v1/chat/completions", body=chat_body(max_tokens=4))
        r = conn.getresponse()
        assert r.status == 503 and b"shutting down" in r.read()
    except (ConnectionError, http.client.RemoteDisconnected):
        pass  # or the idle connection was closed at once: also no new work
    sock.close()
    assert s.process.wait(timeout=10) == 0
