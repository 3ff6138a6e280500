#!/usr/bin/env python3
"""Records llama.cpp's grammar masks for Fixtures/grammar/llama_masks_smollm2.json.

Loads SmolLM2's vocabulary through a prebuilt libllama (vocab only), builds llama.cpp's grammar sampler
(llama_sampler_init_grammar) for a few grammars, and walks each with seeded random choices among the
allowed tokens, recording at every step which tokens of a fixed subset of the vocabulary the sampler's
`apply` leaves, as a bitmap over the subset (llama.cpp judges each token alone, so a subset's verdicts
are the full vocabulary's).

Usage: LLAMA_LIB=/path/to/libllama.so python3 Scripts/record-grammar-masks.py MODEL.gguf
"""
import base64, ctypes, json, os, random, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
lib = ctypes.CDLL(os.environ.get("LLAMA_LIB", "/work/llamacpp/build-avx2/bin/libllama.so"))


class ModelParams(ctypes.Structure):  # llama.h's llama_model_params (b11312)
    _fields_ = [("devices", ctypes.c_void_p), ("tensor_buft_overrides", ctypes.c_void_p),
                ("n_gpu_layers", ctypes.c_int32), ("split_mode", ctypes.c_int), ("load_mode", ctypes.c_int),
                ("lazy_mode", ctypes.c_int), ("main_gpu", ctypes.c_int32), ("tensor_split", ctypes.c_void_p),
                ("progress_callback", ctypes.c_void_p), ("progress_callback_user_data", ctypes.c_void_p),
                ("kv_overrides", ctypes.c_void_p), ("vocab_only", ctypes.c_bool), ("check_tensors", ctypes.c_bool),
                ("use_extra_bufts", ctypes.c_bool), ("no_host", ctypes.c_bool), ("no_alloc", ctypes.c_bool),
                ("load_mtp", ctypes.c_bool)]


class TokenData(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int32), ("logit", ctypes.c_float), ("p", ctypes.c_float)]


class TokenDataArray(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(TokenData)), ("size", ctypes.c_size_t), ("selected", ctypes.c_int64),
                ("sorted", ctypes.c_bool)]


def bind(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


backend_init = bind("llama_backend_init", None)
default_params = bind("llama_model_default_params", ModelParams)
load_model = bind("llama_model_load_from_file", ctypes.c_void_p, ctypes.c_char_p, ModelParams)
get_vocab = bind("llama_model_get_vocab", ctypes.c_void_p, ctypes.c_void_p)
n_tokens = bind("llama_vocab_n_tokens", ctypes.c_int32, ctypes.c_void_p)
is_eog = bind("llama_vocab_is_eog", ctypes.c_bool, ctypes.c_void_p, ctypes.c_int32)
to_piece = bind("llama_token_to_piece", ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p,
                ctypes.c_int32, ctypes.c_int32, ctypes.c_bool)
init_grammar = bind("llama_sampler_init_grammar", ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)
apply = bind("llama_sampler_apply", None, ctypes.c_void_p, ctypes.POINTER(TokenDataArray))
accept = bind("llama_sampler_accept", None, ctypes.c_void_p, ctypes.c_int32)
free = bind("llama_sampler_free", None, ctypes.c_void_p)


def swift_json_grammar():
    """Grammar.json's text, read from its Swift source."""
    source = open(os.path.join(ROOT, "Sources/SwiftletGrammar/GrammarJSON.swift"), encoding="utf-8").read()
    body = re.search(r'#"""\n(.*?)\n\s*"""#', source, re.S).group(1)
    lines = body.split("\n")
    indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
    return "\n".join(l[indent:] for l in lines)


# Grammars whose token elements sit only where a token starts: llama.cpp throws when a token that starts
# with characters meets a token element in its middle (its `apply` lets such tokens through).
GRAMMARS = {
    "json": swift_json_grammar(),
    "unicode": 'root ::= ("é" | [à-ÿ]+ | "😀" | [^a-z\\x00-\\x1F]{1,3} | "ab" <[30]> "c")* "\\n"\n',
    "tokens": "root ::= <|im_start|> body <|im_end|> \"\\n\"\nbody ::= ( !<|im_end|> )*\n",
    "expression": ('root ::= expr ("\\n" | "=" ws num)\nexpr ::= term ws ([-+*/] ws term ws)*\n'
                   'term ::= num | "(" ws expr ")" | [a-z]+ "(" ws expr ")"\nnum ::= "-"? [0-9]{1,6} ("." [0-9]+)?\n'
                   'ws ::= [ \\t]?\n'),
    "kana": 'root ::= ([ぁ-ゟ゠-ヿ] | [一-鿿]{1,2} | "。" | " ")+ "\\n"\n',
}
SUBSET = 2000
STEPS = 30
SEEDS = 2


def main():
    backend_init()
    params = default_params()
    params.vocab_only = True
    model = load_model(sys.argv[1].encode(), params)
    vocab = get_vocab(model)
    n = n_tokens(vocab)
    buf = ctypes.create_string_buffer(1024)
    pieces = []
    for t in range(n):
        k = to_piece(vocab, t, buf, 1024, 0, True)
        pieces.append(buf.raw[:k])
    # The subset: the special tokens, every one-byte piece, pieces that open JSON and hold non-ASCII bytes
    # (a sample of each), then a random sample of the rest.
    rng = random.Random(11312)
    chosen = set(range(17)) | {t for t in range(n) if len(pieces[t]) == 1}
    opening = [t for t in range(n) if pieces[t][:1] in (b"{", b'"', b"[", b"}", b",", b":") and t not in chosen]
    chosen |= set(rng.sample(opening, 100))
    wide = [t for t in range(n) if any(b >= 0x80 for b in pieces[t]) and t not in chosen]
    chosen |= set(rng.sample(wide, 250))
    rest = [t for t in range(n) if t not in chosen]
    ids = sorted(chosen | set(rng.sample(rest, SUBSET - len(chosen))))
    arr = (TokenData * len(ids))()

    def allowed(smpl):
        for i, t in enumerate(ids):
            arr[i].id, arr[i].logit, arr[i].p = t, 0.0, 0.0
        data = TokenDataArray(arr, len(ids), -1, False)
        apply(smpl, ctypes.byref(data))
        return [i for i in range(len(ids)) if arr[i].logit != float("-inf")]

    def ranges(indices):  # a bitmap over the subset (bit i of byte i / 8, least significant first), base64
        bits = bytearray((len(ids) + 7) // 8)
        for i in indices:
            bits[i // 8] |= 1 << (i % 8)
        return base64.b64encode(bytes(bits)).decode()

    scenarios = []
    for name, text in GRAMMARS.items():
        for seed in range(SEEDS):
            walk = random.Random(seed)
            smpl = init_grammar(vocab, text.encode(), b"root")
            assert smpl, name
            steps = []
            for _ in range(STEPS):
                kept = allowed(smpl)
                choices = [i for i in kept if not is_eog(vocab, ids[i])]
                if not choices:
                    steps.append({"token": -1, "allowed": ranges(kept)})
                    break
                if walk.random() < 0.5:  # longer pieces half of the time: deeper states in fewer steps
                    longest = max(len(pieces[ids[i]]) for i in choices)
                    choices = [i for i in choices if len(pieces[ids[i]]) >= max(1, longest // 2)]
                i = walk.choice(choices)
                steps.append({"token": ids[i], "allowed": ranges(kept)})
                accept(smpl, ids[i])
            free(smpl)
            scenarios.append({"grammar": name, "seed": seed, "text": text, "steps": steps})
    out = {
        "vocabulary_size": n,
        "ids": ids,
        "pieces": [pieces[t].hex() for t in ids],
        "end_of_generation": [t for t in ids if is_eog(vocab, t)],
        "scenarios": scenarios,
    }
    path = os.path.join(ROOT, "Fixtures/grammar/llama_masks_smollm2.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=0, ensure_ascii=False)
        f.write("\n")
    print(path, sum(len(s["steps"]) for s in scenarios), "steps")


main()
