#!/usr/bin/env python3
"""Writes small random-weight GGUF models, one or more per architecture, for testing Swiftlet against
llama.cpp on architectures it has no real small model of.

    python3 Scripts/make-architecture-fixtures.py [OUT_DIR] [--smollm2 PATH] [--only NAME ...]
        [--seed N] [--embd N] [--layers N] [--heads N] [--kv-heads N] [--head-dim N] [--ff N]
        [--experts N] [--experts-used N] [--expert-ff N] [--ctx N] [--suffix TEXT]

OUT_DIR defaults to $SWIFTLET_MODELS/architectures (~/.cache/swiftlet/models/architectures). Each model
is written twice: {name}-f16.gguf (2-D and 3-D weights F16, norms/biases/rope factors F32, as the
converters write them) and {name}-q8_0.gguf (the same float weights quantized to Q8_0 with
gguf.quants; 1-D tensors stay F32). The sha256 of every file is printed; with the defaults the files are
byte-identical from run to run (numpy default_rng with a fixed seed per model).

Every model carries SmolLM2's real tokenizer (every tokenizer.* key copied from
SmolLM2-135M-Instruct.Q4_1.gguf, fetched by `Scripts/fetch-models.sh smollm2`; vocabulary 49152, adds no
BOS), and is laid out as llama.cpp b11312's loader and its convert_hf_to_gguf.py expect for that
architecture (metadata keys, tensor names, shapes). The layout per architecture is described in
ARCHS below and in Fixtures/reference/architectures/README.md.

Weights: normal, std gain/sqrt(fan_in); norm weights 1 + N(0, 0.1). So that greedy choices are not
near-ties and perplexity on English text is far from both 1 and the vocabulary size, the token
embedding carries a constant offset in dimension 0 and the output matrix's column 0 holds a fixed
"unigram prior" that favours low (frequent, early-merged) token ids: a crude frequency model on top of
random weights. Overrides (--embd, --layers, ... , --seed) make other sizes and seeds the same way; with
overrides, add e.g. --suffix=-s7 so the default files are not overwritten.
"""
import argparse
import hashlib
import math
import os
import sys

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as QT
    from gguf import GGUFValueType as VT
except ImportError:  # pragma: no cover
    sys.exit("make-architecture-fixtures: needs the gguf package (pip install 'gguf>=0.17' numpy)")

VOCAB = 49152

# name -> architecture description. Keys:
#   arch: general.architecture; embd, layers, heads, kv, head_dim (None: embd/heads), ff, ctx
#   rope_base (None: key not written), eps, seed
#   flags: see build_*; only the features that architecture's converter writes are set.
ARCHS = {
    # A plain SmolLM2-like Llama: the control.
    "llama": dict(arch="llama", embd=192, layers=3, heads=6, kv=2, head_dim=None, ff=512, ctx=2048,
                  rope_base=100000.0, eps=1e-5, seed=1001),
    # Llama 3.1: rope_freqs.weight from rope_scaling {factor 8, low 1, high 4, original 8192}.
    "llama31": dict(arch="llama", embd=256, layers=2, heads=4, kv=2, head_dim=64, ff=768, ctx=2048,
                    rope_base=500000.0, eps=1e-5, seed=1002, llama3_rope=dict(factor=8.0,
                    low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=8192)),
    # Llama with YaRN (rope_scaling {type yarn, factor 4, original_max_position_embeddings 512}): the three
    # keys convert_hf_to_gguf.py writes for it, no rope_freqs; context 2048 = 4 x the original.
    "llamayarn": dict(arch="llama", embd=256, layers=2, heads=4, kv=2, head_dim=64, ff=768, ctx=2048,
                      rope_base=10000.0, eps=1e-5, seed=1009, yarn=dict(factor=4.0, original_context_length=512)),
    # Qwen2: q/k/v biases, NeoX rope.
    "qwen2": dict(arch="qwen2", embd=256, layers=3, heads=8, kv=2, head_dim=None, ff=704, ctx=2048,
                  rope_base=1000000.0, eps=1e-6, seed=1003),
    # Qwen2.5 style YaRN: as qwen2 (biases, NeoX rope) with the same three YaRN keys, 4 heads of 64.
    "qwen2yarn": dict(arch="qwen2", embd=256, layers=2, heads=4, kv=2, head_dim=None, ff=704, ctx=2048,
                      rope_base=1000000.0, eps=1e-6, seed=1010, yarn=dict(factor=4.0, original_context_length=512)),
    # Qwen3: per-head RMS norm of q and k, key_length (64) != embd/heads (48).
    "qwen3": dict(arch="qwen3", embd=192, layers=3, heads=4, kv=2, head_dim=64, ff=512, ctx=2048,
                  rope_base=1000000.0, eps=1e-6, seed=1004),
    # Qwen3 MoE: 8 experts, 2 used (llama.cpp always renormalizes the top-k weights for qwen3moe).
    "qwen3moe": dict(arch="qwen3moe", embd=192, layers=2, heads=4, kv=2, head_dim=64, ff=768, ctx=2048,
                     rope_base=1000000.0, eps=1e-6, seed=1005, experts=8, experts_used=2, expert_ff=128),
    # Phi-3.5 / Phi-4-mini style: fused qkv, fused gate+up, LongRoPE factors, partial rotary (0.75).
    "phi3": dict(arch="phi3", embd=256, layers=3, heads=4, kv=2, head_dim=None, ff=512, ctx=4096,
                 rope_base=10000.0, eps=1e-5, seed=1006, rot_pct=0.75, orig_ctx=1024, sliding_window=262144),
    # Gemma 2: soft-capping, post-norms, alternating sliding window (even layers), tied output.
    "gemma2": dict(arch="gemma2", embd=256, layers=4, heads=4, kv=2, head_dim=64, ff=768, ctx=2048,
                   rope_base=None, eps=1e-6, seed=1007, attn_softcap=50.0, final_softcap=30.0,
                   sliding_window=64),
    # Gemma 3: q/k norms, post-norms, 5 sliding-window layers then 1 global, separate SWA rope base.
    "gemma3": dict(arch="gemma3", embd=192, layers=6, heads=4, kv=1, head_dim=64, ff=512, ctx=2048,
                   rope_base=1000000.0, rope_base_swa=10000.0, eps=1e-6, seed=1008, sliding_window=64),
}


def read_tokenizer(path):
    """Every tokenizer.* key of the SmolLM2 file as (key, value, type, sub_type), plus token types."""
    r = gguf.GGUFReader(path)
    out, token_types = [], None
    for key, f in r.fields.items():
        if not key.startswith("tokenizer."):
            continue
        t = f.types[0]
        if t == VT.ARRAY:
            sub = f.types[1]
            if sub == VT.STRING:
                val = [bytes(f.parts[i]) for i in f.data]
            else:
                val = [f.parts[i].tolist()[0] for i in f.data]
            if key == "tokenizer.ggml.token_type":
                token_types = np.array(val)
            out.append((key, val, t, sub))
        elif t == VT.STRING:
            out.append((key, bytes(f.parts[f.data[0]]), t, None))
        else:
            out.append((key, f.parts[f.data[0]].tolist()[0], t, None))
    n = len(next(v for k, v, _, _ in out if k == "tokenizer.ggml.tokens"))
    if n != VOCAB:
        sys.exit(f"make-architecture-fixtures: {path} has {n} tokens, expected {VOCAB}")
    return out, token_types


def unigram_prior(token_types, rng):
    """A fixed per-token score in [0, 1]: high for early (frequent) ids, 0 for control tokens."""
    v = np.arange(VOCAB, dtype=np.float64)
    z = (math.log(VOCAB + 20) - np.log(v + 20)) / (math.log(VOCAB + 20) - math.log(20))
    z = z + rng.normal(0, 0.05, VOCAB)
    z[token_types != 1] = 0.0  # 1 = normal; control/user-defined tokens get no prior
    return np.clip(z, 0, 1)


class Model:
    def __init__(self, cfg, token_types):
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg["seed"])
        self.tensors = []  # (name, float32 array in numpy (ne1, ne0) order, is_weight_matrix)
        self.prior = unigram_prior(token_types, self.rng)

    def mat(self, name, rows, cols, gain=1.0):
        w = self.rng.normal(0.0, gain / math.sqrt(cols), (rows, cols)).astype(np.float32)
        self.tensors.append((name, w, True))
        return w

    def vec(self, name, n, mean=1.0, std=0.1):
        v = (mean + self.rng.normal(0.0, std, n)).astype(np.float32)
        self.tensors.append((name, v, False))
        return v

    def raw(self, name, arr, quantizable):
        self.tensors.append((name, np.ascontiguousarray(arr, dtype=np.float32), quantizable))


def build(name, cfg, token_types):
    c = dict(cfg)
    m = Model(c, token_types)
    arch, E, L, H, KV = c["arch"], c["embd"], c["layers"], c["heads"], c["kv"]
    D = c["head_dim"] or E // H
    FF = c["ff"]
    gemma = arch.startswith("gemma")
    tied = arch == "gemma2"  # llama.cpp's gemma2 loader takes no output.weight: always tied

    kv = []  # (key without arch prefix or full key, value, type)

    def a(key, val, vt):
        kv.append((key.format(arch=arch), val, vt))

    K = gguf.Keys
    a(K.LLM.BLOCK_COUNT, L, VT.UINT32)
    a(K.LLM.CONTEXT_LENGTH, c["ctx"], VT.UINT32)
    a(K.LLM.EMBEDDING_LENGTH, E, VT.UINT32)
    a(K.LLM.FEED_FORWARD_LENGTH, FF, VT.UINT32)
    a(K.Attention.HEAD_COUNT, H, VT.UINT32)
    a(K.Attention.HEAD_COUNT_KV, KV, VT.UINT32)
    if c.get("rope_base") is not None:
        a(K.Rope.FREQ_BASE, c["rope_base"], VT.FLOAT32)
    if c.get("yarn"):
        # as convert_hf_to_gguf.py (conversion/base.py) writes rope_scaling {"rope_type": "yarn", ...}; the
        # optional yarn_ext_factor / yarn_attn_factor / yarn_beta_* keys are left out (no such entries in
        # the config), and llama.cpp b11312 does not read them for llama or qwen2 anyway
        a(K.Rope.SCALING_TYPE, "yarn", VT.STRING)
        a(K.Rope.SCALING_FACTOR, c["yarn"]["factor"], VT.FLOAT32)
        a(K.Rope.SCALING_ORIG_CTX_LEN, c["yarn"]["original_context_length"], VT.UINT32)
    if c.get("rope_base_swa") is not None:
        a(K.Rope.FREQ_BASE_SWA, c["rope_base_swa"], VT.FLOAT32)
    a(K.Attention.LAYERNORM_RMS_EPS, c["eps"], VT.FLOAT32)
    if c["head_dim"] is not None:
        a(K.Attention.KEY_LENGTH, D, VT.UINT32)
        a(K.Attention.VALUE_LENGTH, D, VT.UINT32)
    if arch == "llama":
        a(K.LLM.VOCAB_SIZE, VOCAB, VT.UINT32)
        a(K.Rope.DIMENSION_COUNT, D, VT.UINT32)
    if arch == "qwen3moe":
        a(K.LLM.EXPERT_COUNT, c["experts"], VT.UINT32)
        a(K.LLM.EXPERT_USED_COUNT, c["experts_used"], VT.UINT32)
        a(K.LLM.EXPERT_FEED_FORWARD_LENGTH, c["expert_ff"], VT.UINT32)
    n_rot = D
    if arch == "phi3":
        n_rot = int(c["rot_pct"] * E) // H
        a(K.Rope.SCALING_ORIG_CTX_LEN, c["orig_ctx"], VT.UINT32)
        a(K.Rope.DIMENSION_COUNT, n_rot, VT.UINT32)
        a(K.Attention.SLIDING_WINDOW, c["sliding_window"], VT.UINT32)
        scale = c["ctx"] / c["orig_ctx"]
        attn_factor = math.sqrt(1 + math.log(scale) / math.log(c["orig_ctx"])) if scale > 1 else 1.0
        a(K.Rope.SCALING_ATTN_FACTOR, attn_factor, VT.FLOAT32)
    if arch == "gemma2":
        a(K.LLM.ATTN_LOGIT_SOFTCAPPING, c["attn_softcap"], VT.FLOAT32)
        a(K.LLM.FINAL_LOGIT_SOFTCAPPING, c["final_softcap"], VT.FLOAT32)
    if gemma:
        a(K.Attention.SLIDING_WINDOW, c["sliding_window"], VT.UINT32)

    # --- tensors (numpy shape is (ne1, ne0): rows x row-length) ---
    if arch == "llama" and c.get("llama3_rope"):
        rp = c["llama3_rope"]
        freqs = 1.0 / (c["rope_base"] ** (np.arange(0, D, 2, dtype=np.float32) / D))
        lo_wl = rp["original_max_position_embeddings"] / rp["low_freq_factor"]
        hi_wl = rp["original_max_position_embeddings"] / rp["high_freq_factor"]
        factors = []
        for f in freqs:
            wl = 2 * math.pi / f
            if wl < hi_wl:
                factors.append(1.0)
            elif wl > lo_wl:
                factors.append(rp["factor"])
            else:
                s = (rp["original_max_position_embeddings"] / wl - rp["low_freq_factor"]) / \
                    (rp["high_freq_factor"] - rp["low_freq_factor"])
                factors.append(1 / ((1 - s) / rp["factor"] + s))
        m.raw("rope_freqs.weight", np.array(factors, dtype=np.float32), False)
    if arch == "phi3":
        half = n_rot // 2
        x = np.linspace(0.0, 1.0, half)
        short = 1.0 + 1.5 * x ** 2 + m.rng.uniform(0, 0.05, half)
        long = np.exp(np.log(40.0) * x ** 1.5) + m.rng.uniform(0, 0.1, half)
        m.raw("rope_factors_long.weight", long, False)
        m.raw("rope_factors_short.weight", short, False)

    # token embedding: std emb_std, plus a positive offset in dimension 0 (bigger for frequent tokens when
    # tied, since then the same column is the output prior)
    # (Gemma scales the embedding by sqrt(embd), so its std is 1/sqrt(embd); the tied Gemma 2 uses a quarter of
    # that, so the layers rather than the current token's own embedding dominate the residual stream and
    # the output does not just repeat the last token, and a final norm around 16 to spread its logits.)
    emb_std = (0.25 if tied else 1.0) / math.sqrt(E) if gemma else 1.0
    emb = m.rng.normal(0.0, emb_std, (VOCAB, E)).astype(np.float32)
    if tied:
        emb[:, 0] = emb_std * (2.0 + 4.0 * m.prior)
    else:
        emb[:, 0] = emb_std * (3.0 + m.rng.uniform(0, 1, VOCAB))
    m.raw("token_embd.weight", emb, True)

    q_dim, kv_dim = H * D, KV * D
    for i in range(L):
        p = f"blk.{i}."
        m.vec(p + "attn_norm.weight", E)
        if arch == "phi3":
            m.mat(p + "attn_qkv.weight", q_dim + 2 * kv_dim, E)
        else:
            m.mat(p + "attn_q.weight", q_dim, E)
            m.mat(p + "attn_k.weight", kv_dim, E)
            m.mat(p + "attn_v.weight", kv_dim, E)
        if arch == "qwen2":
            m.vec(p + "attn_q.bias", q_dim, 0.0, 0.3)
            m.vec(p + "attn_k.bias", kv_dim, 0.0, 0.3)
            m.vec(p + "attn_v.bias", kv_dim, 0.0, 0.3)
        if arch in ("qwen3", "qwen3moe", "gemma3"):
            m.vec(p + "attn_q_norm.weight", D)
            m.vec(p + "attn_k_norm.weight", D)
        m.mat(p + "attn_output.weight", E, q_dim)
        if gemma:
            m.vec(p + "post_attention_norm.weight", E)
        m.vec(p + "ffn_norm.weight", E)
        if arch == "qwen3moe":
            NE, EF = c["experts"], c["expert_ff"]
            # the router stays F32 in both files, as convert_hf_to_gguf.py and llama-quantize keep it
            router = m.rng.normal(0.0, 2.0 / math.sqrt(E), (NE, E)).astype(np.float32)
            m.raw(p + "ffn_gate_inp.weight", router, False)
            for nm, shape, fan_in in (("ffn_gate_exps", (NE, EF, E), E), ("ffn_up_exps", (NE, EF, E), E),
                                      ("ffn_down_exps", (NE, E, EF), EF)):
                w = m.rng.normal(0.0, 1.0 / math.sqrt(fan_in), shape).astype(np.float32)
                m.raw(p + nm + ".weight", w, True)
        elif arch == "phi3":
            m.mat(p + "ffn_up.weight", 2 * FF, E)
            m.mat(p + "ffn_down.weight", E, FF)
        else:
            m.mat(p + "ffn_gate.weight", FF, E)
            m.mat(p + "ffn_up.weight", FF, E)
            m.mat(p + "ffn_down.weight", E, FF)
        if gemma:
            m.vec(p + "post_ffw_norm.weight", E)
    if tied:
        m.vec("output_norm.weight", E, mean=16.0, std=1.6)
    else:
        m.vec("output_norm.weight", E)
    if not tied:
        out = m.rng.normal(0.0, 3.0 / math.sqrt(E), (VOCAB, E)).astype(np.float32)
        out[:, 0] = 2.5 * m.prior
        m.raw("output.weight", out, True)

    meta = dict(name=name, arch=arch, embd=E, layers=L, heads=H, kv_heads=KV, head_dim=D, ff=FF,
                n_rot=n_rot, ctx=c["ctx"], tied=tied, seed=c["seed"])
    return kv, m.tensors, meta


def write(path, arch, name, kv, tensors, tokenizer, qtype):
    w = gguf.GGUFWriter(path, arch)
    w.add_type(gguf.GGUFType.MODEL)
    # general.name must not contain "phi3"/"phi-3" (llama.cpp then applies Phi-3 tokenizer quirks that need
    # "</s>") nor other model names llama-vocab.cpp matches on
    w.add_name("Swiftlet random-weight test model")
    for key, val, vt in kv:
        w.add_key_value(key, val, vt)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if qtype == QT.F16 else gguf.LlamaFileType.MOSTLY_Q8_0)
    if qtype != QT.F16:
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for key, val, vt, sub in tokenizer:
        w.add_key_value(key, val, vt, sub_type=sub)
    for tname, arr, is_matrix in tensors:
        if not is_matrix or arr.ndim == 1:
            w.add_tensor(tname, arr.astype(np.float32))
        elif qtype == QT.F16:
            w.add_tensor(tname, arr.astype(np.float16))
        else:
            q = gguf.quants.quantize(arr, qtype)
            w.add_tensor(tname, q, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def main():
    models = os.environ.get("SWIFTLET_MODELS", os.path.expanduser("~/.cache/swiftlet/models"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=os.path.join(models, "architectures"))
    ap.add_argument("--smollm2", default=os.path.join(models, "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--only", nargs="*", choices=sorted(ARCHS), help="architectures to write (default: all)")
    ap.add_argument("--seed", type=int, help="override the per-model seed")
    for opt in ("embd", "layers", "heads", "kv-heads", "head-dim", "ff", "experts", "experts-used",
                "expert-ff", "ctx"):
        ap.add_argument("--" + opt, type=int)
    ap.add_argument("--suffix", default="", help="appended to each file's base name, e.g. --suffix=-s7")
    ap.add_argument("--types", nargs="*", default=["f16", "q8_0"], choices=["f16", "q8_0"])
    args = ap.parse_args()

    if not os.path.isfile(args.smollm2):
        sys.exit(f"make-architecture-fixtures: {args.smollm2} missing; run Scripts/fetch-models.sh smollm2")
    tokenizer, token_types = read_tokenizer(args.smollm2)
    os.makedirs(args.out, exist_ok=True)
    over = {"seed": args.seed, "embd": args.embd, "layers": args.layers, "heads": args.heads,
            "kv": args.kv_heads, "head_dim": args.head_dim, "ff": args.ff, "experts": args.experts,
            "experts_used": args.experts_used, "expert_ff": args.expert_ff, "ctx": args.ctx}
    for name in (args.only or list(ARCHS)):
        cfg = dict(ARCHS[name])
        cfg.update({k: v for k, v in over.items() if v is not None})
        kv, tensors, meta = build(name, cfg, token_types)
        for t in args.types:
            path = os.path.join(args.out, f"{name}{args.suffix}-{t}.gguf")
            write(path + ".partial", cfg["arch"], name, kv, tensors, tokenizer, QT.F16 if t == "f16" else QT.Q8_0)
            os.replace(path + ".partial", path)
            print(f"{sha256(path)}  {path}")
        sys.stderr.write(f"  {name}: {meta}\n")


if __name__ == "__main__":
    main()
