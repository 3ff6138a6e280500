"""SwiftletKernels' dequantization against Python gguf's (a port of ggml's reference code): random blocks of
every type Swiftlet reads, and real tensors of both models."""
import numpy as np
import pytest
import gguf
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize

from conftest import GEMMA3, SMOLLM2, model, run

TYPES = [T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]

# Byte offsets of the F16 scales in each block, set to small finite values (random bytes could be NaN).
HALF_OFFSETS = {T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2],
                T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def random_blocks(qtype, rows, columns, rng):
    block, size = GGML_QUANT_SIZES[qtype]
    if qtype == T.F16:
        return rng.standard_normal((rows, columns)).astype(np.float16).view(np.uint8)
    if qtype == T.BF16:
        bits = rng.standard_normal((rows, columns)).astype(np.float32).view(np.uint32) >> 16
        return bits.astype(np.uint16).view(np.uint8)
    data = rng.integers(0, 256, size=(rows, columns // block, size), dtype=np.uint8)
    for offset in HALF_OFFSETS[qtype]:
        scales = (rng.random((rows, columns // block)) * 0.1 + 0.001).astype(np.float16).view(np.uint8).reshape(rows, columns // block, 2)
        data[:, :, offset:offset + 2] = scales
    return data.reshape(rows, -1)


def swiftlet_rows(swiftlet, path, name, rows=None):
    args = [swiftlet, "dequantize", str(path), name] + (["--rows", str(rows)] if rows else [])
    return np.frombuffer(run(*args).stdout, dtype="<f4")


@pytest.mark.parametrize("qtype", TYPES, ids=lambda t: t.name)
def test_random_blocks(swiftlet, tmp_path, qtype):
    rng = np.random.default_rng(int(qtype))
    rows, columns = 8, 512
    raw = random_blocks(qtype, rows, columns, rng)
    path = tmp_path / f"{qtype.name}.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor("t", raw, raw_shape=raw.shape, raw_dtype=qtype)  # a byte shape, as gguf takes it for raw blocks
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    expected = dequantize(raw, qtype).reshape(-1).astype(np.float32)
    got = swiftlet_rows(swiftlet, path, "t")
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("path", [SMOLLM2, GEMMA3], ids=["smollm2", "gemma3"])
def test_real_tensors(swiftlet, path):
    reader = GGUFReader(model(path))
    seen = set()
    for t in reader.tensors:
        if t.tensor_type in seen or len(t.shape) < 2:
            continue
        seen.add(t.tensor_type)
        rows = 16
        columns = int(t.shape[0])
        raw = np.array(t.data).reshape(int(t.shape[1]) if len(t.shape) == 2 else -1, -1)[:rows]
        expected = dequantize(raw, t.tensor_type).reshape(-1).astype(np.float32)
        got = swiftlet_rows(swiftlet, path, t.name, rows)
        assert got.size == rows * columns, t.name
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, err_msg=t.name)
    assert len(seen) >= 2
