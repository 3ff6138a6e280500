#!/usr/bin/env python3
"""Embedding throughput over HTTP, side by side: `swiftlet serve` and llama.cpp's `llama-server --embedding` on
the same GGUF file, each sent the same `POST /v1/embeddings` requests one after another (every request a
batch of texts of about 64 tokens), reporting inputs per second.

    python3 Benchmarks/embed-load.py --swiftlet .build/release/swiftlet --llama-server PATH/llama-server \\
        --model all-MiniLM-L6-v2-f32.gguf [--threads 2] [--requests 8] [--batch 32] [--words 50]

A converted model comes from `Scripts/fetch-models.sh minilm` and `swiftlet convert`. Either binary may be
left out to measure one engine. llama-server is started with mean pooling and a batch large enough for one
request (`-b`/`-ub` = batch × 128), so each request is one forward pass there; the token counts both servers
report (`usage.prompt_tokens`) are printed so that equal work can be checked. Only Python's standard
library is used; run it on an otherwise idle machine.
"""
import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request

from host import cpu_flags, cpu_name

WORDS = ("the of and to in is was for on that with as by at from his her this which have are were be an or "
         "had not but their one all been has more when who will would there can time year people city water "
         "river music history language school between system during under world small large early light "
         "mountain village summer winter market garden island bridge station forest question answer").split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def wait_ready(base, proc):
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit(f"embed-load: server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.2)
    sys.exit("embed-load: server did not become ready")


def measure(cmd, port, model_name, batches, env=None):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, proc)
        post(base + "/v1/embeddings", {"model": model_name, "input": batches[0][:2]})  # warm-up
        tokens = 0
        start = time.monotonic()
        for batch in batches:
            tokens += post(base + "/v1/embeddings", {"model": model_name, "input": batch})["usage"]["prompt_tokens"]
        seconds = time.monotonic() - start
        inputs = sum(len(b) for b in batches)
        return inputs / seconds, tokens / inputs
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swiftlet")
    ap.add_argument("--llama-server")
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--requests", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--words", type=int, default=50, help="words per text (about 64 tokens at 50)")
    args = ap.parse_args()
    rng = random.Random(7)
    batches = [[" ".join(rng.choice(WORDS) for _ in range(args.words)) for _ in range(args.batch)]
               for _ in range(args.requests)]
    name = os.path.splitext(os.path.basename(args.model))[0]
    rows = []
    if args.swiftlet:
        port = free_port()
        rate, per = measure([args.swiftlet, "serve", "--model", args.model, "--port", str(port), "--threads",
                             str(args.threads)], port, name, batches)
        rows.append(("Swiftlet", rate, per))
    if args.llama_server:
        port = free_port()
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = os.path.dirname(os.path.abspath(args.llama_server)) + ":" + env.get("LD_LIBRARY_PATH", "")
        ub = str(args.batch * 128)
        rate, per = measure([args.llama_server, "-m", args.model, "--embedding", "--pooling", "mean", "--port", str(port),
                             "-t", str(args.threads), "-c", ub, "-b", ub, "-ub", ub, "-np", "1"], port, name, batches, env)
        rows.append(("llama-server", rate, per))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu_name()} ({cpu_flags()}), {args.threads} threads, "
          f"{os.path.basename(args.model)}: {args.requests} requests of {args.batch} texts, one after another\n")
    print("| server | inputs/s | tokens per input |")
    print("| --- | ---: | ---: |")
    for engine, rate, per in rows:
        print(f"| {engine} | {rate:.1f} | {per:.1f} |")


if __name__ == "__main__":
    main()
