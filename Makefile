# Swiftlet's build entry points. `make release` builds the fastest `swiftlet` into .build/release/swiftlet.
SWIFT ?= swift
# Flags the release build passes to enable the fast kernels (see Docs/CPUFeatures.md): on an x86-64 CPU
# with AVX2, FMA and F16C, Swift generates code for Haswell-class CPUs; elsewhere the portable build.
HAVE_AVX2 := $(shell grep -q avx2 /proc/cpuinfo 2>/dev/null && grep -q fma /proc/cpuinfo && grep -q f16c /proc/cpuinfo && echo yes)
ifeq ($(HAVE_AVX2),yes)
FAST_FLAGS ?= -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DSWIFTLET_AVX2
else
FAST_FLAGS ?=
endif

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
