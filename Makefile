# Llámenos appliance. `make demo` runs the product; `make test` runs what CI checks.
SHELL := /bin/bash
GO    ?= go
NPM   ?= npm

VERSION           ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT            ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
LDFLAGS := -s -w -buildid= -X llamenos/buildinfo.Version=$(VERSION) -X llamenos/buildinfo.Commit=$(COMMIT)
BENCHTIME ?= 1x
FUZZTIME  ?= 20s

.PHONY: all build demo ui ui-deps test test-go test-ui e2e screenshots prompts test-asterisk test-whisper bench load fuzz lint release clean

all: build

ui/node_modules/.package-lock.json: ui/package-lock.json ui/package.json
	cd ui && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

ui-deps: ui/node_modules/.package-lock.json

# The browser bundle is embedded into the binary, so it is built first.
ui: ui-deps
	cd ui && $(NPM) run --silent build

# The default build is static and cgo-free, without transcription.
# `make build WHISPER=1` links whisper.cpp (build tag `whisper`) against the
# system's libwhisper, found with pkg-config (PKG_CONFIG_PATH for one built
# from source; docs/operations.md).
WHISPER ?=
BUILD_ENV_WHISPER := CGO_ENABLED=1 CGO_CFLAGS="$$(pkg-config --cflags whisper)" CGO_LDFLAGS="$$(pkg-config --libs whisper) -Wl,--disable-new-dtags,-rpath,$$(pkg-config --variable=libdir whisper)"
ifeq ($(WHISPER),1)
BUILD_ENV      := $(BUILD_ENV_WHISPER)
BUILD_TAGS     := -tags whisper
else
BUILD_ENV      := CGO_ENABLED=0
BUILD_TAGS     :=
endif

build: ui
	$(BUILD_ENV) $(GO) build -trimpath $(BUILD_TAGS) -ldflags '$(LDFLAGS)' -o bin/llamenos ./cmd/llamenos

# The whole product on this machine: an embedded Asterisk simulator places the calls.
# `make demo LISTEN=127.0.0.1:8090` serves on another port (loopback only;
# open http://localhost:PORT); DEMO_FLAGS=-v logs at debug level.
LISTEN     ?= 127.0.0.1:8080
DEMO_FLAGS ?=
demo: build
	bin/llamenos demo --listen $(LISTEN) $(DEMO_FLAGS)

# Every stage runs and reports even after an earlier one failed; the run fails
# at the end, naming the stages that failed.
TEST_STAGES := build test-go test-ui e2e
test:
	@failed=(); \
	for stage in $(TEST_STAGES); do \
		echo "==== make $$stage"; \
		start=$$SECONDS; \
		if $(MAKE) --no-print-directory $$stage; then \
			echo "==== make $$stage: passed ($$((SECONDS - start))s)"; \
		else \
			echo "==== make $$stage: FAILED ($$((SECONDS - start))s)"; \
			failed+=("$$stage"); \
		fi; \
	done; \
	if [ $${#failed[@]} -gt 0 ]; then \
		echo "make test: FAILED stages: $${failed[*]} (of $(TEST_STAGES))"; \
		exit 1; \
	fi; \
	echo "make test: every stage passed ($(TEST_STAGES))"

test-go:
	GO=$(GO) scripts/test-go.sh

test-ui: ui-deps
	cd ui && $(NPM) run --silent test

e2e: build
	scripts/ensure-chromium.sh
	cd ui && LLAMENOS_BIN=$(CURDIR)/bin/llamenos $(NPM) run --silent e2e

# docs/images/*.png for docs/ui.md, from the demo in Chromium (as e2e).
screenshots: build
	scripts/ensure-chromium.sh
	cd ui && LLAMENOS_BIN=$(CURDIR)/bin/llamenos node scripts/screenshots.mjs $(CURDIR)/docs/images

# sounds/*/llamenos/*.ulaw, the shipped caller prompts (needs espeak-ng and sox).
prompts:
	scripts/gen-prompts.sh

# Against a real Asterisk 22 and SIPp on this machine (not part of `make test`):
# each test starts its own Asterisk on loopback ports, so one already running
# is left alone. LLAMENOS_ASTERISK=/path/to/asterisk picks the binary.
ASTERISK_TESTS ?= .
test-asterisk:
	$(GO) test -tags asterisk -race -count=1 -timeout 20m -v -run '$(ASTERISK_TESTS)' ./realasterisk

# whisper.cpp itself, through the worker, on a random model the tests make
# (not part of `make test`: Debian 12 has no libwhisper). Needs pkg-config to
# find whisper (PKG_CONFIG_PATH for one built from source).
test-whisper:
	@if ! pkg-config --exists whisper; then \
		echo "test-whisper: skipped: pkg-config finds no libwhisper (see docs/operations.md, Transcription)"; exit 0; fi; \
	$(BUILD_ENV_WHISPER) OMP_WAIT_POLICY=passive $(GO) test -tags whisper -race -count=1 -timeout 20m -v ./transcribe

# The Go benchmarks, then a short run of the whole-appliance load test.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...
	$(MAKE) --no-print-directory load LOAD_FLAGS='-volunteers 50 -calls 20 -fanout 5 -window 5s'

# The whole appliance under load (docs/performance.md): bin/llamenos in its own
# process, simulated calls, volunteers and browsers in bin/loadtest. Defaults:
# 500 volunteers, 500 calls; LOAD_FLAGS='-soak 30m' adds the soak.
LOAD_FLAGS ?=
load: build
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/loadtest ./cmd/loadtest
	bin/loadtest -bin bin/llamenos $(LOAD_FLAGS)

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Reproducible: -trimpath, no build id, no cgo, the commit time as the epoch.
release: ui
	rm -rf dist && mkdir -p dist
	for arch in amd64 arm64; do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/llamenos-linux-$$arch ./cmd/llamenos || exit 1; \
	done
	cd dist && sha256sum llamenos-* > SHA256SUMS && cat SHA256SUMS

clean:
	rm -rf bin dist
	find ui/dist -mindepth 1 ! -name README.md -delete
