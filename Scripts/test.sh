#!/usr/bin/env bash
# Runs every test: the Swift test targets (release build, where numeric code runs at speed) and the Python
# suites that check Swiftlet against independent oracles (Python `gguf`, `jinja2`, the `openai` client).
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/fetch-models.sh all >/dev/null
make release-tests
swift test -c release --skip-build
python3 -m pytest -q Tests/python
