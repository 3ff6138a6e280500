"""`swiftlet template` (without --strict) prints what generation renders: the messages read as the server
reads them (text parts joined by a newline, null content as ""), rendered as given when the template takes
them, else adapted as the facade adapts them (ChatTemplate.adapt). The adaptation is written again here,
from its documentation, and each result is rendered with jinja2:

- `developer` messages are given as `system`;
- system messages are folded into the first turn, which must be the user's: their contents joined by a
  blank line go before the first message's content when it is the user's; otherwise a user message holding
  that text (empty without system messages) is put first;
- runs of same-role messages (tool results excepted) are merged: contents (non-empty ones) and reasoning
  joined by a blank line, tool calls concatenated, the first name and tool_call_id kept.
"""
import copy
import json

import pytest

from conftest import FIXTURES
from test_chat_templates import (BOS, CONVERSATIONS, EOS, OBJECT_ARGUMENTS, hf_environment, llama_cpp_messages,
                                 render, template_gguf)

TEMPLATES = sorted((FIXTURES / "chat-templates").glob("*.jinja"))

MORE = {
    "assistant_first": [{"role": "assistant", "content": "How can I help?"}, {"role": "user", "content": "Hi"}],
    "system_then_assistant": [{"role": "system", "content": "Be brief."},
                              {"role": "assistant", "content": "How can I help?"},
                              {"role": "user", "content": "Hi"}],
    "developer": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    "user_runs": [{"role": "system", "content": "S"}, {"role": "user", "content": "one"},
                  {"role": "user", "content": "two"}, {"role": "assistant", "content": "a"},
                  {"role": "assistant", "content": "b"}, {"role": "user", "content": "three"}],
}


def as_message(m):
    """A JSON message as the facade reads it (ChatMessage): text parts joined by a newline."""
    content = m.get("content")
    if isinstance(content, list):
        content = "\n".join(p["text"] for p in content if p.get("type") == "text" and isinstance(p.get("text"), str))
    out = {"role": m["role"], "content": content or ""}
    for key in ("reasoning_content", "name", "tool_call_id"):
        if isinstance(m.get(key), str):
            out[key] = m[key]
    if m.get("tool_calls") is not None:
        out["tool_calls"] = [{"id": c.get("id", ""), "name": c["function"]["name"],
                              "arguments": c["function"]["arguments"] if isinstance(c["function"]["arguments"], str)
                              else json.dumps(c["function"]["arguments"], separators=(",", ":"))}
                             for c in m["tool_calls"]]
    return out


def adapt(messages):
    def joined(a, b):
        a, b = a or None, b or None
        return a + "\n\n" + b if a and b else a or b

    system = [m["content"] for m in messages if m["role"] == "system"]
    rest = [copy.deepcopy(m) for m in messages if m["role"] != "system"]
    text = "\n\n".join(system)
    if rest and rest[0]["role"] == "user":
        if system:
            rest[0]["content"] = text + "\n\n" + rest[0]["content"]
    elif system or rest:
        rest.insert(0, {"role": "user", "content": text})
    merged = []
    for m in rest:
        if merged and merged[-1]["role"] == m["role"] and m["role"] != "tool":
            last = merged[-1]
            last["content"] = joined(last["content"], m["content"]) or ""
            reasoning = joined(last.get("reasoning_content"), m.get("reasoning_content"))
            if reasoning is not None or "reasoning_content" in last:
                last["reasoning_content"] = reasoning
            if m.get("tool_calls") is not None:
                last["tool_calls"] = (last.get("tool_calls") or []) + m["tool_calls"]
            for key in ("name", "tool_call_id"):
                if last.get(key) is None and m.get(key) is not None:
                    last[key] = m[key]
        else:
            merged.append(m)
    return merged


def template_view(m):
    """A message as the template sees it (ChatTemplateVariables.message): role, content, then the other
    fields only when set and not empty."""
    out = {"role": m["role"], "content": m["content"]}
    for key in ("reasoning_content", "name", "tool_call_id"):
        if m.get(key):
            out[key] = m[key]
    if m.get("tool_calls"):
        out["tool_calls"] = [dict({"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}},
                                  **({"id": c["id"]} if c["id"] else {})) for c in m["tool_calls"]]
    return out


def jinja(source, messages, object_arguments):
    try:
        return hf_environment().from_string(source).render(
            messages=llama_cpp_messages(messages, object_arguments), add_generation_prompt=True,
            bos_token=BOS, eos_token=EOS)
    except Exception as error:
        return error


def generation_reference(source, messages, object_arguments):
    read = [as_message(dict(m, role="system") if m["role"] == "developer" else m) for m in messages]
    given = jinja(source, [template_view(m) for m in read], object_arguments)
    if not isinstance(given, Exception):
        return given
    adapted = adapt(read)
    if adapted == read:
        return given
    return jinja(source, [template_view(m) for m in adapted], object_arguments)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
def test_template_prints_what_generation_renders(swiftlet, tmp_path, template):
    source = template.read_text(encoding="utf-8")
    model_path = tmp_path / "template.gguf"
    template_gguf(model_path, source)
    for name, messages in {**CONVERSATIONS, **MORE}.items():
        expected = generation_reference(source, messages, OBJECT_ARGUMENTS.get(template.stem, False))
        result = render(swiftlet, model_path, messages, tmp_path, True, strict=False)
        label = f"{template.stem} / {name}"
        if isinstance(expected, Exception):
            assert result.returncode == 1, f"{label}: jinja2 raised {expected!r}, swiftlet exited {result.returncode}"
            assert result.stderr.strip(), label
        else:
            assert result.returncode == 0, f"{label}: {result.stderr.decode()}"
            assert result.stdout.decode("utf-8") == expected, label


@pytest.mark.parametrize("stem, name", [("gemma-it", "system_user"), ("mistral-instruct", "same_role_twice"),
                                        ("gemma-it", "assistant_first"), ("mistral-instruct", "assistant_first")])
def test_rejected_conversations_are_adapted(swiftlet, tmp_path, stem, name):
    """The cases the adaptation is for: jinja2 rejects them as given; swiftlet renders them."""
    source = (FIXTURES / "chat-templates" / f"{stem}.jinja").read_text(encoding="utf-8")
    model_path = tmp_path / "template.gguf"
    template_gguf(model_path, source)
    messages = {**CONVERSATIONS, **MORE}[name]
    assert isinstance(jinja(source, messages, False), Exception)
    strict = render(swiftlet, model_path, messages, tmp_path, True)
    assert strict.returncode == 1 and strict.stderr.strip()
    result = render(swiftlet, model_path, messages, tmp_path, True, strict=False)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == generation_reference(source, messages, False)
