#!/usr/bin/env bash
# Runs each fuzz target alone for <duration> (go test takes one -fuzz target
# per run) and prints one line per target, then the time in all:
#
#   scripts/fuzz.sh <duration> <FuzzName>:<./package>...
#
# New failing inputs are written to the package's testdata/fuzz/<FuzzName>/.
# Go 1.26's coordinator can fail a run with a bare "context deadline exceeded"
# as -fuzztime runs out (golang/go#75804, fixed in Go 1.27); such a run, with
# no failing input written, counts as passed if its corpus then replays clean.
set -euo pipefail
cd "$(dirname "$0")/.."
(( $# >= 2 )) || { echo "usage: scripts/fuzz.sh <duration> <FuzzName>:<./package>..." >&2; exit 2; }
fuzztime=$1
shift

start=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
  name=${t%%:*} pkg=${t#*:}
  if go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
    note=
  elif grep -q 'context deadline exceeded' "$log" && ! grep -Eq 'Failing input written|panic:|_test\.go:[0-9]+:' "$log" &&
      go test -count=1 -run "^$name\$" "$pkg" >>"$log" 2>&1; then
    note=" (golang/go#75804 deadline race, corpus replays clean)"
  else
    cat "$log"
    echo "FAIL $name $pkg"
    exit 1
  fi
  echo "ok   $name $pkg $fuzztime: $(grep -o 'execs: [0-9]*' "$log" | tail -n 1), $(grep -o 'total: [0-9]*' "$log" | tail -n 1 | sed 's/total/corpus/')$note"
done
echo "fuzz: $# targets, $fuzztime each, $(( $(date +%s) - start ))s in all"
