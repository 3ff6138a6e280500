"""More conversations and 90 one-feature snippets through `swiftlet template`, checked against jinja2 (written independently of test_chat_templates.py, by a second author).

Each template in Fixtures/chat-templates is written into a metadata-only GGUF and rendered over many
conversations with and without the generation prompt. Where jinja2 raises, swiftlet must exit 1 with a
message (never crash).
"""
import pytest

from conftest import FIXTURES, GEMMA3, SMOLLM2
# One definition of Hugging Face's settings, of the template GGUF, of the `swiftlet template` call
# and of reading a real model's template.
from test_chat_templates import CHATML, hf_environment as hf_env, model_template, render as swiftlet_render, template_gguf

TEMPLATES = sorted((FIXTURES / "chat-templates").glob("*.jinja"))
TOKENS = ["<unk>", "<|begin_of_text|>", "<|end_of_text|>", "x"]
BOS, EOS = TOKENS[1], TOKENS[2]

CONVERSATIONS = [
    [{"role": "user", "content": "Hi there"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Why is the sky blue?"}],
    [{"role": "user", "content": "1"}, {"role": "assistant", "content": "2"}, {"role": "user", "content": "3"}],
    [{"role": "system", "content": "S"}, {"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"},
     {"role": "user", "content": "u2"}, {"role": "assistant", "content": "a2"}],
    [{"role": "user", "content": "first"}, {"role": "user", "content": "second"}, {"role": "assistant", "content": "r"}],
    [{"role": "assistant", "content": "I start"}, {"role": "user", "content": "ok"}],
    [{"role": "user", "content": "<|im_start|>system\n<|eot_id|> <s> [INST] <start_of_turn>"}],
    [{"role": "user", "content": "naïve café — 日本語 🙂🚀 \u2028 tab\there"}],
    [{"role": "user", "content": "quotes ' \" and backslashes \\ \\n {{ x }} {% if %}"}],
    [{"role": "system", "content": ""}, {"role": "user", "content": ""}],
    [{"role": "user", "content": "   padded   \n\n"}],
    [{"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "text", "text": "part two"}]}],
    [{"role": "system", "content": "only a system message"}],
    [],
]


def write_gguf(path, source):
    template_gguf(path, source, TOKENS)


def assert_same(got, expected, label):
    """swiftlet's result `got` against jinja2's: the same text, or exit 1 with a message where jinja2 raised."""
    if isinstance(expected, Exception):
        assert got.returncode == 1, f"{label}: jinja2 raised {expected!r}; swiftlet exit {got.returncode}"
        assert got.stderr.strip()
    else:
        assert got.returncode == 0, f"{label}: {got.stderr.decode()}"
        assert got.stdout.decode("utf-8") == expected, label


def check(swiftlet, gguf_path, source, tmp_path, bos=BOS, eos=EOS):
    identical = 0
    for i, messages in enumerate(CONVERSATIONS):
        for add in (True, False):
            label = f"conversation {i}, add_generation_prompt={add}"
            try:
                expected = hf_env().from_string(source).render(
                    messages=messages, add_generation_prompt=add, bos_token=bos, eos_token=eos)
            except Exception as error:
                expected = error
            assert_same(swiftlet_render(swiftlet, gguf_path, messages, tmp_path, add), expected, label)
            if not isinstance(expected, Exception):
                identical += 1
    return identical


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
def test_fixture_template_matches_jinja2(swiftlet, tmp_path, template):
    source = template.read_text(encoding="utf-8")
    path = tmp_path / "t.gguf"
    write_gguf(path, source)
    assert check(swiftlet, path, source, tmp_path) > 0, "jinja2 rejected every conversation"


def test_missing_template_is_chatml(swiftlet, tmp_path):
    path = tmp_path / "none.gguf"
    write_gguf(path, None)
    check(swiftlet, path, CHATML, tmp_path)


@pytest.mark.parametrize("path", [SMOLLM2, GEMMA3], ids=["smollm2", "gemma3"])
def test_real_model_templates(swiftlet, tmp_path, path):
    source, bos, eos = model_template(path)
    check(swiftlet, path, source, tmp_path, bos=bos, eos=eos)


@pytest.mark.parametrize("source", ["{% for %}", "{{ 1 + }}", "{% if x %}", "{{ 'open", "{% endfor %}", "{{ a.( }}"])
def test_bad_template_reports_position(swiftlet, tmp_path, source):
    path = tmp_path / "bad.gguf"
    write_gguf(path, source)
    got = swiftlet_render(swiftlet, path, CONVERSATIONS[0], tmp_path, True)
    assert got.returncode == 1
    assert b"line 1, column" in got.stderr, got.stderr


SNIPPETS = [s for s in (FIXTURES.parent / "Tests/python/jinja_snippets.txt").read_text(encoding="utf-8").split("\n====\n") if s.strip()]


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_matches_jinja2(swiftlet, tmp_path, index):
    """Small templates, one Jinja feature or corner each (Python value printing, undefined, whitespace)."""
    source = SNIPPETS[index]
    messages = [{"role": "system", "content": " Sys "}, {"role": "user", "content": "Hi 'x' \"y\""}]
    path = tmp_path / "s.gguf"
    write_gguf(path, source)
    try:
        expected = hf_env().from_string(source).render(messages=messages, add_generation_prompt=True, bos_token=BOS, eos_token=EOS)
    except Exception as error:
        expected = error
    assert_same(swiftlet_render(swiftlet, path, messages, tmp_path, True), expected, repr(source))
