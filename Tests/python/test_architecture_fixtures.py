"""The random-weight architecture models that Scripts/make-architecture-fixtures.py writes are the very
files llama.cpp's references in Fixtures/reference/architectures/ were recorded on (same sha256), so the
Swift tests compare like with like; and swiftlet's command line runs each of them."""
import hashlib
import json

import pytest

from conftest import FIXTURES, MODELS, run

REFERENCES = sorted((FIXTURES / "reference/architectures").glob("*.json"))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def test_every_architecture_has_references():
    names = {json.loads(p.read_text())["file"].rsplit("-", 1)[0] for p in REFERENCES}
    assert {"llama", "llama31", "qwen2", "qwen3", "qwen3moe", "phi3", "gemma2", "gemma3"} <= names


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda p: p.stem)
def test_model_file_is_the_one_llama_cpp_ran(reference):
    ref = json.loads(reference.read_text())
    path = MODELS / "architectures" / ref["file"]
    if not path.exists():
        pytest.fail(f"{path} is missing: run python3 Scripts/make-architecture-fixtures.py")
    assert sha256(path) == ref["sha256"], (
        f"{path} differs from the file llama.cpp's references were recorded on "
        "(a different numpy or gguf version?); see Fixtures/reference/architectures/README.md")


@pytest.mark.parametrize("reference", REFERENCES[::2], ids=lambda p: p.stem)
def test_generate_json_follows_llama_cpp(swiftlet, reference):
    """`swiftlet generate --json` from the command line: llama.cpp's greedy tokens for the first prompt."""
    ref = json.loads(reference.read_text())
    prompt = ref["prompts"][0]
    n = len(prompt["generated_ids"])
    out = run(swiftlet, "generate", "--model", str(MODELS / "architectures" / ref["file"]), "--prompt", prompt["prompt"],
              "-n", str(n), "--temp", "0", "--ctx", str(ref["greedy"]["n_ctx"]), "--json")
    result = json.loads(out.stdout)
    assert result["prompt_tokens"] == prompt["prompt_ids"]
    assert result["tokens"] == prompt["generated_ids"]


@pytest.mark.parametrize("reference", REFERENCES[1::2], ids=lambda p: p.stem)
def test_perplexity_json_equals_llama_cpp(swiftlet, reference):
    """`swiftlet perplexity --json` from the command line: llama-perplexity's figure to its last printed digit
    (the AVX2 build computes llama.cpp's logits to the bit; a portable build is held to 0.5%)."""
    ref = json.loads(reference.read_text())
    out = run(swiftlet, "perplexity", "--model", str(MODELS / "architectures" / ref["file"]),
              "--file", str(FIXTURES / "reference/ppl_text_gpl3_first20k.txt"),
              "--ctx", str(ref["perplexity"]["context"]), "--json")
    result = json.loads(out.stdout)
    assert result["chunks"] == ref["perplexity"]["chunks"]
    want = ref["perplexity"]["value"]
    if "avx2" in open("/proc/cpuinfo").read():
        assert round(result["perplexity"], 4) == pytest.approx(want, abs=1e-9 * want + 5e-5)
    else:
        assert result["perplexity"] == pytest.approx(want, rel=5e-3)
