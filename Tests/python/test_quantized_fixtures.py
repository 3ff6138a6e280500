"""The quantized tiny fixtures (written by `swiftlet make-fixtures` with SwiftletKernels' quantizeRow) are
bit-identical to Python gguf's quantizers, which port ggml's reference quantizers bit for bit; and
Python gguf dequantizes them close to the F32 originals."""
import numpy as np
import pytest
from gguf import GGUFReader
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

from conftest import FIXTURES

# Worst case per format: half a step (Q8_0: 1/254, Q4_1: 1/30 of the range), and for Q4_0 one whole step
# (1/8 of the largest magnitude) where the side opposite the largest value clips at +7 steps.
CASES = [("q8_0", T.Q8_0, 0.01), ("q4_0", T.Q4_0, 0.126), ("q4_1", T.Q4_1, 0.07)]


@pytest.mark.parametrize("name,qtype,tolerance", CASES, ids=[c[0] for c in CASES])
def test_quantized_fixture_matches_reference_quantizer(name, qtype, tolerance):
    originals = GGUFReader(FIXTURES / "tiny-llama-f32.gguf")
    quantized = GGUFReader(FIXTURES / f"tiny-llama-{name}.gguf")
    matrices = 0
    for a, b in zip(originals.tensors, quantized.tensors):
        assert a.name == b.name
        rows = np.array(a.data, dtype=np.float32).reshape(-1, int(a.shape[0]))
        if len(a.shape) < 2:
            assert b.tensor_type == T.F32
            continue
        matrices += 1
        assert b.tensor_type == qtype
        assert quantize(rows, qtype).tobytes() == np.array(b.data).tobytes(), a.name
        back = dequantize(np.array(b.data), qtype).reshape(rows.shape)
        scale = np.abs(rows).max()
        assert np.abs(back - rows).max() <= tolerance * scale, a.name
    assert matrices == 15
