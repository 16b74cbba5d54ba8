#!/usr/bin/env bash
# `make bench`: end-to-end deploy latency and gateway throughput as a ratio
# of a bare reverse proxy (e2e/bench_test.go), plus the engine's Go
# micro-benchmarks. Not a test: it reports numbers, it asserts no speed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

have_nginx() { command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]; }
if ! command -v wrk >/dev/null 2>&1 || ! have_nginx; then
  echo "bench: installing wrk and nginx (the CPU-per-request baseline)"
  apt-get update -qq && apt-get install -y -qq wrk nginx-light >/dev/null 2>&1 || apt-get install -y -qq wrk nginx >/dev/null
fi
started=0
if ! scripts/cassandra.sh status >/dev/null 2>&1; then scripts/cassandra.sh start; started=1; fi
trap '[[ $started == 1 ]] && scripts/cassandra.sh stop' EXIT

export HYBRID_CASSANDRA="${CASSANDRA_HOST:-127.0.0.1}:${CASSANDRA_PORT:-9042}"
HYBRID_CASSANDRA_CREDENTIALS="$(scripts/cassandra.sh credentials)"
export HYBRID_CASSANDRA_CREDENTIALS
export BENCH_REPORT="${BENCH_REPORT:-$root/.run/bench-report.md}"
mkdir -p "$(dirname "$BENCH_REPORT")"
go test -tags bench,integration -count=1 -run TestBenchmarkReport -v -timeout 30m ./e2e/
# Analytics on vs off in the same run (ratio goal >= 0.95), and what UDCA takes into files.
go test -tags bench,integration -count=1 -run TestBenchmarkAnalytics -v -timeout 20m ./e2e/
go test -run '^$' -bench Intake -benchtime 3s ./services/udca/internal/udca/ | tee -a "$BENCH_REPORT"
go test -run '^$' -bench . -benchmem ./services/runtime/internal/engine/ ./pkg/condition/ | tee -a "$BENCH_REPORT"
# MART calls through an Apigee Connect tether vs straight to MART (ratio goal >= 0.5).
go test -run '^$' -bench TetherVsDirect -benchtime 3s ./services/controlplane/internal/connect/ | grep -v '^\s*{' | tee -a "$BENCH_REPORT"
echo "bench: report written to $BENCH_REPORT"
