"""Structured output, tool calls and reasoning through `swiftlet serve`, driven by the official `openai`
client: every constrained answer must parse and validate (Python `jsonschema`), streamed calls must equal
non-streamed ones, and keywords that cannot be enforced must be refused by name."""
import json

import jsonschema
import openai
import pytest

from test_server_openai import MODEL_ID, Server

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
SET_MEMORY = {
    "type": "function",
    "function": {
        "name": "set_memory",
        "description": "Remember a fact about the user.",
        "parameters": {
            "type": "object",
            "properties": {"key": {"type": "string", "maxLength": 40}, "value": {"type": "string", "maxLength": 200}},
            "required": ["key", "value"],
            "additionalProperties": False,
        },
    },
}
TOOLS = [WEATHER, SET_MEMORY]
ASK = [{"role": "user", "content": "What is the weather like in Paris today?"}]

SCHEMAS = {
    "person": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 30},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "email": {"type": "string", "pattern": "^[a-z]{1,12}@[a-z]{1,12}\\.com$"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "minItems": 1, "maxItems": 3},
        },
        "required": ["name", "age", "tags"],
        "additionalProperties": False,
    },
    "title": {
        "type": "object",
        "properties": {"title": {"type": "string", "maxLength": 60}},
        "required": ["title"],
        "additionalProperties": False,
    },
    "choice": {
        "type": "object",
        "properties": {
            "answer": {"enum": ["yes", "no", "maybe"]},
            "confidence": {"type": "number"},
            "when": {"type": "string", "format": "date"},
            "id": {"type": "string", "format": "uuid"},
        },
        "required": ["answer", "when", "id"],
    },
    "shapes": {
        "$defs": {
            "point": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                      "required": ["x", "y"], "additionalProperties": False},
        },
        "type": "object",
        "properties": {
            "kind": {"const": "polygon"},
            "points": {"type": "array", "items": {"$ref": "#/$defs/point"}, "minItems": 2, "maxItems": 4},
            "label": {"anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}]},
            "pair": {"type": "array", "prefixItems": [{"type": "boolean"}, {"type": "integer"}], "items": False},
        },
        "required": ["kind", "points", "label", "pair"],
        "additionalProperties": False,
    },
}


@pytest.fixture(scope="module")
def server(swiftlet):
    s = Server(swiftlet, "--parallel", "2")
    yield s
    assert s.stop() == 0


def chat(server, **kwargs):
    kwargs.setdefault("model", MODEL_ID)
    kwargs.setdefault("max_tokens", 200)
    return server.client().chat.completions.create(**kwargs)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_json_schema_outputs_validate(server, name):
    schema = SCHEMAS[name]
    prompts = ["Describe one example as JSON.", "Give me the data, please."]
    for seed in (0, 1, 2):
        for prompt in prompts:
            r = chat(server, messages=[{"role": "user", "content": prompt}], seed=seed,
                     temperature=0 if seed == 0 else 0.9, max_tokens=300,
                     response_format={"type": "json_schema", "json_schema": {"name": name, "schema": schema}})
            choice = r.choices[0]
            assert choice.finish_reason == "stop", (name, seed, choice.message.content)
            jsonschema.validate(json.loads(choice.message.content), schema)


def test_json_object_is_any_object(server):
    for seed in (0, 3):
        r = chat(server, messages=[{"role": "user", "content": "List three fruits as JSON."}], seed=seed,
                 temperature=0.8, response_format={"type": "json_object"}, max_tokens=300)
        assert r.choices[0].finish_reason == "stop"
        assert isinstance(json.loads(r.choices[0].message.content), dict)


@pytest.mark.parametrize("schema,keyword", [
    ({"type": "object", "properties": {"n": {"type": "number", "minimum": 1.5}}}, "minimum"),
    ({"type": "integer", "multipleOf": 3}, "multipleOf"),
    ({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, "uniqueItems"),
    ({"type": "string", "format": "hostname"}, "format"),
    ({"not": {"type": "string"}}, "not"),
    ({"$ref": "https://example.com/schema.json"}, "$ref"),
])
def test_unenforceable_keywords_are_400_naming_them(server, schema, keyword):
    with pytest.raises(openai.BadRequestError) as error:
        chat(server, messages=ASK, response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
    assert keyword in error.value.body["message"], error.value.body


def valid_call(call, tools=TOOLS):
    spec = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    assert call.type == "function"
    assert call.id
    assert call.function.name in spec
    jsonschema.validate(json.loads(call.function.arguments), spec[call.function.name])


def test_required_tool_call_streamed_equals_non_streamed(server):
    r = chat(server, messages=ASK, tools=TOOLS, tool_choice="required", temperature=0)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls
    for call in choice.message.tool_calls:
        valid_call(call)

    calls = {}
    finish = None
    with server.client().chat.completions.create(model=MODEL_ID, messages=ASK, tools=TOOLS, tool_choice="required",
                                                 temperature=0, max_tokens=200, stream=True) as stream:
        for chunk in stream:
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            assert not delta.content
            for piece in delta.tool_calls or []:
                entry = calls.setdefault(piece.index, {"id": None, "name": "", "arguments": "", "pieces": 0})
                if piece.id:
                    assert entry["id"] is None, "the id comes once, in the call's first chunk"
                    entry["id"] = piece.id
                    entry["name"] = piece.function.name
                if piece.function and piece.function.arguments:
                    entry["arguments"] += piece.function.arguments
                    entry["pieces"] += 1
            finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert [(c["name"], json.loads(c["arguments"])) for _, c in sorted(calls.items())] == \
        [(c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls]
    assert all(c["pieces"] > 1 for c in calls.values()), "arguments arrive in pieces"


def test_named_function_and_follow_up(server):
    messages = [{"role": "user", "content": "Remember that my favourite colour is green."}]
    r = chat(server, messages=messages, tools=TOOLS, temperature=0,
             tool_choice={"type": "function", "function": {"name": "set_memory"}})
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [c.function.name for c in choice.message.tool_calls] == ["set_memory"]
    valid_call(choice.message.tool_calls[0])
    call = choice.message.tool_calls[0]
    follow = messages + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "{\"ok\": true}"},
    ]
    r2 = chat(server, messages=follow, tools=TOOLS, tool_choice="none", temperature=0, max_tokens=60)
    assert r2.choices[0].message.content, "the conversation continues after the tool result"
    assert not r2.choices[0].message.tool_calls


def test_auto_with_seeds_gives_valid_calls_or_text(server):
    for seed in range(4):
        r = chat(server, messages=ASK, tools=TOOLS, temperature=0.8, seed=seed)
        choice = r.choices[0]
        if choice.message.tool_calls:
            assert choice.finish_reason == "tool_calls"
            for call in choice.message.tool_calls:
                valid_call(call)
        else:
            assert choice.message.content


def test_bad_tools_are_400(server):
    bad = [
        ([{"type": "function", "function": {"name": "x", "parameters": {"type": "object", "not": {}}}}], "not"),
        ([{"type": "retrieval"}], "type"),
        ([WEATHER, WEATHER], "get_weather"),
    ]
    for tools, word in bad:
        with pytest.raises(openai.BadRequestError) as error:
            chat(server, messages=ASK, tools=tools, tool_choice="required")
        assert word in error.value.body["message"]
    with pytest.raises(openai.BadRequestError) as error:
        chat(server, messages=ASK, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "nope"}})
    assert "nope" in error.value.body["message"]


# Reasoning: SmolLM2's weights with Qwen 3's chat template (a template that thinks), and a grammar that makes
# the 135M model write a `<think>` block before its answer.
THINKING = 'root ::= "<think>" [a-z ]{8,40} "</think>" "\\n\\n" [A-Z] [a-z ]{5,40} "."'


@pytest.fixture(scope="module")
def thinking_server(swiftlet, tmp_path_factory):
    import subprocess
    import sys

    from conftest import FIXTURES, SMOLLM2, model
    path = tmp_path_factory.mktemp("qwen3") / "smollm2-qwen3-template.gguf"
    subprocess.run([sys.executable, "-m", "gguf.scripts.gguf_new_metadata", model(SMOLLM2), str(path),
                    "--chat-template-file", str(FIXTURES / "chat-templates/qwen3.jinja"), "--force"],
                   check=True, capture_output=True)
    s = Server(swiftlet, "--model", str(path))
    yield s
    assert s.stop() == 0


def test_reasoning_is_its_own_field(thinking_server):
    r = chat(thinking_server, messages=ASK, temperature=0, extra_body={"grammar": THINKING})
    message = r.choices[0].message
    reasoning = message.model_extra["reasoning_content"]
    assert reasoning and "<think>" not in reasoning and "</think>" not in reasoning
    assert message.content and "think>" not in message.content and message.content.endswith(".")

    reasoning_pieces, content_pieces = [], []
    with thinking_server.client().chat.completions.create(model=MODEL_ID, messages=ASK, temperature=0, max_tokens=200,
                                                          stream=True, extra_body={"grammar": THINKING}) as stream:
        for chunk in stream:
            if chunk.choices:
                delta = chunk.choices[0].delta
                if (delta.model_extra or {}).get("reasoning_content"):
                    reasoning_pieces.append(delta.model_extra["reasoning_content"])
                if delta.content:
                    content_pieces.append(delta.content)
    assert "".join(reasoning_pieces) == reasoning
    assert "".join(content_pieces) == message.content


def test_thinking_can_be_turned_off(thinking_server):
    def prompt_tokens(**extra):
        return chat(thinking_server, messages=ASK, temperature=0, max_tokens=1, extra_body=extra).usage.prompt_tokens
    on = prompt_tokens()
    off = prompt_tokens(chat_template_kwargs={"enable_thinking": False})
    # Qwen 3's template answers enable_thinking false with an empty <think></think> block in the prompt.
    assert off > on
    assert prompt_tokens(reasoning_effort="none") == off
    assert prompt_tokens(reasoning_effort="low") == on
    with pytest.raises(openai.BadRequestError):
        chat(thinking_server, messages=ASK, extra_body={"chat_template_kwargs": [1]})
