#!/usr/bin/env bash
# Runs every Go test with the race detector and prints a count of what ran.
# The verbose log goes to a file; the terminal gets package results, any
# failure's output and the totals.
set -uo pipefail
log=${GO_TEST_LOG:-$(mktemp -t llamenos-go-test.XXXXXX)}
pkgs=${GO_TEST_PKGS:-./...}
go test -race -count=1 -timeout "${GO_TEST_TIMEOUT:-20m}" -v $pkgs >"$log" 2>&1
status=$?
grep -E '^(ok|FAIL|---|panic:|\?)' "$log" | grep -vE '^--- (PASS|SKIP)' || true
if [ $status -ne 0 ]; then
	echo "---- failing output (full log: $log) ----"
	grep -B2 -A30 -E '^\s*--- FAIL|^panic:|race detected|build failed|\[setup failed\]' "$log" | head -400
fi
pass=$(grep -cE '^\s*--- PASS' "$log")
fail=$(grep -cE '^\s*--- FAIL' "$log")
skip=$(grep -cE '^\s*--- SKIP' "$log")
echo "Go tests: $pass passed, $fail failed, $skip skipped (subtests included; log: $log)"
exit $status
