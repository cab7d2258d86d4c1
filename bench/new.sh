#!/usr/bin/env bash
# Wall time of `saasgen new --yes --skip-verify --no-git` (render + write),
# over RUNS runs (default 15), with the median; and, for comparison in the same
# run, the same with git init + first commit.
#   bench/new.sh [RUNS]
set -euo pipefail
runs=${1:-15}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/saasgen" ./cmd/saasgen

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f ms (min %.1f, max %.1f, n=%d)\n", m, a[1], a[NR], NR}'; }

time_one() { # label, extra flags
  local label=$1; shift
  for i in $(seq 1 "$runs"); do
    local dir="$work/out-$label-$i"
    local t0 t1
    t0=$(date +%s%N)
    "$work/saasgen" new bench --dir "$dir" --config examples/full.yaml --yes --skip-verify "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000 ))" | awk '{print $1/1000}'
    rm -rf "$dir"
  done | median
}

printf 'saasgen new (full example) --skip-verify --no-git: '
time_one nogit --no-git
printf 'saasgen new (full example) --skip-verify (with git): '
time_one git
