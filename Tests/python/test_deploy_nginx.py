"""Two `swiftlet serve` replicas behind nginx, run with the committed Docs/deploy/nginx-swiftlet.conf (only its
addresses replaced): conversation affinity, prompt-cache reuse on the conversation's replica, streaming
through the proxy, and a replica killed mid-run."""
import http.client
import json
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from conftest import ROOT, SMOLLM2, model

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
CONF = ROOT / "Docs/deploy/nginx-swiftlet.conf"
# SmolLM2's end-of-generation tokens (<|endoftext|>, <|im_end|>), suppressed where a stream must run long.
NO_EOS = {"0": -100, "2": -100}

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Scripts/setup.sh installs nginx-light; CI runs this test)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout} s")


def request(port, method, path, body=None, headers=None, timeout=60):
    """(status, headers, body) of one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def chat(port, messages, key=None, **extra):
    headers = {"X-Conversation-Id": key} if key else {}
    body = {"messages": messages, "max_tokens": 8, "temperature": 0, **extra}
    status, headers, data = request(port, "POST", "/v1/chat/completions", body, headers)
    try:
        return status, headers.get("X-Upstream"), json.loads(data)
    except ValueError:
        return status, headers.get("X-Upstream"), data.decode(errors="replace")


class Stream(threading.Thread):
    """A streaming chat completion through nginx, read event by event on its own thread."""

    def __init__(self, port, key, max_tokens):
        super().__init__(daemon=True)
        self.port, self.key, self.max_tokens = port, key, max_tokens
        self.upstream = self.status = self.content_type = None
        self.sent = self.done_at = None
        self.content_times, self.usage, self.finish, self.error = [], None, None, None
        self.first_content = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            body = {"messages": [{"role": "user", "content": f"Write a long story ({self.key})."}],
                    "stream": True, "max_tokens": self.max_tokens, "temperature": 0, "logit_bias": NO_EOS}
            self.sent = time.monotonic()
            conn.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json", "X-Conversation-Id": self.key})
            r = conn.getresponse()
            self.status, self.upstream = r.status, r.headers.get("X-Upstream")
            self.content_type = r.headers.get("Content-Type")
            while True:
                line = r.readline()
                if not line:
                    break
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    self.done_at = time.monotonic()
                    break
                event = json.loads(payload)
                if event.get("usage"):
                    self.usage = event["usage"]
                for choice in event.get("choices") or []:
                    if (choice.get("delta") or {}).get("content"):
                        self.content_times.append(time.monotonic())
                        self.first_content.set()
                    self.finish = choice.get("finish_reason") or self.finish
        except (OSError, http.client.HTTPException, ValueError) as e:
            self.error = e
        finally:
            conn.close()
            self.first_content.set()


class Cluster:
    """Two replicas and nginx in front of them, in a temporary prefix; stop() ends every process."""

    def __init__(self, swiftlet, tmp):
        self.tmp = pathlib.Path(tmp)
        self.replicas, self.logs, self.nginx = {}, [], None
        try:
            self.start(swiftlet)
        except BaseException:
            self.stop()
            raise

    def start(self, swiftlet):
        for _ in range(2):
            port = free_port()
            log = open(self.tmp / f"swiftlet-{port}.log", "wb")
            self.logs.append(log)
            self.replicas[f"127.0.0.1:{port}"] = subprocess.Popen(
                [swiftlet, "serve", "--model", model(SMOLLM2), "--port", str(port), "--ctx", "512",
                 "--parallel", "2", "--drain-timeout", "1"], stdout=log, stderr=subprocess.STDOUT)
        self.addresses = list(self.replicas)
        self.port = free_port()
        self.write_nginx_config()
        for address, process in self.replicas.items():
            port = int(address.rsplit(":", 1)[1])
            wait_until(lambda: process.poll() is None and request(port, "GET", "/health")[0] == 200,
                       f"replica {address}")
        prefix = self.tmp / "nginx"
        self.nginx = subprocess.Popen(
            [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g",
             f"daemon off; pid {prefix}/nginx.pid; error_log {prefix}/logs/error.log notice;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: self.nginx.poll() is None and request(self.port, "GET", "/health")[0] == 200,
                   f"nginx ({self.nginx_log()})", timeout=20)

    def write_nginx_config(self):
        """The committed config with the replicas' and nginx's addresses replaced, inside a main config that
        keeps every file nginx writes in the temporary prefix."""
        text = CONF.read_text()
        for old, new in (("127.0.0.1:8081", self.addresses[0]), ("127.0.0.1:8082", self.addresses[1]),
                         ("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{self.port};")):
            assert text.count(old) == 1, f"{CONF} no longer has exactly one '{old}' for this test to replace"
            text = text.replace(old, new)
        prefix = self.tmp / "nginx"
        for d in ("logs", "temp/body", "temp/proxy", "temp/fastcgi", "temp/uwsgi", "temp/scgi"):
            (prefix / d).mkdir(parents=True, exist_ok=True)
        (prefix / "swiftlet.conf").write_text(text)
        # Run as root (a container), nginx's workers would switch to `nobody`, who cannot use the temp dirs.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    include {prefix}/swiftlet.conf;
}}
""")

    def nginx_log(self):
        path = self.tmp / "nginx/logs/error.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "no error log"

    def replica_for(self, key):
        """The replica nginx sends `key` to (asked with a cheap GET; it goes through the same upstream)."""
        status, headers, _ = request(self.port, "GET", "/v1/models", headers={"X-Conversation-Id": key})
        assert status == 200
        return headers["X-Upstream"]

    def kill(self, address):
        self.replicas[address].send_signal(signal.SIGKILL)
        self.replicas[address].wait(timeout=10)

    def stop(self):
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGTERM)  # fast shutdown: the master ends its workers
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.nginx.pid, signal.SIGKILL)
                self.nginx.wait()
        for process in self.replicas.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.replicas.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


@pytest.fixture(scope="module")
def cluster(swiftlet, tmp_path_factory):
    c = Cluster(swiftlet, tmp_path_factory.mktemp("deploy"))
    yield c
    c.stop()


def test_a_conversation_stays_on_one_replica_and_conversations_spread(cluster):
    homes = {}
    for i in range(16):
        key = f"conversation-{i}"
        seen = {cluster.replica_for(key) for _ in range(3)}
        assert len(seen) == 1, f"{key} went to {seen}"
        homes[key] = seen.pop()
    assert set(homes.values()) == set(cluster.addresses), f"16 conversations all went to {set(homes.values())}"
    # A chat request follows the same key to the same replica.
    status, upstream, _ = chat(cluster.port, [{"role": "user", "content": "Hi"}], key="conversation-3")
    assert status == 200 and upstream == homes["conversation-3"]


def test_the_user_id_is_the_key_without_a_conversation_id_and_no_key_spreads(cluster):
    def upstream(headers):
        status, h, _ = request(cluster.port, "GET", "/v1/models", headers=headers)
        assert status == 200
        return h["X-Upstream"]

    assert len({upstream({"X-User-Id": "user-7"}) for _ in range(4)}) == 1
    assert len({upstream({"X-User-Id": "user-7", "X-Conversation-Id": ""}) for _ in range(4)}) == 1
    assert {upstream({}) for _ in range(24)} == set(cluster.addresses)


def test_a_follow_up_turn_reuses_its_replicas_prompt_cache(cluster):
    key = f"conversation-{uuid.uuid4()}"
    first = [{"role": "user", "content": f"My name is {key}. Tell me a short story about a lighthouse keeper "
                                         "who finds a message in a bottle on a stormy night."}]
    status, home, answer = chat(cluster.port, first, key=key, max_tokens=16)
    assert status == 200
    follow_up = first + [answer["choices"][0]["message"], {"role": "user", "content": "And what happened next?"}]
    status, again, reply = chat(cluster.port, follow_up, key=key)
    assert status == 200 and again == home
    cached = reply["usage"]["prompt_tokens_details"]["cached_tokens"]
    assert cached >= answer["usage"]["prompt_tokens"], (cached, answer["usage"])
    # The other replica never saw this conversation: it evaluates the turn from (nearly) the start.
    other = next(a for a in cluster.addresses if a != home)
    status, _, data = request(int(other.rsplit(":", 1)[1]), "POST", "/v1/chat/completions",
                              {"messages": follow_up, "max_tokens": 8, "temperature": 0})
    assert status == 200
    assert json.loads(data)["usage"]["prompt_tokens_details"]["cached_tokens"] < answer["usage"]["prompt_tokens"]


def test_chunks_stream_through_nginx_as_they_are_generated(cluster):
    stream = Stream(cluster.port, "streaming", max_tokens=48)
    stream.start()
    stream.join(timeout=60)
    assert stream.error is None and stream.status == 200, stream.error
    assert stream.content_type.startswith("text/event-stream")
    assert stream.done_at is not None and stream.finish == "length" and stream.usage["completion_tokens"] == 48
    # Buffered by the proxy, every chunk would arrive at the end, together with [DONE].
    spread = stream.done_at - stream.content_times[0]
    assert len(stream.content_times) >= 40
    assert spread > 0.15 and spread > 0.3 * (stream.done_at - stream.sent), (spread, stream.done_at - stream.sent)


def metric(port, name):
    """The value of `name`, summed over its series (the engine's carry a `model` label)."""
    status, _, data = request(port, "GET", "/metrics")
    assert status == 200
    values = [float(line.split()[-1]) for line in data.decode().splitlines()
              if line.split(" ")[0] == name or line.startswith(name + "{")]
    assert values, f"no {name} in /metrics"
    return sum(values)


def test_a_client_that_goes_away_stops_the_generation_on_its_replica(cluster):
    key = f"conversation-{uuid.uuid4()}"
    replica = int(cluster.replica_for(key).rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=30)
    body = {"messages": [{"role": "user", "content": "Write a long story."}], "stream": True,
            "max_tokens": 400, "temperature": 0, "logit_bias": NO_EOS}
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(),
                 headers={"Content-Type": "application/json", "X-Conversation-Id": key})
    r = conn.getresponse()
    assert r.status == 200
    deadline = time.monotonic() + 30
    while b'"content":"' not in r.readline() or metric(replica, "swiftlet_active_sequences") == 0:
        assert time.monotonic() < deadline, "the stream never started"
    started = metric(replica, "swiftlet_completion_tokens_total")
    conn.sock.shutdown(socket.SHUT_RDWR)  # what LibreChat's Stop button does to its connection
    conn.close()
    wait_until(lambda: metric(replica, "swiftlet_active_sequences") == 0, "the generation to stop", timeout=5)
    # Stopped long before its 400 tokens (about 6 s of generation here).
    assert metric(replica, "swiftlet_completion_tokens_total") - started < 300


def test_killing_a_replica_fails_only_its_running_requests(swiftlet, tmp_path):
    cluster = Cluster(swiftlet, tmp_path)
    try:
        keys = {}
        for i in range(40):
            keys.setdefault(cluster.replica_for(f"k{i}"), []).append(f"k{i}")
        assert set(keys) == set(cluster.addresses)
        victim, survivor = cluster.addresses
        doomed, unaffected = Stream(cluster.port, keys[victim][0], 400), Stream(cluster.port, keys[survivor][0], 96)
        for s in (doomed, unaffected):
            s.start()
        for s in (doomed, unaffected):
            assert s.first_content.wait(timeout=30) and s.content_times, s.error
        cluster.kill(victim)
        for s in (doomed, unaffected):
            s.join(timeout=60)
        assert doomed.upstream == victim and doomed.done_at is None, "the stream on the killed replica must break"
        assert len(doomed.content_times) < 400
        assert unaffected.upstream == survivor and unaffected.error is None and unaffected.done_at is not None
        assert unaffected.usage["completion_tokens"] == 96

        # Conversations of the dead replica go to the other one: the first request finds the connection
        # refused and moves on (X-Upstream lists both), later ones skip the replica while it is marked down.
        for key in keys[victim][:4]:
            status, upstream, body = chat(cluster.port, [{"role": "user", "content": "Are you there?"}], key=key)
            assert status == 200, body
            assert upstream.split(", ")[-1] == survivor, upstream
        for key in keys[survivor][:2]:
            status, upstream, _ = chat(cluster.port, [{"role": "user", "content": "Still here?"}], key=key)
            assert status == 200 and upstream == survivor
        assert request(cluster.port, "GET", "/health")[0] == 200

        # With no replica left, clients get an OpenAI-shaped error, not nginx's HTML page.
        cluster.kill(survivor)
        status, _, body = chat(cluster.port, [{"role": "user", "content": "Anyone?"}], key=keys[survivor][0])
        assert status == 502 and body["error"]["message"], body
        assert request(cluster.port, "GET", "/health")[0] == 502
    finally:
        cluster.stop()
