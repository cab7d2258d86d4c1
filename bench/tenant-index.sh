#!/usr/bin/env bash
# The seed's claim that a tenant-leading index turns a slow query on 10
# million rows into milliseconds, on the generated schema (default example,
# migrated by the app's own command): ROWS projects (default 10,000,000)
# spread over TENANTS tenants (default 100), then the list statement of one
# tenant (20 newest, with the notes join), as the application runs it (the
# application role, set_config in the transaction, row-level security),
# under EXPLAIN ANALYZE:
#   with    the generated indexes;
#   without every tenant-leading index of projects (the list index and the
#           UNIQUE (tenant_id, id) that the notes' foreign key uses), dropped
#           inside a transaction that is rolled back.
# Bounded: refuses to start with less than 4 GB free per 10 M rows (df), and
# stops the load at LOAD_TIMEOUT (default 240 s). Exits 1 when the query
# with the index is not at least 10× faster.
#   bench/tenant-index.sh
#   ROWS=1000000 bench/tenant-index.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
rows=${ROWS:-10000000}
tenants=${TENANTS:-100}
load_timeout=${LOAD_TIMEOUT:-240}

datadir=$(psql "$PG_SERVER/postgres?sslmode=disable" -qAtX -c 'SHOW data_directory')
need_kb=$(( rows * 4 / 10 + 500000 ))
free_kb=$(df -Pk "$datadir" 2>/dev/null | awk 'NR == 2 {print $4}' || df -Pk / | awk 'NR == 2 {print $4}')
[ "${free_kb:-0}" -ge "$need_kb" ] || die "$(( free_kb / 1024 )) MiB free under $datadir; $(( need_kb / 1024 )) MiB needed for $rows rows (set ROWS lower)"

gen_project default
create_db "$PG_SERVER"
log "load $rows projects over $tenants tenants (bounded to ${load_timeout}s)"
t0=$(date +%s)
psql "$OWNER_URL" -qAtX -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
SET statement_timeout = '${load_timeout}s';
INSERT INTO tenants (slug, name) SELECT 't' || lpad(g::text, 3, '0'), 'Tenant ' || g FROM generate_series(1, $tenants) g;
-- The rows are valid by construction: skip the per-row foreign key checks.
SET session_replication_role = replica;
INSERT INTO projects (tenant_id, name, description, created_at, updated_at)
  SELECT t.id, 'Project ' || g, 'Description of project ' || g, now() - g * interval '1 second', now() - g * interval '1 second'
  FROM generate_series(1, $(( rows / tenants ))) g, tenants t;
SET session_replication_role = origin;
VACUUM ANALYZE projects;
SQL
loaded_s=$(( $(date +%s) - t0 ))
size=$(psql "$OWNER_URL" -qAtX -c "SELECT pg_size_pretty(pg_total_relation_size('projects'))")
count=$(psql "$OWNER_URL" -qAtX -c "SELECT count(*) FROM projects")
log "loaded $count rows in ${loaded_s}s ($size with indexes)"
tenant=$(tenant_id t050)
role="${PROJECT}_app"
list_sql="SELECT i.id, i.name, i.description, n.note_ids, i.notes_count, i.created_at, i.updated_at FROM projects i
LEFT JOIN LATERAL (SELECT array_agg(n.id ORDER BY n.created_at DESC, n.id DESC) AS note_ids
  FROM (SELECT n.id, n.created_at FROM project_notes n WHERE n.tenant_id = i.tenant_id AND n.project_id = i.id
        ORDER BY n.created_at DESC, n.id DESC LIMIT 3) n) n ON true
ORDER BY i.created_at DESC, i.id DESC LIMIT 21"
explain() { # SETUP: EXPLAIN ANALYZE of the list as the app role, after SETUP, rolled back
  psql "$OWNER_URL" -qAtX -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
BEGIN;
$1
SET LOCAL ROLE "$role";
SELECT set_config('app.tenant_id', '$tenant', true) \\g /dev/null
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $list_sql;
ROLLBACK;
SQL
}
explain "" >/dev/null # warm the cache for both
explain "" >"$work/with.txt"
unique=$(psql "$OWNER_URL" -qAtX -c "SELECT conname FROM pg_constraint WHERE conrelid = 'projects'::regclass AND contype = 'u'")
explain "SET LOCAL statement_timeout = '120s';
DROP INDEX projects_tenant_created_idx;
ALTER TABLE projects DROP CONSTRAINT \"$unique\" CASCADE;" >/dev/null
explain "SET LOCAL statement_timeout = '120s';
DROP INDEX projects_tenant_created_idx;
ALTER TABLE projects DROP CONSTRAINT \"$unique\" CASCADE;" >"$work/without.txt"
with_ms=$(awk '/Execution Time/ {print $3}' "$work/with.txt")
without_ms=$(awk '/Execution Time/ {print $3}' "$work/without.txt")
echo "--- with the tenant-leading index"; grep -E 'Scan|Execution Time' "$work/with.txt" | sed -n 1,4p
echo "--- without it"; grep -E 'Scan|Execution Time' "$work/without.txt" | sed -n 1,4p
echo
printf '%s projects, %d tenants (%s rows each), %s; loaded in %ss; %d CPUs, load %s\n' "$count" "$tenants" "$(( rows / tenants ))" "$size" "$loaded_s" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'list of one tenant under RLS: %s ms with the index, %s ms without (%.0f×)\n' "$with_ms" "$without_ms" "$(awk -v a="$without_ms" -v b="$with_ms" 'BEGIN {print a / b}')"
awk -v a="$without_ms" -v b="$with_ms" 'BEGIN {exit !(a >= 10 * b)}' || { echo "GOAL MISSED: the index is not 10× faster"; exit 1; }
echo "claim holds"
