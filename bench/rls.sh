#!/usr/bin/env bash
# The cost of enforcement: the generated store's BenchmarkList (default
# example) runs the list statement of the projects module both ways through
# a real pool of 16 connections, in one run: "rls" as the application does
# (set_config + statement in one batch, application role, policies on) and
# "plain" (the same statement with WHERE tenant_id = $2, as the owner, whom
# the policies do not bind). COUNT runs of each (go test -count), in one
# go test run; prints the median ns/op of each and their ratio. Exits 1 when
# the ratio is over GOAL (1.10).
#   bench/rls.sh
#   COUNT=5 BENCHTIME=3s bench/rls.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
count=${COUNT:-5}
benchtime=${BENCHTIME:-2s}
goal=${GOAL:-1.10}

gen_project default
(cd "$work/app" && TEST_DATABASE_URL="$PG_SERVER/postgres?sslmode=disable" TEST_REQUIRE_SERVICES=1 \
  go test -run '^$' -bench '^BenchmarkList$' -benchtime "$benchtime" -count "$count" ./internal/modules/projects/internal/store) >"$work/bench.txt" 2>&1 ||
  { cat "$work/bench.txt" >&2; die "go test -bench"; }
grep '^BenchmarkList' "$work/bench.txt"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
rls=$(awk '$1 ~ /^BenchmarkList\/rls/ {print $3}' "$work/bench.txt" | median)
plain=$(awk '$1 ~ /^BenchmarkList\/plain/ {print $3}' "$work/bench.txt" | median)
ratio=$(awk -v a="$rls" -v b="$plain" 'BEGIN {printf "%.3f", a / b}')
printf 'list of 20 (with embedded notes), 16 connections, %d CPUs, load %s\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'rls   %s ns/op (median of %d)\nplain %s ns/op\nratio rls / plain: %s (goal ≤ %s)\n' "$rls" "$count" "$plain" "$ratio" "$goal"
awk -v r="$ratio" -v g="$goal" 'BEGIN {exit !(r <= g)}' || { echo "GOAL MISSED"; exit 1; }
echo "goal met"
