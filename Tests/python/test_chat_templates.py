"""`swiftlet template --strict` against Python's jinja2 with Hugging Face's settings, character for character.

Every template in Fixtures/chat-templates (real templates of well-known models, plus one written to
exercise the Jinja features they use) is rendered over varied conversations. Where jinja2 raises (a
template rejecting a conversation, a type error), swiftlet must fail cleanly: exit status 1 and a message.
jinja2 gets the messages as llama.cpp hands them to templates (tool-call arguments parsed for templates
that take them as objects), and
`strftime_now` reads one fixed instant on both sides (`swiftlet template --now`).
"""
import copy
import datetime
import json

import gguf
import jinja2
import pytest
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from conftest import FIXTURES, GEMMA3, SMOLLM2, model, run

TEMPLATES = sorted((FIXTURES / "chat-templates").glob("*.jinja"))
BOS, EOS = "<s>", "</s>"

CONVERSATIONS = {
    "user": [{"role": "user", "content": "Hello!"}],
    "system_user": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}],
    "multi_turn": [
        {"role": "system", "content": "  Be kind.  "},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
    ],
    "no_system_two_rounds": [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
        {"role": "assistant", "content": "d"},
    ],
    "same_role_twice": [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}],
    "tricky_text": [{"role": "user", "content": "<|im_start|> \"q\" 'a' \\ é 🙂\n\n  spaced  {{ not jinja }}"}],
    "empty_content": [{"role": "user", "content": ""}],
    "content_parts": [{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]}],
    "thinking": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "<think>hmm</think>\n\nanswer"},
        {"role": "user", "content": "q2"},
    ],
    "tool_calls": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_123456789", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_123456789", "content": "{\"temp\": 21.5}"},
        {"role": "assistant", "content": "It is 21.5 °C."},
    ],
}


# The instant strftime_now() reads, on both sides.
NOW = datetime.datetime(2024, 7, 26, 9, 5, 3)


def hf_environment():
    """Hugging Face's jinja2 environment (transformers' _compile_jinja_template), with strftime_now
    pinned to NOW."""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda format: NOW.strftime(format)
    return env


# llama.cpp's verdict, per template of Fixtures/chat-templates, on whether it takes tool-call arguments as
# objects (its `supports_object_arguments`, recorded from llama-server's /props; see
# Fixtures/reference/README.md). Templates llama.cpp cannot load, and models' own, count as not.
LLAMACPP = json.loads((FIXTURES / "reference/chat_templates_llamacpp.json").read_text(encoding="utf-8"))
OBJECT_ARGUMENTS = {stem: t["caps"]["supports_object_arguments"]
                    for stem, t in LLAMACPP["templates"].items() if "caps" in t}


def llama_cpp_messages(messages, object_arguments):
    """The messages as llama.cpp hands them to a template: content `null` (or missing beside tool calls)
    made "", and, for a template that takes arguments as objects, tool-call arguments parsed from their
    JSON text (left as text when not JSON); for one that does not, arguments given as an object written
    as compact JSON text."""
    out = copy.deepcopy(messages)
    for m in out:
        if m.get("content", 0) is None or ("content" not in m and "tool_calls" in m):
            m["content"] = ""
        for call in m.get("tool_calls") or []:
            function = call.get("function", {})
            args = function.get("arguments")
            if object_arguments and isinstance(args, str):
                try:
                    function["arguments"] = json.loads(args)
                except ValueError:
                    pass
            elif not object_arguments and args is not None and not isinstance(args, str):
                function["arguments"] = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
    return out


def reference(source, messages, add_generation_prompt, object_arguments):
    try:
        return hf_environment().from_string(source).render(
            messages=llama_cpp_messages(messages, object_arguments), add_generation_prompt=add_generation_prompt,
            bos_token=BOS, eos_token=EOS)
    except Exception as error:  # jinja2 rejects: swiftlet must too
        return error


def template_gguf(path, source, tokens=("<unk>", BOS, EOS, "a", "b")):
    """A metadata-only GGUF carrying `source` as its chat template (none if None); BOS and EOS are
    tokens[1] and tokens[2]."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("llama")
    writer.add_token_list(list(tokens))
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    if source is not None:
        writer.add_chat_template(source)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def render(swiftlet, model_path, messages, tmp_path, add_generation_prompt, strict=True):
    """`swiftlet template` on `messages`: with --strict (as given, what jinja2 is compared with), or as
    generation renders them (adapted where the template rejects them)."""
    messages_file = tmp_path / "messages.json"
    messages_file.write_text(json.dumps(messages, ensure_ascii=False), encoding="utf-8")
    args = [swiftlet, "template", "--model", str(model_path), "--messages", str(messages_file),
            "--now", NOW.isoformat(), *(["--strict"] if strict else [])]
    if not add_generation_prompt:
        args.append("--no-generation-prompt")
    return run(*args, check=False)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
def test_template_matches_jinja2(swiftlet, tmp_path, template):
    source = template.read_text(encoding="utf-8")
    model_path = tmp_path / "template.gguf"
    template_gguf(model_path, source)
    rendered = 0
    for name, messages in CONVERSATIONS.items():
        for add in (True, False):
            expected = reference(source, messages, add, OBJECT_ARGUMENTS.get(template.stem, False))
            result = render(swiftlet, model_path, messages, tmp_path, add)
            label = f"{template.stem} / {name} / add_generation_prompt={add}"
            if isinstance(expected, Exception):
                assert result.returncode == 1, f"{label}: jinja2 raised {expected!r}, swiftlet exited {result.returncode}"
                assert result.stderr.strip(), f"{label}: no error message"
            else:
                assert result.returncode == 0, f"{label}: {result.stderr.decode()}"
                assert result.stdout.decode("utf-8") == expected, label
                rendered += 1
    assert rendered > 0, f"{template.stem}: jinja2 rejected every conversation"


def test_no_template_means_chatml(swiftlet, tmp_path):
    model_path = tmp_path / "plain.gguf"
    template_gguf(model_path, None)
    messages = CONVERSATIONS["multi_turn"]
    result = render(swiftlet, model_path, messages, tmp_path, True)
    assert result.returncode == 0, result.stderr.decode()
    expected = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"
    assert result.stdout.decode() == expected


CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def model_template(path):
    """A real model's chat template with its BOS and EOS token texts; ChatML when the file has no
    template (Gemma 3 270M is a base model), as llama.cpp does."""
    reader = gguf.GGUFReader(model(path))
    tokens = reader.fields["tokenizer.ggml.tokens"]

    def token_text(key):
        f = reader.fields.get(key)
        if f is None:
            return ""
        return bytes(tokens.parts[tokens.data[int(f.parts[f.data[0]][0])]]).decode("utf-8")

    field = reader.fields.get("tokenizer.chat_template")
    source = CHATML if field is None else bytes(field.parts[field.data[0]]).decode("utf-8")
    return source, token_text("tokenizer.ggml.bos_token_id"), token_text("tokenizer.ggml.eos_token_id")


@pytest.mark.parametrize("path", [SMOLLM2, GEMMA3], ids=["smollm2", "gemma3"])
def test_real_models(swiftlet, tmp_path, path):
    source, bos, eos = model_template(path)
    for name, messages in CONVERSATIONS.items():
        result = render(swiftlet, path, messages, tmp_path, True)
        try:
            expected = hf_environment().from_string(source).render(
                messages=llama_cpp_messages(messages, False), add_generation_prompt=True, bos_token=bos, eos_token=eos)
        except Exception:
            assert result.returncode == 1, name
            continue
        assert result.returncode == 0, f"{name}: {result.stderr.decode()}"
        assert result.stdout.decode() == expected, name


@pytest.mark.parametrize("source", [
    "{% if %}", "{{ x ", "{% for x in %}{% endfor %}", "{% endif %}", "{{ 'unterminated }}", "{% macro %}",
    "{{ a | }}", "{% set = 1 %}", "{% unknown_tag %}", "{{ [1, 2 }}",
])
def test_syntax_errors_point_at_a_position(swiftlet, tmp_path, source):
    model_path = tmp_path / "bad.gguf"
    template_gguf(model_path, source)
    result = render(swiftlet, model_path, CONVERSATIONS["user"], tmp_path, True)
    assert result.returncode == 1
    assert b"line 1, column" in result.stderr, result.stderr
