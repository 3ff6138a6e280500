#!/usr/bin/env python3
"""Side by side with llama.cpp: runs `swiftlet bench` and llama.cpp's `llama-bench` alternately on the same
files with the same settings, then prints markdown tables (median of the passes per engine) with the date,
the CPU and its flags, the settings, each engine's peak RSS, and each file's generation speed as a share of
the host's memory read bandwidth — ready for Docs/PERFORMANCE.md, or written into it with --update.

    python3 Benchmarks/compare-llamacpp.py --llama-bench PATH/llama-bench [--swiftlet .build/release/swiftlet]
        [--passes 2] [-p 512] [-n 128] [-d 0,1024] [-t 1,2] [-r 3] [--label NAME] [--llama-build=FLAGS]
        [--standard-files | --large-files] [--update Docs/PERFORMANCE.md [--section NAME]] [MODEL.gguf ...]

--standard-files adds the files Docs/PERFORMANCE.md reports on, making the missing ones first: SmolLM2
(Q4_1 as fetched by Scripts/fetch-models.sh, and Q4_0, Q8_0 and F16 copies written by `swiftlet quantize`),
Gemma 3 270M Q4_K_M, and the random-weight files of Benchmarks/make-bench-models.py (Llama-3.2-1B's shape in
Q4_K_M and Q8_0, a Qwen3-30B-A3B-like MoE in Q4_K_M), all under $SWIFTLET_MODELS (~/.cache/swiftlet/models).
--large-files adds (and makes) Llama-3.1-8B's shape in Q4_K_M and Q8_0 (4.5 and 7.5 GiB): a run of its own,
since one pass over them takes as long as the standard files' whole run. --section NAME writes between
`<!-- compare-llamacpp NAME: begin -->` and its end marker instead, so each run keeps its own table.

Bandwidth: `swiftlet bench --bandwidth` measures the host's read rate on each thread count; a token of
generation reads every weight matrix once (the output matrix included, the token embedding only for the
token's row unless it is also the output; of a mixture of experts only the used experts' share), so
bandwidth ÷ those bytes is the fastest a single stream can decode on a file past the cache. The "of limit"
column is the measured rate over that bound (the KV cache read at depth is left out of the bytes).

llama.cpp is not part of this repository: build it yourself (Docs/Numerics.md says which build Swiftlet's
numbers follow) and pass its llama-bench; --llama-build=FLAGS names its CMake flags in the header (with
`=`, since they start with a dash). A second Swiftlet binary can be compared instead with --baseline PATH
(for "did this change slow anything down").
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

from host import cpu_flags, cpu_name


def markers(section=None):
    """The comments that enclose a run's tables in the document --update writes."""
    name = f"compare-llamacpp {section}" if section else "compare-llamacpp"
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.environ.get("SWIFTLET_MODELS", os.path.expanduser("~/.cache/swiftlet/models"))


def run_json(cmd, env=None):
    """The command's JSON output and its peak resident set in MiB (GNU time's %M)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", t.name] + cmd, capture_output=True, text=True, env=env)
        if p.returncode != 0:
            sys.exit(f"compare-llamacpp: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
        rss = int(t.read().strip().splitlines()[-1]) / 1024
    return json.loads(p.stdout), rss


def test_name(row):
    name = f"pp{row['n_prompt']}" if row["n_prompt"] else f"tg{row['n_gen']}"
    return name + (f" @ d{row['n_depth']}" if row.get("n_depth") else "")


def bytes_per_token(path):
    """Weight bytes one generated token reads (see the module's description)."""
    import gguf
    r = gguf.GGUFReader(path)
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()

    def field(key, default):
        f = r.fields.get(f"{arch}.{key}")
        return int(f.parts[-1][0]) if f is not None else default

    used, experts = field("expert_used_count", 0), field("expert_count", 0)
    names = {t.name for t in r.tensors}
    total = 0
    for t in r.tensors:
        if len(t.shape) < 2:
            continue
        if t.name == "token_embd.weight" and "output.weight" in names:
            total += int(t.n_bytes) // int(t.shape[-1])  # one row
        elif "_exps." in t.name and experts:
            total += int(t.n_bytes) * used // experts
        else:
            total += int(t.n_bytes)
    return total


def standard_files(swiftlet):
    """The files Docs/PERFORMANCE.md reports on, made where missing."""
    subprocess.run([os.path.join(HERE, "..", "Scripts", "fetch-models.sh"), "smollm2"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(HERE, "..", "Scripts", "fetch-models.sh"), "gemma3"], check=True, stdout=subprocess.DEVNULL)
    smol = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")
    bench = os.path.join(MODELS, "bench")
    os.makedirs(bench, exist_ok=True)
    files = [smol]
    for t in ("Q4_0", "Q8_0", "F16"):
        out = os.path.join(bench, f"SmolLM2-135M-Instruct.{t}.gguf")
        if not os.path.exists(out):
            subprocess.run([swiftlet, "quantize", smol, out, t], check=True)
        files.append(out)
    files.append(os.path.join(MODELS, "gemma-3-270m-q4_k_m.gguf"))
    subprocess.run([sys.executable, os.path.join(HERE, "make-bench-models.py"), bench, "--only", "llama-1b", "qwen3moe-a3b"],
                   check=True, stdout=subprocess.DEVNULL)
    files += [os.path.join(bench, n) for n in ("llama-1b-q4_k_m.gguf", "llama-1b-q8_0.gguf", "qwen3moe-a3b-q4_k_m.gguf")]
    return files


def large_files():
    """Llama-3.1-8B's shape in Q4_K_M and Q8_0, made where missing."""
    bench = os.path.join(MODELS, "bench")
    subprocess.run([sys.executable, os.path.join(HERE, "make-bench-models.py"), bench, "--only", "llama-8b"],
                   check=True, stdout=subprocess.DEVNULL)
    return [os.path.join(bench, n) for n in ("llama-8b-q4_k_m.gguf", "llama-8b-q8_0.gguf")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*")
    ap.add_argument("--swiftlet", default=os.path.join(HERE, "..", ".build", "release", "swiftlet"))
    engines = ap.add_mutually_exclusive_group(required=True)
    engines.add_argument("--llama-bench", help="llama.cpp's llama-bench")
    engines.add_argument("--baseline", help="another swiftlet binary")
    ap.add_argument("--llama-build", default="", help="how llama-bench was built (CMake flags), for the header")
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("-p", default="512")
    ap.add_argument("-n", default="128")
    ap.add_argument("-d", default="0,1024")
    ap.add_argument("-t", default="1,2")
    ap.add_argument("-r", default="3")
    ap.add_argument("--label", default=None, help="the other engine's name in the table")
    ap.add_argument("--standard-files", action="store_true", help="add (and make) the files PERFORMANCE.md reports on")
    ap.add_argument("--large-files", action="store_true", help="add (and make) the 8B-shaped files")
    ap.add_argument("--update", metavar="FILE", help="replace the text between the section's markers in FILE")
    ap.add_argument("--section", default=None, help="the marked section --update replaces (default: the main one)")
    args = ap.parse_args()
    models = ((standard_files(args.swiftlet) if args.standard_files else [])
              + (large_files() if args.large_files else []) + args.models)
    if not models:
        sys.exit("compare-llamacpp: no model files (give paths, --standard-files or --large-files)")

    threads = [int(t) for t in args.t.split(",")]
    common = ["-p", args.p, "-n", args.n, "-d", args.d, "-t", args.t, "-r", args.r, "-o", "json"]
    other_name = args.label or ("llama.cpp" if args.llama_bench else "baseline")
    env = dict(os.environ)
    if args.llama_bench:
        env["LD_LIBRARY_PATH"] = os.path.dirname(os.path.abspath(args.llama_bench)) + ":" + env.get("LD_LIBRARY_PATH", "")
    start = datetime.datetime.now(datetime.timezone.utc)
    bandwidth = {}
    out = subprocess.run([args.swiftlet, "bench", "--bandwidth", "-t", args.t], capture_output=True, text=True, check=True)
    for line, t in zip(out.stdout.strip().splitlines(), threads):
        bandwidth[t] = float(line.split(":")[1].split()[0]) * 1e9
    results = {}  # (model, threads, test) -> {engine: [t/s, ...]}
    rss = {}  # (model, engine) -> [MiB, ...]
    for _ in range(args.passes):
        for model in models:
            ours, our_rss = run_json([args.swiftlet, "bench", "-m", model] + common)
            if args.llama_bench:
                theirs, their_rss = run_json([args.llama_bench, "-m", model] + common, env)
            else:
                theirs, their_rss = run_json([args.baseline, "bench", "-m", model] + common)
            name = os.path.basename(model)
            for engine, rows, peak in (("swiftlet", ours, our_rss), (other_name, theirs, their_rss)):
                rss.setdefault((name, engine), []).append(peak)
                for row in rows:
                    key = (name, int(row["n_threads"]), test_name(row))
                    results.setdefault(key, {}).setdefault(engine, []).append(row["avg_ts"])
    end = datetime.datetime.now(datetime.timezone.utc)
    weights = {os.path.basename(m): bytes_per_token(m) for m in models}

    text = [f"{start:%Y-%m-%d}, {start:%H:%M}–{end:%H:%M} UTC, {cpu_name()} ({cpu_flags()}); read bandwidth "
            + ", ".join(f"{bandwidth[t] / 1e9:.1f} GB/s on {t} thread{'s' if t > 1 else ''}" for t in threads)
            + f". `python3 Benchmarks/compare-llamacpp.py {'--llama-bench' if args.llama_bench else '--baseline'} … "
            f"-p {args.p} -n {args.n} -d {args.d} -t {args.t} -r {args.r} --passes {args.passes}"
            + (" --standard-files" if args.standard_files else "") + (" --large-files" if args.large_files else "")
            + "`" + (f"; llama.cpp built with `{args.llama_build}`" if args.llama_build else "")
            + "; tokens/s, median of "
            f"{args.passes} alternating passes of {args.r} runs each. \"of limit\": Swiftlet's generation rate × the "
            "weight bytes a token reads ÷ the read bandwidth.", ""]
    for t in threads:
        text += [f"**{t} thread{'s' if t > 1 else ''}**", "",
                 f"| file | test | Swiftlet | {other_name} | ratio | of limit |", "| --- | --- | ---: | ---: | ---: | ---: |"]
        for (model, th, test), by in results.items():
            if th != t:
                continue
            ours = statistics.median(by.get("swiftlet", [0]))
            theirs = statistics.median(by.get(other_name, [0]))
            ratio = f"{ours / theirs:.2f}×" if theirs else "–"
            limit = f"{100 * ours * weights[model] / bandwidth[t]:.0f}%" if test.startswith("tg") else ""
            text.append(f"| {model} | {test} | {ours:.1f} | {theirs:.1f} | {ratio} | {limit} |")
        text.append("")
    text += [f"Peak resident memory of a whole run (MiB, median of the passes; `/usr/bin/time`):", "",
             f"| file | weights read per token (MiB) | Swiftlet | {other_name} |", "| --- | ---: | ---: | ---: |"]
    for model in weights:
        text.append(f"| {model} | {weights[model] / 2**20:.0f} | {statistics.median(rss[(model, 'swiftlet')]):.0f} | "
                    f"{statistics.median(rss[(model, other_name)]):.0f} |")
    report = "\n".join(text)
    if args.update:
        BEGIN, END = markers(args.section)
        with open(args.update) as f:
            doc = f.read()
        if BEGIN not in doc or END not in doc:
            sys.exit(f"compare-llamacpp: {args.update} has no {BEGIN} … {END} section")
        doc = doc[:doc.index(BEGIN) + len(BEGIN)] + "\n" + report + "\n" + doc[doc.index(END):]
        with open(args.update, "w") as f:
            f.write(doc)
    print(report)


if __name__ == "__main__":
    main()
