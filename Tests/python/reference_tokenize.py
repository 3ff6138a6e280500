# Independent tokenizer oracle (HF `tokenizers` BPE for gpt2-style vocabularies, a score-ordered
# SentencePiece merge for llama-style ones) that reproduces llama-tokenize on the 35 reference cases of
# Fixtures/reference/tokenize_*.json for SmolLM2 and Gemma 3. Used to make the token-id fixtures
# Fixtures/reference/ppl_gpl3_first20k.*.ids (special tokens not parsed; Gemma with BOS 2 prepended):
#   python3 reference_tokenize.py MODEL.gguf smollm|spm TEXT > ids   (needs: pip install tokenizers)
#   python3 reference_tokenize.py MODEL.gguf smollm|spm check Fixtures/reference/tokenize_X.json
import sys, json, heapq
from gguf import GGUFReader
def load(path):
    r = GGUFReader(path); f = r.fields
    md = {k: f[k].contents() for k in f if k.startswith('tokenizer.ggml')}
    return md
def smollm(md):
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    vocab = {t: i for i, t in enumerate(md['tokenizer.ggml.tokens'])}
    merges = [tuple(m.split(' ', 1)) for m in md['tokenizer.ggml.merges']]
    tk = Tokenizer(models.BPE(vocab, merges))
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    return lambda text: tk.encode(text, add_special_tokens=False).ids
def spm(md):
    toks = md['tokenizer.ggml.tokens']; scores = md['tokenizer.ggml.scores']
    vocab = {t: i for i, t in enumerate(toks)}
    types = md['tokenizer.ggml.token_type']
    user = sorted([t for t, ty in zip(toks, types) if ty == 4], key=len, reverse=True)
    def enc(text):
        frags = [(False, text)]
        for u in user:
            nf = []
            for sp, fr in frags:
                if sp or u not in fr: nf.append((sp, fr)); continue
                parts = fr.split(u)
                for k, p in enumerate(parts):
                    if p: nf.append((False, p))
                    if k < len(parts) - 1: nf.append((True, u))
            frags = nf
        out = []
        for sp, fr in frags:
            out += [vocab[fr]] if sp else enc1(fr)
        return out
    def enc1(text):
        text = text.replace(' ', '\u2581')
        syms = list(text)  # unicode chars
        if not syms: return []
        prev = list(range(-1, len(syms) - 1)); nxt = list(range(1, len(syms) + 1)); nxt[-1] = -1
        alive = [True] * len(syms)
        heap = []
        def push(i):
            j = nxt[i]
            if j == -1: return
            s = syms[i] + syms[j]
            if s in vocab: heapq.heappush(heap, (-scores[vocab[s]], i, syms[i], syms[j]))
        for i in range(len(syms) - 1): push(i)
        while heap:
            _, i, a, b = heapq.heappop(heap)
            if not alive[i] or syms[i] != a or nxt[i] == -1 or syms[nxt[i]] != b: continue
            j = nxt[i]; syms[i] = a + b; alive[j] = False
            nxt[i] = nxt[j]
            if nxt[j] != -1: prev[nxt[j]] = i
            if prev[i] != -1: push(prev[i])
            push(i)
        out = []
        i = 0
        while i != -1 and i < len(syms):
            if alive[i]:
                s = syms[i]
                if s in vocab: out.append(vocab[s])
                else: out += [vocab['<0x%02X>' % b] for b in s.encode('utf-8')]
            i = nxt[i] if alive[i] else i + 1
        return out
    return enc
if __name__ == '__main__':
    path, mode = sys.argv[1], sys.argv[2]
    md = load(path)
    enc = smollm(md) if mode == 'smollm' else spm(md)
    if sys.argv[3] == 'check':
        ref = json.load(open(sys.argv[4]))
        cases = ref['cases'] if isinstance(ref, dict) and 'cases' in ref else ref
        ok = 0
        for c in cases:
            got = enc(c['text']); want = c['ids_nospecial_nobos']
            ok += got == want
            if got != want: print('MISMATCH', repr(c['text'][:60]), got[:12], want[:12])
        print(ok, '/', len(cases))
    else:
        text = open(sys.argv[3], encoding='utf-8').read()
        ids = enc(text)
        print(','.join(map(str, ids)))
