"""`swiftlet serve --models-dir`: several real models in one server, loaded on demand, driven by the official
`openai` client (and raw HTTP to see the stream's comments)."""
import http.client
import json
import os
import subprocess

import openai
import pytest

from conftest import GEMMA3, SMOLLM2, model
from test_server_openai import LLAMA_ANSWER, QUESTION, SYSTEM, Server

# The links' names are the models' names.
NAMES = ["gemma3", "smollm2"]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    os.symlink(model(SMOLLM2), d / "smollm2.gguf")
    os.symlink(model(GEMMA3), d / "gemma3.gguf")
    (d / "README.txt").write_text("not a model")
    return d


@pytest.fixture(scope="module")
def server(swiftlet, models_dir):
    s = Server(swiftlet, "--max-loaded", "1", "--ctx", "512", models=["--models-dir", str(models_dir)])
    yield s
    assert s.stop() == 0


def listing(server):
    status, body = server.request("GET", "/v1/models")
    assert status == 200
    return {m["id"]: m for m in json.loads(body)["data"]}


def loaded(server):
    return {name: m["loaded"] for name, m in listing(server).items()}


def ask(server, name, **extra):
    return server.client().chat.completions.create(
        model=name, messages=[SYSTEM, QUESTION], **{"temperature": 0, "max_tokens": 8, **extra})


def test_health_answers_before_any_model_loads(server):
    # The harness saw /health answer 200 as soon as the server listened: nothing is loaded yet.
    assert server.request("GET", "/health")[0] == 200
    models = listing(server)
    assert sorted(models) == NAMES
    assert loaded(server) == {"gemma3": False, "smollm2": False}
    assert models["smollm2"]["size"] == os.path.getsize(SMOLLM2)
    assert models["gemma3"]["size"] == os.path.getsize(GEMMA3)
    assert models["smollm2"]["context_length"] == 512
    assert [m.id for m in server.client().models.list().data] == NAMES


def test_each_model_answers_by_name_and_max_loaded_evicts(server):
    r = ask(server, "smollm2", max_tokens=16)
    assert r.model == "smollm2" and r.choices[0].message.content == LLAMA_ANSWER
    assert loaded(server) == {"gemma3": False, "smollm2": True}
    r = ask(server, "gemma3")
    assert r.model == "gemma3" and r.choices[0].message.content and r.usage.completion_tokens > 0
    assert loaded(server) == {"gemma3": True, "smollm2": False}
    # The evicted model answers again, the same way.
    r = ask(server, "smollm2", max_tokens=16)
    assert r.choices[0].message.content == LLAMA_ANSWER
    assert loaded(server) == {"gemma3": False, "smollm2": True}
    metrics = server.request("GET", "/metrics")[1].decode()
    assert 'swiftlet_generations_total{model="smollm2"} 2' in metrics
    assert 'swiftlet_generations_total{model="gemma3"} 1' in metrics
    assert "swiftlet_models_loaded 1" in metrics


def test_a_stream_for_an_unloaded_model_sends_keep_alives_then_tokens(server):
    assert loaded(server)["gemma3"] is False
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", "/v1/chat/completions", json.dumps(
        {"model": "gemma3", "messages": [QUESTION], "stream": True, "max_tokens": 6, "temperature": 0}),
        {"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
    events = [e for e in response.read().decode().split("\n\n") if e]
    conn.close()
    assert events[0] == ": loading model"
    data = [e for e in events if e.startswith("data: ")]
    first_data = events.index(data[0])
    assert all(e.startswith(":") for e in events[:first_data])
    assert data[-1] == "data: [DONE]"
    chunks = [json.loads(e[len("data: "):]) for e in data[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert loaded(server)["gemma3"] is True
    # The openai client reads the same kind of stream (comments skipped) for the other, unloaded, model.
    text = "".join(c.choices[0].delta.content or "" for c in ask(server, "smollm2", stream=True, max_tokens=16)
                   if c.choices)
    assert text == LLAMA_ANSWER


def test_an_unknown_model_is_404(server):
    with pytest.raises(openai.NotFoundError) as e:
        ask(server, "gpt-4o-mini")
    assert e.value.body["code"] == "model_not_found" and "smollm2" in e.value.body["message"]


def test_the_priority_header(server):
    r = ask(server, "smollm2", extra_headers={"X-Swiftlet-Priority": "BACKGROUND"})
    assert r.choices[0].message.content
    with pytest.raises(openai.BadRequestError) as e:
        ask(server, "smollm2", extra_headers={"X-Swiftlet-Priority": "urgent"})
    assert "X-Swiftlet-Priority" in e.value.body["message"]


def test_a_default_model_answers_other_names(swiftlet, models_dir):
    s = Server(swiftlet, "--default-model", "smollm2", "--ctx", "512", models=["--models-dir", str(models_dir)])
    try:
        r = ask(s, "gpt-4o-mini", max_tokens=16)
        assert r.model == "smollm2" and r.choices[0].message.content == LLAMA_ANSWER
    finally:
        assert s.stop() == 0


def test_a_config_file(swiftlet, tmp_path):
    config = tmp_path / "models.yaml"
    config.write_text(f"""
max_loaded: 1
default_model: small
models:
  small:
    path: {model(SMOLLM2)}
    aliases: [title-model]
    ctx: 256
    sampling:
      temperature: 0
""")
    s = Server(swiftlet, models=["--config", str(config)])
    try:
        assert listing(s)["small"]["context_length"] == 256
        # temperature 0 comes from the file: the request sets none.
        r = s.client().chat.completions.create(model="title-model", messages=[SYSTEM, QUESTION], max_tokens=16)
        assert r.model == "small" and r.choices[0].message.content == LLAMA_ANSWER
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("text, line, message", [
    ("models:\n  a:\n    path: [oops\n", 4, "YAML syntax"),
    ("port: 80\nmax_loded: 1\n", 2, "unknown key 'max_loded'"),
    ("port: eighty\n", 1, "'port' must be a whole number"),
    ("models:\n  a:\n    ctx: 64\n", 2, "has no 'path'"),
])
def test_a_bad_config_names_its_line_and_exits_1(swiftlet, tmp_path, text, line, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    r = subprocess.run([swiftlet, "serve", "--config", str(config)], capture_output=True, timeout=30)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert f"{config}:{line}: " in err and message in err, err
    assert len(err.strip().splitlines()) == 1, "one line, no stack trace: " + err
