#!/usr/bin/env bash
# Brings up the whole local hybrid runtime plane: a real Cassandra, the
# schema job, the mock control plane and every runtime service as local
# processes. Logs go to $HYBRID_RUN_DIR/logs, pids to $HYBRID_RUN_DIR/pids.
#
# HYBRID_REGIONS=2 (make up REGIONS=2) starts the two-region layout: a
# second Cassandra node on 127.0.0.2 in datacenter dc2 (scripts/cassandra.sh
# --node 2), every keyspace replicated to dc1 and dc2, two instances in the
# control plane (made through its API, $HYBRID_INSTANCE_ID and
# $HYBRID_INSTANCE2_ID, default region-1 and region-2, each with the
# environments attached) and a synchronizer, message processor and watcher
# per instance; region 2's talk to Cassandra at 127.0.0.2 with local
# datacenter dc2, on ports 100 above region 1's (traffic on 9098). MART,
# UDCA and the Connect agent stay one for the org. $HYBRID_RUN_DIR/layout
# lists every process by instance for `hybridctl status`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run="${HYBRID_RUN_DIR:-$root/.run}"
export HYBRID_RUN_DIR="$run"
export HYBRID_ADMIN_TOKEN="${HYBRID_ADMIN_TOKEN:-hybrid-admin-token}"
org="${HYBRID_ORG:-hybrid}"
env="${HYBRID_ENV:-test}"
# What `hybridctl apply -f overrides.yaml` sets (every default keeps the
# plain `make up` layout): HYBRID_ENVS, a comma list, overrides HYBRID_ENV;
# HYBRID_PROJECT is the org's GCP project (gcp.projectID), which names the
# service account key files; HYBRID_CP_CONFIG is a control plane config
# file (its `orgs:` seed); HYBRID_CONNECT=false runs no Connect agent (the
# control plane calls MART directly); HYBRID_POLL_INTERVAL makes the
# synchronizer poll (synchronizer.pollInterval) instead of long-polling.
envs="${HYBRID_ENVS:-$env}"
project="${HYBRID_PROJECT:-$org}"
connect="${HYBRID_CONNECT:-true}"
poll_interval="${HYBRID_POLL_INTERVAL:-}"
instance_id="${HYBRID_INSTANCE_ID:-}"
cluster_name="${HYBRID_CLUSTER_NAME:-local}"
cluster_region="${HYBRID_CLUSTER_REGION:-local}"
cp_config="${HYBRID_CP_CONFIG:-}"
regions="${HYBRID_REGIONS:-1}"
case "$regions" in 1|2) ;; *) printf 'up: HYBRID_REGIONS (make up REGIONS=) must be 1 or 2, not %q\n' "$regions" >&2; exit 2;; esac
if [[ "$regions" == 2 ]]; then
  instance_id="${HYBRID_INSTANCE_ID:-region-1}"
  instance2_id="${HYBRID_INSTANCE2_ID:-region-2}"
fi
case "$connect" in true|false) ;; *) printf 'up: HYBRID_CONNECT must be true or false, not %q\n' "$connect" >&2; exit 2;; esac
bin="$run/bin"

# The prefix is bold on a terminal (never with NO_COLOR or TERM=dumb).
if [[ -t 1 && -z "${NO_COLOR+x}" && "${TERM:-}" != dumb ]]; then
  say() { printf '\033[1mup:\033[0m %s\n' "$*"; }
else
  say() { printf 'up: %s\n' "$*"; }
fi

mkdir -p "$bin" "$run/logs" "$run/pids"

say "building services into $bin"
(cd "$root" && for s in controlplane synchronizer runtime mart udca watcher connect-agent telemetry; do
  go build -o "$bin/$s" "./services/$s"
done && go build -o "$bin/hybridctl" ./cmd/hybridctl)

"$root/scripts/cassandra.sh" start
# The CQL login scripts/cassandra.sh made (0600); every service reads it.
cassandra_credentials="$("$root/scripts/cassandra.sh" credentials)"
export HYBRID_CASSANDRA_CREDENTIALS="$cassandra_credentials"
# A second node, once in the ring, must run whenever node 1 does (schema
# changes wait for every node of the ring), so a plain `make up` after a
# REGIONS=2 one starts it too; scripts/cassandra.sh --node 2 clean drops it.
if [[ "$regions" == 2 || -d "$run/cassandra2" ]]; then
  "$root/scripts/cassandra.sh" --node 2 start
fi

if [[ "$regions" == 2 ]]; then
  say "applying schema for org $org, replicated to datacenters dc1 and dc2"
  "$bin/hybridctl" schema apply --orgs "$org" --replication dc1:1,dc2:1
  # Data written before dc2 was in the keyspaces' replication reaches
  # node 2 only by streaming it from dc1.
  "$root/scripts/cassandra.sh" --node 2 rebuild
else
  say "applying schema for org $org"
  "$bin/hybridctl" schema apply --orgs "$org"
fi

start() {
  start_as "$1" "$@"
}

# start_as NAME BINARY ARGS...: a process named NAME (its pid and log
# files) running BINARY; region 2's processes are synchronizer-2 etc.
start_as() {
  local name="$1" binary="$2"; shift 2
  local pidfile="$run/pids/$name.pid"
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "$name already running (pid $(cat "$pidfile"))"
    return
  fi
  nohup "$bin/$binary" "$@" >>"$run/logs/$name.log" 2>&1 &
  echo $! >"$pidfile"
  say "started $name (pid $!, log $run/logs/$name.log)"
}

wait_ready() {
  if ! "$bin/hybridctl" status --only "$1" --wait "${2:-60s}" >/dev/null; then
    "$bin/hybridctl" status --only "$1" || true
    say "$1 did not become ready; see $run/logs/$1.log"
    exit 1
  fi
}

# MART answers only callers that know this secret: the Connect agent, and the
# control plane when Apigee Connect is switched off (features.mart.connect.enabled).
secret_file="$run/mart-secret"
[[ -s "$secret_file" ]] || (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$secret_file")
chmod 600 "$secret_file"  # the *_FILE variables refuse a file others can read
# Service account key files the control plane's emulated IAM writes for the org's project.
keys="$run/controlplane/service-accounts"

# The control plane's default seed makes only org "hybrid" with env "test";
# any other org or env list gets a seed written here (Connect as asked), so
# HYBRID_ORG=other make up has an org, environments and key files.
if [[ -z "$cp_config" && ( "$org" != hybrid || "$envs" != test || "$project" != "$org" || "$connect" != true ) ]]; then
  cp_config="$run/controlplane-seed.yaml"
  {
    printf 'orgs:\n  - name: %s\n    projectId: %s\n    displayName: %s\n' "$org" "$project" "$org"
    printf '    properties:\n      features.hybrid.enabled: "true"\n      features.mart.connect.enabled: "%s"\n' "$connect"
    printf '    environments: [%s]\n' "$envs"
    printf '    envGroups:\n      - name: default\n        hostnames: [localhost, 127.0.0.1, api.%s.local]\n        environments: [%s]\n' "$org" "$envs"
  } >"$cp_config"
  say "control plane seed for org $org (environments $envs) in $cp_config"
fi
cp_args=()
[[ -z "$cp_config" ]] || cp_args=(--config "$cp_config")
sync_args=()
[[ -z "$poll_interval" ]] || sync_args+=(--longPoll=false --pollInterval "$poll_interval")
watcher_args=()
runtime_args=()
# Virtual hosts with TLS (hybridctl apply -f: virtualhosts[].sslCertPath):
# the message processor's YAML with trafficTLS, region 1 only.
[[ -z "${HYBRID_TRAFFIC_TLS_CONFIG:-}" ]] || runtime_args+=(--config "$HYBRID_TRAFFIC_TLS_CONFIG")
[[ -z "$instance_id" ]] || {
  sync_args+=(--instanceID "$instance_id"); watcher_args+=(--instanceID "$instance_id"); runtime_args+=(--instanceID "$instance_id")
}

common=(--org "$org" --environments "$envs")
cql=(--cassandra.credentialsFile "$cassandra_credentials")
# The org's data encryption keys (hybrid's kmsEncryptionKey/kvmEncryptionKey),
# kept out of Cassandra: MART seals consumer secrets and KVM values with
# them, the message processor opens them.
data_keys="$run/encryption-keys/$org.yaml"
"$bin/hybridctl" keys --file "$data_keys" >/dev/null
# The runtime plane's own CA (hybrid's apigee-ca): the synchronizer serves
# contracts only over mutual TLS to the message processor's certificate.
pki="$run/pki"
"$bin/hybridctl" pki --dir "$pki" >/dev/null
say "runtime plane PKI in $pki (keys 0600)"
# The org's contract encryption key, written by the control plane; it opens
# the keystore private keys the contracts carry sealed.
contract_key="$run/controlplane/contract-keys/$org.key"
# Secrets never go on command lines (ps shows them to every local user):
# each service reads the secret file named by its *_FILE variable.
export HYBRID_MART_AUTH_SHAREDSECRET_FILE="$secret_file"
export HYBRID_CONTROLPLANE_MART_SHAREDSECRET_FILE="$secret_file"
export HYBRID_CONNECT_AGENT_MARTSECRET_FILE="$secret_file"
start mart --org "$org" --encryptionKeysPath "$data_keys" "${cql[@]}"
# The web console's outage report reads region 1's components where this
# script starts them (the same addresses hybridctl status uses).
report_endpoints="synchronizer=http://127.0.0.1:8844,runtime=http://127.0.0.1:8843,udca=http://127.0.0.1:8846"
report_endpoints+=",mart=http://127.0.0.1:8845,connect-agent=http://127.0.0.1:7070,watcher=http://127.0.0.1:8847,telemetry=http://127.0.0.1:8849"
start controlplane "${cp_args[@]}" --stateDir "$run/controlplane" --mart.hostAlias http://127.0.0.1:8845 \
  --outageReport.endpoints "$report_endpoints"
wait_ready controlplane

# api METHOD PATH [JSON]: the control plane's Apigee API as the admin;
# prints the body, fails on an HTTP error other than 409 (already exists).
api() {
  local out code data=()
  [[ -z "${3:-}" ]] || data=(--data "$3")
  out="$(curl -sS -o - -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $HYBRID_ADMIN_TOKEN" \
    -H 'Content-Type: application/json' "${data[@]}" "http://127.0.0.1:8080/v1/organizations/$org$2")" || return 1
  code="${out##*$'\n'}"
  out="${out%$'\n'*}"
  case "$code" in
    2??|409) printf '%s\n' "$out" ;;
    *) say "$1 $2: HTTP $code: $out" >&2; return 1 ;;
  esac
}

# make_instance NAME LOCATION: an instance (a region's runtime cluster) with
# every environment attached, through the real API; idempotent.
make_instance() {
  local name="$1" location="$2" e
  api POST /instances "{\"name\":\"$name\",\"location\":\"$location\"}" >/dev/null
  local attached
  attached="$(api GET "/instances/$name/attachments")"
  for e in ${envs//,/ }; do
    if ! grep -q "\"environment\": *\"$e\"" <<<"$attached"; then
      api POST "/instances/$name/attachments" "{\"environment\":\"$e\"}" >/dev/null
    fi
  done
  say "instance $name (location $location) runs environments $envs"
}

layout="$run/layout"
if [[ "$regions" == 2 ]]; then
  make_instance "$instance_id" local-dc1
  make_instance "$instance2_id" local-dc2
  {
    printf '# written by scripts/up.sh (REGIONS=2): instance service url, for hybridctl status ("-": org-wide)\n'
    printf -- '- controlplane http://127.0.0.1:8080\n- mart http://127.0.0.1:8845\n- udca http://127.0.0.1:8846\n'
    [[ "$connect" != true ]] || printf -- '- connect-agent http://127.0.0.1:7070\n'
    printf -- '- cassandra-dc1 tcp://127.0.0.1:9042\n- cassandra-dc2 tcp://127.0.0.2:9042\n'
    printf '%s synchronizer http://127.0.0.1:8844\n%s runtime http://127.0.0.1:8843\n%s watcher http://127.0.0.1:8847\n' "$instance_id" "$instance_id" "$instance_id"
    printf '%s synchronizer-2 http://127.0.0.1:8944\n%s runtime-2 http://127.0.0.1:8943\n%s watcher-2 http://127.0.0.1:8947\n' "$instance2_id" "$instance2_id" "$instance2_id"
    printf '%s telemetry http://127.0.0.1:8849\n%s telemetry-2 http://127.0.0.1:8949\n' "$instance_id" "$instance2_id"
  } >"$layout"
else
  rm -f "$layout"
fi
start synchronizer "${common[@]}" "${sync_args[@]}" --controlPlane.serviceAccountPath "$keys/$project-apigee-synchronizer.json" \
  --runtimeTLS.certFile "$pki/synchronizer.pem" --runtimeTLS.keyFile "$pki/synchronizer-key.pem" --runtimeTLS.clientCAFile "$pki/ca.pem" "${cql[@]}"
wait_ready synchronizer
# The message processor mints the Google tokens of <Authentication> through
# the control plane's IAM Credentials API, as apigee-runtime.
start runtime "${common[@]}" "${runtime_args[@]}" --contractEncryptionKeyPath "$contract_key" --encryptionKeysPath "$data_keys" "${cql[@]}" \
  --synchronizerTLS.caFile "$pki/ca.pem" --synchronizerTLS.certFile "$pki/runtime.pem" --synchronizerTLS.keyFile "$pki/runtime-key.pem" \
  --controlPlane.url http://127.0.0.1:8080 --controlPlane.serviceAccountPath "$keys/$project-apigee-runtime.json"
# UDCA takes the message processor's analytics records on 20001 (hybrid's
# port; the runtime's --analytics.udca default) and uploads them to the
# control plane, whose stats API (and `hybridctl stats`) shows them.
start udca --org "$org" --dataDir "$run/udca" --grpcListen 127.0.0.1:20001 --controlPlane.serviceAccountPath "$keys/$project-apigee-udca.json"
# The watcher keeps its leader lease (one active watcher per instance) in Cassandra.
start watcher "${common[@]}" "${watcher_args[@]}" "${cql[@]}" --controlPlane.serviceAccountPath "$keys/$project-apigee-watcher.json"
# The telemetry forwarder (hybrid's apigee-telemetry): the message
# processor's customer-facing metrics to Cloud Monitoring as apigee-metrics,
# every service's log file to Cloud Logging as apigee-logger, both at the
# control plane; it buffers and retries while the control plane is away.
telemetry_args=(--org "$org" --project "$project" --controlPlane.url http://127.0.0.1:8080
  --metrics.serviceAccountPath "$keys/$project-apigee-metrics.json" --logging.serviceAccountPath "$keys/$project-apigee-logger.json")
[[ -z "$instance_id" ]] || telemetry_args+=(--instanceID "$instance_id")
mkdir -p "$run/telemetry"
telemetry_location="$cluster_region"
[[ "$regions" == 1 ]] || telemetry_location=local-dc1
start telemetry "${telemetry_args[@]}" --location "$telemetry_location" \
  --logging.paths "$run/logs/*.log" --logging.positionsFile "$run/telemetry/positions.json"
if [[ "$regions" == 2 ]]; then
  sync2_args=(--instanceID "$instance2_id")
  [[ -z "$poll_interval" ]] || sync2_args+=(--longPoll=false --pollInterval "$poll_interval")
  # Region 2: its own synchronizer, message processor and watcher, with
  # Cassandra at node 2 in datacenter dc2.
  cql2=("${cql[@]}" --cassandra.hosts 127.0.0.2 --cassandra.localDC dc2)
  start_as synchronizer-2 synchronizer "${common[@]}" "${sync2_args[@]}" --listen 127.0.0.1:8944 --runtimeListen 127.0.0.1:8948 \
    --controlPlane.serviceAccountPath "$keys/$project-apigee-synchronizer.json" \
    --runtimeTLS.certFile "$pki/synchronizer.pem" --runtimeTLS.keyFile "$pki/synchronizer-key.pem" --runtimeTLS.clientCAFile "$pki/ca.pem" "${cql2[@]}"
  wait_ready synchronizer-2
  start_as runtime-2 runtime "${common[@]}" --instanceID "$instance2_id" --listen 127.0.0.1:8943 --trafficListen 127.0.0.1:9098 \
    --synchronizer https://127.0.0.1:8948 --podName "runtime-2-$(hostname)" \
    --contractEncryptionKeyPath "$contract_key" --encryptionKeysPath "$data_keys" "${cql2[@]}" \
    --synchronizerTLS.caFile "$pki/ca.pem" --synchronizerTLS.certFile "$pki/runtime.pem" --synchronizerTLS.keyFile "$pki/runtime-key.pem" \
    --controlPlane.url http://127.0.0.1:8080 --controlPlane.serviceAccountPath "$keys/$project-apigee-runtime.json"
  start_as watcher-2 watcher "${common[@]}" --instanceID "$instance2_id" "${cql2[@]}" --listen 127.0.0.1:8947 --runtimes http://127.0.0.1:8943 \
    --controlPlane.serviceAccountPath "$keys/$project-apigee-watcher.json"
  # Region 2's metrics under its own instance_id; the host's log files
  # have one logger already.
  start_as telemetry-2 telemetry "${telemetry_args[@]}" --instanceID "$instance2_id" --location local-dc2 --listen 127.0.0.1:8949 \
    --metrics.targets http://127.0.0.1:8943 --logging.enabled=false
fi
wait_ready mart
status_only=()
if [[ "$connect" == true ]]; then
  start connect-agent --project "projects/$project" --serviceAccountPath "$keys/$project-apigee-mart.json" \
    --clusterName "$cluster_name" --clusterRegion "$cluster_region"
else
  # Apigee Connect off: the control plane calls MART at --mart.hostAlias.
  say "Apigee Connect off: no connect agent; the control plane calls MART at http://127.0.0.1:8845"
  status_only=(--only controlplane,synchronizer,runtime,mart,udca,watcher,telemetry)
fi
# The layout file lists exactly what runs.
[[ "$regions" == 1 ]] || status_only=()

"$bin/hybridctl" status "${status_only[@]}" --wait 90s || { say "not everything became ready; logs are in $run/logs"; exit 1; }

# HYBRID_SEED (make up SEED=DIR): an Apigee workspace folder applied once
# everything is ready (docs/SEED_FOLDERS.md); apply is idempotent, so a
# second make up with the same folder changes nothing.
if [[ -n "${HYBRID_SEED:-}" ]]; then
  say "applying the seed folder $HYBRID_SEED"
  "$bin/hybridctl" apply "$HYBRID_SEED" --org "$org" ||
    { say "the seed folder $HYBRID_SEED did not apply (the stack is up; fix it and run $bin/hybridctl apply $HYBRID_SEED)"; exit 1; }
fi

ca="$run/controlplane/tls/ca.pem"
cat <<MSG

The local hybrid runtime plane is up.
  Apigee API (control plane)   http://127.0.0.1:8080/v1   and https://127.0.0.1:8082/v1
  Web console                  http://127.0.0.1:8080/console/#token=${HYBRID_ADMIN_TOKEN}
  Apigee Connect (gRPC)        127.0.0.1:8081
  API traffic (runtime)        http://127.0.0.1:8998${HYBRID_TRAFFIC_TLS_CONFIG:+   and https://127.0.0.1:9443 (virtual hosts by SNI)}
  Runtime admin / probes       http://127.0.0.1:8843
  Synchronizer (probes)        http://127.0.0.1:8844
  Synchronizer contracts (mTLS, runtime certificate only)  https://127.0.0.1:8848
  MART (Connect agent only)    http://127.0.0.1:8845
  UDCA                         http://127.0.0.1:8846   records from the runtime: 127.0.0.1:20001 (gRPC)
  Watcher                      http://127.0.0.1:8847
  Connect agent (metrics)      http://127.0.0.1:7070
  Telemetry forwarder          http://127.0.0.1:8849   metrics and logs to Cloud Monitoring/Logging at the control plane (/v3, /v2)
  Cassandra (CQL)              127.0.0.1:9042   login: cqlsh --credentials $cassandra_credentials
MSG
if [[ "$regions" == 2 ]]; then
  cat <<MSG
Two regions over one two-datacenter Cassandra (every keyspace replicated to dc1 and dc2):
  $instance_id (dc1): the ports above, Cassandra 127.0.0.1:9042
  $instance2_id (dc2): API traffic http://127.0.0.1:9098, runtime admin :8943, synchronizer :8944 (contracts :8948),
    watcher :8947, Cassandra 127.0.0.2:9042
  Every process of every instance: $bin/hybridctl status
MSG
fi
cat <<MSG
Organization "$org", environment "$envs"; admin token: \$HYBRID_ADMIN_TOKEN (${HYBRID_ADMIN_TOKEN}).
Trust the control plane's CA for HTTPS clients: export SSL_CERT_FILE=$ca
Service account key files (emulated IAM): $keys
Traffic per proxy (stats API): $bin/hybridctl stats
Logs: $run/logs   Stop everything: make down
MSG
