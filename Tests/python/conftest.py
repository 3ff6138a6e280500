"""Shared fixtures for the Python test suites: paths to the package, its release binary and the models."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Fixtures"
MODELS = pathlib.Path(os.environ.get("SWIFTLET_MODELS") or pathlib.Path.home() / ".cache/swiftlet/models")
SMOLLM2 = MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA3 = MODELS / "gemma-3-270m-q4_k_m.gguf"
# all-MiniLM-L6-v2, the embedding model: a converted GGUF, or the Hugging Face folder
# `Scripts/fetch-models.sh minilm` fetches, which the `minilm_f32` fixture converts with `swiftlet convert`.
MINILM_F32 = MODELS / "all-MiniLM-L6-v2-f32.gguf"
MINILM_DIR = MODELS / "all-MiniLM-L6-v2"
HAS_MINILM = MINILM_F32.exists() or (MINILM_DIR / "model.safetensors").exists()


@pytest.fixture(scope="session")
def minilm_f32(swiftlet, tmp_path_factory):
    """all-MiniLM-L6-v2 as an F32 GGUF: the one in the models folder, else converted from its folder."""
    if MINILM_F32.exists():
        return MINILM_F32
    out = tmp_path_factory.mktemp("minilm") / "all-MiniLM-L6-v2-f32.gguf"
    subprocess.run([swiftlet, "convert", str(MINILM_DIR), str(out), "--type", "F32"], check=True,
                   capture_output=True, timeout=120)
    return out


@pytest.fixture(scope="session")
def swiftlet():
    """The release `swiftlet` binary (Scripts/test.sh builds it before running these tests)."""
    binary = pathlib.Path(os.environ.get("SWIFTLET_BIN") or ROOT / ".build/release/swiftlet")
    if not binary.exists():
        pytest.fail(f"{binary} not found: run `make release` first")
    return str(binary)


# Set by `make leak-check`, which runs the server tests against a `swiftlet` built with AddressSanitizer
# (LeakSanitizer included): a server's stderr at exit must then hold no sanitizer report.
SANITIZED = bool(os.environ.get("SWIFTLET_SANITIZED"))
SANITIZER_MARKERS = ("ERROR: LeakSanitizer", "ERROR: AddressSanitizer", "SUMMARY: AddressSanitizer",
)


def sanitizer_report(stderr):
    """The sanitizer report in a process's stderr (text), or None when there is none."""
    for marker in SANITIZER_MARKERS:
        at = stderr.find(marker)
        if at >= 0:
            return stderr[max(0, at - 200):at + 6000]
    return None


def model(path):
    if not path.exists():
        pytest.fail(f"model {path} is missing: run Scripts/fetch-models.sh")
    return str(path)


def run(*args, check=True):
    return subprocess.run(list(args), capture_output=True, timeout=120, check=check)
