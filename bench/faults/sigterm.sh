#!/usr/bin/env bash
# SIGTERM during load: the app (serve, default example) takes wrk load on
# the list endpoint (16 connections, 6 s); 2 s in, it gets SIGTERM. As the
# generated README documents, /readyz answers 503 at once, keep-alive ends,
# and the listener keeps serving while requests are in flight, then closes.
# Checks: /readyz 503 right after the signal, every response wrk counted is
# 2xx (in-flight requests finish, none is cut with a 5xx), the process
# exits 0 within its grace period (HTTP_SHUTDOWN_TIMEOUT=GRACE, default
# 5 s) plus the documented 2 s, and a new connection is then refused.
# Loopback only, about 15 s; exits 1 on the first failed check.
#   bench/faults/sigterm.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"
grace=${GRACE:-5}

app_with_data "$PG_SERVER" 2 100 1
key=$KEY
start_app "$work/app.log" LOG_LEVEL=warn HTTP_SHUTDOWN_TIMEOUT="${grace}s" \
  RATE_LIMIT_IP=100000000/minute RATE_LIMIT_API_KEY=100000000/hour
url="http://127.0.0.1:$APP_PORT"

wrk -t2 -c16 -d6s -H "Authorization: Bearer $key" "$url/api/v1/projects?limit=20" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 2
log "SIGTERM to serve ($APP_PID) under load"
t0=$(date +%s%N)
kill -TERM "$APP_PID"
ready=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/readyz" || true)
[ "$ready" = 503 ] || [ "$ready" = 000 ] || die "/readyz answered $ready after SIGTERM, want 503 (draining) or a refused connection"
log "/readyz after SIGTERM: $ready"
set +e
wait "$APP_PID"
rc=$?
set -e
t1=$(date +%s%N)
elapsed_ms=$(( (t1 - t0) / 1000000 ))
wait "$wrk_pid" || true
log "serve exited $rc after ${elapsed_ms} ms"
[ "$rc" = 0 ] || { tail -20 "$work/app.log" >&2; die "serve exited $rc after SIGTERM, want 0"; }
[ "$elapsed_ms" -le $(( (grace + 2) * 1000 )) ] || die "serve took ${elapsed_ms} ms to stop, past its ${grace} s grace period and the documented 2 s"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/readyz" || true)
[ "$code" = 000 ] || die "a new request after exit got $code, want a refused connection"
bad=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$work/wrk.txt")
reqs=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
[ -z "$bad" ] || { cat "$work/wrk.txt" >&2; die "$bad responses under SIGTERM were not 2xx"; }
echo "sigterm: ok — $reqs responses all 2xx, /readyz $ready while draining, exit 0 after ${elapsed_ms} ms (grace ${grace} s), then connections refused"
