#!/usr/bin/env bash
# `make oracle`: check the XSLT processor's golden files against Saxon-HE,
# the processor Apigee runs (services/runtime/internal/xslt/oracle_test.go).
# Fetches Saxon-HE and its xmlresolver dependency from Maven Central into the
# local Maven repository on first use, then runs the test behind the
# `oracle` build tag with SAXON_CP set to their class path.
#
# Usage: scripts/oracle.sh [go test flags, e.g. -v]
#
# Environment (all optional):
#   SAXON_VERSION  Saxon-HE version (default 12.5)
#   MAVEN_REPO     local Maven repository (default ~/.m2/repository)
#   JAVA_HOME      use $JAVA_HOME/bin/java instead of java on PATH (JDK 11+)
set -euo pipefail

readonly PREFIX="oracle:"
VERSION="${SAXON_VERSION:-12.5}"
REPO="${MAVEN_REPO:-$HOME/.m2/repository}"

log() { printf '%s %s\n' "$PREFIX" "$*"; }
die() { printf '%s ERROR: %s\n' "$PREFIX" "$*" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

java="${JAVA_HOME:+${JAVA_HOME}/bin/}java"
command -v "$java" >/dev/null 2>&1 || die "${java} not found (install a JDK or set JAVA_HOME)"

saxon_dir="${REPO}/net/sf/saxon/Saxon-HE/${VERSION}"
saxon_jar="${saxon_dir}/Saxon-HE-${VERSION}.jar"
if [[ ! -f "$saxon_jar" ]]; then
  command -v mvn >/dev/null 2>&1 || die "mvn (Maven) not found; it is needed to fetch Saxon-HE from Maven Central"
  log "fetching net.sf.saxon:Saxon-HE:${VERSION} from Maven Central ..."
  mvn -B -q -Dstyle.color=never dependency:get -Dartifact="net.sf.saxon:Saxon-HE:${VERSION}" -Dmaven.repo.local="$REPO" ||
    die "mvn dependency:get failed for Saxon-HE ${VERSION} (try another SAXON_VERSION)"
fi
[[ -f "$saxon_jar" ]] || die "${saxon_jar} missing after fetch"

# Saxon-HE 10+ needs org.xmlresolver:xmlresolver (and its data jar) at run
# time; dependency:get fetched the version its pom names.
cp="$saxon_jar"
xr_version="$(sed -n '/<artifactId>xmlresolver<\/artifactId>/{n;s/.*<version>\(.*\)<\/version>.*/\1/p;q;}' "${saxon_dir}/Saxon-HE-${VERSION}.pom")"
if [[ -n "$xr_version" ]]; then
  for jar in "xmlresolver-${xr_version}.jar" "xmlresolver-${xr_version}-data.jar"; do
    f="${REPO}/org/xmlresolver/xmlresolver/${xr_version}/${jar}"
    [[ -f "$f" ]] || die "${f} missing (delete ${saxon_dir} and run again to refetch)"
    cp="${cp}:${f}"
  done
fi

log "Saxon-HE ${VERSION}"
SAXON_CP="$cp" go test -tags oracle -count=1 -run 'TestOracleSaxon|TestNormalizeMarkup' "$@" ./services/runtime/internal/xslt
