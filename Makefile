# Swiftlet's build entry points. `make release` builds the fastest `swiftlet` into .build/release/swiftlet.
SWIFT ?= swift
# Flags the release build passes to enable the fast kernels (see Docs/CPUFeatures.md).
FAST_FLAGS ?=

.PHONY: release release-tests debug test fixtures models setup clean

release:
	$(SWIFT) build -c release --product swiftlet $(FAST_FLAGS)

# Tests build in release mode with the same flags as `release`, so the two share one build. Tests use
# the modules' public API (no @testable), which release builds do not export otherwise.
release-tests:
	$(SWIFT) build -c release --build-tests $(FAST_FLAGS)

debug:
	$(SWIFT) build --product swiftlet

setup:
	Scripts/setup.sh

models:
	Scripts/fetch-models.sh all

# Regenerates the tiny test models and the malformed GGUF corpus under Fixtures/.
fixtures: debug
	.build/debug/swiftlet make-fixtures Fixtures
	python3 Scripts/make-malformed-fixtures.py

test:
	Scripts/test.sh

clean:
	rm -rf .build
