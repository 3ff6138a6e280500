"""Swiftlet's GGUF reader against Python's independent `gguf` reader, on the real models and the fixtures
Swiftlet wrote; and the CLI's contract for malformed files (exit 1, one line on stderr, no signal)."""
import json
import math
import pathlib
import time

import numpy as np
import pytest
from gguf import GGUFReader

from conftest import FIXTURES, GEMMA3, SMOLLM2, model, run


def python_value(field):
    """A metadata field as plain Python values, mirroring `swiftlet inspect --json --full-arrays`."""
    return to_plain(field.contents())


def to_plain(v):
    if isinstance(v, (list, tuple)):
        return [to_plain(x) for x in v]
    if isinstance(v, (np.generic,)):
        return v.item()
    return v


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and (b is None or (isinstance(b, float) and not math.isfinite(b)))
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=0.0) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def inspect(swiftlet, path):
    out = run(swiftlet, "inspect", "--json", "--full-arrays", str(path)).stdout
    return json.loads(out)


def gguf_files():
    return [FIXTURES / name for name in sorted(p.name for p in FIXTURES.glob("tiny-*.gguf"))]


@pytest.mark.parametrize("which", ["smollm2", "gemma3", "fixtures"])
def test_same_structure_as_python_gguf(swiftlet, which):
    paths = {"smollm2": [model(SMOLLM2)], "gemma3": [model(GEMMA3)], "fixtures": gguf_files()}[which]
    assert paths, "no fixtures found"
    for path in paths:
        ours = inspect(swiftlet, path)
        theirs = GGUFReader(path)
        keys = [k for k in theirs.fields if not k.startswith("GGUF.")]
        assert list(ours["metadata"].keys()) == keys
        for key in keys:
            assert same(ours["metadata"][key], python_value(theirs.fields[key])), key
        assert len(ours["tensors"]) == len(theirs.tensors)
        for mine, t in zip(ours["tensors"], theirs.tensors):
            assert mine["name"] == t.name
            assert mine["type"] == t.tensor_type.name
            assert mine["shape"] == [int(x) for x in t.shape]
            assert ours["data_offset"] + mine["offset"] == t.data_offset
        assert ours["parameter_count"] == sum(int(t.n_elements) for t in theirs.tensors)


def test_inspect_json_shape(swiftlet):
    out = run(swiftlet, "inspect", "--json", model(SMOLLM2)).stdout
    doc = json.loads(out)
    assert doc["version"] == 3 and doc["alignment"] == 32
    assert doc["metadata"]["general.architecture"] == "llama"
    assert doc["metadata"]["tokenizer.ggml.tokens"] == {"array_of": "string", "length": 49152}
    assert len(doc["tensors"]) == 272
    first = doc["tensors"][0]
    assert set(first) >= {"name", "type", "shape", "offset"}


def test_inspect_text_lists_tensors(swiftlet):
    out = run(swiftlet, "inspect", "--tensors", model(GEMMA3)).stdout.decode()
    assert "gemma3" in out and "blk.17.ffn_down.weight" in out and "Q4_K" in out


MALFORMED = sorted((FIXTURES / "malformed").glob("*.gguf"))


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.name)
def test_malformed_file_exits_1_with_one_line(swiftlet, path):
    started = time.monotonic()
    result = run(swiftlet, "inspect", str(path), check=False)
    assert time.monotonic() - started < 1.0
    assert result.returncode == 1, result
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert result.stdout == b""


def test_missing_file(swiftlet):
    result = run(swiftlet, "inspect", "/nonexistent.gguf", check=False)
    assert result.returncode == 1 and b"cannot open" in result.stderr
