"""Tools, tool calls and template keyword arguments through `swiftlet template`, against jinja2.

Every template in Fixtures/chat-templates is rendered with an OpenAI `tools` array (`--tools`), with
conversations that call tools and answer them, and with extra variables (`--kwargs`, `--var`) such as
Qwen 3's `enable_thinking`, then compared character for character with jinja2 under Hugging Face's
settings. The messages jinja2 gets are what llama.cpp gives its templates: a `null` content made `""`,
and each tool call's `arguments` text parsed into its JSON value (kept as text when it is not JSON) for
the templates llama.cpp finds reading arguments as objects (recorded in
Fixtures/reference/chat_templates_llamacpp.json), left as text for the others (DeepSeek's).
`strftime_now` is pinned to one instant on both sides (`swiftlet template --now`). Where jinja2 raises,
swiftlet must exit 1 with a message.
"""
import datetime
import json

import pytest

from conftest import FIXTURES, run
from test_chat_templates import NOW, OBJECT_ARGUMENTS, hf_environment, llama_cpp_messages, template_gguf

TEMPLATES = sorted((FIXTURES / "chat-templates").glob("*.jinja"))
BOS, EOS = "<s>", "</s>"

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Météo actuelle d'une ville — température et ciel ☀️",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "Nom de la ville, p. ex. « Zürich »"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
                "when": {"type": "object", "description": "Quand",
                         "properties": {"day": {"type": "integer", "minimum": 0, "maximum": 6},
                                        "hours": {"type": "array", "items": {"type": "number"}}},
                         "required": ["day"]},
            },
            "required": ["city"],
        },
    }},
    {"type": "function", "function": {
        "name": "search_flights",
        "description": "Search flights between two airports (東京 → Paris).",
        "parameters": {
            "type": "object",
            "properties": {
                "from": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "to": {"type": "string"},
                "passengers": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "age": {"type": ["integer", "null"]}}}},
                "class": {"enum": ["economy", "business", 1, None, True]},
                "max_price": {"type": "number", "exclusiveMaximum": 9999.5},
            },
            "required": ["from", "to"],
            "additionalProperties": False,
        },
    }},
]

# Ids of nine letters and digits, as Mistral's templates demand (one conversation below uses an OpenAI-style id).
WEATHER_CALL = {"id": "9f3a1b2c7", "type": "function",
                "function": {"name": "get_weather",
                             "arguments": "{\"city\": \"Zürich\", \"when\": {\"day\": 2, \"hours\": [9, 13.5]}}"}}
FLIGHT_CALL = {"id": "A1b2C3d4E", "type": "function",
               "function": {"name": "search_flights",
                            "arguments": "{\"from\": \"NRT\", \"to\": \"CDG\", "
                                         "\"passengers\": [{\"name\": \"Aiko 愛子\", \"age\": null}], \"class\": \"business\"}"}}

CONVERSATIONS = {
    "ask": [{"role": "system", "content": "You are a travel assistant."},
            {"role": "user", "content": "Weather in Zürich on Wednesday?"}],
    "ask_no_system": [{"role": "user", "content": "Find me a flight from Tokyo to Paris."}],
    "call_and_answer": [
        {"role": "user", "content": "Weather in Zürich on Wednesday?"},
        {"role": "assistant", "content": "", "tool_calls": [WEATHER_CALL]},
        {"role": "tool", "tool_call_id": "9f3a1b2c7", "name": "get_weather",
         "content": "{\"temp\": 21.5, \"sky\": \"clair\"}"},
        {"role": "assistant", "content": "21.5 °C and clear."},
        {"role": "user", "content": "Thanks! And flights?"},
    ],
    "parallel_calls_null_content": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather and flights, please."},
        {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL, FLIGHT_CALL]},
        {"role": "tool", "tool_call_id": "9f3a1b2c7", "content": "sunny"},
        {"role": "tool", "tool_call_id": "A1b2C3d4E", "content": "[{\"price\": 812}]"},
    ],
    "call_with_text_and_reasoning": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "Let me check.", "reasoning_content": "The user wants the weather.",
         "tool_calls": [WEATHER_CALL]},
        {"role": "tool", "tool_call_id": "9f3a1b2c7", "content": "rain"},
    ],
    "arguments_not_json": [
        {"role": "user", "content": "Go"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_000000001", "type": "function",
             "function": {"name": "get_weather", "arguments": "city=Paris {"}}]},
        {"role": "tool", "tool_call_id": "call_000000001", "content": "error"},
    ],
    "arguments_as_object": [
        {"role": "user", "content": "Go"},
        {"role": "assistant", "tool_calls": [
            {"id": "000000002", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
        {"role": "tool", "tool_call_id": "000000002", "content": "snow"},
        {"role": "assistant", "content": "Snow in Oslo."},
        {"role": "user", "content": "And tomorrow?"},
    ],
    "thinking_history": [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4", "reasoning_content": ""},
        {"role": "user", "content": "3+3?"},
    ],
    "date_question": [{"role": "user", "content": "What day is it?"}],
    # Phi-4-mini's own template reads the tools from the system message, as JSON text (llama.cpp drops
    # that field; Hugging Face passes it on, and so does `swiftlet template --messages`).
    "system_message_tools": [
        {"role": "system", "content": "You are a helpful assistant with some tools.",
         "tools": json.dumps([t["function"] for t in TOOLS], ensure_ascii=False)},
        {"role": "user", "content": "Weather in Zürich?"},
    ],
}

KWARGS = {
    "none": {},
    "thinking_off": {"enable_thinking": False},
    "thinking_on": {"enable_thinking": True},
    "llama_options": {"date_string": "01 Jan 2025", "tools_in_user_message": False,
                      "builtin_tools": ["brave_search", "wolfram_alpha"]},
}
# (tools or not, keyword arguments) rendered for each conversation, with and without the generation prompt.
VARIANTS = [(True, "none"), (False, "none"), (True, "thinking_off"), (False, "thinking_off"), (True, "thinking_on"),
            (True, "llama_options")]


def reference(source, messages, add_generation_prompt, tools, kwargs, object_arguments):
    env = hf_environment()
    variables = dict(messages=llama_cpp_messages(messages, object_arguments),
                     add_generation_prompt=add_generation_prompt, bos_token=BOS, eos_token=EOS)
    if tools is not None:
        variables["tools"] = tools
    variables.update(kwargs)
    try:
        return env.from_string(source).render(**variables)
    except Exception as error:  # jinja2 rejects: swiftlet must too
        return error


def swiftlet_render(swiftlet, model_path, tmp_path, messages, add_generation_prompt, tools, kwargs, use_var=False):
    messages_file = tmp_path / "messages.json"
    messages_file.write_text(json.dumps(messages, ensure_ascii=False), encoding="utf-8")
    args = [swiftlet, "template", "--model", str(model_path), "--messages", str(messages_file),
            "--now", NOW.isoformat(), "--strict"]
    if tools is not None:
        tools_file = tmp_path / "tools.json"
        tools_file.write_text(json.dumps(tools, ensure_ascii=False, indent=1), encoding="utf-8")
        args += ["--tools", str(tools_file)]
    if use_var:
        for name, value in kwargs.items():
            args += ["--var", f"{name}={json.dumps(value, ensure_ascii=False)}"]
    elif kwargs:
        kwargs_file = tmp_path / "kwargs.json"
        kwargs_file.write_text(json.dumps(kwargs), encoding="utf-8")
        args += ["--kwargs", str(kwargs_file)]
    if not add_generation_prompt:
        args.append("--no-generation-prompt")
    return run(*args, check=False)


def check(label, result, expected):
    if isinstance(expected, Exception):
        assert result.returncode == 1, f"{label}: jinja2 raised {expected!r}, swiftlet exited {result.returncode}"
        assert result.stderr.strip(), f"{label}: no error message"
        return False
    assert result.returncode == 0, f"{label}: {result.stderr.decode()}"
    assert result.stdout.decode("utf-8") == expected, label
    return True


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
def test_tools_match_jinja2(swiftlet, tmp_path, template):
    source = template.read_text(encoding="utf-8")
    model_path = tmp_path / "template.gguf"
    template_gguf(model_path, source)
    rendered = 0
    for name, messages in CONVERSATIONS.items():
        for with_tools, kwargs_name in VARIANTS:
            tools, kwargs = (TOOLS if with_tools else None), KWARGS[kwargs_name]
            for add in (True, False):
                label = f"{template.stem} / {name} / {kwargs_name} / tools={with_tools} / add={add}"
                expected = reference(source, messages, add, tools, kwargs, OBJECT_ARGUMENTS.get(template.stem, False))
                result = swiftlet_render(swiftlet, model_path, tmp_path, messages, add, tools, kwargs)
                rendered += check(label, result, expected)
    assert rendered > 0, f"{template.stem}: jinja2 rejected every conversation"


def test_tool_use_templates_show_the_tools_and_calls(swiftlet, tmp_path):
    """The tool-use templates really put the tools and the parsed arguments in the prompt (so the
    comparison above is not between two renders that ignore them)."""
    for stem in ("qwen2.5-instruct", "qwen3", "hermes-3-tool-use", "llama-3.1-instruct", "mistral-nemo-instruct"):
        source = (FIXTURES / "chat-templates" / f"{stem}.jinja").read_text(encoding="utf-8")
        model_path = tmp_path / "t.gguf"
        template_gguf(model_path, source)
        result = swiftlet_render(swiftlet, model_path, tmp_path, CONVERSATIONS["call_and_answer"], True, TOOLS, {})
        assert result.returncode == 0, f"{stem}: {result.stderr.decode()}"
        text = result.stdout.decode()
        assert "search_flights" in text and "Météo" in text, stem
        assert '"Zürich"' in text and '\\"Zürich\\"' not in text, f"{stem}: arguments encoded twice"


def test_qwen3_enable_thinking(swiftlet, tmp_path):
    source = (FIXTURES / "chat-templates" / "qwen3.jinja").read_text(encoding="utf-8")
    model_path = tmp_path / "q.gguf"
    template_gguf(model_path, source)
    messages = CONVERSATIONS["ask_no_system"]
    off = swiftlet_render(swiftlet, model_path, tmp_path, messages, True, None, {"enable_thinking": False},
                          use_var=True)
    on = swiftlet_render(swiftlet, model_path, tmp_path, messages, True, None, {"enable_thinking": True},
                         use_var=True)
    assert off.stdout.decode().endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert on.stdout.decode().endswith("<|im_start|>assistant\n")


def test_var_matches_kwargs(swiftlet, tmp_path):
    """`--var name=JSON` gives the same variables as `--kwargs FILE`."""
    source = (FIXTURES / "chat-templates" / "llama-3.1-instruct.jinja").read_text(encoding="utf-8")
    model_path = tmp_path / "l.gguf"
    template_gguf(model_path, source)
    kwargs = KWARGS["llama_options"]
    messages = CONVERSATIONS["call_and_answer"]
    a = swiftlet_render(swiftlet, model_path, tmp_path, messages, True, TOOLS, kwargs)
    b = swiftlet_render(swiftlet, model_path, tmp_path, messages, True, TOOLS, kwargs, use_var=True)
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    assert a.stdout == b.stdout
    check("llama_options", a, reference(source, messages, True, TOOLS, kwargs, True))


def test_date_comes_from_now(swiftlet, tmp_path):
    """strftime_now formats --now (Llama 3.1 writes "Today Date: 26 Jul 2024")."""
    source = "{{ strftime_now('%d %b %Y|%A %B %-d %j %I:%M:%S %p|%F %T|%a %e %y %U %W %V %G %u %w|%%') }}"
    model_path = tmp_path / "d.gguf"
    template_gguf(model_path, source)
    for when in (NOW, datetime.datetime(2021, 1, 3, 23, 59, 59), datetime.datetime(2020, 12, 31, 0, 0, 1),
                 datetime.datetime(2026, 12, 28, 12, 0, 0)):
        messages_file = tmp_path / "m.json"
        messages_file.write_text("[]")
        result = run(swiftlet, "template", "--model", str(model_path), "--messages", str(messages_file),
                     "--now", when.isoformat(), check=False)
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout.decode() == when.strftime(source[len("{{ strftime_now('"):-len("') }}")])


@pytest.mark.parametrize("tools_text, message", [
    ("{\"type\": \"function\"}", b"array"),
    ("[{\"type\": ", b"JSON"),
])
def test_bad_tools_are_reported(swiftlet, tmp_path, tools_text, message):
    model_path = tmp_path / "t.gguf"
    template_gguf(model_path, "{{ tools }}")
    (tmp_path / "m.json").write_text("[]")
    (tmp_path / "tools.json").write_text(tools_text)
    result = run(swiftlet, "template", "--model", str(model_path), "--messages", str(tmp_path / "m.json"),
                 "--tools", str(tmp_path / "tools.json"), check=False)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("args, message", [
    (["--var", "enable_thinking"], b"name=JSON"),
    (["--var", "x={"], b"JSON"),
    (["--now", "yesterday"], b"--now"),
])
def test_bad_options_are_reported(swiftlet, tmp_path, args, message):
    model_path = tmp_path / "t.gguf"
    template_gguf(model_path, "{{ x }}")
    (tmp_path / "m.json").write_text("[]")
    result = run(swiftlet, "template", "--model", str(model_path), "--messages", str(tmp_path / "m.json"), *args,
                 check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
