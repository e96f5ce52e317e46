# Everything a newcomer needs: `make run` and `make test`.
GO ?= go
APPS := $(notdir $(wildcard apps/*))
BUILD := build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin

# The commit --version names. Go cannot stamp it itself in a git worktree
# (and GOFLAGS may say -buildvcs=false), so it is linked in; "+dirty" when
# tracked files have local changes.
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null; [ $$? -eq 1 ] && echo +dirty)
LDFLAGS := -X github.com/nsqgo/nsq/internal/version.linkedCommit=$(COMMIT)

.PHONY: all build test vet vet-cross run bench bench-archive chaos bench-compare clean install dist dist-check print-commit

all: build

build:
	@mkdir -p $(BUILD)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BUILD)/ ./apps/...

# make install PREFIX=/usr/local (DESTDIR for packaging): the binaries into
# $(BINDIR). Sample configs and systemd units stay in contrib/ to copy.
install: build
	install -d "$(DESTDIR)$(BINDIR)"
	install -m 0755 $(addprefix $(BUILD)/,$(APPS)) "$(DESTDIR)$(BINDIR)/"

# Release archives for upstream's six platforms: linux and darwin, amd64 and
# arm64, freebsd/amd64, windows/amd64 (PLATFORMS narrows them), with
# README, LICENSE, contrib/ and SHA256SUMS, in dist/.
dist:
	@COMMIT="$(COMMIT)" GO="$(GO)" bash scripts/dist.sh

# Builds the archives in a temp dir and checks them, running --version of the
# binaries built for this machine. Slow: for CI, not part of `make test`.
dist-check:
	@GO="$(GO)" bash scripts/dist-check.sh

print-commit:
	@echo $(COMMIT)

vet:
	$(GO) vet ./...

# go vet of every package and its tests for the other systems the releases
# are built for (scripts/dist.sh): vet type-checks the tests too, so a
# Linux-only call or helper outside a _linux.go file (or a //go:build linux
# one) fails here, on Linux, rather than on a Mac or in a release build.
# One amd64 pass per system: the arm64 builds differ only in the compiler's
# back end. Measured in the README's test section.
VET_GOOS ?= windows darwin freebsd
vet-cross:
	@for goos in $(VET_GOOS); do echo "go vet ./... GOOS=$$goos"; CGO_ENABLED=0 GOOS=$$goos GOARCH=amd64 $(GO) vet ./... || exit 1; done

# Unit, interop and process tests; fuzz seed corpora run as ordinary tests.
# Every package's tests run once: under -race for the packages with
# concurrency of their own (RACE_PKGS), plainly for the rest (PLAIN_PKGS).
# The commands are built once (build/, and a -race nsqd in build/race/) for
# every package whose tests run them as processes (internal/tooltest/commands).
# Both runs go through scripts/test-run.sh, which runs the tests as go test
# would but keeps the test binaries (build/test/race, build/test/plain) so
# that an unchanged package is not linked again, and splits SHARD_PKGS into
# processes. The two runs go side by side, since
# both mostly wait on sockets, timers and child processes; the race run's
# output follows the plain one's. go vet ran just before, so the test
# binaries are built without it (-vet=off).
test: vet vet-cross build
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@$(FIND_CHROMIUM) >/dev/null || echo "NOTE: nsqadmin browser tests (nsqadmin/browsertest) will be SKIPPED: no Chromium found (set CHROMIUM=/path/to/chromium, or apt-get install chromium)"
	@mkdir -p $(BUILD)/race
	@test_tmp=$$(mktemp -d $(if $(TEST_TMPDIR),"$(TEST_TMPDIR)/nsqgo-test.XXXXXX")) || exit 1; export TMPDIR="$$test_tmp"; \
	echo "temp files in $$test_tmp"; \
	race_log=$$(mktemp); \
	{ $(GO) build -race -o $(BUILD)/race/ ./apps/nsqd && \
	  NSQGO_TEST_RACE_BIN=$(abspath $(BUILD))/race BIN_DIR=$(abspath $(BUILD))/test/race P=$(TEST_P) SHARDS=$(SHARDS) SHARD_PKGS="$(SHARD_PKGS)" GO="$(GO)" \
	    bash scripts/test-run.sh -race -ldflags=$(TEST_LDFLAGS) -- $(RACE_PKGS); } >"$$race_log" 2>&1 & race_pid=$$!; \
	echo "-race run alongside (RACE_PKGS); its output comes after this plain run's (PLAIN_PKGS)"; \
	NSQGO_TEST_BIN=$(abspath $(BUILD)) BIN_DIR=$(abspath $(BUILD))/test/plain P=$(TEST_P) GO="$(GO)" \
	  bash scripts/test-run.sh -ldflags=$(TEST_LDFLAGS) -- $(PLAIN_PKGS); plain=$$?; \
	wait $$race_pid; race=$$?; \
	echo "-race run:"; cat "$$race_log"; rm -rf "$$test_tmp"; \
	[ $$plain -eq 0 ] && [ $$race -eq 0 ]
	@$(FIND_CHROMIUM) >/dev/null || echo "NOTE: nsqadmin browser tests (nsqadmin/browsertest) were SKIPPED: no Chromium found"

# Finds the Chromium nsqadmin/browsertest drives, as it does: $$CHROMIUM
# when set, else the first of these names on PATH; fails when there is none.
FIND_CHROMIUM = (if [ -n "$$CHROMIUM" ]; then command -v "$$CHROMIUM"; else \
	for b in chromium chromium-browser google-chrome google-chrome-stable; do command -v $$b && exit 0; done; exit 1; fi)

# The packages that take longest in each run, named first so that go test
# starts them first (it runs packages in the order given, -p at a time):
# the suite takes as long as its slowest package only if that one does not
# wait for a slot behind the quick ones.
RACE_FIRST := ./nsqd ./apps/nsqd ./internal/diskqueue ./nsqd/queue ./internal/nsqclient ./nsqadmin ./apps/nsq_to_file ./nsqd/metrics/e2e
PLAIN_FIRST := ./nsqadmin/browsertest ./internal/chaos

# Where the tests' temp files go (TMPDIR, for t.TempDir, the daemons' data
# and go's own builds): a tmpfs when there is one, since the disk queues'
# fsyncs cost nothing there. On this repository's shared 2-core machine
# internal/diskqueue took 24.5 s on disk and 3.4 s on /dev/shm. What the
# tests check is unchanged: what a killed process leaves behind is in the
# page cache either way, and no test cuts the power. TEST_TMPDIR= (empty)
# keeps the system's temp dir.
TEST_TMPDIR ?= $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm)

# The test binaries are linked without DWARF (TEST_LDFLAGS): a panic's or a
# race report's stack still names files and lines, and linking the -race
# nsqd test binary took 2.5 s of CPU instead of 3.5.
TEST_LDFLAGS ?= -w

# These packages' tests (all in RACE_PKGS) run as SHARDS processes at once,
# each a share of them (scripts/test-run.sh): in one process they run
# one after another, mostly waiting, and were the longest of the suite
# (nsqd's 500-odd tests; apps/nsqd's restarts and crashes of nsqd
# processes).
SHARD_PKGS ?= ./nsqd ./apps/nsqd
SHARDS ?= 4

# Packages each run runs at once: at least 4, since the packages mostly
# wait (on sockets, timers, child processes and the browser) rather than
# compute, and nsqd's alone takes one slot for most of the run.
TEST_P ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -lt 4 ] && n=4; echo $$n)

# The -race run: every package under these trees except those without
# concurrency of their own to check (RACE_SKIP), which run plainly: the
# browser tests (they drive Chromium against nsqadmin, whose own tests run
# under -race), the chaos harness (it runs nsqd as a separate process,
# killed at random: the race detector would watch only the harness;
# apps/nsqd's crash and restart tests run a -race nsqd), static files,
# parsers and flag/config tables, the thin mains of nsqadmin and
# nsqlookupd, and the repository-rule checks.
RACE_SKIP := nsqadmin/browsertest nsqadmin/ui internal/chaos apps/nsqadmin apps/nsqlookupd internal/config \
	internal/docrules internal/httpapi internal/metricsutil internal/testnet internal/toolflags internal/version
RACE_PKGS ?= $(filter-out $(addprefix github.com/nsqgo/nsq/,$(RACE_SKIP)),$(shell $(GO) list $(RACE_FIRST) ./nsqd/... ./nsqlookupd/... ./nsqadmin/... ./internal/... ./apps/...))
# The plain run: every other package of the module.
PLAIN_PKGS ?= $(filter-out $(RACE_PKGS),$(shell $(GO) list $(PLAIN_FIRST) ./...))

run: build
	@bash scripts/run.sh

bench: build
	@bash bench/bench.sh

bench-archive: build
	@bash bench/archive.sh

# The fault harness (internal/chaos): CYCLES faults of FAULTS (kill9, sigterm,
# sigstop, flip, diskfull, or all) against build/nsqd with NSQD_ARGS, CHANNELS
# channels of the one topic (each checked on its own); prints the checker's
# table. make test runs a short version.
CYCLES ?= 50
CHANNELS ?= 1
SEED ?= 1
FAULTS ?= kill9
NSQD_ARGS ?= --mem-queue-size=0 --sync-every=1
chaos: build
	$(GO) run ./test/chaos -nsqd $(BUILD)/nsqd -cycles $(CYCLES) -seed $(SEED) -faults $(FAULTS) -channels $(CHANNELS) -nsqd-args '$(NSQD_ARGS)'

# Side by side with upstream nsqd v1.3.0 (built into ~/.cache/nsqgo-bench):
# SHAPES="memory fanout" ROUNDS=5 RUNFOR=5s make bench-compare
bench-compare: build
	@bash bench/compare.sh $(SHAPES)

clean:
	rm -rf $(BUILD) dist
