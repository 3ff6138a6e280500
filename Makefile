# Swiftlet's build entry points. `make release` builds the fastest `swiftlet` into .build/release/swiftlet.
SWIFT ?= swift

.PHONY: release debug test fixtures models clean

release:
	$(SWIFT) build -c release --product swiftlet

debug:
	$(SWIFT) build --product swiftlet

models:
	Scripts/fetch-models.sh all

fixtures: debug
	.build/debug/swiftlet make-fixtures Fixtures

test:
	Scripts/test.sh

clean:
	rm -rf .build
