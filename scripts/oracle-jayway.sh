#!/usr/bin/env bash
# `make oracle`: check the JSONPath golden table against Jayway JsonPath,
# the library Apigee evaluates JSONPath with
# (services/runtime/internal/jsonpath/oracle_test.go), then hold the Go port
# to the same golden file (TestJaywayGolden). Resolves
# com.jayway.jsonpath:json-path and its run-time dependencies (json-smart,
# accessors-smart, asm, slf4j-api) from Maven Central into the local Maven
# repository on first use, through tools/jayway-oracle/pom.xml, and runs
# tools/jayway-oracle/JaywayOracle.java in java's source-file mode (a JDK,
# not only a JRE).
#
# Usage: scripts/oracle-jayway.sh [go test flags, e.g. -v, or -update to
#        rewrite testdata/jayway_golden.json from Jayway's results]
#
# Environment (all optional):
#   JAYWAY_VERSION  json-path version (default 2.4.0; see the jsonpath package doc)
#   MAVEN_REPO      local Maven repository (default ~/.m2/repository)
#   JAVA_HOME       use $JAVA_HOME/bin/java instead of java on PATH (JDK 11+)
set -euo pipefail

readonly PREFIX="oracle-jayway:"
VERSION="${JAYWAY_VERSION:-2.4.0}"
REPO="${MAVEN_REPO:-$HOME/.m2/repository}"

log() { printf '%s %s\n' "$PREFIX" "$*"; }
die() { printf '%s ERROR: %s\n' "$PREFIX" "$*" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

java="${JAVA_HOME:+${JAVA_HOME}/bin/}java"
command -v "$java" >/dev/null 2>&1 || die "${java} not found (install a JDK or set JAVA_HOME)"
# Source-file mode compiles JaywayOracle.java in memory with jdk.compiler.
"$java" --list-modules 2>/dev/null | grep -q '^jdk\.compiler' ||
  die "${java} has no jdk.compiler module: a JDK 11+ is needed, not only a JRE"
command -v mvn >/dev/null 2>&1 || die "mvn (Maven) not found; it is needed to fetch json-path from Maven Central"

cp_file="$(mktemp)"
trap 'rm -f "$cp_file"' EXIT
mvn -B -q -Dstyle.color=never -f tools/jayway-oracle/pom.xml \
  -Djayway.version="$VERSION" -Dmaven.repo.local="$REPO" \
  dependency:build-classpath -Dmdep.outputFile="$cp_file" >/dev/null ||
  die "mvn could not resolve com.jayway.jsonpath:json-path:${VERSION} (try another JAYWAY_VERSION)"
cp="$(cat "$cp_file")"
[[ "$cp" == *"json-path-${VERSION}.jar"* ]] || die "class path without json-path-${VERSION}.jar: ${cp}"

log "Jayway JsonPath ${VERSION}"
JAYWAY_CP="$cp" go test -tags oracle -count=1 -run '^(TestJaywayGolden|TestOracleJayway)$' ./services/runtime/internal/jsonpath "$@"
