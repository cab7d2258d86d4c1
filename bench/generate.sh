#!/usr/bin/env bash
# Generation speed: `saasgen new --skip-verify --no-git` of examples/full.yaml
# against a `cp -r` of the tree it writes, run in turn (A B A B ...) RUNS
# times so that both see the same machine; prints the median wall time of
# each, the median of the per-pair ratios, saasgen's CPU time and peak
# memory (/usr/bin/time: user+sys, max RSS). Exits 1 when a goal is missed:
#   median ≤ 50 ms (GOAL_MS) and ratio ≤ 5 (GOAL_RATIO).
# With BASELINE=REV, saasgen built from that git revision runs in turn too,
# for a before/after ratio in the same run.
#   bench/generate.sh            # RUNS=21
#   RUNS=51 bench/generate.sh
#   BASELINE=main bench/generate.sh
set -euo pipefail
runs=${RUNS:-21}
goal_ms=${GOAL_MS:-50}
goal_ratio=${GOAL_RATIO:-5}
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/saasgen-bench-generate.XXXXXX")
trap 'rm -rf "$work"' EXIT
go build -o "$work/saasgen" ./cmd/saasgen
if [ -n "${BASELINE:-}" ]; then
  mkdir "$work/base-src"
  git archive "$BASELINE" | tar -x -C "$work/base-src"
  (cd "$work/base-src" && go build -o "$work/saasgen-base" ./cmd/saasgen)
fi

new() { /usr/bin/time -f '%U %S %M' -a -o "$work/rusage" "$work/saasgen" new acme --config examples/full.yaml --yes --skip-verify --no-git --dir "$1" >/dev/null 2>&1; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }

new "$work/ref"
: >"$work/rusage"
files=$(find "$work/ref" -type f | wc -l)
size=$(du -sk "$work/ref" | cut -f1)

: >"$work/times"
for i in $(seq 1 "$runs"); do
  t0=$(now_us); new "$work/a$i"; t1=$(now_us)
  cp -r "$work/ref" "$work/b$i"; t2=$(now_us)
  t3=$t2
  if [ -n "${BASELINE:-}" ]; then
    "$work/saasgen-base" new acme --config examples/full.yaml --yes --skip-verify --no-git --dir "$work/c$i" >/dev/null 2>&1
    t3=$(now_us)
  fi
  echo "$((t1 - t0)) $((t2 - t1)) $((t3 - t2))" >>"$work/times"
  rm -rf "$work/a$i" "$work/b$i" "$work/c$i"
done

rss_kb=$(awk '{print $3}' "$work/rusage" | sort -n | tail -1)
cpu_ms=$(awk '{print ($1 + $2) * 1000}' "$work/rusage" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
a_ms=$(awk '{print $1/1000}' "$work/times" | median)
b_ms=$(awk '{print $2/1000}' "$work/times" | median)
ratio=$(awk '{print $1/$2}' "$work/times" | median)
a_min=$(awk '{print $1/1000}' "$work/times" | sort -g | head -1)
a_max=$(awk '{print $1/1000}' "$work/times" | sort -g | tail -1)

printf 'tree: examples/full.yaml, %d files, %d KiB; %d runs in turn; load %s\n' "$files" "$size" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'saasgen new --skip-verify --no-git  median %.1f ms (min %.1f, max %.1f)\n' "$a_ms" "$a_min" "$a_max"
printf 'cp -r of its output                  median %.1f ms\n' "$b_ms"
printf 'ratio new / cp -r (median of pairs)  %.2f\n' "$ratio"
if [ -n "${BASELINE:-}" ]; then
  printf 'saasgen at %-24s median %.1f ms; ratio new / baseline (median of pairs) %.2f\n' "$BASELINE" \
    "$(awk '{print $3/1000}' "$work/times" | median)" "$(awk '{print $1/$3}' "$work/times" | median)"
fi
printf 'saasgen CPU (user+sys, median)      %.0f ms\n' "$cpu_ms"
printf 'saasgen peak RSS (largest of runs)  %.1f MiB\n' "$(awk -v k="$rss_kb" 'BEGIN {print k/1024}')"

fail=0
if awk -v a="$a_ms" -v g="$goal_ms" 'BEGIN {exit !(a > g)}'; then
  echo "GOAL MISSED: median $a_ms ms > $goal_ms ms"; fail=1
fi
if awk -v r="$ratio" -v g="$goal_ratio" 'BEGIN {exit !(r > g)}'; then
  echo "GOAL MISSED: ratio $ratio > $goal_ratio"; fail=1
fi
[ "$fail" = 0 ] && echo "goals met: ≤ $goal_ms ms and ≤ ${goal_ratio}× cp -r"
exit "$fail"
