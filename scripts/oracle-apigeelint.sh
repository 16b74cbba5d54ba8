#!/usr/bin/env bash
# `make oracle`: check pkg/lint against apigeelint, the linter its rules are
# modelled on (pkg/lint/oracle_test.go). Installs a pinned apigeelint with
# npm into .run/tools/apigeelint-<version>/ (never globally) on first use,
# runs it on every bundle under pkg/lint/testdata/ with its JSON formatter,
# and checks that for each rule both tools have (BN005, BN010, CC006, …)
# our rule ids fire on the same files as apigeelint's.
#
# Usage: scripts/oracle-apigeelint.sh [go test flags, e.g. -v]
#
# Environment (all optional):
#   APIGEELINT_VERSION  apigeelint version (default 2.85.1; needs node 20+)
#   NPM                 npm to use (default: npm on PATH)
set -euo pipefail

readonly PREFIX="oracle-apigeelint:"
VERSION="${APIGEELINT_VERSION:-2.85.1}"
NPM="${NPM:-npm}"

log() { printf '%s %s\n' "$PREFIX" "$*"; }
die() { printf '%s ERROR: %s\n' "$PREFIX" "$*" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

command -v node >/dev/null 2>&1 || die "node not found (apigeelint ${VERSION} needs Node.js 20 or later)"
command -v "$NPM" >/dev/null 2>&1 || die "${NPM} not found (it installs apigeelint from the npm registry)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 20 )) || die "node $(node --version) is too old: apigeelint ${VERSION} needs Node.js 20 or later"

dir="${root}/.run/tools/apigeelint-${VERSION}"
bin="${dir}/node_modules/.bin/apigeelint"
if [[ ! -x "$bin" ]] || [[ "$("$bin" --version 2>/dev/null)" != "$VERSION" ]]; then
  log "installing apigeelint ${VERSION} into ${dir#"$root"/}"
  mkdir -p "$dir"
  # --prefix keeps it out of the global node_modules; the package.json npm
  # writes there pins the exact version.
  "$NPM" install --prefix "$dir" --no-audit --no-fund --save-exact "apigeelint@${VERSION}" >"${dir}/npm-install.log" 2>&1 ||
    die "npm install apigeelint@${VERSION} failed; see ${dir}/npm-install.log"
fi
got="$("$bin" --version)"
[[ "$got" == "$VERSION" ]] || die "installed apigeelint reports version ${got}, want ${VERSION}"

log "apigeelint ${VERSION}"
APIGEELINT="$bin" go test -tags oracle -count=1 -run '^TestOracleApigeelint$' ./pkg/lint "$@"
