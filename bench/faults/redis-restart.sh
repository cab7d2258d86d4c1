#!/usr/bin/env bash
# Redis stopped and started during load. A private redis-server on a free
# loopback port (the shared one is never touched); the app (serve, default
# example, sessions in Redis) takes wrk load with an API key. The policy
# checked is the one the generated README documents:
#   - ip and api_key limits fail open: API-key requests are still 200;
#   - login fails closed: /auth/login answers 503 rate_limit_unavailable
#     (with Redis up and no OIDC provider configured it answers 501
#     login_not_configured: the limiter let it through);
#   - /readyz answers 503 while Redis is down, 200 after;
#   - nothing hangs past the Redis timeouts, no panic, and the same process
#     recovers once Redis is back (rate limits charged again: RateLimit
#     headers return).
# About 40 s; exits 1 on the first failed check.
#   bench/faults/redis-restart.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"
gap=${GAP:-4}

app_with_data "$PG_SERVER" 2 100 1
key=$KEY

rport=$(free_port)
start_redis() {
  redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --logfile "$work/redis.log" &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 1 50); do
    redis-cli -p "$rport" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "redis-server did not start"
}
start_redis
log "private Redis on 127.0.0.1:$rport"
REDIS_URL="redis://127.0.0.1:$rport/0"
start_app "$work/app.log" REDIS_READ_TIMEOUT=500ms REDIS_DIAL_TIMEOUT=500ms \
  RATE_LIMIT_IP=100000000/minute RATE_LIMIT_API_KEY=100000000/hour
url="http://127.0.0.1:$APP_PORT"
pid=$APP_PID

# call PATH [KEY]: one GET; prints "status seconds error_code ratelimit(yes|no)".
call() {
  local path=$1 auth=${2:-} out code rl=no
  local args=(-s -D "$work/headers" -o "$work/body" -w '%{http_code} %{time_total}' --max-time 20)
  [ -n "$auth" ] && args+=(-H "Authorization: Bearer $auth")
  out=$(curl "${args[@]}" "$url$path" || true)
  code=$(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["error"]["code"])
except Exception: print("-")' "$work/body")
  grep -qi '^ratelimit-limit:' "$work/headers" && rl=yes
  echo "$out $code $rl"
}
expect() { # LABEL GOT WANT_STATUS [WANT_CODE]
  local got=$1 label=$2 status=$3 want_code=${4:-} st secs code _
  read -r st secs code _ <<<"$got"
  [ "$st" = "$status" ] || die "$label: got $got, want $status $want_code"
  [ -z "$want_code" ] || [ "$code" = "$want_code" ] || die "$label: got $got, want $status $want_code"
  awk -v s="$secs" 'BEGIN {exit !(s <= 3)}' || die "$label took $secs s: past the Redis timeouts"
  echo "  $label: $got"
}

echo "Redis up:"
expect "$(call /api/v1/projects "$key")" "list with API key" 200
got=$(call /api/v1/projects "$key"); [ "$(echo "$got" | cut -d' ' -f4)" = yes ] || die "no RateLimit headers with Redis up: $got"
expect "$(call /auth/login)" "login" 501 login_not_configured
expect "$(call /readyz)" "readyz" 200

wrk -t1 -c8 -d"$(( gap + 6 ))s" --timeout 10s -H "Authorization: Bearer $key" "$url/api/v1/projects?limit=20" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 1
log "stop Redis for ${gap}s"
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
sleep 1
echo "Redis down:"
expect "$(call /api/v1/projects "$key")" "list with API key (fail open)" 200
expect "$(call /auth/login)" "login (fail closed)" 503 rate_limit_unavailable
expect "$(call /readyz)" "readyz" 503
sleep "$(( gap - 1 ))"
log "start Redis"
start_redis
recovered=""
for _ in $(seq 1 50); do
  got=$(call /api/v1/projects "$key")
  if [ "$(echo "$got" | cut -d' ' -f1,4)" = "200 yes" ]; then recovered=1; break; fi
  sleep 0.2
done
[ -n "$recovered" ] || die "rate limits not charged again within 10 s of Redis' return: $got"
echo "Redis back:"
expect "$(call /api/v1/projects "$key")" "list with API key" 200
expect "$(call /auth/login)" "login" 501 login_not_configured
expect "$(call /readyz)" "readyz" 200
wait "$wrk_pid" || true
reqs=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
bad=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$work/wrk.txt")
timeouts=$(awk '/Socket errors/ {gsub(",", ""); print $NF}' "$work/wrk.txt")
echo "load: $reqs requests through the outage, ${bad:-0} non-2xx, ${timeouts:-0} timeouts"
[ -z "$bad" ] || die "$bad API-key requests were refused while Redis was down (the api_key and ip limits fail open)"
[ "${timeouts:-0}" = 0 ] || die "$timeouts requests hung"
kill -0 "$pid" 2>/dev/null || die "serve exited"
if grep -q 'panic' "$work/app.log"; then die "serve logged a panic"; fi
echo "redis-restart: ok — API keys served throughout (fail open), login 503 while Redis was down (fail closed), /readyz followed, same process recovered"
