#!/usr/bin/env bash
# Runs every Go fuzz target for FUZZTIME each (go test -fuzz takes one target
# per run). The committed seed corpora also run as plain tests in `make test`.
set -euo pipefail
fuzztime=${FUZZTIME:-20s}
found=0
while IFS= read -r file; do
	dir=$(dirname "$file")
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
		found=1
		echo "== $dir $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "./$dir"
	done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | sort)
[ $found -eq 1 ] || { echo "no fuzz targets found" >&2; exit 1; }
