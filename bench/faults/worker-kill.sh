#!/usr/bin/env bash
# A worker killed during a job (default example, River on PostgreSQL): a
# tenant with ROWS projects (default 150,000) asks for an export (POST
# /api/v1/projects/exports → 202 and a status URL); the worker process is
# killed with SIGKILL while the job's status says running; a new worker is
# started. Checks: the status reaches completed with attempts ≥ 2 and the
# whole tenant exported, within the rescue bound (JOBS_RESCUE_AFTER=8s,
# JOBS_TIMEOUT=6s here, plus River's rescuer period) — at most 120 s.
# Loopback only; exits 1 on the first failed check.
#   bench/faults/worker-kill.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"
rows=${ROWS:-150000}

app_with_data "$PG_SERVER" 1 "$rows" 0
key=$KEY
jobs_env=(JOBS_TIMEOUT=6s JOBS_RESCUE_AFTER=8s JOBS_RETRY_BACKOFF=1s JOBS_POLL_INTERVAL=200ms
  BLOB_URL="file://$work/blobs?create_dir=true&no_tmp_dir=true" BLOB_SIGNING_KEY="bench-signing-key-of-at-least-32-characters")
start_app "$work/app.log" "${jobs_env[@]}"
url="http://127.0.0.1:$APP_PORT"

start_worker() {
  APP_ENV_EXTRA=(METRICS_ADDR="127.0.0.1:$(free_port)" "${jobs_env[@]}")
  app_environ
  APP_ENV_EXTRA=()
  env -i "${APP_ENVIRON[@]}" "$APP_BIN" worker >>"$work/worker.log" 2>&1 &
  worker_pid=$!
  pids+=("$worker_pid")
}

status() { curl -fsS --max-time 5 -H "Authorization: Bearer $key" "$url$1"; }
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get(sys.argv[2]) if not isinstance(d.get(sys.argv[2]), dict) else json.dumps(d[sys.argv[2]]))' "$1" "$2"; }

curl -fsS -D "$work/headers" -o "$work/accepted" --max-time 10 -X POST -H "Authorization: Bearer $key" "$url/api/v1/projects/exports" ||
  die "POST exports failed"
location=$(awk 'tolower($1) == "location:" {print $2}' "$work/headers" | tr -d '\r')
[ -n "$location" ] || die "the 202 has no Location"
log "export accepted: $location"
start_worker
state=""
for _ in $(seq 1 200); do
  st=$(status "$location")
  state=$(field "$st" state)
  [ "$state" = running ] && break
  [ "$state" = completed ] && die "the export completed before the worker could be killed: raise ROWS"
  sleep 0.05
done
[ "$state" = running ] || die "the job never ran: $st"
kill -KILL "$worker_pid"
wait "$worker_pid" 2>/dev/null || true
log "worker killed with SIGKILL while the job ran (attempt $(field "$st" attempts))"
sleep 1
st=$(status "$location")
[ "$(field "$st" state)" != completed ] || die "the job says completed although its worker was killed: $st"
t0=$(date +%s)
start_worker
for _ in $(seq 1 240); do
  st=$(status "$location")
  state=$(field "$st" state)
  case $state in completed | failed | cancelled | discarded) break ;; esac
  sleep 0.5
done
elapsed=$(( $(date +%s) - t0 ))
attempts=$(field "$st" attempts)
result=$(field "$st" result)
items=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("items"))' "$result" 2>/dev/null || echo "?")
echo "job: $state after ${elapsed}s with the new worker, attempts $attempts, result $result"
[ "$state" = completed ] || die "the job ended $state: $st"
[ "$attempts" -ge 2 ] || die "the job completed in $attempts attempt(s): the killed attempt was not counted"
[ "$items" = "$rows" ] || die "the export holds $items items, want $rows"
echo "worker-kill: ok — killed mid-job, retried by the next worker, completed in attempt $attempts with all $rows items (${elapsed}s)"
