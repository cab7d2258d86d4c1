#!/usr/bin/env bash
# The cost of enforcement, in one run, at two levels (PART=endpoint, store
# or both, the default):
#
# endpoint: the app's list endpoint (GET /api/v1/projects?limit=20, default
#   example, every production middleware on, as in bench/load.sh) served by
#   two binaries built from the same generated tree: "rls", the app as
#   generated (set_config + statement in one batch, application role,
#   policies on), and "plain", a benchmark-only build in which Store.List
#   sends the same statement alone, with `WHERE i.tenant_id = $2`, through
#   the same batch path, connected as the owner (a superuser, whom the
#   policies do not bind). The plain build is made with `go build -overlay`
#   from a patched copy of store.go kept in the work directory: the
#   generated tree is not changed and the product has no such switch. wrk
#   loads each in turn, ROUNDS times (alternating); the best round of each
#   is kept. The goal (GOAL, 1.10) is on this ratio: rls time per request
#   over plain time per request (plain req/s over rls req/s).
# store: the generated store's BenchmarkList, the list statement both ways
#   through a real pool of 16 connections (COUNT runs of each, median ns/op);
#   no HTTP, so it shows the database's part of the cost alone.
#
#   bench/rls.sh
#   PART=endpoint ROUNDS=3 DURATION=10 bench/rls.sh
#   PART=store COUNT=5 BENCHTIME=3s bench/rls.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
part=${PART:-both}
count=${COUNT:-5}
benchtime=${BENCHTIME:-2s}
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
conns=${CONNS:-64}
goal=${GOAL:-1.10}
case $part in endpoint | store | both) ;; *) die "PART=$part: want endpoint, store or both" ;; esac

gen_project default
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

if [ "$part" != endpoint ]; then
  log "store: BenchmarkList, $count × $benchtime each way"
  (cd "$work/app" && TEST_DATABASE_URL="$PG_SERVER/postgres?sslmode=disable" TEST_REQUIRE_SERVICES=1 \
    go test -run '^$' -bench '^BenchmarkList$' -benchtime "$benchtime" -count "$count" ./internal/modules/projects/internal/store) >"$work/bench.txt" 2>&1 ||
    { cat "$work/bench.txt" >&2; die "go test -bench"; }
  grep '^BenchmarkList' "$work/bench.txt"
  store_rls=$(awk '$1 ~ /^BenchmarkList\/rls/ {print $3}' "$work/bench.txt" | median)
  store_plain=$(awk '$1 ~ /^BenchmarkList\/plain/ {print $3}' "$work/bench.txt" | median)
  store_ratio=$(awk -v a="$store_rls" -v b="$store_plain" 'BEGIN {printf "%.3f", a / b}')
fi

if [ "$part" != store ]; then
  command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
  # The plain build: Store.List's statement gets the tenant as $2 and goes
  # through plainQuery (one statement in a batch, no set_config). Each edit
  # is checked, so a change to the generated store fails here loudly.
  store="$work/app/internal/modules/projects/internal/store/store.go"
  python3 - "$store" "$work/store_plain.go" <<'PY'
import sys
src = open(sys.argv[1]).read()
start = src.index("func (s *Store) List(")
end = src.index("\n}\n", start) + 3
body = src[start:end]
edits = [
    ("` ORDER BY i.created_at DESC, i.id DESC LIMIT $1`\n\targs := []any{limit + 1}",
     "` WHERE i.tenant_id = $2 ORDER BY i.created_at DESC, i.id DESC LIMIT $1`\n\targs := []any{limit + 1, tenantID}"),
    ("WHERE (i.created_at, i.id) < ($2, $3)", "WHERE i.tenant_id = $2 AND (i.created_at, i.id) < ($3, $4)"),
    ("tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {", "plainQuery(ctx, s.db, func(rows pgx.Rows) error {"),
]
for old, new in edits:
    if body.count(old) != 1:
        sys.exit("bench/rls.sh: Store.List no longer has exactly one %r; update the plain build" % old)
    body = body.replace(old, new)
plain = '''
// plainQuery sends sql alone in a batch (the path tenancy.Query takes,
// without set_config) and hands its rows to scan. Benchmark build only.
func plainQuery(ctx context.Context, db tenancy.Batcher, scan func(pgx.Rows) error, sql string, args ...any) error {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := db.SendBatch(ctx, b)
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return err
	}
	scanErr := scan(rows)
	rows.Close()
	if scanErr == nil {
		scanErr = rows.Err()
	}
	if err := br.Close(); scanErr == nil && err != nil {
		scanErr = err
	}
	return scanErr
}
'''
open(sys.argv[2], "w").write(src[:start] + body + src[end:] + plain)
PY
  printf '{"Replace": {"%s": "%s"}}\n' "$store" "$work/store_plain.go" >"$work/overlay.json"
  (cd "$work/app" && go build -overlay "$work/overlay.json" -o bin/app-plain "./cmd/$PROJECT") || die "the plain build does not compile"

  create_db "$PG_SERVER"
  seed "${TENANTS:-100}" "${ROWS:-1000}" "${NOTES:-2}"
  key=$(api_key t001)
  [ -n "$key" ] || die "no API key"
  common=(APP_ENV=production BLOB_SIGNING_KEY="bench-signing-key-of-at-least-32-characters"
    LOG_LEVEL=info RATE_LIMIT_IP=100000000/minute RATE_LIMIT_API_KEY=100000000/hour
    BLOB_URL="file://$work/blobs?create_dir=true&no_tmp_dir=true")
  start_app "$work/rls.log" "${common[@]}"
  rls_pid=$APP_PID rls_port=$APP_PORT
  app_bin=$APP_BIN
  APP_BIN=$work/app/bin/app-plain
  app_url=$APP_URL
  APP_URL=$OWNER_URL
  start_app "$work/plain.log" "${common[@]}"
  plain_pid=$APP_PID plain_port=$APP_PORT
  APP_BIN=$app_bin APP_URL=$app_url
  path="/api/v1/projects?limit=20"
  for port in "$rls_port" "$plain_port"; do
    got=$(curl -fsS -H "Authorization: Bearer $key" "http://127.0.0.1:$port$path" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]), sum(len(i["notes"]) for i in d["items"]), d["items"][0]["id"])')
    [ "${got%% *}" = 20 ] || die "port $port: the list answered $got, want 20 items"
    [ -z "${first:-}" ] || [ "$first" = "$got" ] || die "the two builds answer differently: $first vs $got"
    first=$got
  done
  log "both builds answer the same 20 items"

  clk=$(getconf CLK_TCK)
  # load NAME PID PORT ROUND: one wrk run; prints "rps cpu_us p50 p99".
  load() {
    local name=$1 pid=$2 port=$3 round=$4 t0 t1 out="$work/wrk-$1-$4.txt"
    t0=$(cpu_ticks "$pid")
    wrk -t2 -c"$conns" -d"${duration}s" --latency -H "Authorization: Bearer $key" "http://127.0.0.1:$port$path" >"$out"
    t1=$(cpu_ticks "$pid")
    ! grep -q 'Non-2xx\|Socket errors' "$out" || { cat "$out" >&2; die "$name: wrk saw errors"; }
    awk -v a="$t0" -v b="$t1" -v c="$clk" '
      /requests in/ {n = $1} /^Requests\/sec/ {rps = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2}
      END {printf "%s %.0f %s %s\n", rps, (b - a) / c * 1e6 / n, p50, p99}' "$out"
  }
  best_rls=0 best_plain=0
  for round in $(seq 1 "$rounds"); do
    for name in rls plain; do
      if [ "$name" = rls ]; then pid=$rls_pid port=$rls_port; else pid=$plain_pid port=$plain_port; fi
      log "round $round: $name, wrk ${duration}s"
      read -r rps cpu p50 p99 < <(load "$name" "$pid" "$port" "$round")
      printf 'round %d %-5s %9s req/s  app CPU %4s µs/request  p50 %8s  p99 %8s\n' "$round" "$name" "$rps" "$cpu" "$p50" "$p99"
      if [ "$name" = rls ] && awk -v a="$rps" -v b="$best_rls" 'BEGIN {exit !(a > b)}'; then best_rls=$rps rls_cpu=$cpu; fi
      if [ "$name" = plain ] && awk -v a="$rps" -v b="$best_plain" 'BEGIN {exit !(a > b)}'; then best_plain=$rps plain_cpu=$cpu; fi
    done
  done
  endpoint_ratio=$(awk -v a="$best_rls" -v b="$best_plain" 'BEGIN {printf "%.3f", b / a}')
fi

echo
printf 'list of 20 (with embedded notes); %d CPUs; load %s\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$part" != endpoint ]; then
  printf 'store (BenchmarkList, 16 connections): rls %s ns/op, plain %s ns/op (medians of %d): rls / plain %s\n' \
    "$store_rls" "$store_plain" "$count" "$store_ratio"
fi
if [ "$part" = store ]; then
  ratio=$store_ratio
else
  printf 'endpoint (wrk -c%d, best of %d rounds): rls %s req/s (%s µs CPU), plain %s req/s (%s µs CPU): time per request rls / plain %s\n' \
    "$conns" "$rounds" "$best_rls" "$rls_cpu" "$best_plain" "$plain_cpu" "$endpoint_ratio"
  ratio=$endpoint_ratio
fi
printf 'cost of enforcement: %s (goal ≤ %s)\n' "$ratio" "$goal"
awk -v r="$ratio" -v g="$goal" 'BEGIN {exit !(r <= g)}' || { echo "GOAL MISSED"; exit 1; }
echo "goal met"
