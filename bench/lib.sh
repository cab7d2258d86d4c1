# shellcheck shell=bash
# Shared steps of the bench/ scripts: a work directory removed on exit, a
# generated project built once, a database on a PostgreSQL server seeded
# with tenants and rows, and the app's processes, all stopped on exit.
# Source it after `set -euo pipefail`:
#   . "$(dirname "$0")/lib.sh"   (or ../lib.sh from bench/faults)

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
PROJECT=${PROJECT:-benchapp}

work=$(mktemp -d "${TMPDIR:-/tmp}/saasgen-bench.XXXXXX")
pids=()
databases=()
cleanups=()

cleanup() {
  local rc=$?
  local pid db c
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  for c in "${cleanups[@]}"; do
    eval "$c" || true
  done
  for db in "${databases[@]}"; do
    psql "$PG_SERVER/postgres?sslmode=disable" -qAtX -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# free_port prints a TCP port nothing listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# gen_project [EXAMPLE]: generates examples/EXAMPLE.yaml (default) as
# $PROJECT into $work/app and builds its binary $work/app/bin/app.
gen_project() {
  local example=${1:-default}
  log "generate $example and build"
  (cd "$BENCH_ROOT" && go build -o "$work/saasgen" ./cmd/saasgen)
  "$work/saasgen" new "$PROJECT" --config "$BENCH_ROOT/examples/$example.yaml" --module "$PROJECT" \
    --yes --skip-verify --no-git --dir "$work/app" >/dev/null
  (cd "$work/app" && go build -o bin/app "./cmd/$PROJECT")
  APP_BIN=$work/app/bin/app
}

# create_db SERVER_URL: creates a fresh database on the server, migrates it
# with the app's own command, and sets OWNER_URL and APP_URL.
create_db() {
  local server=$1
  DB_NAME="${PROJECT}_$$_${RANDOM}"
  psql "$server/postgres?sslmode=disable" -qAtX -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
  databases+=("$DB_NAME")
  OWNER_URL="$server/$DB_NAME?sslmode=disable"
  local hostport=${server#postgres://*@}
  APP_URL="postgres://${PROJECT}_app:${PROJECT}_app@$hostport/$DB_NAME?sslmode=disable"
  app_env migrate up >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "migrate up"; }
}

# app_environ sets APP_ENVIRON, the environment the app runs with: the
# bench database and Redis, then APP_ENV_EXTRA.
app_environ() {
  APP_ENVIRON=(PATH="$PATH" HOME="${HOME:-/root}"
    DATABASE_URL="$APP_URL" MIGRATE_DATABASE_URL="$OWNER_URL"
    REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}" REDIS_KEY_PREFIX="${PROJECT}$$:"
    "${APP_ENV_EXTRA[@]}")
}
APP_ENV_EXTRA=()

# app_env CMD...: runs the app binary with that environment.
app_env() {
  app_environ
  env -i "${APP_ENVIRON[@]}" "$APP_BIN" "$@"
}

# seed TENANTS ROWS NOTES: TENANTS tenants t001…, each with ROWS projects
# of NOTES notes each, through SQL as the owner.
seed() {
  local tenants=$1 rows=$2 notes=$3
  log "seed $tenants tenants × $rows projects × $notes notes"
  psql "$OWNER_URL" -qAtX -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO tenants (slug, name)
  SELECT 't' || lpad(g::text, 3, '0'), 'Tenant ' || g FROM generate_series(1, $tenants) g;
INSERT INTO projects (tenant_id, name, description, created_at, updated_at)
  SELECT t.id, 'Project ' || g, 'A project of ' || t.name || ', number ' || g || ', with a description of ordinary length.',
         now() - g * interval '1 minute', now() - g * interval '1 minute'
  FROM tenants t, generate_series(1, $rows) g;
INSERT INTO project_notes (tenant_id, project_id, body, created_at)
  SELECT p.tenant_id, p.id, 'Note ' || k || ' on ' || p.name, p.created_at + k * interval '1 second'
  FROM projects p, generate_series(1, $notes) k;
VACUUM ANALYZE;
SQL
}

# tenant_id SLUG prints the tenant's id.
tenant_id() { psql "$OWNER_URL" -qAtX -c "SELECT id FROM tenants WHERE slug = '$1'"; }

# api_key SLUG: creates an API key for the tenant with the app's own command.
api_key() { app_env apikeys create --tenant "$1" --name bench --role admin 2>/dev/null; }

# start_app LOG [ENV=VALUE...]: starts `serve` on free ports with the bench
# environment plus the given variables, logs (JSON) to LOG, and waits until
# /readyz answers; sets APP_PID, APP_PORT, METRICS_PORT.
start_app() {
  local logfile=$1; shift
  APP_PORT=$(free_port); METRICS_PORT=$(free_port)
  APP_ENV_EXTRA=(HTTP_ADDR="127.0.0.1:$APP_PORT" METRICS_ADDR="127.0.0.1:$METRICS_PORT" "$@")
  app_environ
  env -i "${APP_ENVIRON[@]}" "$APP_BIN" serve >"$logfile" 2>&1 &
  APP_PID=$!
  pids+=("$APP_PID")
  APP_ENV_EXTRA=()
  local _
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$APP_PORT/readyz" 2>/dev/null; then return 0; fi
    kill -0 "$APP_PID" 2>/dev/null || { tail -20 "$logfile" >&2; die "serve exited"; }
    sleep 0.1
  done
  tail -20 "$logfile" >&2
  die "serve not ready after 10 s"
}

# app_with_data SERVER TENANTS ROWS NOTES: the default project (built once:
# run-all.sh exports APP_BIN), a fresh database on SERVER seeded with
# TENANTS tenants of ROWS projects of NOTES notes, and KEY, an admin API key
# of tenant t001.
app_with_data() {
  if [ -z "${APP_BIN:-}" ]; then gen_project default; fi
  create_db "$1"
  seed "$2" "$3" "$4"
  KEY=$(api_key t001)
  [ -n "$KEY" ] || die "no API key"
}

# cpu_ticks PID prints the process's user+system clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# rss_mib PID FIELD prints VmRSS or VmHWM in MiB.
rss_mib() { awk -v f="$2:" '$1 == f {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
