#!/usr/bin/env python3
"""Writes random-weight GGUF files with the shapes of models people run, for speed measurements.

    python3 Benchmarks/make-bench-models.py [OUT_DIR] [--only NAME ...] [--types q4_k_m q8_0]

OUT_DIR defaults to $SWIFTLET_MODELS/bench (~/.cache/swiftlet/models/bench). Files are named
{shape}-{type}.gguf; existing ones are kept (delete them to rewrite). Speed depends only on shapes and
types, so the weights are random bytes in each quantization format, written block by block without a float
pass (an 8B shape needs no 32 GB of float weights). Each block's scale is set so that a weight's standard
deviation is about 1/sqrt(row length), which keeps activations finite through the layers (llama.cpp runs
the same files, and its outputs are the oracle for correctness where tests need one; these files are for
benchmarks).

Types:
  q8_0    every matrix Q8_0, as `llama-quantize ... Q8_0` writes it.
  q4_k_m  llama.cpp b11312's Q4_K_M mix (src/llama-quant.cpp, llama_tensor_get_type_impl): Q6_K for the
          output matrix (the token embedding when tied), for attn_v and for ffn_down(_exps) on the layers
          its use_more_bits rule picks (the first and last eighth, and every third in between); Q4_K for
          every other matrix.
Norms stay F32 and so does the MoE router (ffn_gate_inp), as the converters and llama-quantize keep them.

Every file carries SmolLM2's tokenizer (vocabulary 49152; `Scripts/fetch-models.sh smollm2`), so the
shapes are the real models' except for the vocabulary, which is smaller than Llama 3's 128256 and Qwen 3's
151936: the output matrix is a smaller share of each token's work than in the real files.

Shapes:
  llama-1b        Llama-3.2-1B: 2048 wide, 16 layers, 32 query / 8 KV heads of 64, FFN 8192, tied output.
  llama-8b        Llama-3.1-8B: 4096 wide, 32 layers, 32 / 8 heads of 128, FFN 14336.
  qwen3moe-a3b    Qwen3-30B-A3B cut to 8 of its 48 layers: 2048 wide, 32 / 4 heads of 128, 128 experts
                  with 8 active, expert FFN 768.
"""
import argparse
import importlib.util
import math
import os
import sys

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as QT
    from gguf import GGUFValueType as VT
except ImportError:  # pragma: no cover
    sys.exit("make-bench-models: needs the gguf package (pip install 'gguf>=0.17' numpy)")

SHAPES = {
    "llama-1b": dict(arch="llama", embd=2048, layers=16, heads=32, kv=8, head_dim=64, ff=8192, tied=True,
                     rope_base=500000.0, eps=1e-5, ctx=8192),
    "llama-8b": dict(arch="llama", embd=4096, layers=32, heads=32, kv=8, head_dim=128, ff=14336, tied=False,
                     rope_base=500000.0, eps=1e-5, ctx=8192),
    "qwen3moe-a3b": dict(arch="qwen3moe", embd=2048, layers=8, heads=32, kv=4, head_dim=128, ff=6144,
                         tied=False, rope_base=1000000.0, eps=1e-6, ctx=8192, experts=128, experts_used=8,
                         expert_ff=768),
}
DEFAULT_SHAPES = ["llama-1b", "qwen3moe-a3b"]
TYPES = ["q4_k_m", "q8_0"]


def fixture_script():
    """Scripts/make-architecture-fixtures.py as a module: its SmolLM2 tokenizer reader."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Scripts", "make-architecture-fixtures.py")
    spec = importlib.util.spec_from_file_location("make_architecture_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def use_more_bits(i, n):
    """llama-quant.cpp's rule for the layers whose attn_v and ffn_down Q4_K_M keeps in Q6_K."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def tensors(c, ftype):
    """(name, numpy shape (.., ne1, ne0), type) of every tensor, in file order."""
    E, L, H, KV, D, FF = c["embd"], c["layers"], c["heads"], c["kv"], c["head_dim"], c["ff"]
    km = ftype == "q4_k_m"
    base, more = (QT.Q4_K, QT.Q6_K) if km else (QT.Q8_0, QT.Q8_0)
    vocab = c["vocab"]
    out = [("token_embd.weight", (vocab, E), more if c["tied"] else base)]
    for i in range(L):
        p = f"blk.{i}."
        big = more if use_more_bits(i, L) else base
        out.append((p + "attn_norm.weight", (E,), QT.F32))
        out.append((p + "attn_q.weight", (H * D, E), base))
        out.append((p + "attn_k.weight", (KV * D, E), base))
        out.append((p + "attn_v.weight", (KV * D, E), big))
        if c["arch"] == "qwen3moe":
            out.append((p + "attn_q_norm.weight", (D,), QT.F32))
            out.append((p + "attn_k_norm.weight", (D,), QT.F32))
        out.append((p + "attn_output.weight", (E, H * D), base))
        out.append((p + "ffn_norm.weight", (E,), QT.F32))
        if c["arch"] == "qwen3moe":
            NE, EF = c["experts"], c["expert_ff"]
            out.append((p + "ffn_gate_inp.weight", (NE, E), QT.F32))
            out.append((p + "ffn_gate_exps.weight", (NE, EF, E), base))
            out.append((p + "ffn_up_exps.weight", (NE, EF, E), base))
            out.append((p + "ffn_down_exps.weight", (NE, E, EF), big))
        else:
            out.append((p + "ffn_gate.weight", (FF, E), base))
            out.append((p + "ffn_up.weight", (FF, E), base))
            out.append((p + "ffn_down.weight", (E, FF), big))
    out.append(("output_norm.weight", (E,), QT.F32))
    if not c["tied"]:
        out.append(("output.weight", (vocab, E), more))
    return out


# Byte offset of each block's f16 scale(s): Q8_0 {d, qs[32]}, Q4_K {d, dmin, scales[12], qs[128]},
# Q6_K {ql[128], qh[64], scales[16], d} (ggml-common.h's block_q8_0, block_q4_K, block_q6_K).
SCALE_OFFSETS = {QT.Q8_0: [0], QT.Q4_K: [0, 2], QT.Q6_K: [208]}


def unit_scale_std(qtype, rng):
    """The standard deviation of weights in random blocks whose scales (d, dmin) are 1 and 1.

    Q4_K's minimum term is set to dmin = d * 7.5 (the mean of a 4-bit quant) below, so its weights centre
    on zero."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, (4096, size), dtype=np.uint8)
    set_scales(raw, qtype, 1.0)
    values = gguf.quants.dequantize(raw.reshape(-1), qtype)
    return float(values.std())


def set_scales(raw, qtype, d):
    """Writes the f16 scale d (and Q4_K's dmin = 7.5 d) into every block of raw (blocks, bytes)."""
    offsets = SCALE_OFFSETS[qtype]
    scale = np.frombuffer(np.float16(d).tobytes(), dtype=np.uint8)
    raw[:, offsets[0]:offsets[0] + 2] = scale
    if qtype == QT.Q4_K:
        raw[:, offsets[1]:offsets[1] + 2] = np.frombuffer(np.float16(7.5 * d).tobytes(), dtype=np.uint8)


def random_tensor(shape, qtype, rng, unit_std):
    """A tensor of random blocks of qtype (uint8, numpy byte shape) or, for F32, normal floats."""
    if qtype == QT.F32:
        return (1.0 + rng.normal(0.0, 0.1, shape)).astype(np.float32) if len(shape) == 1 else \
            rng.normal(0.0, 1.0 / math.sqrt(shape[-1]), shape).astype(np.float32)
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    rows = int(np.prod(shape[:-1]))
    blocks_per_row = shape[-1] // block
    raw = rng.integers(0, 256, (rows * blocks_per_row, size), dtype=np.uint8)
    # smallest normal f16 is 6.1e-5: keep d a normal number so no kernel sees a subnormal scale
    d = max((1.0 / math.sqrt(shape[-1])) / unit_std[qtype], 6.2e-5)
    set_scales(raw, qtype, d)
    return raw.reshape(*shape[:-1], blocks_per_row * size)


def write(path, name, c, ftype, tokenizer, seed):
    rng = np.random.default_rng(seed)
    unit_std = {t: unit_scale_std(t, np.random.default_rng(1)) for t in SCALE_OFFSETS}
    arch = c["arch"]
    w = gguf.GGUFWriter(path, arch)
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(f"Swiftlet random-weight benchmark model ({name})")
    K = gguf.Keys

    def a(key, val, vt):
        w.add_key_value(key.format(arch=arch), val, vt)

    a(K.LLM.BLOCK_COUNT, c["layers"], VT.UINT32)
    a(K.LLM.CONTEXT_LENGTH, c["ctx"], VT.UINT32)
    a(K.LLM.EMBEDDING_LENGTH, c["embd"], VT.UINT32)
    a(K.LLM.FEED_FORWARD_LENGTH, c["ff"], VT.UINT32)
    a(K.Attention.HEAD_COUNT, c["heads"], VT.UINT32)
    a(K.Attention.HEAD_COUNT_KV, c["kv"], VT.UINT32)
    a(K.Rope.FREQ_BASE, c["rope_base"], VT.FLOAT32)
    a(K.Attention.LAYERNORM_RMS_EPS, c["eps"], VT.FLOAT32)
    a(K.Attention.KEY_LENGTH, c["head_dim"], VT.UINT32)
    a(K.Attention.VALUE_LENGTH, c["head_dim"], VT.UINT32)
    if arch == "llama":
        a(K.LLM.VOCAB_SIZE, c["vocab"], VT.UINT32)
        a(K.Rope.DIMENSION_COUNT, c["head_dim"], VT.UINT32)
    if arch == "qwen3moe":
        a(K.LLM.EXPERT_COUNT, c["experts"], VT.UINT32)
        a(K.LLM.EXPERT_USED_COUNT, c["experts_used"], VT.UINT32)
        a(K.LLM.EXPERT_FEED_FORWARD_LENGTH, c["expert_ff"], VT.UINT32)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M if ftype == "q4_k_m" else gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for key, val, vt, sub in tokenizer:
        w.add_key_value(key, val, vt, sub_type=sub)
    layout = tensors(c, ftype)
    for tname, shape, qtype in layout:
        if qtype == QT.F32:
            w.add_tensor_info(tname, shape, np.dtype(np.float32), 4 * int(np.prod(shape)))
        else:
            block, size = gguf.GGML_QUANT_SIZES[qtype]
            byte_shape = (*shape[:-1], shape[-1] // block * size)
            w.add_tensor_info(tname, byte_shape, np.dtype(np.uint8), int(np.prod(byte_shape)), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for tname, shape, qtype in layout:
        w.write_tensor_data(random_tensor(shape, qtype, rng, unit_std))
    w.close()


def main():
    models = os.environ.get("SWIFTLET_MODELS", os.path.expanduser("~/.cache/swiftlet/models"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=os.path.join(models, "bench"))
    ap.add_argument("--smollm2", default=os.path.join(models, "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--only", nargs="*", choices=sorted(SHAPES),
                    help=f"shapes to write (default: {' '.join(DEFAULT_SHAPES)}; llama-8b only when named)")
    ap.add_argument("--types", nargs="*", default=TYPES, choices=TYPES)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    if not os.path.isfile(args.smollm2):
        sys.exit(f"make-bench-models: {args.smollm2} missing; run Scripts/fetch-models.sh smollm2")
    tokenizer, _ = fixture_script().read_tokenizer(args.smollm2)
    vocab = len(next(v for k, v, _, _ in tokenizer if k == "tokenizer.ggml.tokens"))
    os.makedirs(args.out, exist_ok=True)
    for name in args.only or DEFAULT_SHAPES:
        c = dict(SHAPES[name], vocab=vocab)
        for t in args.types:
            path = os.path.join(args.out, f"{name}-{t}.gguf")
            if os.path.exists(path):
                print(path)
                continue
            write(path + ".partial", name, c, t, tokenizer, args.seed)
            os.replace(path + ".partial", path)
            sys.stderr.write(f"make-bench-models: wrote {path} ({os.path.getsize(path) / 2**20:.0f} MiB)\n")
            print(path)


if __name__ == "__main__":
    main()
