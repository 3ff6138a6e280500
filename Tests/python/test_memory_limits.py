"""Contexts sized by the user are checked before anything is allocated.

Under an address-space limit (`ulimit -v`), a KV cache that does not fit ends the command with exit status
1 and a message naming the bytes needed and available, instead of the allocator's SIGABRT; and a context
longer than the model was trained for is refused unless `--ctx-beyond-training` allows it.
"""
import re
import resource
import subprocess

import pytest

from conftest import SMOLLM2, model

LIMIT = 3_000_000 * 1024  # `ulimit -v 3000000`: 3 000 000 KiB


def limited(*args, timeout=60):
    def preexec():
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    return subprocess.run(list(args), capture_output=True, timeout=timeout, preexec_fn=preexec)


def check_memory_message(result, context):
    err = result.stderr.decode()
    assert result.returncode == 1, f"exit {result.returncode}: {err}"
    assert "failed to allocate" not in err and "Fatal error" not in err
    m = re.search(r"the KV cache \((\d+) tokens[^)]*\) with its scratch memory needs ([\d.]+ [GM]iB) "
                  r"but ([\d.]+ [GM]iB) is available \(.*address-space limit 2\.9 GiB, [\d.]+ [GM]iB of it in use",
                  err)
    assert m, err
    assert int(m.group(1)) == context


def test_generate_with_a_huge_context_fails_cleanly(swiftlet):
    result = limited(swiftlet, "generate", "--model", model(SMOLLM2), "--prompt", "Hello",
                     "--ctx", "1000000000", "--ctx-beyond-training", "-n", "4")
    check_memory_message(result, 1000000000)


def test_serve_with_many_long_sequences_fails_cleanly(swiftlet):
    result = limited(swiftlet, "serve", "--model", model(SMOLLM2), "--port", "18097",
                     "--ctx", "131072", "--parallel", "8", "--ctx-beyond-training")
    check_memory_message(result, 131072)
    assert "× 8 sequences" in result.stderr.decode()


def test_chat_with_a_huge_context_fails_cleanly(swiftlet):
    result = limited(swiftlet, "chat", "--model", model(SMOLLM2), "--prompt", "Hi",
                     "--ctx", "1000000", "--ctx-beyond-training")
    check_memory_message(result, 1000000)


@pytest.mark.parametrize("command", [
    ["generate", "--prompt", "Hello", "-n", "1"],
    ["chat", "--prompt", "Hi"],
    ["serve", "--port", "18098"],
])
def test_a_context_beyond_training_needs_the_flag(swiftlet, command):
    # SmolLM2 was trained for 8192 positions.
    result = limited(swiftlet, command[0], "--model", model(SMOLLM2), *command[1:], "--ctx", "16384")
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert "a context of 16384 tokens exceeds the 8192 tokens the model was trained for" in err
    assert "--ctx-beyond-training" in err


def test_a_context_beyond_training_is_allowed_with_the_flag(swiftlet):
    result = subprocess.run([swiftlet, "generate", "--model", model(SMOLLM2), "--prompt", "Hello", "-n", "2",
                             "--ctx", "16384", "--ctx-beyond-training", "--json"], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
