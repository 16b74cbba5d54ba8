#!/usr/bin/env bash
# Stops what up.sh started, newest first, each with SIGTERM so it drains;
# then stops Cassandra (every node: a second one, too, with REGIONS=2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run="${HYBRID_RUN_DIR:-$root/.run}"
export HYBRID_RUN_DIR="$run"

stop() {
  local name="$1" pidfile="$run/pids/$1.pid"
  [[ -f "$pidfile" ]] || return 0
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    printf 'down: stopping %s (pid %s)\n' "$name" "$pid"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      printf 'down: %s did not stop in 30s, killing\n' "$name"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

# Region 2's processes (make up REGIONS=2) first; absent ones are skipped.
for s in telemetry-2 telemetry watcher-2 runtime-2 synchronizer-2 connect-agent watcher udca mart runtime synchronizer controlplane; do stop "$s"; done
if [[ "${1:-}" != "--keep-cassandra" ]]; then
  "$root/scripts/cassandra.sh" stop
fi
