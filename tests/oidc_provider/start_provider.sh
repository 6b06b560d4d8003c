#!/usr/bin/env bash
# Starts node's oidc-provider 9 (a certified OpenID provider) on 127.0.0.1 for the crate's
# tests: tests/oidc_provider/provider.mjs says what it serves. Its keys are made fresh at each
# start: a restart is a key rotation.
#
#   OIDC_PORT=5301 tests/oidc_provider/start_provider.sh   # prints the PID once discovery answers
#   OIDC_PORT=5301 tests/oidc_provider/stop_provider.sh    # stops it, by its pidfile
#   tests/oidc_provider/start_provider.sh --install-only   # installs the npm packages, starts nothing
#
# Environment (defaults in brackets):
#   OIDC_PORT     [5301]                   the port on 127.0.0.1
#   OIDC_PATH     []                       the issuer's path (Keycloak's form: /realms/acme)
#   OIDC_DIR      [/tmp/tl-rbac-oidc]      the npm packages (installed there once, pinned)
#   OIDC_RUN_DIR  [$OIDC_DIR/run-$PORT]    pidfile and log of the instance on that port
# Needs Node.js 20 or later and npm (oidc-provider warns on 20 and works).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${OIDC_PORT:-5301}"
ISSUER_PATH="${OIDC_PATH:-}"
DIR="${OIDC_DIR:-/tmp/tl-rbac-oidc}"
RUN="${OIDC_RUN_DIR:-$DIR/run-$PORT}"
PIDFILE="$RUN/provider.pid"
LOG="$RUN/provider.log"
PACKAGES=(oidc-provider@9.13.3 jose@6.2.19)

log() { echo "[start_provider] $*" >&2; }

command -v node >/dev/null || { log "node is not installed"; exit 3; }
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then log "node $(node --version) is too old: oidc-provider 9 needs 20 or later"; exit 3; fi

mkdir -p "$DIR"
if ! node -e 'const p = require(process.argv[1] + "/node_modules/oidc-provider/package.json"); process.exit(p.version === "9.13.3" ? 0 : 1)' "$DIR" 2>/dev/null; then
  log "installing ${PACKAGES[*]} into $DIR"
  (cd "$DIR" && [ -f package.json ] || echo '{"private": true, "type": "module"}' > "$DIR/package.json")
  npm install --prefix "$DIR" --no-audit --no-fund --silent "${PACKAGES[@]}" >&2
fi
# Tests start instances in parallel: a copy in place could be read half-written by a node
# starting meanwhile (an empty module runs and exits 0, logging nothing), so the copy is
# renamed into place, and only when it changed.
if ! cmp -s "$HERE/provider.mjs" "$DIR/provider.mjs"; then
  tmp="$(mktemp "$DIR/provider.mjs.XXXXXX")"
  cp "$HERE/provider.mjs" "$tmp"
  mv -f "$tmp" "$DIR/provider.mjs"
fi
[ "${1:-}" = "--install-only" ] && exit 0

mkdir -p "$RUN"
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  log "already running: pid $(cat "$PIDFILE")"
  cat "$PIDFILE"
  exit 0
fi
OIDC_PORT="$PORT" OIDC_PATH="$ISSUER_PATH" nohup node "$DIR/provider.mjs" >"$LOG" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PIDFILE"
url="http://127.0.0.1:$PORT$ISSUER_PATH/.well-known/openid-configuration"
for _ in $(seq 150); do
  if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$url" 2>/dev/null; then
    echo "$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    code=0; wait "$pid" || code=$?
    log "the provider exited with status $code; its log:"; cat "$LOG" >&2; rm -f "$PIDFILE"; exit 1
  fi
  sleep 0.1
done
log "no answer from $url within 15 s; its log:"; cat "$LOG" >&2
kill "$pid" 2>/dev/null || true
rm -f "$PIDFILE"
exit 1
