# Everything a newcomer needs: `make run` and `make test`.
GO ?= go
APPS := $(notdir $(wildcard apps/*))
BUILD := build

.PHONY: all build test vet run bench bench-archive bench-compare clean

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
	$(GO) test -count=1 -timeout 10m ./...
	$(GO) test -count=1 -race -timeout 10m $(RACE_PKGS)

RACE_PKGS ?= ./nsqd/... ./nsqlookupd/... ./internal/... ./apps/...

run: build
	@bash scripts/run.sh

bench: build
	@bash bench/bench.sh

bench-archive: build
	@bash bench/archive.sh

# Side by side with upstream nsqd v1.3.0 (built into ~/.cache/nsqgo-bench):
# SHAPES="memory fanout" ROUNDS=5 RUNFOR=5s make bench-compare
bench-compare: build
	@bash bench/compare.sh $(SHAPES)

clean:
	rm -rf $(BUILD)
