#!/usr/bin/env bash
# Runs the fault scripts against one generated and built project (default
# example). Without arguments, the fast ones, meant for CI (about 1.5 min on
# a warm module cache): sigterm, postgres-restart, redis-restart. With
# --all, also the slow one: worker-kill (a 150,000-row export, a River
# rescue; about 1 min more). Exits 1 when any fails, after running all.
#   bench/faults/run-all.sh [--all]
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"
faults=(sigterm postgres-restart redis-restart)
case ${1:-} in
  --all) faults+=(worker-kill) ;;
  "") ;;
  *) die "usage: $0 [--all]" ;;
esac
gen_project default
export APP_BIN
failed=()
for f in "${faults[@]}"; do
  log "fault: $f"
  t0=$(date +%s)
  if "$(dirname "$0")/$f.sh"; then
    log "fault $f passed in $(( $(date +%s) - t0 ))s"
  else
    log "fault $f FAILED"
    failed+=("$f")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "faults failed: ${failed[*]}"
  exit 1
fi
echo "faults passed: ${faults[*]}"
