#!/usr/bin/env python3
"""Records llama.cpp's outputs on the random-weight architecture models of
Scripts/make-architecture-fixtures.py into Fixtures/reference/architectures/{name}.json.

    python3 Scripts/record-architecture-references.py --greedy PATH/swiftlet-greedy-top2 \
        --perplexity PATH/llama-perplexity [--models DIR] [--out DIR] [--text FILE] [--only NAME ...]

Both programs must already be built against llama.cpp (this script builds nothing; the greedy helper is
a ~90-line program on llama.h described in Fixtures/reference/architectures/README.md). For each model
file it
  * runs the helper on each prompt: n_ctx 2048, n_batch 2048, n_ubatch 512, 2 threads, the whole prompt
    decoded as one batch, then 32 greedy tokens one at a time, with per step the top 2 of
    log_softmax(raw logits) over the whole vocabulary (stopping after an end-of-generation id);
  * runs `llama-perplexity -m FILE -f TEXT -c 128 -b 128 -t 2` and keeps the final estimate and chunk
    count.
(llama-server's /completion with n_probs gives the same numbers but drops the probabilities of tokens
that end inside a UTF-8 character, which random models emit often, hence the helper.)
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n",
    "Once upon a time, in a small village by the sea, there lived an old fisherman who",
    # long enough that prompt + 32 generated tokens pass the 64-token sliding window of the Gemma models
    "In 1969, the Apollo 11 mission landed the first humans on the Moon. Neil Armstrong and Buzz Aldrin "
    "spent about two and a quarter hours together outside the spacecraft, while Michael Collins remained "
    "in lunar orbit. The astronauts collected samples of rock and soil, planted a flag, and",
]
N_PREDICT = 32
SERVER_CTX = 2048
PPL_CTX = 128
PPL_BATCH = 128
THREADS = 2


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def greedy(helper, model):
    """Runs the greedy helper (see the README of the output directory): whole prompt as one batch, then
    one token at a time; per step the top 2 of log_softmax(raw logits) over the whole vocabulary."""
    cmd = [helper, model, str(N_PREDICT), str(SERVER_CTX), str(THREADS)]
    t0 = time.time()
    p = subprocess.run(cmd, input="".join(json.dumps(x) + "\n" for x in PROMPTS), capture_output=True, text=True)
    seconds = time.time() - t0
    if p.returncode != 0:
        sys.exit(f"greedy helper failed on {model}:\n{p.stderr[-3000:]}")
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    if len(rows) != len(PROMPTS):
        sys.exit(f"greedy helper gave {len(rows)} results for {len(PROMPTS)} prompts")
    n_ctx_seq = rows[0]["n_ctx_seq"]
    results = [{"prompt": prompt, "prompt_ids": r["prompt_ids"], "generated_ids": r["generated_ids"], "top2": r["top2"]}
               for prompt, r in zip(PROMPTS, rows)]
    return results, n_ctx_seq, seconds


def perplexity(tool, model, text, log_dir):
    cmd = [tool, "-m", model, "-f", text, "-c", str(PPL_CTX), "-b", str(PPL_BATCH), "-t", str(THREADS)]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.time() - t0
    out = p.stdout + p.stderr
    with open(os.path.join(log_dir, os.path.basename(model) + ".perplexity.log"), "w") as f:
        f.write(out)
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", out)
    c = re.search(r"calculating perplexity over (\d+) chunks", out)
    if p.returncode != 0 or not m or not c:
        sys.exit(f"llama-perplexity failed on {model}:\n{out[-3000:]}")
    return {"context": PPL_CTX, "batch": PPL_BATCH, "chunks": int(c.group(1)), "value": float(m.group(1)),
            "printed": f"PPL = {m.group(1)} +/- {m.group(2)}",
            "command": f"llama-perplexity -m {os.path.basename(model)} -f {os.path.basename(text)} "
                       f"-c {PPL_CTX} -b {PPL_BATCH} -t {THREADS}"}, seconds


def main():
    models_default = os.path.join(os.environ.get("SWIFTLET_MODELS", os.path.expanduser("~/.cache/swiftlet/models")),
                                  "architectures")
    ap = argparse.ArgumentParser()
    ap.add_argument("--greedy", required=True, help="the greedy top-2 helper built against llama.cpp (see README)")
    ap.add_argument("--perplexity", required=True, help="llama-perplexity")
    ap.add_argument("--models", default=models_default)
    ap.add_argument("--out", default=os.path.join(ROOT, "Fixtures", "reference", "architectures"))
    ap.add_argument("--text", default=os.path.join(ROOT, "Fixtures", "reference", "ppl_text_gpl3_first20k.txt"))
    ap.add_argument("--only", nargs="*", help="file base names (e.g. qwen3-f16); default: every .gguf in --models")
    ap.add_argument("--llama-cpp", default="b11312 (commit 0c1e57098, vendored in PyPI llama-cpp-python==0.3.36), "
                    "AVX2 build (GGML_NATIVE=OFF, AVX/AVX2/FMA/F16C on, OpenMP), CPU, 2 threads")
    ap.add_argument("--log-dir", default="/tmp/swiftlet-arch-logs")
    args = ap.parse_args()

    ppl = args.perplexity
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.log_dir, exist_ok=True)
    names = args.only or sorted(f[:-5] for f in os.listdir(args.models) if f.endswith(".gguf"))
    for name in names:
        model = os.path.join(args.models, name + ".gguf")
        prompts, n_ctx_seq, t_gen = greedy(args.greedy, model)
        ppl_result, t_ppl = perplexity(ppl, model, args.text, args.log_dir)
        doc = {
            "file": os.path.basename(model),
            "sha256": sha256(model),
            "llama_cpp": args.llama_cpp,
            "greedy": {"n_ctx": SERVER_CTX, "n_ctx_seq": n_ctx_seq, "n_batch": SERVER_CTX, "n_ubatch": 512,
                       "threads": THREADS, "n_predict": N_PREDICT,
                       "logprobs": "log_softmax of the raw logits over the whole vocabulary (double precision), "
                                   "5 decimals; prompt_ids from llama_tokenize(add_special, parse_special); "
                                   "the whole prompt decoded as one batch; stops after an end-of-generation id"},
            "prompts": prompts,
            "perplexity": ppl_result,
        }
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        gaps = [p["top2"][i][0][1] - p["top2"][i][1][1] for p in prompts for i in range(len(p["top2"]))
                if len(p["top2"][i]) == 2]
        small = sum(1 for g in gaps if g < 0.1)
        print(f"{name}: ppl {ppl_result['value']:.4f} ({ppl_result['chunks']} chunks, {t_ppl:.1f} s), "
              f"generation {t_gen:.1f} s, n_ctx_seq {n_ctx_seq}, top-2 gaps < 0.1: {small}/{len(gaps)}, "
              f"generated lengths {[len(p['generated_ids']) for p in prompts]}", flush=True)


if __name__ == "__main__":
    main()
