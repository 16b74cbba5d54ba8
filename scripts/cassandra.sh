#!/usr/bin/env bash
# Real Apache Cassandra 5.0.x without Docker (JDK 17 + Maven Central): one
# node, or a second one in its own datacenter for the two-region layout.
#
# Usage: scripts/cassandra.sh [--node N] {fetch|start|stop|status|wait|clean|rebuild|nodetool|env|credentials}
#
#   fetch   resolve cassandra-all and its runtime jars into the cache (idempotent)
#   start   fetch if needed, write config, start the node, wait until CQL answers
#   stop    SIGTERM, wait up to 60 s, then SIGKILL; fine if not running
#           (without --node: every node, the second one first)
#   status  print running / not running for node 1 and every other node that
#           has a run dir; exit 0 / 1 for node 1 (with --node: that node)
#   wait    wait until CQL answers (log line + TCP connect)
#   clean   stop and delete the node's run dir (data, commitlog, logs, conf); keeps the cache
#           (without --node: every node; --node 2 also tells node 1 to forget node 2)
#   rebuild [KEYSPACE...]  (node 2+) stream the keyspaces' data from node 1's
#           datacenter: run it after adding the node's datacenter to a
#           keyspace's replication (hybridctl schema apply --replication dc1:1,dc2:1)
#   nodetool ARGS...  run Cassandra's nodetool against the node's JMX port
#   env     print the resolved paths, version and settings
#   credentials  print the path of the CQL credentials file (cqlsh --credentials format, 0600)
#
# Two datacenters (make up REGIONS=2, make test): `--node 2 start` (or
# CASSANDRA_NODE=2) starts a second node on 127.0.0.2 (loopback on Linux; on
# macOS first: sudo ifconfig lo0 alias 127.0.0.2) in datacenter dc2, run dir
# $HYBRID_RUN_DIR/cassandra2, seeded by node 1 (which must be running), with
# its own initial token (100) and JMX port (7299). It joins without
# bootstrapping (a new datacenter gets its data by `rebuild`) and is not
# secured again: the login node 1 made works cluster-wide once system_auth is
# replicated to every datacenter, which start does (ALTER KEYSPACE system_auth
# to NetworkTopologyStrategy with 1 replica per datacenter, then a rebuild of
# system_auth on the new node), so logins work while either node is down.
# Its settings come from CASSANDRA2_HOST, CASSANDRA2_DC, CASSANDRA2_RACK,
# CASSANDRA2_JMX_PORT, CASSANDRA2_INITIAL_TOKEN, CASSANDRA2_SEEDS and
# CASSANDRA2_HEAP (default 1g; node 1's is 2g); the CQL and storage ports,
# the version, auth and credentials file are node 1's.
#
# Security: the node runs with PasswordAuthenticator. On first start the
# default superuser (cassandra/cassandra) is replaced by a role with a random
# password, written to the credentials file (0600), which every service,
# hybridctl and the tests read; the node's files are readable only by their
# owner (directory 0700, umask 077).
#
# Environment (all optional):
#   CASSANDRA_VERSION        cassandra-all version (default: newest cached/resolvable 5.0.x, 5.0.9 first)
#   HYBRID_CACHE_DIR         cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/hybrid-emulator)
#   XDG_CACHE_HOME           see above
#   HYBRID_RUN_DIR           run root (default <repo>/.run); node files live in $HYBRID_RUN_DIR/cassandra
#   CASSANDRA_HOST           listen_address / rpc_address (default 127.0.0.1)
#   CASSANDRA_PORT           native (CQL) port (default 9042)
#   CASSANDRA_STORAGE_PORT   inter-node storage port (default 7000)
#   CASSANDRA_JMX_PORT       local-only JMX port (default 7199; 0 disables JMX)
#   CASSANDRA_DC             datacenter name for GossipingPropertyFileSnitch (default dc1)
#   CASSANDRA_RACK           rack name (default rack1)
#   CASSANDRA_SEEDS          seed list (default <host>:<storage port>, i.e. this node)
#   CASSANDRA_INITIAL_TOKEN  initial token (default 0; give each node of a multi-node ring its own)
#   CASSANDRA_START_TIMEOUT  seconds to wait for CQL (default 180)
#   CASSANDRA_NODE           node number, as --node (default 1)
#   CASSANDRA_JVM_OPTS       extra JVM flags appended to the command line (word-split)
#   CASSANDRA_AUTH           password (default) or none (no authentication; not for shared machines)
#   CASSANDRA_CREDENTIALS_FILE  credentials file (default <run dir>/cassandra/credentials)
#   JAVA_HOME                use $JAVA_HOME/bin/java instead of java on PATH
set -euo pipefail

readonly PREFIX="cassandra:"
readonly DEFAULT_VERSION_CANDIDATES="5.0.9 5.0.8 5.0.7 5.0.6 5.0.5 5.0.4 5.0.3 5.0.2 5.0.1 5.0.0"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT

CACHE_ROOT="${HYBRID_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hybrid-emulator}/cassandra"
RUN_ROOT="${HYBRID_RUN_DIR:-${REPO_ROOT}/.run}"
MAX_NODES=2

# Node 1's settings (every node needs them: node 1 seeds the others).
NODE1_DIR="${RUN_ROOT}/cassandra"
NODE1_HOST="${CASSANDRA_HOST:-127.0.0.1}"
NODE1_DC="${CASSANDRA_DC:-dc1}"
NODE1_JMX_PORT="${CASSANDRA_JMX_PORT:-7199}"
PORT="${CASSANDRA_PORT:-9042}"
STORAGE_PORT="${CASSANDRA_STORAGE_PORT:-7000}"
START_TIMEOUT="${CASSANDRA_START_TIMEOUT:-180}"
# What cassandra-all and its runtime dependencies weigh (the download's
# progress bar).
FETCH_BYTES=$((70 * 1048576))
AUTH="${CASSANDRA_AUTH:-password}"
CREDENTIALS_FILE="${CASSANDRA_CREDENTIALS_FILE:-${NODE1_DIR}/credentials}"

# select_node N: point the per-node variables at node N. Node 1 reads
# CASSANDRA_*; node N>1 reads CASSANDRA<N>_* with defaults 127.0.0.N, dcN,
# JMX 7199+100*(N-1), token 100*(N-1), seeded by node 1.
select_node() {
  NODE="$1"
  if [[ ! "$NODE" =~ ^[1-9]$ ]] || ((NODE > MAX_NODES)); then
    printf '%s ERROR: node %s: want 1..%s\n' "$PREFIX" "$NODE" "$MAX_NODES" >&2
    exit 2
  fi
  if ((NODE == 1)); then
    NODE_DIR="$NODE1_DIR"
    HOST="$NODE1_HOST"
    JMX_PORT="$NODE1_JMX_PORT"
    DC="$NODE1_DC"
    RACK="${CASSANDRA_RACK:-rack1}"
    SEEDS="${CASSANDRA_SEEDS:-${HOST}:${STORAGE_PORT}}"
    INITIAL_TOKEN="${CASSANDRA_INITIAL_TOKEN:-0}"
    HEAP_MAX="2g"
  else
    local p="CASSANDRA${NODE}_"
    local v_host="${p}HOST" v_dc="${p}DC" v_rack="${p}RACK" v_jmx="${p}JMX_PORT" v_token="${p}INITIAL_TOKEN" v_seeds="${p}SEEDS" v_heap="${p}HEAP"
    NODE_DIR="${RUN_ROOT}/cassandra${NODE}"
    HOST="${!v_host:-127.0.0.${NODE}}"
    JMX_PORT="${!v_jmx:-$((7199 + 100 * (NODE - 1)))}"
    DC="${!v_dc:-dc${NODE}}"
    RACK="${!v_rack:-rack1}"
    SEEDS="${!v_seeds:-${NODE1_HOST}:${STORAGE_PORT}}"
    INITIAL_TOKEN="${!v_token:-$((100 * (NODE - 1)))}"
    HEAP_MAX="${!v_heap:-1g}"
  fi
  CONF_DIR="${NODE_DIR}/conf"
  LOG_DIR="${NODE_DIR}/logs"
  SYSTEM_LOG="${LOG_DIR}/system.log"
  STDOUT_LOG="${LOG_DIR}/stdout.log"
  PID_FILE="${NODE_DIR}/cassandra.pid"
  LOCK_FILE="${NODE_DIR}/.lock"
}
case "$AUTH" in
  password | none) ;;
  *) printf '%s ERROR: CASSANDRA_AUTH=%s: want password or none\n' "$PREFIX" "$AUTH" >&2; exit 2 ;;
esac

if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
  JAVA="${JAVA_HOME}/bin/java"
else
  JAVA="java"
fi

VERSION=""   # resolved lazily
LIB_DIR=""
MARKER=""

log() { printf '%s %s\n' "$PREFIX" "$*"; }
err() { printf '%s ERROR: %s\n' "$PREFIX" "$*" >&2; }

# On a terminal, the download and the start draw one progress line instead
# of periodic log lines (CASSANDRA_PROGRESS=false turns it off; pipes and
# files always get the plain lines).
progress_on() { [[ -t 1 && "${CASSANDRA_PROGRESS:-true}" != false && "${TERM:-}" != dumb ]]; }
# bar DONE TOTAL TEXT redraws the progress line.
bar() {
  local done=$1 total=$2 text=$3 width=24 pct fill full empty
  pct=$((total > 0 ? done * 100 / total : 0))
  ((pct <= 100)) || pct=100
  fill=$((pct * width / 100))
  printf -v full '%*s' "$fill" ''
  printf -v empty '%*s' "$((width - fill))" ''
  printf '\r%s [%s%s] %3d%% %s\033[K' "$PREFIX" "${full// /#}" "${empty// /-}" "$pct" "$text"
}
bar_end() { printf '\r\033[K'; }
die() { err "$*"; exit 1; }

# ---------------------------------------------------------------- prerequisites

java_major() {
  local line ver
  line="$("$JAVA" -version 2>&1 | head -n 1)" || return 1
  ver="$(sed -E 's/.*version "([^"]+)".*/\1/' <<<"$line")"
  if [[ "$ver" == 1.* ]]; then
    ver="${ver#1.}"
  fi
  ver="${ver%%[.+-]*}"
  [[ "$ver" =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$ver"
}

require_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (install JDK 17 or set JAVA_HOME)"
  local major
  major="$(java_major)" || die "cannot determine the java version from '$JAVA -version'"
  if ((major < 17)); then
    die "java ${major} found at $(command -v "$JAVA"); Cassandra 5.0 here needs JDK 17+ (set JAVA_HOME)"
  fi
  if ((major > 17)); then
    log "warning: java ${major} found; Cassandra 5.0 is only supported on JDK 11/17 (set JAVA_HOME to a JDK 17 if it fails)"
  fi
}

require_mvn() {
  command -v mvn >/dev/null 2>&1 || die "mvn (Maven) not found; it is needed to fetch Cassandra from Maven Central"
}

# ---------------------------------------------------------------- version / cache

set_version() {
  VERSION="$1"
  LIB_DIR="${CACHE_ROOT}/${VERSION}/lib"
  MARKER="${CACHE_ROOT}/${VERSION}/lib.complete"
}

is_fetched() { [[ -f "$MARKER" && -d "$LIB_DIR" ]]; }

# Pick the version without touching the network: explicit env, else the newest
# candidate already in the cache. Returns 1 if nothing is cached.
resolve_version_offline() {
  if [[ -n "${CASSANDRA_VERSION:-}" ]]; then
    set_version "$CASSANDRA_VERSION"
    return 0
  fi
  local v
  for v in $DEFAULT_VERSION_CANDIDATES; do
    set_version "$v"
    if is_fetched; then
      return 0
    fi
  done
  set_version "${DEFAULT_VERSION_CANDIDATES%% *}"
  return 1
}

# Explicit env, else newest cached, else the newest candidate that resolves on Maven Central.
resolve_version() {
  if resolve_version_offline; then
    return 0
  fi
  require_mvn
  local v
  for v in $DEFAULT_VERSION_CANDIDATES; do
    log "checking whether org.apache.cassandra:cassandra-all:${v} resolves ..."
    if mvn -B -q dependency:get -Dartifact="org.apache.cassandra:cassandra-all:${v}:pom" \
      -Dtransitive=false >/dev/null 2>&1; then
      set_version "$v"
      return 0
    fi
    log "${v} does not resolve; trying an older 5.0.x"
  done
  die "no org.apache.cassandra:cassandra-all 5.0.x version resolves from Maven Central (candidates: ${DEFAULT_VERSION_CANDIDATES})"
}

write_pom() {
  local pom="$1"
  cat >"$pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by scripts/cassandra.sh: only used to download Cassandra's jars -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.hybrid-emulator</groupId>
  <artifactId>cassandra-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>${VERSION}</version>
    </dependency>
  </dependencies>
</project>
EOF
}

cmd_fetch() {
  resolve_version
  if is_fetched; then
    log "cassandra ${VERSION} already in cache ($(find "$LIB_DIR" -maxdepth 1 -name '*.jar' | wc -l) jars in ${LIB_DIR}); nothing to do"
    return 0
  fi
  require_java
  require_mvn
  local vdir="${CACHE_ROOT}/${VERSION}"
  local tmp="${vdir}/lib.tmp.$$"
  mkdir -p "$vdir"
  rm -rf "$tmp"
  write_pom "${vdir}/pom.xml"
  log "fetching org.apache.cassandra:cassandra-all:${VERSION} and its runtime dependencies (~70 MB) from Maven Central ..."
  local start=$SECONDS fetched=false
  mvn -B -q -f "${vdir}/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"${vdir}/mvn.log" 2>&1 &
  local mvn_pid=$!
  if progress_on; then
    # Progress is what Maven's local repository has grown by, against the
    # download's usual size (a repository that already holds some jars
    # finishes early).
    local m2="${MAVEN_LOCAL_REPO:-$HOME/.m2/repository}" before now got
    before="$(du -sb "$m2" 2>/dev/null | cut -f1)"
    while kill -0 "$mvn_pid" 2>/dev/null; do
      now="$(du -sb "$m2" 2>/dev/null | cut -f1)"
      got=$((${now:-0} - ${before:-0}))
      ((got < FETCH_BYTES)) || got=$((FETCH_BYTES * 99 / 100))
      bar "$got" "$FETCH_BYTES" "downloading Cassandra ${VERSION}: $((got / 1048576)) of ~$((FETCH_BYTES / 1048576)) MB ($((SECONDS - start)) s)"
      sleep 0.5
    done
  fi
  wait "$mvn_pid" && fetched=true
  ! progress_on || bar_end
  if ! "$fetched"; then
    rm -rf "$tmp"
    tail -n 30 "${vdir}/mvn.log" >&2 || true
    die "mvn dependency:copy-dependencies failed for cassandra-all:${VERSION} (full log: ${vdir}/mvn.log)"
  fi
  local n
  n="$(find "$tmp" -maxdepth 1 -name '*.jar' | wc -l)"
  [[ -f "${tmp}/cassandra-all-${VERSION}.jar" ]] || { rm -rf "$tmp"; die "cassandra-all-${VERSION}.jar missing after fetch"; }
  compgen -G "${tmp}/jamm-*.jar" >/dev/null || { rm -rf "$tmp"; die "jamm agent jar missing after fetch"; }
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  printf 'version=%s\njars=%s\nfetched=%s\n' "$VERSION" "$n" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$MARKER"
  log "fetched ${n} jars into ${LIB_DIR} in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------- process helpers

read_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 1
  printf '%s\n' "$pid"
}

# True if the pid exists and is not a zombie.
pid_alive() {
  local pid="$1" stat
  kill -0 "$pid" 2>/dev/null || return 1
  stat="$(ps -p "$pid" -o stat= 2>/dev/null)" || return 1
  [[ "$stat" != Z* ]]
}

# True if the pid is alive and is a Cassandra daemon (guards against pid reuse).
pid_is_cassandra() {
  local pid="$1" args
  pid_alive "$pid" || return 1
  args="$(ps -p "$pid" -o args= 2>/dev/null)" || return 1
  [[ "$args" == *org.apache.cassandra.service.CassandraDaemon* ]]
}

running_pid() {
  local pid
  pid="$(read_pid)" || return 1
  pid_is_cassandra "$pid" || return 1
  printf '%s\n' "$pid"
}

port_open() {
  local host="$1" port="$2"
  # shellcheck disable=SC2016 # $1/$2 expand in the child bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
}

# The native transport binds its port only once it is "Starting listening for
# CQL clients", and start checked the port was free, so an open port means
# CQL is up. (The log line alone is not enough: system.log rotates.)
cql_ready() {
  port_open "$HOST" "$PORT"
}

with_lock() {
  mkdir -p "$NODE_DIR"
  exec 9>"$LOCK_FILE"
  if ! flock -w 300 9; then
    die "timed out waiting for the lock ${LOCK_FILE} (another cassandra.sh start/stop running?)"
  fi
}

show_log_tail() {
  local f
  for f in "$SYSTEM_LOG" "$STDOUT_LOG"; do
    if [[ -s "$f" ]]; then
      err "last 40 lines of ${f}:"
      tail -n 40 "$f" >&2 || true
    fi
  done
}

# ---------------------------------------------------------------- config

write_config() {
  mkdir -p "$CONF_DIR" "$LOG_DIR" "${NODE_DIR}/data" "${NODE_DIR}/commitlog" \
    "${NODE_DIR}/saved_caches" "${NODE_DIR}/hints" "${NODE_DIR}/cdc_raw"
  # Only the owner may read the node's data, commit log and credentials
  # (nodes made before this rule get their modes fixed here).
  chmod -R go-rwx "$NODE_DIR"
  local authenticator=AllowAllAuthenticator
  if [[ "$AUTH" == password ]]; then
    authenticator=PasswordAuthenticator
  fi

  cat >"${CONF_DIR}/cassandra.yaml" <<EOF
# generated by scripts/cassandra.sh -- rewritten on every start
cluster_name: 'hybrid-emulator'
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: GossipingPropertyFileSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "${SEEDS}"
listen_address: ${HOST}
rpc_address: ${HOST}
storage_port: ${STORAGE_PORT}
native_transport_port: ${PORT}
start_native_transport: true
data_file_directories:
  - ${NODE_DIR}/data
commitlog_directory: ${NODE_DIR}/commitlog
saved_caches_directory: ${NODE_DIR}/saved_caches
hints_directory: ${NODE_DIR}/hints
cdc_raw_directory: ${NODE_DIR}/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
# test node: no snapshots on DROP/TRUNCATE, keeps the disk small and drops fast
auto_snapshot: false
authenticator: ${authenticator}
authorizer: AllowAllAuthorizer
EOF
  if ((NODE > 1)); then
    # A node that opens a new datacenter joins without streaming; its
    # keyspaces' data arrives by rebuild once they are replicated to it.
    printf 'auto_bootstrap: false\n' >>"${CONF_DIR}/cassandra.yaml"
  fi

  cat >"${CONF_DIR}/cassandra-rackdc.properties" <<EOF
# generated by scripts/cassandra.sh
dc=${DC}
rack=${RACK}
EOF

  cat >"${CONF_DIR}/logback.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by scripts/cassandra.sh -->
<configuration scan="false" debug="false">
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>${SYSTEM_LOG}</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>${SYSTEM_LOG}.%i.zip</fileNamePattern>
      <minIndex>1</minIndex>
      <maxIndex>3</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>20MB</maxFileSize>
    </triggeringPolicy>
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %logger{0} - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="SYSTEMLOG"/>
  </root>
</configuration>
EOF
}

jvm_args() {
  local jamm
  jamm="$(compgen -G "${LIB_DIR}/jamm-*.jar" | head -n 1)" || true
  [[ -n "$jamm" ]] || die "no jamm-*.jar in ${LIB_DIR}; delete ${CACHE_ROOT}/${VERSION} and run: $0 fetch"
  local HEAP_ARGS=(-Xms1g -Xmx2g)
  if ((NODE > 1)); then
    HEAP_ARGS=(-Xms256m "-Xmx${HEAP_MAX}")
  fi
  JVM_ARGS=(
    "${HEAP_ARGS[@]}"
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1 -XX:MaxGCPauseMillis=300
    -XX:+PerfDisableSharedMem -XX:+ExitOnOutOfMemoryError
    -Djava.net.preferIPv4Stack=true
    # JDK 17 module openings (Cassandra's conf/jvm17-server.options)
    -Djdk.attach.allowAttachSelf=true
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
    --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    "-javaagent:${jamm}"
    # configuration and directories
    "-Dcassandra.config=file://${CONF_DIR}/cassandra.yaml"
    "-Dcassandra-rackdc.properties=file://${CONF_DIR}/cassandra-rackdc.properties"
    "-Dcassandra.storagedir=${NODE_DIR}"
    "-Dcassandra.logdir=${LOG_DIR}"
    "-Dlogback.configurationFile=file://${CONF_DIR}/logback.xml"
    -Dcassandra-foreground=yes
    # fast single-node test start
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    "-Dcassandra.initial_token=${INITIAL_TOKEN}"
    -Dcassandra.unsafesystem=true
    # make the default superuser at once, so securing the node need not wait
    -Dcassandra.superuser_setup_delay_ms=0
    # a node of another datacenter gets its data by `nodetool rebuild`, more
    # than once (system_auth when it joins, the org keyspaces after make up's
    # schema): without this a second rebuild aborts on the first one's
    # bootstrap records
    -Dcassandra.reset_bootstrap_progress=true
  )
  if [[ "$JMX_PORT" != "0" ]]; then
    JVM_ARGS+=("-Dcassandra.jmx.local.port=${JMX_PORT}")
  fi
  if [[ -n "${CASSANDRA_JVM_OPTS:-}" ]]; then
    local extra
    read -r -a extra <<<"$CASSANDRA_JVM_OPTS"
    JVM_ARGS+=("${extra[@]}")
  fi
}

# ---------------------------------------------------------------- commands

# start_milestones are the node's start-up steps as its system.log shows
# them, in order: the start's progress bar counts those reached.
start_milestones=("Configuration location" "Initializing key cache" "Initializing system_schema.keyspaces"
  "Loading persisted ring state|Generated random tokens" "state jump to NORMAL" "Starting listening for CQL clients")
start_steps=("reading its configuration" "opening its data" "loading the schema" "joining the ring" "the node is up" "opening CQL")

# start_progress FROM: how many milestones system.log shows from line FROM
# on (the lines this start wrote).
start_progress() {
  local from=$1 n=0 text
  [[ -f "$SYSTEM_LOG" ]] || { printf '0\n'; return; }
  text="$(tail -n "+${from}" "$SYSTEM_LOG" 2>/dev/null | grep -oE "$(IFS='|'; printf '%s' "${start_milestones[*]}")" | sort -u)" || true
  local i
  for i in "${!start_milestones[@]}"; do
    grep -qE "${start_milestones[$i]}" <<<"$text" && n=$((i + 1))
  done
  printf '%s\n' "$n"
}

wait_cql() {
  local deadline=$((SECONDS + START_TIMEOUT)) started=$SECONDS next_report=$((SECONDS + 10)) pid=""
  pid="$(read_pid)" || pid=""
  log "waiting up to ${START_TIMEOUT} s for CQL on ${HOST}:${PORT} ..."
  while true; do
    if cql_ready; then
      ! progress_on || bar_end
      log "CQL is up on ${HOST}:${PORT} (waited $((SECONDS - started)) s)"
      return 0
    fi
    if [[ -n "$pid" ]] && ! pid_is_cassandra "$pid"; then
      err "cassandra process ${pid} died during startup"
      rm -f "$PID_FILE"
      show_log_tail
      if grep -qE 'differs from previous data center|differs from previous rack|Saved cluster name .* != configured name' "$SYSTEM_LOG" 2>/dev/null; then
        err "the data dir was created with another dc/rack/cluster; wipe it with: $0 clean"
      fi
      return 1
    fi
    if [[ -z "$pid" ]]; then
      pid="$(read_pid)" || pid="" # a concurrent start may write the pid file later
    fi
    if ((SECONDS >= deadline)); then
      err "timed out after ${START_TIMEOUT} s waiting for CQL on ${HOST}:${PORT}"
      show_log_tail
      return 1
    fi
    if progress_on; then
      local reached
      reached="$(start_progress 1)"
      bar "$reached" "${#start_milestones[@]}" "starting Cassandra on ${HOST}:${PORT}: ${start_steps[$((reached > 0 ? reached - 1 : 0))]} ($((SECONDS - started)) s)"
    elif ((SECONDS >= next_report)); then
      local last=""
      if [[ -f "$SYSTEM_LOG" ]]; then
        last="$(tail -n 1 "$SYSTEM_LOG" | cut -c1-160)"
      fi
      log "still waiting ($((SECONDS - started)) s) ${last:+-- ${last}}"
      next_report=$((SECONDS + 10))
    fi
    sleep 1
  done
}

check_port_free() {
  local host="$1" port="$2" what="$3"
  if port_open "$host" "$port"; then
    die "port ${port} on ${host} (${what}) is already in use by another process; free it or set the matching CASSANDRA_*_PORT"
  fi
}

cmd_start() {
  umask 077 # everything the node and this script write: owner only
  with_lock
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid ${pid}, ${HOST}:${PORT})"
    wait_cql
    if [[ "$AUTH" == password && ! -f "$CREDENTIALS_FILE" ]]; then
      die "the running node has no credentials file ${CREDENTIALS_FILE} (started without authentication?); restart it: $0 stop && $0 start"
    fi
    return
  fi
  rm -f "$PID_FILE"

  cmd_fetch
  require_java
  if ((NODE > 1)) && ! port_open "$NODE1_HOST" "$STORAGE_PORT"; then
    die "node ${NODE} joins node 1's cluster, but node 1 is not running on ${NODE1_HOST}:${STORAGE_PORT}; start it first: $0 start"
  fi

  check_port_free "$HOST" "$PORT" "CQL native_transport_port, CASSANDRA_PORT"
  check_port_free "$HOST" "$STORAGE_PORT" "storage_port, CASSANDRA_STORAGE_PORT"
  if [[ "$JMX_PORT" != "0" ]]; then
    check_port_free 127.0.0.1 "$JMX_PORT" "JMX, CASSANDRA_JMX_PORT"
  fi

  write_config
  jvm_args
  # keep the previous run's log for reference; the wait looks only at the new one
  if [[ -f "$SYSTEM_LOG" ]]; then
    mv -f "$SYSTEM_LOG" "${SYSTEM_LOG}.prev"
  fi
  if [[ -f "$STDOUT_LOG" ]]; then
    mv -f "$STDOUT_LOG" "${STDOUT_LOG}.prev"
  fi

  log "starting cassandra ${VERSION} (dc=${DC}, ${HOST}:${PORT}, storage ${STORAGE_PORT}, jmx ${JMX_PORT}) in ${NODE_DIR}"
  (
    cd "$NODE_DIR"
    exec 9>&- # do not leak the start/stop lock into the daemon
    # setsid: detach from the caller's process group so Ctrl-C on the caller does not kill the node
    exec setsid "$JAVA" "${JVM_ARGS[@]}" -cp "${CONF_DIR}:${LIB_DIR}/*" \
      org.apache.cassandra.service.CassandraDaemon </dev/null >"$STDOUT_LOG" 2>&1
  ) &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  log "pid ${pid}; log ${SYSTEM_LOG}"
  local ready=secure_node
  if ((NODE > 1)); then
    ready=join_auth
  fi
  if ! wait_cql || ! "$ready"; then
    if running_pid >/dev/null; then
      err "stopping the half-started node (its logs stay in ${LOG_DIR})"
      stop_node
    fi
    exit 1
  fi
}

# Replace the default superuser by a role with a random password written to
# the credentials file (once; a later start keeps the file and checks it).
secure_node() {
  [[ "$AUTH" == password ]] || return 0
  command -v go >/dev/null 2>&1 || { err "go not found; it is needed to secure the node (or set CASSANDRA_AUTH=none)"; return 1; }
  (cd "$REPO_ROOT" && go run ./cmd/hybridctl cassandra secure --cassandra "${HOST}:${PORT}" --credentials "$CREDENTIALS_FILE")
}

# The nodes that have a run dir (node 1 always), highest first.
known_nodes() {
  local n
  for ((n = MAX_NODES; n > 1; n--)); do
    if [[ -d "${RUN_ROOT}/cassandra${n}" ]]; then
      printf '%s\n' "$n"
    fi
  done
  printf '1\n'
}

# A node after node 1 shares node 1's login: system_auth gets a replica in
# every datacenter (NetworkTopologyStrategy), the new node streams it from
# node 1's datacenter, and the login is checked through the new node.
join_auth() {
  [[ "$AUTH" == password ]] || return 0
  command -v go >/dev/null 2>&1 || { err "go not found; it is needed to replicate the login to this node (or set CASSANDRA_AUTH=none)"; return 1; }
  [[ -f "$CREDENTIALS_FILE" ]] || { err "no credentials file ${CREDENTIALS_FILE}: node 1 must have been started (and secured) by this script"; return 1; }
  # Once per node: a rebuild on a restarted node finds its earlier
  # streaming's bootstrap data and aborts.
  local joined="${NODE_DIR}/auth.joined"
  if [[ ! -f "$joined" ]]; then
    (cd "$REPO_ROOT" && go run ./cmd/hybridctl cassandra replicate-auth --cassandra "${NODE1_HOST}:${PORT}" --credentials "$CREDENTIALS_FILE" --datacenters "${NODE1_DC},${DC}") || return 1
    log "streaming system_auth from ${NODE1_DC} to node ${NODE} (${DC})"
    local out
    if ! out="$(nodetool rebuild --keyspace system_auth -- "$NODE1_DC" 2>&1)"; then
      # A node that streamed before this marker existed.
      grep -q "Discovered existing bootstrap data" <<<"$out" || { printf '%s\n' "$out" >&2; return 1; }
      log "node ${NODE} already has system_auth from an earlier start"
    fi
    : >"$joined"
  fi
  # With the file present, secure only checks that the login works.
  (cd "$REPO_ROOT" && go run ./cmd/hybridctl cassandra secure --cassandra "${HOST}:${PORT}" --credentials "$CREDENTIALS_FILE")
}

# nodetool ARGS...: Cassandra's nodetool (in the cached jars) against this
# node's JMX port.
nodetool() {
  [[ "$JMX_PORT" != "0" ]] || { err "node ${NODE} runs without JMX (its JMX port is 0); nodetool needs it"; return 1; }
  resolve_version_offline || { err "cassandra is not fetched; run: $0 fetch"; return 1; }
  mkdir -p "$CONF_DIR" "$LOG_DIR"
  cat >"${CONF_DIR}/logback-tools.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by scripts/cassandra.sh: nodetool logs warnings only -->
<configuration>
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%-5level %logger{0} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDERR"/></root>
</configuration>
EOF
  "$JAVA" -Xmx256m --add-exports java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
    --add-exports java.base/jdk.internal.ref=ALL-UNNAMED \
    "-Dlogback.configurationFile=file://${CONF_DIR}/logback-tools.xml" "-Dcassandra.logdir=${LOG_DIR}" "-Duser.home=${NODE_DIR}" \
    -cp "${LIB_DIR}/*" org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$JMX_PORT" "$@"
}

# rebuild [KEYSPACE...]: stream data from node 1's datacenter to this node,
# for keyspaces that have just been given a replica in its datacenter.
cmd_rebuild() {
  ((NODE > 1)) || die "rebuild streams data to a node of another datacenter: use --node 2"
  running_pid >/dev/null || die "node ${NODE} is not running"
  local start=$SECONDS ks
  if (($# == 0)); then
    log "rebuilding node ${NODE} (${DC}) from ${NODE1_DC} (every keyspace with a replica in ${DC})"
    nodetool rebuild -- "$NODE1_DC"
  else
    for ks in "$@"; do
      log "rebuilding keyspace ${ks} on node ${NODE} (${DC}) from ${NODE1_DC}"
      nodetool rebuild --keyspace "$ks" -- "$NODE1_DC"
    done
  fi
  log "rebuilt in $((SECONDS - start)) s"
}

cmd_stop() {
  if ((NODE_EXPLICIT)); then
    with_lock
    stop_node
    if ((NODE > 1)) && port_open "$NODE1_HOST" "$PORT"; then
      log "note: node 1 still lists node ${NODE} in its ring, and schema changes wait (up to the driver's 60 s each) for every node listed: start it again, or drop it: $0 --node ${NODE} clean"
    fi
    return
  fi
  local n
  for n in $(known_nodes); do
    (
      select_node "$n"
      ((n == 1)) || log "node ${n} (${HOST}):"
      with_lock
      stop_node
    )
  done
}

stop_node() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping pid ${pid} (SIGTERM) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 60; i++)); do
    if ! pid_alive "$pid"; then
      rm -f "$PID_FILE"
      log "stopped after ${i} s"
      return 0
    fi
    sleep 1
  done
  log "still alive after 60 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 10; i++)); do
    pid_alive "$pid" || break
    sleep 1
  done
  rm -f "$PID_FILE"
  log "killed"
}

node_status() {
  local pid what="node ${NODE} (${DC}) "
  if ((!NODE_EXPLICIT)) && [[ "$(known_nodes)" == 1 ]]; then
    what="" # the single-node layout reads as it always has
  fi
  if pid="$(running_pid)"; then
    if cql_ready; then
      log "${what}running (pid ${pid}), CQL answering on ${HOST}:${PORT}"
    else
      log "${what}running (pid ${pid}), CQL not answering yet on ${HOST}:${PORT}"
    fi
    return 0
  fi
  log "${what}not running"
  return 1
}

# status: node 1's exit code (scripts start node 1 when it says "not
# running"), but a line for every node.
cmd_status() {
  if ((NODE_EXPLICIT)); then
    node_status
    return
  fi
  local n rc=1
  for n in $(known_nodes | sort -n); do
    if ((n == 1)); then
      select_node 1
      if node_status; then rc=0; fi
    else
      (select_node "$n" && node_status) || true
    fi
  done
  return "$rc"
}

clean_node() {
  with_lock
  stop_node
  case "$NODE_DIR" in
    */cassandra | */cassandra[2-9]) ;;
    *) die "refusing to delete unexpected path ${NODE_DIR}" ;;
  esac
  log "deleting ${NODE_DIR} (cache ${CACHE_ROOT} is kept)"
  rm -rf "$NODE_DIR"
  if ((NODE > 1)); then
    # Node 1 would otherwise keep the node in its ring (and refuse a fresh
    # node at the same address).
    local host="$HOST"
    select_node 1
    if running_pid >/dev/null; then
      log "telling node 1 to forget ${host}"
      nodetool assassinate "$host" || err "node 1 still lists ${host}; run: $0 nodetool assassinate ${host}"
    fi
  fi
}

cmd_clean() {
  if ((NODE_EXPLICIT)); then
    clean_node
    return
  fi
  local n
  for n in $(known_nodes); do
    (select_node "$n" && clean_node)
  done
}

cmd_env() {
  local fetched="no"
  if resolve_version_offline && is_fetched; then
    fetched="yes"
  fi
  cat <<EOF
CASSANDRA_NODE=${NODE}
CASSANDRA_VERSION=${VERSION}
CASSANDRA_FETCHED=${fetched}
CASSANDRA_CACHE_DIR=${CACHE_ROOT}
CASSANDRA_LIB_DIR=${LIB_DIR}
CASSANDRA_RUN_DIR=${NODE_DIR}
CASSANDRA_CONF_DIR=${CONF_DIR}
CASSANDRA_LOG=${SYSTEM_LOG}
CASSANDRA_PID_FILE=${PID_FILE}
CASSANDRA_HOST=${HOST}
CASSANDRA_PORT=${PORT}
CASSANDRA_STORAGE_PORT=${STORAGE_PORT}
CASSANDRA_JMX_PORT=${JMX_PORT}
CASSANDRA_DC=${DC}
CASSANDRA_RACK=${RACK}
CASSANDRA_SEEDS=${SEEDS}
CASSANDRA_INITIAL_TOKEN=${INITIAL_TOKEN}
CASSANDRA_START_TIMEOUT=${START_TIMEOUT}
CASSANDRA_AUTH=${AUTH}
CASSANDRA_CREDENTIALS_FILE=${CREDENTIALS_FILE}
JAVA=$(command -v "$JAVA" || echo "$JAVA")
REPO_ROOT=${REPO_ROOT}
EOF
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

NODE_EXPLICIT=0
main() {
  local node="${CASSANDRA_NODE:-}"
  while [[ "${1:-}" == --node || "${1:-}" == --node=* ]]; do
    if [[ "$1" == --node ]]; then
      node="${2:-}"
      shift 2 || { usage >&2; exit 2; }
    else
      node="${1#--node=}"
      shift
    fi
  done
  if [[ -n "$node" ]]; then
    NODE_EXPLICIT=1
  fi
  select_node "${node:-1}"
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    wait) wait_cql ;;
    clean) cmd_clean ;;
    rebuild) cmd_rebuild "$@" ;;
    nodetool) nodetool "$@" ;;
    env) cmd_env ;;
    credentials) printf '%s\n' "$CREDENTIALS_FILE" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
