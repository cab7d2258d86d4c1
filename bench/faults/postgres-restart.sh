#!/usr/bin/env bash
# PostgreSQL restarted during load (wrk, 8 connections). A private cluster (initdb + pg_ctl, as
# the postgres user, on a free loopback port, in a temporary directory) so
# the shared server is never touched. The app (serve, default example) takes
# a steady stream of list requests; the cluster is stopped for GAP seconds
# (default 4) and started again. Checks:
#   - during the gap, requests are answered 503 with the JSON error code
#     "unavailable" and Retry-After, each within DATABASE_CONNECT_TIMEOUT
#     (2 s here) plus a margin: nothing hangs;
#   - /readyz answers 503 during the gap and 200 after it;
#   - after the restart the same process answers 200 again within 10 s;
#   - the process is still the same one and never logged a panic.
# About 40 s; exits 1 on the first failed check.
#   bench/faults/postgres-restart.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"
gap=${GAP:-4}
pgbin=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -1)

# as_postgres CMD...: runs CMD as the postgres user (initdb refuses root).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -z "${APP_BIN:-}" ]; then gen_project default; fi # before the cluster: it takes a while
chmod 711 "$work"
pgdata="$work/pgdata"
install -d -m 700 "$pgdata"
[ "$(id -u)" = 0 ] && chown postgres "$pgdata"
pgport=$(free_port)
as_postgres "$pgbin/initdb" -D "$pgdata" -U postgres -A trust --no-sync >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; die "initdb"; }
pg() { as_postgres "$pgbin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 30 "$@" >/dev/null; }
pg start -o "-p $pgport -k $pgdata -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
cleanups+=("as_postgres '$pgbin/pg_ctl' -D '$pgdata' -m immediate -w stop >/dev/null 2>&1")
log "private PostgreSQL on 127.0.0.1:$pgport"

app_with_data "postgres://postgres@127.0.0.1:$pgport" 2 100 1
key=$KEY
start_app "$work/app.log" DATABASE_CONNECT_TIMEOUT=2s DATABASE_STATEMENT_TIMEOUT=5s \
  RATE_LIMIT_IP=100000000/minute RATE_LIMIT_API_KEY=100000000/hour
url="http://127.0.0.1:$APP_PORT"
pid=$APP_PID

# probe FILE: one list request; appends "epoch_ms status seconds code
# retry_after(yes|no)".
probe() {
  local out
  out=$(curl -s -D "$work/headers" -o "$work/body" -w '%{http_code} %{time_total}' --max-time 20 \
    -H "Authorization: Bearer $key" "$url/api/v1/projects?limit=20" || true)
  local code
  code=$(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["error"]["code"])
except Exception: print("-")' "$work/body")
  local retry=no
  grep -qi '^retry-after:' "$work/headers" && retry=yes
  echo "$(( $(date +%s%N) / 1000000 )) $out $code $retry" >>"$1"
}
ready() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/readyz" || true; }

for _ in 1 2 3; do probe "$work/before"; done
awk '$2 != 200 {exit 1}' "$work/before" || die "requests failed before the restart: $(cat "$work/before")"

# Load beside the probes: 8 connections for the whole outage; none may
# time out (10 s), i.e. hang.
wrk -t1 -c8 -d"$(( gap + 6 ))s" --timeout 10s -H "Authorization: Bearer $key" "$url/api/v1/projects?limit=20" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 1
log "stop PostgreSQL for ${gap}s"
pg stop -m fast
stopped_at=$(( $(date +%s%N) / 1000000 ))
deadline=$(( stopped_at + gap * 1000 ))
while [ "$(( $(date +%s%N) / 1000000 ))" -lt "$deadline" ]; do
  probe "$work/gap"
  sleep 0.2
done
readyz_gap=$(ready)
log "start PostgreSQL"
pg start -o "-p $pgport -k $pgdata -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
started_at=$(( $(date +%s%N) / 1000000 ))
recovered=""
for _ in $(seq 1 50); do
  probe "$work/after"
  if [ "$(tail -1 "$work/after" | cut -d' ' -f2)" = 200 ]; then recovered=$(tail -1 "$work/after" | cut -d' ' -f1); break; fi
  sleep 0.2
done
readyz_after=$(ready)
wait "$wrk_pid" || true
wrk_timeouts=$(awk '/Socket errors/ {gsub(",", ""); print $NF}' "$work/wrk.txt")
wrk_line=$(awk '/requests in/ {print $1 " requests"} /Non-2xx/ {print $5 " non-2xx"}' "$work/wrk.txt" | tr '\n' ' ')

n_gap=$(wc -l <"$work/gap")
n_503=$(awk '$2 == 503 && $4 == "unavailable"' "$work/gap" | wc -l)
n_retry=$(awk '$2 == 503 && $5 == "yes"' "$work/gap" | wc -l)
slowest=$(sort -k3 -g "$work/gap" | tail -1 | cut -d' ' -f3)
others=$(awk '$2 != 503 || $4 != "unavailable" {print $2 "/" $4}' "$work/gap" | sort | uniq -c | tr '\n' ' ')
printf 'gap: %d requests, %d answered 503 unavailable, slowest %.2f s; others: %s\n' "$n_gap" "$n_503" "$slowest" "${others:-none}"
printf '/readyz: %s during the gap, %s after\n' "$readyz_gap" "$readyz_after"
printf 'load: wrk 8 connections through the outage: %s, %s timeouts\n' "$wrk_line" "${wrk_timeouts:-0}"
[ "${wrk_timeouts:-0}" = 0 ] || die "$wrk_timeouts requests of the load hung past 10 s"
[ "$n_gap" -gt 0 ] || die "no request was made during the gap"
# A request in flight when the server stops may still be answered (200) or
# fail as the connection drops (503); none may be anything else.
bad=$(awk '!($2 == 200 || ($2 == 503 && $4 == "unavailable"))' "$work/gap" | wc -l)
[ "$bad" = 0 ] || die "requests during the gap got other answers than 200 or 503 unavailable: $others"
[ "$n_503" -ge 1 ] || die "no request during the gap was answered 503"
[ "$n_retry" = "$(awk '$2 == 503' "$work/gap" | wc -l)" ] || die "a 503 during the gap had no Retry-After"
awk -v s="$slowest" 'BEGIN {exit !(s <= 4.5)}' || die "a request took ${slowest} s during the gap: past the 2 s connect timeout and margin"
[ "$readyz_gap" = 503 ] || die "/readyz answered $readyz_gap during the gap, want 503"
[ -n "$recovered" ] || die "no 200 within 10 s of the restart: $(tail -3 "$work/after")"
[ "$readyz_after" = 200 ] || die "/readyz answered $readyz_after after the restart, want 200"
kill -0 "$pid" 2>/dev/null || die "serve exited"
if grep -q '"panic"\|panic:' "$work/app.log"; then die "serve logged a panic"; fi
echo "postgres-restart: ok — 503 unavailable during the ${gap} s gap (slowest ${slowest} s), 200 again $(( recovered - started_at )) ms after the restart, same process, /readyz $readyz_gap → $readyz_after"
