#!/bin/sh
# Runs one libFuzzer target for a number of executions (make fuzz-gguf and friends call it).
#   Scripts/fuzz.sh SCRATCH EXECUTABLE CORPUS RUNS MAX_LEN TIMEOUT
# Seeds are read from Fuzz/Corpus/CORPUS (committed, left as they are); what the run finds goes to
# SCRATCH/corpus/CORPUS, and a crashing, leaking or slow input to SCRATCH/artifacts/CORPUS-*.
set -eu
scratch=$1 executable=$2 corpus=$3 runs=$4 max_len=$5 timeout=$6
mkdir -p "$scratch/corpus/$corpus" "$scratch/artifacts"
exec "$scratch/release/$executable" "$scratch/corpus/$corpus" "Fuzz/Corpus/$corpus" \
    -runs="$runs" -max_len="$max_len" -timeout="$timeout" -rss_limit_mb=2048 -detect_leaks=1 \
    -print_final_stats=1 -artifact_prefix="$scratch/artifacts/$corpus-"
