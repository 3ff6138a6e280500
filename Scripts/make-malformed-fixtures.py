#!/usr/bin/env python3
"""Writes Fixtures/malformed/*.gguf: small GGUF files each broken in one way, and expected.tsv naming the
error each must produce. Built byte by byte here (independently of Swiftlet's writer) so the reader is
tested against files it did not make. Run from the package root: python3 Scripts/make-malformed-fixtures.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(__file__), "..", "Fixtures", "malformed")

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)


def s(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return s(key) + struct.pack("<I", vtype) + payload


def tinfo(name, dims, ggml_type, offset):
    return s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + \
        struct.pack("<IQ", ggml_type, offset)


def gguf(kvs=(), tensors=(), data=b"", version=3, align=32, n_tensors=None, n_kv=None):
    head = b"GGUF" + struct.pack("<IQQ", version,
                                 len(tensors) if n_tensors is None else n_tensors,
                                 len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    if tensors:
        body += b"\0" * ((-len(body)) % align)
    return body + data


ARCH = kv("general.architecture", STR, s("llama"))
F32_TENSOR = tinfo("w", [8], 0, 0)  # 8 floats = 32 bytes
DATA32 = struct.pack("<8f", *range(8))

cases = {}
cases["bad-magic"] = (b"GGUX" + gguf()[4:], "not a GGUF file")
cases["empty"] = (b"", "truncated")
cases["magic-only"] = (b"GGUF", "truncated")
cases["version-1"] = (gguf(version=1), "unsupported GGUF version 1")
cases["version-4"] = (gguf(version=4), "unsupported GGUF version 4")
cases["big-endian"] = (b"GGUF" + struct.pack(">IQQ", 3, 0, 0), "big-endian")
cases["truncated-header"] = (gguf()[:12], "truncated")
valid = gguf([ARCH, kv("general.alignment", U32, struct.pack("<I", 32))], [F32_TENSOR], DATA32)
cases["truncated-in-metadata"] = (valid[:80], "truncated")
cases["truncated-in-tensor-info"] = (valid[:len(valid) - len(DATA32) - 40], "truncated")
cases["truncated-in-data"] = (valid[:-4], "runs past the end")
cases["huge-kv-count"] = (gguf([ARCH], n_kv=2**62), "larger than the file could hold")
cases["huge-tensor-count"] = (gguf([ARCH], n_tensors=2**40), "larger than the file could hold")
cases["huge-string-length"] = (gguf([s("general.name") + struct.pack("<I", STR) + struct.pack("<Q", 2**63) + b"ab"]),
                               "larger than the file could hold")
cases["huge-array-length"] = (gguf([kv("x", ARR, struct.pack("<IQ", U32, 2**50) + b"\0" * 8)]),
                              "larger than the file could hold")
cases["huge-string-array"] = (gguf([kv("x", ARR, struct.pack("<IQ", STR, 2**40))]), "larger than the file could hold")
cases["unknown-value-type"] = (gguf([kv("x", 13, b"\0" * 8)]), "unknown metadata value type 13")
cases["unknown-array-type"] = (gguf([kv("x", ARR, struct.pack("<IQ", 99, 1) + b"\0" * 8)]),
                               "unknown metadata value type 99")
cases["bad-bool"] = (gguf([kv("x", BOOL, b"\x07")]), "neither 0 nor 1")
cases["invalid-utf8-key"] = (gguf([kv(b"bad\xff\xfekey", U8, b"\x01")]), "not valid UTF-8")
cases["invalid-utf8-value"] = (gguf([kv("x", STR, s(b"\xc3\x28"))]), "not valid UTF-8")
cases["duplicate-key"] = (gguf([ARCH, ARCH]), "duplicate metadata key 'general.architecture'")
nested = struct.pack("<IQ", U8, 0)
for _ in range(20):
    nested = struct.pack("<IQ", ARR, 1) + nested
cases["nesting-too-deep"] = (gguf([kv("x", ARR, nested)]), "nested deeper")
cases["alignment-zero"] = (gguf([kv("general.alignment", U32, struct.pack("<I", 0))]), "general.alignment is 0")
cases["alignment-not-power-of-two"] = (gguf([kv("general.alignment", U32, struct.pack("<I", 48))]),
                                       "not a positive power of two")
cases["alignment-float"] = (gguf([kv("general.alignment", F32, struct.pack("<f", 32.0))]), "expected an integer")
cases["alignment-string"] = (gguf([kv("general.alignment", STR, s("32"))]), "expected an integer")
cases["unknown-tensor-type"] = (gguf([ARCH], [tinfo("w", [8], 4, 0)], DATA32), "unknown ggml type 4")
cases["too-many-dimensions"] = (gguf([ARCH], [tinfo("w", [1, 1, 1, 1, 8], 0, 0)], DATA32), "5 dimensions")
cases["dimension-out-of-range"] = (gguf([ARCH], [tinfo("w", [2**63 + 5], 0, 0)], DATA32), "out of range")
cases["dimensions-overflow"] = (gguf([ARCH], [tinfo("w", [2**32, 2**32, 16], 0, 0)], DATA32), "overflows")
cases["not-block-multiple"] = (gguf([ARCH], [tinfo("w", [33], 8, 0)], b"\0" * 64), "not a multiple of its block size 32")
cases["tensor-past-end"] = (gguf([ARCH], [tinfo("w", [64], 0, 0)], DATA32), "runs past the end")
cases["tensor-offset-past-end"] = (gguf([ARCH], [tinfo("w", [8], 0, 2**40)], DATA32), "runs past the end")
cases["misaligned-offset"] = (gguf([ARCH], [tinfo("a", [8], 0, 0), tinfo("b", [4], 0, 36)], DATA32 * 3),
                              "not a multiple of the alignment 32")
cases["tensors-overlap"] = (gguf([ARCH], [tinfo("a", [16], 0, 0), tinfo("b", [8], 0, 32)], DATA32 * 2),
                            "overlap")
cases["duplicate-tensor"] = (gguf([ARCH], [tinfo("w", [8], 0, 0), tinfo("w", [8], 0, 32)], DATA32 * 2),
                             "duplicate tensor name 'w'")
cases["truncated-before-data-padding"] = (gguf([ARCH], [F32_TENSOR], b"")[:-3], "truncated")

os.makedirs(OUT, exist_ok=True)
for old in os.listdir(OUT):
    os.remove(os.path.join(OUT, old))
with open(os.path.join(OUT, "expected.tsv"), "w") as manifest:
    manifest.write("# file\texpected error message fragment\n")
    for name, (content, expected) in sorted(cases.items()):
        with open(os.path.join(OUT, name + ".gguf"), "wb") as f:
            f.write(content)
        manifest.write(f"{name}.gguf\t{expected}\n")
print(f"wrote {len(cases)} malformed files to {os.path.normpath(OUT)}")
