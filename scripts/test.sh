#!/usr/bin/env bash
# `make test`: every module's tests, with a real Cassandra for the
# integration and end-to-end ones. Starts Cassandra if it is not running and
# stops it again afterwards only if it started it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

started=0
if ! scripts/cassandra.sh status >/dev/null 2>&1; then
  scripts/cassandra.sh start
  started=1
fi
cleanup() { if [[ $started == 1 ]]; then scripts/cassandra.sh stop; fi; }
trap cleanup EXIT

export HYBRID_CASSANDRA="${CASSANDRA_HOST:-127.0.0.1}:${CASSANDRA_PORT:-9042}"
HYBRID_CASSANDRA_CREDENTIALS="$(scripts/cassandra.sh credentials)"
export HYBRID_CASSANDRA_CREDENTIALS
# helm for the chart tests (e2e/charts_test.go), built from its module once.
if ! command -v helm >/dev/null 2>&1 && [[ ! -x "$(go env GOPATH)/bin/helm" ]]; then
  echo "test: installing helm (go install helm.sh/helm/v4/cmd/helm@v4.3.2)"
  go install helm.sh/helm/v4/cmd/helm@v4.3.2
fi
mapfile -t pkgs < <(go list -m -f '{{.Dir}}/...')
go vet -tags integration "${pkgs[@]}"
go test -tags integration -count=1 -timeout 20m "${pkgs[@]}"
