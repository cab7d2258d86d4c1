#!/usr/bin/env bash
# The generated app under load against PostgreSQL alone, in one run:
#   A. wrk, CONNS connections, DURATION seconds, against GET /api/v1/projects
#      (20 items with their embedded notes) of the default example, with every
#      production middleware on: API key authentication, tenant from the
#      key, the RLS batch, rate limits (raised so none refuses), query
#      counting, metrics, JSON logs to a file;
#   B. pgbench -M prepared, CONNS clients, 2 threads, the same SQL as the
#      store sends, pipelined the way tenancy.Query sends it (set_config and
#      the list in one batch, one Sync), as the same role, on the same data.
# Rounds of A then B (ROUNDS, default 2); the best round of each is kept.
# Reports req/s, p50, p99, app CPU per request (/proc/PID/stat), RSS, pool
# wait (/metrics, when the app exports db_pool_* series) and the ratio A/B.
# Exits 1 when the ratio is under GOAL (0.40) or a request failed.
#   bench/load.sh
#   DURATION=5 ROUNDS=1 TENANTS=10 ROWS=100 bench/load.sh
#   PERF=/tmp/load.perf bench/load.sh   # perf profile of the app in round 1
#   POOL=64 bench/load.sh                # DATABASE_MAX_CONNS (default: the app's own, 20)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
duration=${DURATION:-10}
rounds=${ROUNDS:-2}
conns=${CONNS:-64}
tenants=${TENANTS:-100}
rows=${ROWS:-1000}
notes=${NOTES:-2}
goal=${GOAL:-0.40}
pool_env=()
if [ -n "${POOL:-}" ]; then pool_env=(DATABASE_MAX_CONNS="$POOL"); fi
command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
command -v pgbench >/dev/null || die "pgbench is missing: apt-get install -y postgresql-client"

gen_project default
store="$work/app/internal/modules/projects/internal/store/store.go"
# The SQL of Store.List, first page, as the store builds it; checked
# against the generated store so that the two cannot drift apart silently.
list_sql="SELECT i.id, i.name, i.description, n.note_ids, n.note_bodies, n.note_times, i.notes_count, i.created_at, i.updated_at FROM projects i
LEFT JOIN LATERAL (
    SELECT array_agg(n.id ORDER BY n.created_at DESC, n.id DESC) AS note_ids,
           array_agg(n.body ORDER BY n.created_at DESC, n.id DESC) AS note_bodies,
           array_agg(n.created_at ORDER BY n.created_at DESC, n.id DESC) AS note_times
    FROM (
        SELECT n.id, n.body, n.created_at FROM project_notes n
        WHERE n.tenant_id = i.tenant_id AND n.project_id = i.id
        ORDER BY n.created_at DESC, n.id DESC
        LIMIT 3
    ) n
) n ON true ORDER BY i.created_at DESC, i.id DESC LIMIT 21"
for part in "itemColumns = \`i.id, i.name, i.description, n.note_ids, n.note_bodies, n.note_times, i.notes_count, i.created_at, i.updated_at\`" \
  "SELECT array_agg(n.id ORDER BY n.created_at DESC, n.id DESC) AS note_ids," \
  "array_agg(n.created_at ORDER BY n.created_at DESC, n.id DESC) AS note_times" \
  "WHERE n.tenant_id = i.tenant_id AND n.project_id = i.id" \
  "sql := selectProjects + \` ORDER BY i.created_at DESC, i.id DESC LIMIT \$1\`"; do
  grep -qF "$part" "$store" || die "the generated store no longer has: $part (update list_sql in $0)"
done

create_db "$PG_SERVER"
seed "$tenants" "$rows" "$notes"
tenant=$(tenant_id t001)
key=$(api_key t001)
[ -n "$key" ] || die "no API key"

start_app "$work/app.log" APP_ENV=production BLOB_SIGNING_KEY="bench-signing-key-of-at-least-32-characters" \
  LOG_LEVEL=info RATE_LIMIT_IP=100000000/minute RATE_LIMIT_API_KEY=100000000/hour \
  BLOB_URL="file://$work/blobs?create_dir=true&no_tmp_dir=true" "${pool_env[@]}"
url="http://127.0.0.1:$APP_PORT/api/v1/projects?limit=20"
items=$(curl -fsS -H "Authorization: Bearer $key" "$url" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]), sum(len(i["notes"]) for i in d["items"]))')
[ "${items%% *}" = 20 ] || die "the list answered $items items, want 20"
log "list answers 20 items ($items notes)"

cat >"$work/list.sql" <<SQL
\\startpipeline
SELECT set_config('app.tenant_id', :tenant, true);
$(tr '\n' ' ' <<<"$list_sql");
\\endpipeline
SQL

clk=$(getconf CLK_TCK)
# redis_cpu prints the CPU seconds the Redis server has used (the rate
# limits' Lua call is part of every request's cost).
redis_cpu() { redis-cli -u "${REDIS_URL:-redis://127.0.0.1:6379/0}" info cpu | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {print s + 0}'; }
best_app=0; best_pg=0
for round in $(seq 1 "$rounds"); do
  log "round $round: wrk ${duration}s"
  t0=$(cpu_ticks "$APP_PID")
  if [ -n "${PERF:-}" ] && [ "$round" = 1 ]; then
    perf record -q -F 499 -g -p "$APP_PID" -o "$work/perf.data" -- sleep "$duration" 2>/dev/null &
    pids+=($!)
  fi
  r0=$(redis_cpu)
  /usr/bin/time -f '%U %S' -o "$work/wrk-cpu$round" \
    wrk -t2 -c"$conns" -d"${duration}s" --latency -H "Authorization: Bearer $key" "$url" >"$work/wrk$round.txt"
  t1=$(cpu_ticks "$APP_PID")
  r1=$(redis_cpu)
  reqs=$(awk '/requests in/ {print $1}' "$work/wrk$round.txt")
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk$round.txt")
  bad=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$work/wrk$round.txt")
  errs=$(awk '/Socket errors/ {print $0}' "$work/wrk$round.txt")
  [ -z "$bad" ] || { cat "$work/wrk$round.txt" >&2; tail -5 "$work/app.log" >&2; die "$bad responses were not 2xx"; }
  [ -z "$errs" ] || { cat "$work/wrk$round.txt" >&2; die "wrk: $errs"; }
  cpu_us=$(awk -v a="$t0" -v b="$t1" -v n="$reqs" -v c="$clk" 'BEGIN {printf "%.0f", (b - a) / c * 1e6 / n}')
  wrk_us=$(awk -v n="$reqs" '{printf "%.0f", ($1 + $2) * 1e6 / n}' "$work/wrk-cpu$round")
  redis_us=$(awk -v a="$r0" -v b="$r1" -v n="$reqs" 'BEGIN {printf "%.0f", (b - a) * 1e6 / n}')
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk$round.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk$round.txt")
  log "round $round: pgbench ${duration}s"
  pgbench -n -M prepared -c "$conns" -j 2 -T "$duration" -D tenant="$tenant" -f "$work/list.sql" "$APP_URL" >"$work/pgbench$round.txt" 2>&1 ||
    { cat "$work/pgbench$round.txt" >&2; die "pgbench"; }
  tps=$(awk '/^tps = / {print $3; exit}' "$work/pgbench$round.txt")
  pglat=$(awk '/^latency average/ {print $4 " " $5}' "$work/pgbench$round.txt")
  printf 'round %d: app %s req/s (p50 %s, p99 %s; CPU per request: app %s µs, wrk %s µs, Redis %s µs)  pgbench %s tps (latency avg %s)  ratio %.2f\n' \
    "$round" "$rps" "$p50" "$p99" "$cpu_us" "$wrk_us" "$redis_us" "$tps" "$pglat" "$(awk -v a="$rps" -v b="$tps" 'BEGIN {print a / b}')"
  if awk -v a="$rps" -v b="$tps" -v ba="$best_app" -v bp="$best_pg" 'BEGIN {exit !(a / b > (bp ? ba / bp : 0))}'; then
    best_app=$rps; best_pg=$tps; best_p50=$p50; best_p99=$p99; best_cpu=$cpu_us; best_wrk=$wrk_us; best_redis=$redis_us
  fi
done

if [ -n "${PERF:-}" ]; then
  perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -v '^$' | sed -n 1,80p >"$PERF"
  perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -v '^$' | sed -n 1,120p >"$PERF.children"
  log "perf profile of round 1: $PERF, $PERF.children"
fi
pool=$(curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" | grep -E '^db_pool_(acquire_wait|empty_acquire|wait)' | tr '\n' ' ' || true)
ratio=$(awk -v a="$best_app" -v b="$best_pg" 'BEGIN {printf "%.2f", a / b}')
echo
printf 'data: %d tenants × %d projects × %d notes; %d connections; app pool %s; %ss per run; %d CPUs; load %s\n' \
  "$tenants" "$rows" "$notes" "$conns" "${POOL:-20 (default)}" "$duration" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'app      %s req/s  p50 %s  p99 %s  CPU %s µs/request (beside it: wrk %s µs, Redis %s µs)  RSS %s MiB (peak %s MiB)\n' \
  "$best_app" "$best_p50" "$best_p99" "$best_cpu" "$best_wrk" "$best_redis" "$(rss_mib "$APP_PID" VmRSS)" "$(rss_mib "$APP_PID" VmHWM)"
printf 'pgbench  %s tps (-M prepared -c %d -j 2, pipelined set_config + list)\n' "$best_pg" "$conns"
printf 'pool wait: %s\n' "${pool:-n/a (the app exports no db_pool_* series)}"
printf 'ratio app / pgbench: %s (goal ≥ %s)\n' "$ratio" "$goal"
awk -v r="$ratio" -v g="$goal" 'BEGIN {exit !(r >= g)}' || { echo "GOAL MISSED"; exit 1; }
echo "goal met"
