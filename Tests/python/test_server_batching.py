"""Many users on one model: continuous batching, the prompt cache and background requests, through the
HTTP server and the official `openai` client."""
import threading
import time

import pytest

from test_server_openai import MODEL_ID, Server

# SmolLM2's end-of-generation tokens, banned so that every answer runs to max_tokens.
NO_EOS = {"0": -100, "2": -100}

TOPICS = ["the printing press", "why the sky is blue", "bread baking", "a fox and a crow", "the moon landing",
          "volcanoes", "chess openings", "honeybees"]


def ask(client, topic, max_tokens=40, **extra):
    r = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": f"Tell me about {topic}."}],
                                       temperature=0, max_tokens=max_tokens, logit_bias=NO_EOS, **extra)
    return r.choices[0].message.content, r.usage


@pytest.fixture(scope="module")
def eight(swiftlet):
    s = Server(swiftlet, "--parallel", "8", "--ctx", "2048")
    yield s
    assert s.stop() == 0


def test_same_answer_alone_and_among_seven_others(eight):
    """Greedy output does not depend on what else is in the batch: each request alone, then all eight at
    once (started at different moments, so some join while others stream)."""
    client = eight.client()
    alone = [ask(client, t)[0] for t in TOPICS]
    together = [None] * len(TOPICS)

    def run(i):
        time.sleep(0.05 * (i % 4))
        together[i] = ask(client, TOPICS[i])[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(TOPICS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert together == alone


def test_long_prompt_does_not_freeze_running_streams(eight):
    """A 1,500-token prompt is evaluated in chunks between decoding steps: a stream already running keeps
    producing tokens before the long request's first token."""
    client = eight.client()
    arrivals = []
    started = threading.Event()

    def stream():
        s = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Count to a thousand."}],
                                           temperature=0, max_tokens=300, logit_bias=NO_EOS, stream=True)
        for chunk in s:
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append(time.monotonic())
                if len(arrivals) == 5:
                    started.set()

    t = threading.Thread(target=stream)
    t.start()
    assert started.wait(60)
    sent = time.monotonic()
    long_text = " ".join(f"item{i}" for i in range(400))
    first = None
    s = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Summarize: " + long_text}],
                                       temperature=0, max_tokens=4, stream=True, stream_options={"include_usage": True})
    usage = None
    for chunk in s:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.monotonic()
        if chunk.usage:
            usage = chunk.usage
    t.join(timeout=120)
    assert usage.prompt_tokens > 1200
    during = [a for a in arrivals if sent < a < first]
    assert len(during) >= 3, f"the running stream produced {len(during)} tokens while the long prompt was evaluated"


def test_turn_after_a_title_request_is_cached(swiftlet):
    """With one sequence, a title request takes the slot between two turns; the prompt cache gives the
    next turn its prefix back (llama-server's --cache-ram)."""
    s = Server(swiftlet, "--parallel", "1")
    try:
        client = s.client()
        conversation = [{"role": "system", "content": "You answer briefly and kindly. " * 10},
                        {"role": "user", "content": "What is the capital of France?"}]
        first = client.chat.completions.create(model=MODEL_ID, messages=conversation, temperature=0, max_tokens=16)
        title = client.chat.completions.create(
            model=MODEL_ID, temperature=0, max_tokens=8,
            messages=[{"role": "user", "content": "Write a five-word title for: the capital of France"}])
        assert title.usage.prompt_tokens_details.cached_tokens < 8
        conversation += [{"role": "assistant", "content": first.choices[0].message.content},
                         {"role": "user", "content": "And of Italy?"}]
        second = client.chat.completions.create(model=MODEL_ID, messages=conversation, temperature=0, max_tokens=8)
        cached = second.usage.prompt_tokens_details.cached_tokens
        assert cached >= first.usage.prompt_tokens, f"{cached} of {second.usage.prompt_tokens} prompt tokens cached"
        status, body = s.request("GET", "/metrics")
        assert b"swiftlet_prompt_cache_bytes" in body
    finally:
        assert s.stop() == 0


def test_background_request_yields_to_a_foreground_one(swiftlet):
    """With one sequence, a title-like request marked background is suspended when a chat arrives; the
    chat is answered first, and the background request then completes, unchanged."""
    s = Server(swiftlet, "--parallel", "1")
    try:
        client = s.client()
        background = {"extra_headers": {"X-Swiftlet-Priority": "background"}}
        alone = ask(client, "lighthouses", max_tokens=200, **background)[0]
        order = []
        progress = threading.Event()
        result = {}

        def run_background():
            text = ""
            stream = client.chat.completions.create(
                model=MODEL_ID, messages=[{"role": "user", "content": "Tell me about lighthouses."}], temperature=0,
                max_tokens=200, logit_bias=NO_EOS, stream=True, **background)
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content
                    if len(text) > 20:
                        progress.set()
            result["text"] = text
            order.append("background")

        t = threading.Thread(target=run_background)
        t.start()
        assert progress.wait(60)
        ask(client, "the moon", max_tokens=8)
        order.append("foreground")
        t.join(timeout=120)
        assert order == ["foreground", "background"]
        assert result["text"] == alone
        status, body = s.request("GET", "/metrics")
        assert f'swiftlet_suspended_generations_total{{model="{MODEL_ID}"}} 1' in body.decode()
        status, body = s.request("POST", "/v1/chat/completions",
                                 b'{"model": "%s", "messages": [{"role": "user", "content": "Hi"}]}' % MODEL_ID.encode(),
                                 {"Content-Type": "application/json", "X-Swiftlet-Priority": "urgent"})
        assert status == 400 and b"X-Swiftlet-Priority" in body
    finally:
        assert s.stop() == 0
