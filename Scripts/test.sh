#!/usr/bin/env bash
# Runs every test: the Swift test targets (release build, where numeric code runs at speed) and the Python
# suites that check Swiftlet against independent oracles (Python `gguf`, `jinja2`, the `openai` client).
# Needs the models (fetched here when missing) and writes the architecture models (about 16 s).
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/fetch-models.sh all >/dev/null
# The random-weight model of every architecture, which the tests compare with llama.cpp's outputs.
python3 Scripts/make-architecture-fixtures.py >/dev/null
make release-tests
swift test -c release --skip-build
python3 -m pytest -q Tests/python
