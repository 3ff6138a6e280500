#!/usr/bin/env python3
"""Load generator for an OpenAI-compatible server: N concurrent streaming chat completions, measured.

For every N it sends N streaming `/v1/chat/completions` requests at once (distinct prompts, temperature 0,
`max_tokens` 128 by default, end of generation suppressed so every stream runs to `max_tokens`) and prints:

- aggregate generated tokens/s: all completion tokens / wall time from the first request sent to the end of
  the last stream;
- mean and max time to first token (first non-empty content chunk, from that request's own send time);
- the worst inter-token gap: the longest time between two consecutive content chunks of any one stream.

Completion tokens come from the `usage` the server reports at the end of the stream (asked for with
`stream_options.include_usage`); a server that reports none is counted by content chunks (marked `~`).

Against a running server:

    python3 Benchmarks/serve-load.py --url http://127.0.0.1:8080 --n 1,4,8

Starting the servers itself, one after the other, with `--parallel N` (Swiftlet) and `-np N -c CTX*N`
(llama-server: its -c is the total context shared by the slots) so each sequence has the same context:

    python3 Benchmarks/serve-load.py --swiftlet .build/release/swiftlet \\
        --llama-server PATH/llama-server --model MODEL.gguf --n 1,4,8 [--ctx 1024] [--threads 2] [--json FILE]

llama.cpp is not part of this repository: build it yourself and pass its llama-server (set LD_LIBRARY_PATH
if its libraries are not installed; by default the script adds the binary's own directory).

Ending generation early would make the engines' token counts differ, so every request asks not to end
at end-of-generation tokens: `"ignore_eos": true` (llama-server's field) and, because Swiftlet does not read
that field, `logit_bias` -100 on the model's end-of-generation token ids (read from the GGUF given with
--model, or given with --eog-ids). The prompts ask for long answers as well, and the report shows the
fewest completion tokens any stream produced, so a short stream is visible.

Only the Python standard library is used (plain http.client; the SSE stream is parsed here).
"""
import argparse
import datetime
import http.client
import json
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from host import cpu_name

TOPICS = [
    "volcanoes", "the history of the printing press", "how bees make honey", "the water cycle",
    "black holes", "the Roman Empire", "photosynthesis", "the invention of the telephone",
    "ocean currents", "the human heart", "chess openings", "the Silk Road", "glaciers",
    "electric motors", "the Renaissance", "coral reefs", "the moon landing", "earthquakes",
    "the immune system", "medieval castles", "rainforests", "the steam engine", "jazz music",
    "the periodic table", "migratory birds", "ancient Egypt", "solar power", "the Great Wall of China",
    "tides", "the invention of paper", "deserts", "the Olympic Games",
]

# Token texts llama.cpp treats as end of generation (llama_vocab::impl::load, "find EOT token").
EOG_TEXTS = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
             "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>", "<|eom_id|>",
             "<|return|>", "<|call|>"}


def prompt(k):
    topic = TOPICS[k % len(TOPICS)]
    suffix = f" (part {k // len(TOPICS) + 1})" if k >= len(TOPICS) else ""
    return f"Tell me about {topic}{suffix}. Write a long, detailed essay with many paragraphs."


# MARK: GGUF metadata (end-of-generation token ids)

def gguf_eog_ids(path):
    """The end-of-generation token ids of a GGUF model: its eos/eot/eom ids and tokens named like EOG."""
    with open(path, "rb") as f:
        def read(fmt):
            size = struct.calcsize(fmt)
            data = f.read(size)
            if len(data) != size:
                raise ValueError(f"{path}: truncated GGUF header")
            return struct.unpack("<" + fmt, data)[0]

        def string():
            return f.read(read("Q")).decode("utf-8", "replace")

        scalars = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

        def value(kind, keep=True):
            if kind in scalars:
                return read(scalars[kind])
            if kind == 8:
                return string()
            if kind == 9:
                inner, count = read("I"), read("Q")
                if not keep and inner in scalars:
                    f.seek(count * struct.calcsize(scalars[inner]), 1)
                    return None
                return [value(inner) for _ in range(count)]
            raise ValueError(f"{path}: unknown GGUF value type {kind}")

        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        read("I")  # version
        read("Q")  # tensor count
        ids, tokens = set(), None
        for _ in range(read("Q")):
            key, kind = string(), read("I")
            wanted = key == "tokenizer.ggml.tokens" or key in (
                "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id")
            v = value(kind, keep=wanted)
            if key == "tokenizer.ggml.tokens":
                tokens = v
            elif wanted:
                ids.add(int(v))
    for i, text in enumerate(tokens or []):
        if text in EOG_TEXTS:
            ids.add(i)
    return sorted(ids)


# MARK: One stream

class Stream:
    """One streaming chat completion, timed chunk by chunk."""

    def __init__(self, url, model, k, max_tokens, eog_ids, timeout):
        self.url, self.k, self.timeout = url, k, timeout
        body = {"messages": [{"role": "user", "content": prompt(k)}], "stream": True,
                "stream_options": {"include_usage": True}, "max_tokens": max_tokens, "temperature": 0,
                "ignore_eos": True}
        if model:
            body["model"] = model
        if eog_ids:
            body["logit_bias"] = {str(i): -100 for i in eog_ids}
        self.body = json.dumps(body).encode()
        self.sent = self.first = self.end = None
        self.chunk_times, self.usage, self.error, self.finish = [], None, None, None

    def connect(self):
        self.conn = connection(self.url, self.timeout)
        self.conn.connect()

    def run(self):
        try:
            self.sent = time.perf_counter()
            self.conn.request("POST", path(self.url, "/v1/chat/completions"), body=self.body,
                              headers={"Content-Type": "application/json", "Accept": "text/event-stream"})
            resp = self.conn.getresponse()
            if resp.status != 200:
                self.error = f"HTTP {resp.status}: {resp.read()[:300]!r}"
                return
            self.read_events(resp)
        except (OSError, http.client.HTTPException) as e:
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.end = time.perf_counter()
            self.conn.close()

    def read_events(self, resp):
        data = []
        while True:
            line = resp.readline()
            if not line:
                return
            line = line.rstrip(b"\r\n")
            if line.startswith(b"data:"):
                data.append(line[5:].lstrip())
                continue
            if line or not data:
                continue  # a comment, another field, or a blank line between events
            payload, data = b"\n".join(data), []
            if payload == b"[DONE]":
                return
            self.event(json.loads(payload), time.perf_counter())

    def event(self, obj, now):
        if "error" in obj:
            self.error = json.dumps(obj["error"])[:300]
            return
        if obj.get("usage"):
            self.usage = obj["usage"]
        for choice in obj.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content") or delta.get("reasoning_content"):
                self.chunk_times.append(now)
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]

    @property
    def tokens(self):
        if self.usage and "completion_tokens" in self.usage:
            return self.usage["completion_tokens"]
        return len(self.chunk_times)

    @property
    def ttft(self):
        return self.chunk_times[0] - self.sent if self.chunk_times else None

    @property
    def worst_gap(self):
        return max((b - a for a, b in zip(self.chunk_times, self.chunk_times[1:])), default=0.0)


# MARK: HTTP helpers

def connection(url, timeout):
    u = urllib.parse.urlsplit(url)
    cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    return cls(u.hostname, u.port, timeout=timeout)


def path(url, route):
    base = urllib.parse.urlsplit(url).path.rstrip("/")
    if base.endswith("/v1") and route.startswith("/v1/"):
        base = base[:-3]
    return base + route


def get(url, route, timeout=5):
    conn = connection(url, timeout)
    try:
        conn.request("GET", path(url, route))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def model_id(url):
    """The first model id /v1/models lists (Swiftlet rejects a request naming another), or None."""
    try:
        status, body = get(url, "/v1/models")
        if status == 200:
            return json.loads(body)["data"][0]["id"]
    except (OSError, http.client.HTTPException, ValueError, KeyError, IndexError):
        pass
    return None


# MARK: One measurement

def measure(url, n, max_tokens, eog_ids, timeout):
    model = model_id(url)
    warm = Stream(url, model, 999, 8, eog_ids, timeout)
    warm.connect()
    warm.run()
    if warm.error:
        raise RuntimeError(f"warm-up request to {url} failed: {warm.error}")
    streams = [Stream(url, model, k, max_tokens, eog_ids, timeout) for k in range(n)]
    for s in streams:
        s.connect()
    barrier = threading.Barrier(n)

    def go(s):
        barrier.wait()
        s.run()

    threads = [threading.Thread(target=go, args=(s,)) for s in streams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    start = min(s.sent for s in streams)
    wall = max(s.end for s in streams) - start
    ok = [s for s in streams if not s.error]
    tokens = sum(s.tokens for s in ok)
    ttfts = [s.ttft for s in ok if s.ttft is not None]
    return {
        "n": n, "streams_ok": len(ok), "errors": [s.error for s in streams if s.error],
        "completion_tokens": tokens, "min_stream_tokens": min((s.tokens for s in ok), default=0),
        "tokens_from_usage": all(s.usage is not None for s in ok),
        "wall_s": round(wall, 3), "tokens_per_s": round(tokens / wall, 2) if wall > 0 else 0.0,
        "ttft_mean_s": round(statistics.mean(ttfts), 3) if ttfts else None,
        "ttft_max_s": round(max(ttfts), 3) if ttfts else None,
        "worst_gap_s": round(max((s.worst_gap for s in ok), default=0.0), 3),
        "finish_reasons": sorted({s.finish or "none" for s in ok}),
    }


# MARK: Servers started here

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process started for one measurement; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, name, cmd, port, env=None):
        self.name, self.cmd, self.url = name, cmd, f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"serve-load-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)

    def wait_healthy(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if get(self.url, "/health", timeout=2)[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} was not healthy after {timeout} s:\n{self.tail()}")

    def tail(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()[-3000:]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


def swiftlet_server(binary, model, n, ctx, threads):
    port = free_port()
    cmd = [binary, "serve", "--model", model, "--port", str(port), "--parallel", str(n), "--ctx", str(ctx),
           "--threads", str(threads), "--log-level", "warning"]
    return Server("swiftlet", cmd, port)


def llama_server(binary, model, n, ctx, threads):
    port = free_port()
    env = dict(os.environ)
    libdir = os.path.dirname(os.path.abspath(binary))
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (libdir, env.get("LD_LIBRARY_PATH")) if p)
    cmd = [binary, "-m", model, "-np", str(n), "-c", str(ctx * n), "-t", str(threads), "-tb", str(threads),
           "--host", "127.0.0.1", "--port", str(port), "--no-webui"]
    return Server("llama-server", cmd, port, env)


# MARK: Output

def fmt(v, unit=""):
    return "–" if v is None else f"{v:.2f}{unit}" if isinstance(v, float) else f"{v}{unit}"


def markdown(results, engines):
    lines = []
    head = ["N"]
    for e in engines:
        head += [f"{e} tok/s", f"{e} TTFT mean / max (s)", f"{e} worst gap (s)", f"{e} tokens (min/stream)"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---:|" * len(head))
    for n in sorted({r["n"] for r in results}):
        row = [str(n)]
        for e in engines:
            r = next((r for r in results if r["n"] == n and r["engine"] == e), None)
            if r is None:
                row += ["–"] * 4
                continue
            approx = "" if r["tokens_from_usage"] else "~"
            failed = f" ({len(r['errors'])} failed)" if r["errors"] else ""
            row += [fmt(r["tokens_per_s"]) + failed, f"{fmt(r['ttft_mean_s'])} / {fmt(r['ttft_max_s'])}",
                    fmt(r["worst_gap_s"]), f"{approx}{r['completion_tokens']} ({r['min_stream_tokens']})"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running server (base URL, with or without /v1)")
    ap.add_argument("--swiftlet", help="the swiftlet binary to start (with --model)")
    ap.add_argument("--llama-server", help="llama.cpp's llama-server binary to start (with --model)")
    ap.add_argument("--model", help="GGUF model: served by the started servers; its EOG ids are suppressed")
    ap.add_argument("--n", default="1,4,8", help="concurrent streams, comma-separated (default 1,4,8)")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--ctx", type=int, default=1024, help="context per sequence of started servers")
    ap.add_argument("--threads", type=int, default=2, help="threads of started servers")
    ap.add_argument("--eog-ids", help="token ids to suppress (comma-separated); default: from --model")
    ap.add_argument("--timeout", type=float, default=600, help="socket timeout per request, seconds")
    ap.add_argument("--json", nargs="?", const="-", metavar="FILE",
                    help="write the results as JSON to FILE ('-' or nothing: stdout, instead of the table)")
    args = ap.parse_args()

    try:
        ns = [int(x) for x in args.n.split(",") if x.strip()]
    except ValueError:
        ap.error(f"--n must be comma-separated integers, got {args.n!r}")
    if not ns or min(ns) < 1:
        ap.error("--n needs positive integers")
    if args.url and (args.swiftlet or args.llama_server):
        ap.error("give either --url or --swiftlet/--llama-server, not both")
    if not args.url and not (args.swiftlet or args.llama_server):
        ap.error("give --url, or --swiftlet and/or --llama-server with --model")
    if not args.url and not args.model:
        ap.error("--swiftlet/--llama-server need --model")
    if args.eog_ids:
        eog = [int(x) for x in args.eog_ids.split(",") if x.strip()]
    elif args.model:
        eog = gguf_eog_ids(args.model)
    else:
        eog = []
        print("serve-load: no --model or --eog-ids: only `ignore_eos` asks the server not to stop early",
              file=sys.stderr)

    results, engines = [], []
    if args.url:
        engines = [args.url]
        for n in ns:
            r = measure(args.url, n, args.max_tokens, eog, args.timeout)
            results.append({"engine": args.url, **r})
            print(f"serve-load: {args.url} N={n}: {r['tokens_per_s']} tok/s", file=sys.stderr)
    else:
        starters = [(name, start, binary) for name, start, binary in (
            ("swiftlet", swiftlet_server, args.swiftlet), ("llama-server", llama_server, args.llama_server))
            if binary]
        engines = [name for name, _, _ in starters]
        for n in ns:
            for name, start, binary in starters:
                with start(binary, args.model, n, args.ctx, args.threads) as server:
                    server.wait_healthy()
                    r = measure(server.url, n, args.max_tokens, eog, args.timeout)
                results.append({"engine": name, **r})
                print(f"serve-load: {name} N={n}: {r['tokens_per_s']} tok/s", file=sys.stderr)

    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu": cpu_name(),
              "model": args.model and os.path.basename(args.model), "max_tokens": args.max_tokens,
              "ctx_per_sequence": None if args.url else args.ctx, "threads": None if args.url else args.threads,
              "eog_ids_suppressed": eog, "results": results}
    if args.json:
        text = json.dumps(report, indent=2)
        if args.json == "-":
            print(text)
            return
        with open(args.json, "w") as f:
            f.write(text + "\n")
    settings = f"max_tokens {args.max_tokens}, temperature 0, EOG suppressed {eog or 'by ignore_eos only'}"
    if not args.url:
        settings += f", ctx {args.ctx}/sequence, {args.threads} threads"
    print(f"{report['date']}, {report['cpu']}, {report['model'] or args.url}; {settings}\n")
    print(markdown(results, engines))
    print("\ntok/s: completion tokens of all streams / wall time from the first request sent to the last "
          "stream's end. TTFT: first content chunk. Worst gap: longest pause between two content chunks of "
          "one stream. Tokens: all streams (fewest in one stream); ~ = counted by chunks, no usage reported.")


if __name__ == "__main__":
    main()
