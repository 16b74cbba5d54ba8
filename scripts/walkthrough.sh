#!/usr/bin/env bash
# Runs the README's walkthrough block verbatim against a `make up` runtime
# and checks what it printed, so the README cannot drift from the truth.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
block="$(sed -n '/^export TOKEN=/,/^curl -i http:\/\/127.0.0.1:8998\/nothing/p' README.md)"
connect="$(sed -n '/^curl -s -H "Authorization: Bearer \$TOKEN" -H .Content-Type/,/^grep tether/{p;/^grep tether/q;}' README.md)"
keyed="$(sed -n '/^(cd examples\/keyed/,/QuotaViolation$/p' README.md)"
# Analytics: the calls, then (what a reader does by waiting) poll until UDCA
# has uploaded and the control plane ingested them, then the README's
# stats commands.
analytics_calls="$(sed -n '/^for i in 1 2 3; do curl -s -o \/dev\/null http:\/\/127.0.0.1:8998\/hello/p' README.md)"
analytics_stats="$(sed -n '/^\.run\/bin\/hybridctl stats/,/timeRange=/p' README.md)"
[[ -n "$block" && -n "$connect" && -n "$keyed" && -n "$analytics_calls" && -n "$analytics_stats" ]] || { echo "walkthrough: blocks not found in README.md"; exit 1; }
block="$block
$connect
$keyed
$analytics_calls
for _ in \$(seq 60); do .run/bin/hybridctl stats --minutes 5 | grep -qw hello && break; sleep 1; done
$analytics_stats"
out="$(timeout 240 bash -euo pipefail -c "$block" 2>&1)"
pkill -f "http.server 9000" 2>/dev/null || true
check() { grep -q -- "$1" <<<"$out" || { echo "walkthrough: expected '$1' in:"; echo "$out"; exit 1; }; }
check '"revision":"1"'
check 'HTTP/1.1 200 OK'
check 'Directory listing'
check 'messaging.adaptors.http.flow.ApplicationNotFound'
check '"email":"ada@example.com"'
check '"streamCount":'
check 'apigee-connect-agent-1.0'
check 'listening on tether'
check 'steps.oauth.v2.FailedToResolveAPIKey"}}} 401'
check 'policies.ratelimit.QuotaViolation"}}} 429'
check 'sum(message_count)'
echo "walkthrough: README steps work as written"
