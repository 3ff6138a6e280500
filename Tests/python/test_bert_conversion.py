"""`swiftlet convert` on sentence-transformers/all-MiniLM-L6-v2 against what llama.cpp's convert_hf_to_gguf.py
(BertModel) writes: the same keys, values, tensor names, shapes and types, read back with Python's `gguf`,
and tensor data equal to numpy's conversion of the safetensors weights (gguf.quants for Q8_0).

The model folder comes from `Scripts/fetch-models.sh minilm` ($SWIFTLET_MODELS/all-MiniLM-L6-v2)."""
import json
import struct

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader, SpecialVocab, quants

from conftest import MODELS, run

FOLDER = MODELS / "all-MiniLM-L6-v2"

pytestmark = pytest.mark.skipif(not (FOLDER / "model.safetensors").exists(),
                                reason=f"{FOLDER} is missing: run Scripts/fetch-models.sh minilm")


def safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        dtype = {"F32": np.float32, "F16": np.float16, "I64": np.int64}[e["dtype"]]
        out[name] = np.frombuffer(data[b:end], dtype=dtype).reshape(e["shape"])
    return out


def field(reader, key):
    f = reader.fields[key]
    v = f.contents()
    return v


def hf_to_gguf(name):
    table = {"embeddings.word_embeddings": "token_embd", "embeddings.token_type_embeddings": "token_types",
             "embeddings.position_embeddings": "position_embd", "embeddings.LayerNorm": "token_embd_norm"}
    layer = {"attention.self.query": "attn_q", "attention.self.key": "attn_k", "attention.self.value": "attn_v",
             "attention.output.dense": "attn_output", "attention.output.LayerNorm": "attn_output_norm",
             "intermediate.dense": "ffn_up", "output.dense": "ffn_down", "output.LayerNorm": "layer_output_norm"}
    base, suffix = name.rsplit(".", 1)
    if base in table:
        return f"{table[base]}.{suffix}"
    _, _, bid, rest = base.split(".", 3)
    return f"blk.{bid}.{layer[rest]}.{suffix}"


@pytest.mark.parametrize("outtype", ["F32", "F16", "Q8_0"])
def test_convert_matches_llama_cpp_converter(swiftlet, tmp_path, outtype):
    out = tmp_path / f"minilm-{outtype}.gguf"
    run(swiftlet, "convert", str(FOLDER), str(out), "--type", outtype)
    r = GGUFReader(out)
    config = json.loads((FOLDER / "config.json").read_text())
    expected = {
        "general.architecture": "bert", "general.type": "model",
        "bert.block_count": 6, "bert.context_length": 512, "bert.embedding_length": 384,
        "bert.feed_forward_length": 1536, "bert.attention.head_count": 12,
        "bert.attention.causal": False, "bert.pooling_type": 1,
        "general.file_type": {"F32": 0, "F16": 1, "Q8_0": 7}[outtype], "general.quantization_version": 2,
        "tokenizer.ggml.model": "bert", "tokenizer.ggml.pre": "jina-v2-en",
        "tokenizer.ggml.token_type_count": config["type_vocab_size"],
        "tokenizer.ggml.normalizer.lowercase": True,
    }
    for k, v in expected.items():
        assert field(r, k) == v, k
    assert abs(field(r, "bert.attention.layer_norm_epsilon") - 1e-12) < 1e-18
    # gguf-py's SpecialVocab on the same folder decides the special ids and add flags.
    sv = SpecialVocab(FOLDER, n_vocab=config["vocab_size"])
    names = {"bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id", "sep": "seperator_token_id",
             "pad": "padding_token_id", "mask": "mask_token_id"}
    for typ, tid in sv.special_token_ids.items():
        if typ in names:
            assert field(r, f"tokenizer.ggml.{names[typ]}") == tid, typ
    for typ, flag in sv.add_special_token.items():
        assert field(r, f"tokenizer.ggml.add_{typ}_token") == flag, typ
    # Tokens: phantom-space form of the vocabulary; the five special added tokens are control (3).
    vocab = (FOLDER / "vocab.txt").read_text(encoding="utf-8").split("\n")[: config["vocab_size"]]
    specials = {t["id"] for t in json.loads((FOLDER / "tokenizer.json").read_text())["added_tokens"] if t["special"]}
    phantom = [t if i in specials else (t[2:] if t.startswith("##") else "\u2581" + t) for i, t in enumerate(vocab)]
    assert field(r, "tokenizer.ggml.tokens") == phantom
    assert field(r, "tokenizer.ggml.token_type") == [3 if i in specials else 1 for i in range(len(vocab))]
    # Tensors: every weight but position_ids and the pooler, named and typed as llama.cpp writes them.
    weights = safetensors(FOLDER / "model.safetensors")
    kept = {hf_to_gguf(n): a for n, a in weights.items() if n not in
            ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias")}
    tensors = {t.name: t for t in r.tensors}
    assert set(tensors) == set(kept)
    for name, a in kept.items():
        t = tensors[name]
        assert list(t.shape) == list(reversed(a.shape)), name
        f32 = a.ndim <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight") \
            or name in ("position_embd.weight", "token_types.weight")
        qtype = GGMLQuantizationType.F32 if f32 or outtype == "F32" else GGMLQuantizationType[outtype]
        assert t.tensor_type == qtype, name
        if qtype == GGMLQuantizationType.F32:
            want = a.astype(np.float32).tobytes()
        elif qtype == GGMLQuantizationType.F16:
            want = a.astype(np.float16).tobytes()
        else:
            want = quants.quantize(a.astype(np.float32), qtype).tobytes()
        assert bytes(t.data.tobytes()) == want, name


def test_bad_folders_leave_no_file(swiftlet, tmp_path):
    out = tmp_path / "out.gguf"
    empty = tmp_path / "empty"
    empty.mkdir()
    p = run(swiftlet, "convert", str(empty), str(out), check=False)
    assert p.returncode == 1 and b"config.json" in p.stderr
    assert not out.exists() and list(tmp_path.glob("out.gguf*")) == []
