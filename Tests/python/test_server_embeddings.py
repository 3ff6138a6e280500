"""`POST /v1/embeddings` on `swiftlet serve --models-dir` holding a chat model and an embedding model
(all-MiniLM-L6-v2), driven by the official `openai` client: vectors against the numpy reference of
Fixtures/embeddings (Scripts/record-embedding-references.py), base64 and float formats, and the errors."""
import base64
import json
import os
import struct

import numpy as np
import openai
import pytest

from conftest import FIXTURES, HAS_MINILM, SMOLLM2, model
from test_server_openai import QUESTION, Server

REFERENCE = json.loads((FIXTURES / "embeddings/minilm-reference.json").read_text())["inputs"]

pytestmark = pytest.mark.skipif(not HAS_MINILM, reason="all-MiniLM-L6-v2 is missing: run Scripts/fetch-models.sh minilm")


@pytest.fixture(scope="module")
def server(swiftlet, minilm_f32, tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    os.symlink(model(SMOLLM2), d / "smollm2.gguf")
    os.symlink(minilm_f32, d / "minilm.gguf")
    s = Server(swiftlet, "--ctx", "512", models=["--models-dir", str(d)])
    yield s
    assert s.stop() == 0


def cosine(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def post(server, body):
    status, data = server.request("POST", "/v1/embeddings", json.dumps(body), {"Content-Type": "application/json"})
    return status, json.loads(data)


def test_token_id_inputs_match_the_numpy_reference(server):
    # The client's default encoding is base64, which it decodes itself.
    r = server.client().embeddings.create(model="minilm", input=[i["tokens"] for i in REFERENCE])
    assert r.model == "minilm" and len(r.data) == len(REFERENCE)
    for item, ref in zip(r.data, REFERENCE):
        assert len(item.embedding) == 384
        assert cosine(item.embedding, ref["embedding"]) >= 0.9999
    assert [d.index for d in r.data] == list(range(len(REFERENCE)))
    total = sum(len(i["tokens"]) for i in REFERENCE)
    assert r.usage.prompt_tokens == total and r.usage.total_tokens == total


def test_text_inputs_match_the_reference_tokens(server):
    texts = [i["text"] for i in REFERENCE]
    r = server.client().embeddings.create(model="minilm", input=texts, encoding_format="float")
    for item, ref in zip(r.data, REFERENCE):
        assert cosine(item.embedding, ref["embedding"]) >= 0.9999, ref["text"]
    assert r.usage.prompt_tokens == sum(len(i["tokens"]) for i in REFERENCE)
    one = server.client().embeddings.create(model="minilm", input=texts[0], encoding_format="float")
    assert one.data[0].embedding == r.data[0].embedding  # alone or in a batch: the same vector


def test_base64_is_the_float_vector_as_little_endian_float32(server):
    ids = REFERENCE[1]["tokens"]
    status, floats = post(server, {"model": "minilm", "input": ids, "encoding_format": "float"})
    assert status == 200 and floats["object"] == "list" and floats["data"][0]["object"] == "embedding"
    status, b64 = post(server, {"model": "minilm", "input": ids, "encoding_format": "base64", "user": "x"})
    assert status == 200
    raw = base64.b64decode(b64["data"][0]["embedding"])
    assert len(raw) == 384 * 4
    assert list(struct.unpack("<384f", raw)) == pytest.approx(floats["data"][0]["embedding"], rel=1e-6, abs=1e-9)
    status, same = post(server, {"model": "minilm", "input": ids, "dimensions": 384})
    assert status == 200


def test_errors(server):
    client = server.client()
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="minilm", input=["hello"], dimensions=128)
    assert e.value.status_code == 400 and "384" in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="minilm", input=[[101] + [1996] * 600 + [102]])
    assert e.value.status_code == 400 and "512" in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="minilm", input="the " * 600)
    assert "512" in e.value.message
    # Swiftlet's `truncate` extension keeps the first 511 tokens and the closing [SEP] instead.
    long = [101] + [1996] * 600 + [102]
    status, cut = post(server, {"model": "minilm", "input": [long], "truncate": True, "encoding_format": "float"})
    status2, first = post(server, {"model": "minilm", "input": [long[:511] + [102]], "encoding_format": "float"})
    assert status == status2 == 200 and cut["data"][0]["embedding"] == first["data"][0]["embedding"]
    assert cut["usage"]["prompt_tokens"] == 512
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="no-such-model", input="hello")
    for bad in [[], "", [""], [[101, 99999999]]]:
        status, body = post(server, {"model": "minilm", "input": bad})
        assert status == 400 and body["error"]["type"] == "invalid_request_error", bad
    status, body = post(server, {"model": "minilm", "input": "hi", "encoding_format": "half"})
    assert status == 400 and body["error"]["param"] == "encoding_format"
    # A chat model computes no embeddings, an embedding model no chat: clear 400s.
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="smollm2", input="hello")
    assert "not an embedding model" in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="minilm", messages=[QUESTION], max_tokens=4)
    assert "embedding model" in e.value.message


def test_chat_still_works_beside_the_embedding_model(server):
    r = server.client().chat.completions.create(model="smollm2", messages=[QUESTION], max_tokens=4, temperature=0)
    assert r.choices[0].message.content
    r = server.client().embeddings.create(model="minilm", input=[REFERENCE[0]["tokens"]])
    assert len(r.data[0].embedding) == 384
