# Everything a newcomer needs: `make run` and `make test`.
GO ?= go
APPS := $(notdir $(wildcard apps/*))
BUILD := build

.PHONY: all build test vet run bench bench-archive chaos clean

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

# The fault harness (internal/chaos): CYCLES faults of FAULTS (kill9, sigterm,
# sigstop, flip, diskfull, or all) against build/nsqd with NSQD_ARGS; prints
# the checker's table. make test runs a short version.
CYCLES ?= 50
SEED ?= 1
FAULTS ?= kill9
NSQD_ARGS ?= --mem-queue-size=0 --sync-every=1
chaos: build
	$(GO) run ./test/chaos -nsqd $(BUILD)/nsqd -cycles $(CYCLES) -seed $(SEED) -faults $(FAULTS) -nsqd-args '$(NSQD_ARGS)'

clean:
	rm -rf $(BUILD)
