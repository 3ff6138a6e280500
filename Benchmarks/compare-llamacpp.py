#!/usr/bin/env python3
"""Side by side with llama.cpp: runs `swiftlet bench` and llama.cpp's `llama-bench` alternately on the same
files with the same settings, then prints one markdown table (median of the passes per engine), with the
date, the CPU and the settings, ready for Docs/PERFORMANCE.md.

    python3 Benchmarks/compare-llamacpp.py --llama-bench PATH/llama-bench [--swiftlet .build/release/swiftlet]
        [--passes 2] [-p 512] [-n 128] [-d 0] [-t 2] [-r 3] [--label NAME] MODEL.gguf [MODEL.gguf ...]

llama.cpp is not part of this repository: build it yourself (Docs/Numerics.md says which build Swiftlet's
numbers follow) and pass its llama-bench. A second Swiftlet binary can be compared instead with
--baseline PATH (for "did this change slow anything down").
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

from host import cpu_flags, cpu_name


def run_json(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"compare-llamacpp: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout)


def test_name(row):
    name = f"pp{row['n_prompt']}" if row["n_prompt"] else f"tg{row['n_gen']}"
    return name + (f" @ d{row['n_depth']}" if row.get("n_depth") else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--swiftlet", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "swiftlet"))
    engines = ap.add_mutually_exclusive_group(required=True)
    engines.add_argument("--llama-bench", help="llama.cpp's llama-bench")
    engines.add_argument("--baseline", help="another swiftlet binary")
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("-p", default="512")
    ap.add_argument("-n", default="128")
    ap.add_argument("-d", default="0")
    ap.add_argument("-t", default="2")
    ap.add_argument("-r", default="3")
    ap.add_argument("--label", default=None, help="the other engine's name in the table")
    args = ap.parse_args()

    common = ["-p", args.p, "-n", args.n, "-d", args.d, "-t", args.t, "-r", args.r, "-o", "json"]
    other_name = args.label or ("llama.cpp" if args.llama_bench else "baseline")
    env = dict(os.environ)
    if args.llama_bench:
        env["LD_LIBRARY_PATH"] = os.path.dirname(os.path.abspath(args.llama_bench)) + ":" + env.get("LD_LIBRARY_PATH", "")
    results = {}  # (model, test) -> {"swiftlet": [...], other: [...]}
    start = datetime.datetime.now(datetime.timezone.utc)
    for _ in range(args.passes):
        for model in args.models:
            ours = run_json([args.swiftlet, "bench", "-m", model] + common)
            if args.llama_bench:
                theirs = run_json([args.llama_bench, "-m", model] + common, env)
            else:
                theirs = run_json([args.baseline, "bench", "-m", model] + common)
            for engine, rows in (("swiftlet", ours), (other_name, theirs)):
                for row in rows:
                    key = (os.path.basename(model), test_name(row))
                    results.setdefault(key, {}).setdefault(engine, []).append(row["avg_ts"])
    end = datetime.datetime.now(datetime.timezone.utc)

    print(f"{start:%Y-%m-%d}, {start:%H:%M}–{end:%H:%M} UTC, {cpu_name()} ({cpu_flags()}), {args.t} threads; "
          f"`python3 Benchmarks/compare-llamacpp.py {'--llama-bench' if args.llama_bench else '--baseline'} … "
          f"-p {args.p} -n {args.n} -d {args.d} -t {args.t} -r {args.r} --passes {args.passes}`; "
          f"tokens/s, median of {args.passes} alternating passes of {args.r} runs each.\n")
    print(f"| file | test | Swiftlet | {other_name} | ratio |")
    print("| --- | --- | ---: | ---: | ---: |")
    for (model, test), by in results.items():
        ours = statistics.median(by.get("swiftlet", [0]))
        theirs = statistics.median(by.get(other_name, [0]))
        ratio = f"{ours / theirs:.2f}×" if theirs else "–"
        print(f"| {model} | {test} | {ours:.1f} | {theirs:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
