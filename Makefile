# Everything a newcomer needs: `make run` and `make test`.
GO ?= go
APPS := $(notdir $(wildcard apps/*))
BUILD := build

.PHONY: all build test vet run bench bench-archive clean

all: build

build:
	@mkdir -p $(BUILD)
	$(GO) build -o $(BUILD)/ ./apps/...

vet:
	$(GO) vet ./...

# Unit, interop and process tests; fuzz seed corpora run as ordinary tests.
# Race detector on the packages with concurrency.
test: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@$(FIND_CHROMIUM) >/dev/null || echo "NOTE: nsqadmin browser tests (nsqadmin/browsertest) will be SKIPPED: no Chromium found (set CHROMIUM=/path/to/chromium, or apt-get install chromium)"
	$(GO) test -count=1 -timeout 10m ./...
	$(GO) test -count=1 -race -timeout 10m $(RACE_PKGS)
	@$(FIND_CHROMIUM) >/dev/null || echo "NOTE: nsqadmin browser tests (nsqadmin/browsertest) were SKIPPED: no Chromium found"

# Finds the Chromium nsqadmin/browsertest drives, as it does: $$CHROMIUM
# when set, else the first of these names on PATH; fails when there is none.
FIND_CHROMIUM = (if [ -n "$$CHROMIUM" ]; then command -v "$$CHROMIUM"; else \
	for b in chromium chromium-browser google-chrome google-chrome-stable; do command -v $$b && exit 0; done; exit 1; fi)

RACE_PKGS ?= ./nsqd/... ./nsqlookupd/... ./internal/... ./apps/...

run: build
	@bash scripts/run.sh

bench: build
	@bash bench/bench.sh

bench-archive: build
	@bash bench/archive.sh

clean:
	rm -rf $(BUILD)
