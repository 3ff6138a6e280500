#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora under Fuzz/Corpus/ (see Docs/Fuzzing.md).

gguf/     the malformed GGUF files of Fixtures/malformed, a small valid GGUF with every metadata type and
          three tensor types (written with the `gguf` package), and the first 8 KiB of a tiny test model.
jinja/    every chat template of Fixtures/chat-templates and the snippets of Tests/python/jinja_snippets.txt.
request/  chat-completions bodies: plain, streamed, with tools and tool calls, structured output (a few
          JSON schemas of Fixtures/reference/json-schema and grammars of Fixtures/reference/grammar), and
          bad ones.
"""
import hashlib
import json
import pathlib
import shutil

import numpy as np
import gguf

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "Fixtures"
CORPUS = ROOT / "Fuzz" / "Corpus"


def fresh(name):
    folder = CORPUS / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def gguf_corpus():
    out = fresh("gguf")
    for path in sorted((FIXTURES / "malformed").glob("*.gguf")):
        shutil.copy(path, out / path.name)
    (out / "tiny-llama-q4_0-first-8k.gguf").write_bytes((FIXTURES / "tiny-llama-q4_0.gguf").read_bytes()[:8192])
    path = out / "small-valid.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(2)
    w.add_context_length(128)
    w.add_uint8("t.u8", 7)
    w.add_int8("t.i8", -7)
    w.add_uint16("t.u16", 700)
    w.add_int16("t.i16", -700)
    w.add_uint32("t.u32", 70000)
    w.add_int32("t.i32", -70000)
    w.add_uint64("t.u64", 2**40)
    w.add_int64("t.i64", -(2**40))
    w.add_float32("t.f32", 1.5)
    w.add_float64("t.f64", -2.25)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo")
    w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "a", "b"])
    w.add_array("tokenizer.ggml.scores", [0.0, -1.0, -2.0, -3.0])
    w.add_array("t.ints", [1, 2, 3])
    w.add_tensor("f32", np.arange(32, dtype=np.float32).reshape(1, 32))
    w.add_tensor("f16", np.ones((2, 32), dtype=np.float16))
    w.add_tensor("q4_0", np.zeros((1, 18), dtype=np.uint8), raw_dtype=gguf.GGMLQuantizationType.Q4_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def jinja_corpus():
    out = fresh("jinja")
    for path in sorted((FIXTURES / "chat-templates").glob("*.jinja")):
        shutil.copy(path, out / path.name)
    snippets = (ROOT / "Tests/python/jinja_snippets.txt").read_text().split("\n====\n")
    for i, snippet in enumerate(snippets):
        (out / f"snippet-{i:03}.jinja").write_text(snippet.strip("\n"))


def request_corpus():
    out = fresh("request")
    user = {"role": "user", "content": "What is the capital of France?"}
    weather = {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    bodies = {
        "plain": {"model": "smollm2", "messages": [user]},
        "system-stream": {"messages": [{"role": "system", "content": "Be brief."}, user], "stream": True,
                          "stream_options": {"include_usage": True}, "max_tokens": 16},
        "sampling": {"messages": [user], "temperature": 0.7, "top_p": 0.9, "top_k": 40, "min_p": 0.05,
                     "typical_p": 1.0, "repeat_penalty": 1.1, "presence_penalty": 0.5, "frequency_penalty": 0.5,
                     "seed": 42, "stop": ["\n", "END"], "max_completion_tokens": 32, "n": 1,
                     "logit_bias": {"42": -100, "7": 5}, "user": "u1"},
        "parts": {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"},
                                                             {"type": "image_url", "image_url": {"url": "x"}}]}]},
        "tools": {"messages": [user], "tools": [weather], "tool_choice": "auto", "parallel_tool_calls": False},
        "tool-choice-named": {"messages": [user], "tools": [weather],
                              "tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
        "tool-call-history": {"messages": [
            user,
            {"role": "assistant", "content": None, "reasoning_content": "hmm",
             "tool_calls": [{"id": "c1", "type": "function",
                             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "{\"temp\": 21}"}],
            "tools": [weather]},
        "tool-call-object-arguments": {"messages": [
            {"role": "assistant", "content": "",
             "tool_calls": [{"function": {"name": "f", "arguments": {"a": [1, {"b": None}]}}}]}]},
        "json-object": {"messages": [user], "response_format": {"type": "json_object"}},
        "grammar": {"messages": [user], "grammar": "root ::= [a-z]+ (\" \" [a-z]+)*"},
        "kwargs": {"messages": [user], "chat_template_kwargs": {"enable_thinking": False}, "reasoning_effort": "none"},
        "bad-n": {"messages": [user], "n": 2},
        "bad-types": {"messages": "hi", "temperature": "hot"},
        "bad-empty": {"messages": []},
    }
    schemas = [path for path in sorted((FIXTURES / "reference/json-schema").glob("*.json"))
               if "schema" in json.loads(path.read_text())]
    for path in schemas[::8]:
        schema = json.loads(path.read_text())["schema"]
        bodies["schema-" + path.stem] = {"messages": [user], "response_format": {
            "type": "json_schema", "json_schema": {"name": "s", "schema": schema, "strict": True}}}
    for path in sorted((FIXTURES / "reference/grammar").glob("*.json"))[:6]:
        bodies["grammar-" + path.stem] = {"messages": [user], "grammar": json.loads(path.read_text())["grammar"]}
    for name, body in bodies.items():
        (out / f"{name}.json").write_text(json.dumps(body, ensure_ascii=False))
    (out / "not-json.json").write_text('{"messages": [{"role": "user", "content": "unterminated')
    (out / "deep.json").write_text('{"messages": ' + "[" * 70 + "]" * 70 + "}")


if __name__ == "__main__":
    gguf_corpus()
    jinja_corpus()
    request_corpus()
    for folder in sorted(CORPUS.iterdir()):
        files = list(folder.iterdir())
        print(folder.name, len(files), "files,", sum(f.stat().st_size for f in files), "bytes")
