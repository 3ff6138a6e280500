# Swiftlet's build entry points. `make release` builds the fastest `swiftlet` into .build/release/swiftlet.
SWIFT ?= swift
# Flags the release build passes to enable the fast kernels (see Docs/CPUFeatures.md): on an x86-64 CPU
# with AVX2, FMA and F16C, Swift generates code for Haswell-class CPUs; elsewhere the portable build.
HAVE_AVX2 := $(shell grep -q avx2 /proc/cpuinfo 2>/dev/null && grep -q fma /proc/cpuinfo && grep -q f16c /proc/cpuinfo && echo yes)
# With AVX-512 F/BW/DQ/VL and VNNI as well (Cascade Lake and later Xeons, Zen 4 and 5): code for Cascade
# Lake, the oldest CPU with all of them, and the VNNI kernels (-DSWIFTLET_AVX512) beside the AVX2 ones.
HAVE_AVX512 := $(shell for f in avx512f avx512bw avx512dq avx512vl avx512_vnni; do \
	grep -qw $$f /proc/cpuinfo 2>/dev/null || exit 0; done; echo yes)
ifeq ($(HAVE_AVX2)$(HAVE_AVX512),yesyes)
FAST_FLAGS ?= -Xswiftc -target-cpu -Xswiftc cascadelake -Xswiftc -DSWIFTLET_AVX2 -Xswiftc -DSWIFTLET_AVX512
else ifeq ($(HAVE_AVX2),yes)
FAST_FLAGS ?= -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DSWIFTLET_AVX2
else
FAST_FLAGS ?=
endif

.PHONY: release release-tests debug test fixtures models setup clean fuzz-build fuzz fuzz-gguf fuzz-jinja fuzz-request \
	leak-check

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

# libFuzzer targets (Fuzz/, a package of its own so that no product carries sanitizer flags; Docs/Fuzzing.md).
# `make fuzz RUNS=1000000` builds them with ASan and runs each for RUNS executions, one after the other;
# new inputs go to $(FUZZ_SCRATCH)/corpus/TARGET, findings to $(FUZZ_SCRATCH)/artifacts/.
FUZZ_SCRATCH ?= .build-fuzz
RUNS ?= 100000
FUZZ_TIMEOUT ?= 10
# One product at a time: linking the three at once has made ld.gold fail with an internal error.
fuzz-build:
	for product in FuzzGGUF FuzzJinja FuzzRequest; do \
	  $(SWIFT) build -c release --package-path Fuzz --scratch-path $(FUZZ_SCRATCH) -Xswiftc -sanitize=fuzzer,address \
	    --product $$product || exit 1; \
	done

fuzz: fuzz-gguf fuzz-jinja fuzz-request

fuzz-gguf: fuzz-build
	Scripts/fuzz.sh $(FUZZ_SCRATCH) FuzzGGUF gguf $(RUNS) 16384 $(FUZZ_TIMEOUT)

fuzz-jinja: fuzz-build
	Scripts/fuzz.sh $(FUZZ_SCRATCH) FuzzJinja jinja $(RUNS) 8192 $(FUZZ_TIMEOUT)

fuzz-request: fuzz-build
	Scripts/fuzz.sh $(FUZZ_SCRATCH) FuzzRequest request $(RUNS) 8192 $(FUZZ_TIMEOUT)

# The server test suite against a `swiftlet` built with AddressSanitizer (LeakSanitizer included): the
# tests fail when the server's stderr at exit holds a sanitizer report (Tests/python/conftest.py).
ASAN_SCRATCH ?= .build-asan
leak-check:
	$(SWIFT) build -c release --product swiftlet --scratch-path $(ASAN_SCRATCH) -Xswiftc -sanitize=address $(FAST_FLAGS)
	SWIFTLET_BIN=$(ASAN_SCRATCH)/release/swiftlet SWIFTLET_SANITIZED=1 \
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/lsan-suppressions.txt \
	python3 -m pytest -q Tests/python/test_server_openai.py Tests/python/test_server_tools.py \
		Tests/python/test_server_hardening.py

clean:
	rm -rf .build
