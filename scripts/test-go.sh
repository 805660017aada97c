#!/usr/bin/env bash
# Runs every Go test with the race detector and prints what ran: each
# package's result as it finishes, then every failure with its output (data
# race reports and panics with their header and first stacks) and the totals.
# A failing package counts as a failure even when none of its tests failed.
# The full text goes to a log file whose path is printed; the JSON events of
# the run go beside it, in the same path with .json appended.
#
#   GO_TEST_PKGS     packages to test (./...), relative to the current directory
#   GO_TEST_TIMEOUT  go test -timeout (20m)
#   GO_TEST_LOG      the log file (a new temporary file)
#   GO               the go command (go)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
go=${GO:-go}
log=${GO_TEST_LOG:-$(mktemp -t llamenos-go-test.XXXXXX)}
pkgs=${GO_TEST_PKGS:-./...}
bin=$(mktemp -d -t llamenos-gosummary.XXXXXX) || exit 1
trap 'rm -rf "$bin"' EXIT

if ! "$go" build -C "$root" -o "$bin/gosummary" ./scripts/gosummary >"$log" 2>&1; then
	cat "$log"
	echo "Go tests: 0 passed, 1 failed, 0 skipped (scripts/gosummary does not build, so no test ran; log: $log)"
	exit 1
fi
# $pkgs is split into words on purpose: it may name several packages.
# shellcheck disable=SC2086
"$bin/gosummary" -log "$log" -raw "$log.json" -- \
	"$go" test -json -race -count=1 -timeout "${GO_TEST_TIMEOUT:-20m}" $pkgs
